"""test_outbound.py - delivery to other domains (INTERFACE.md "Outbound delivery").

The remote side is on loopback: a dnsmasq serving MX, A, AAAA and null-MX records
(the instance's [delivery] resolver), and aiosmtpd sinks on one port (the
instance's remote_port) at 127.0.0.1, 127.0.0.3 and ::1; 127.0.0.2 has nothing on
that port (a dead MX). Bounces are read back from the sender's Maildir and parsed
with the email package (RFC 3464). Checked against RFC 5321 5.1 (MX order, A/AAAA
fallback), RFC 7505 (null MX) and RFC 3464 (DSN fields).
"""
import os
import re
import ssl
import time
import uuid

import pytest

from conftest import DEMO, DEMO_PASSWORD, HOSTNAME
from peers import (Dns, Dsn, LocalCA, RawPeer, Script, ServfailDns, Sink, dsns,
                   make_message, server_tls_context, submit, wait_dsn, wait_until)

LIVE = "127.0.0.1"     # where the main sink listens
OTHER = "127.0.0.3"    # a second sink, same port
DEAD = "127.0.0.2"     # nothing listens there

RECORDS = dict(
    mx=[
        ("remote.test", "mx.remote.test", 10),
        ("other.test", "mx.other.test", 10),
        ("shared1.test", "mx.shared.test", 10),
        ("shared2.test", "mx.shared.test", 10),
        ("backup.test", "dead.backup.test", 10),
        ("backup.test", "mx.backup.test", 20),
        ("order.test", "second.order.test", 20),
        ("order.test", "first.order.test", 10),
        ("deadonly.test", "dead.deadonly.test", 10),
        ("loop.test", HOSTNAME, 10),
        ("smarthost-mx.test", "mx.remote.test", 10),
        ("dual.test", "mx.dual.test", 10),
    ],
    hosts={
        "mx.remote.test": LIVE,
        "mx.other.test": OTHER,
        "mx.shared.test": LIVE,
        "dead.backup.test": DEAD,
        "mx.backup.test": LIVE,
        "first.order.test": LIVE,
        "second.order.test": OTHER,
        "dead.deadonly.test": DEAD,
        HOSTNAME: LIVE,
        "amx.test": LIVE,          # no MX: the A record is the mail server
        "v6.test": "::1",          # no MX, only AAAA
        "mx.dual.test": [DEAD, "::1"],  # the A address is dead, the AAAA one lives
        "relay.test": LIVE,        # a relayhost by name, for certificate checks
    },
    null_mx=["nullmx.test"],
)


@pytest.fixture(scope="module")
def dns():
    d = Dns(**RECORDS)
    yield d
    d.stop()


@pytest.fixture
def peers():
    """Factory for sinks (peers(**kw)) and raw peers (peers.raw(**kw)) that the test
    stops at its end (after the instance)."""
    made = []

    class Factory:
        def __call__(self, **kw):
            s = Sink(**kw)
            made.append(s)
            return s

        def raw(self, **kw):
            r = RawPeer(**kw)
            made.append(r)
            return r

    yield Factory()
    for s in made:
        s.stop()


def settings(dns, port, **extra):
    s = {("delivery", "resolver"): dns.resolver, ("delivery", "remote_port"): str(port)}
    for k, v in extra.items():
        section, key = k.split("__")
        s[(section, key)] = v
    return s


def token():
    return uuid.uuid4().hex[:16]


def send(inst, rcpts, tok=None, sender=DEMO, **kw):
    tok = tok or token()
    msg = kw.pop("msg", None) or make_message("outbound", tok)
    qid = submit(inst.ports["smtp"], sender, rcpts, msg, **kw)
    return tok, qid


def removed(inst, qid, timeout=20.0):
    """Wait until qid has left the queue; return the log."""
    inst.wait_removed(qid, timeout=timeout)
    return inst.log()


def deliveries(inst, qid, **keys):
    """The delivery events of qid (conftest.event_matches for keys)."""
    return inst.events("delivery", qid=qid, **keys)


def bounced_lines(inst, qid):
    return [e["to"] for e in deliveries(inst, qid, status="bounced")]


# ---------------------------------------------------------------- finding the server

def test_mx_delivery(dns, peers, make_instance):
    sink = peers()
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["alice@remote.test"])
    t = sink.wait_token(tok)[0]
    assert t.mail_from == DEMO
    assert t.rcpt_tos == ["alice@remote.test"]
    assert t.helo == HOSTNAME
    # The stored message went out with CRLF line ends and our Received: on top, under
    # the DKIM signatures made as it left.
    unsigned = re.sub(rb"^(DKIM-Signature:.*?\r\n(?:[ \t].*?\r\n)*)+", b"", t.data, flags=re.S)
    assert unsigned.startswith(b"Received: "), t.data[:600]
    assert len(re.findall(rb"(?m)^DKIM-Signature:", t.data)) == 2
    assert b"\r\nSubject: outbound " + tok.encode() + b"\r\n" in t.data
    assert t.data.endswith(f"\r\n\r\nhello\r\ntoken {tok}\r\n".encode())
    assert b"\n" not in t.data.replace(b"\r\n", b"")
    log = removed(inst, qid)
    assert deliveries(inst, qid, to="<alice@remote.test>", orig_to="<alice@remote.test>",
                      relay=f"mx.remote.test[127.0.0.1]:{sink.port}", status="sent",
                      reason=re.compile(r"^250 ")), log[-3000:]
    assert not inst.messages(DEMO), "no bounce for a delivered message"


def test_mx_preference_order(dns, peers, make_instance):
    """MX 10 first.order.test (up) is used, not MX 20 second.order.test (also up)."""
    sink = peers()
    other = peers(host=OTHER, port=sink.port)
    inst = make_instance(settings(dns, sink.port))
    for _ in range(3):
        tok, qid = send(inst, ["bob@order.test"])
        sink.wait_token(tok)
        inst.wait_removed(qid)
    assert other.transactions == [] and other.connections == 0


def test_a_fallback(dns, peers, make_instance):
    """No MX: the domain's own A record is the mail server (RFC 5321 5.1)."""
    sink = peers()
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["carol@amx.test"])
    t = sink.wait_token(tok)[0]
    assert t.rcpt_tos == ["carol@amx.test"]
    removed(inst, qid)
    assert deliveries(inst, qid, to="<carol@amx.test>", relay=re.compile(r"^amx\.test\[127\.0\.0\.1\]:"),
                      status="sent")


def test_aaaa_fallback(dns, peers, make_instance):
    """No MX and only an AAAA record: delivered over IPv6."""
    sink = peers(hosts=[LIVE, "::1"])
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["dave@v6.test"])
    t = sink.wait_token(tok)[0]
    assert t.peer[0] == "::1"
    removed(inst, qid)
    assert deliveries(inst, qid, to="<dave@v6.test>", relay=re.compile(r"^v6\.test\[::1\]:"),
                      status="sent")


def test_second_mx_when_first_is_dead(dns, peers, make_instance):
    sink = peers()
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["erin@backup.test"])
    sink.wait_token(tok)
    log = removed(inst, qid)
    assert deliveries(inst, qid, to="<erin@backup.test>",
                      relay=re.compile(r"^mx\.backup\.test\[127\.0\.0\.1\]:"), status="sent")
    # The dead one was tried first (preference 10) and failed.
    assert inst.events("attempt", qid=qid, relay=re.compile(r"^dead\.backup\.test\[127\.0\.0\.2\]:"),
                       domain="backup.test"), log[-3000:]
    assert len(sink.with_token(tok)) == 1


@pytest.mark.parametrize("greeting", ["421 4.3.2 too busy", "554 5.7.1 no service for you",
                                      "hello, this is not SMTP"])
def test_next_mx_after_a_bad_greeting(dns, peers, make_instance, greeting):
    """The first MX answers, but not with 220: the next MX gets the message."""
    sink = peers()
    bad = peers.raw(host=DEAD, port=sink.port, greeting=greeting)
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["fay@backup.test"])
    sink.wait_token(tok)
    removed(inst, qid)
    assert deliveries(inst, qid, to="<fay@backup.test>", relay=re.compile(r"^mx\.backup\.test\["),
                      status="sent")
    assert inst.events("attempt", qid=qid, relay=re.compile(r"^dead\.backup\.test\["))
    assert bad.connected.is_set()
    assert not any(line.upper().startswith("MAIL") for line in bad.lines)


def test_next_address_of_the_same_mx(dns, peers, make_instance):
    """mx.dual.test has a dead IPv4 and a live IPv6 address: the second one is tried."""
    sink = peers(hosts=[LIVE, "::1"])
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["dee@dual.test"])
    t = sink.wait_token(tok)[0]
    assert t.peer[0] == "::1"
    removed(inst, qid)
    assert deliveries(inst, qid, to="<dee@dual.test>", relay=re.compile(r"^mx\.dual\.test\[::1\]:"),
                      status="sent")


def test_dns_failure_defers(peers, make_instance):
    """SERVFAIL from the resolver is temporary: deferred and retried, never bounced."""
    bad = ServfailDns()
    try:
        sink = peers()
        inst = make_instance({("delivery", "resolver"): bad.resolver,
                              ("delivery", "remote_port"): str(sink.port)})
        tok, qid = send(inst, ["dns@remote.test"])
        inst.wait_event("delivery", count=2, qid=qid, to="<dns@remote.test>", status="deferred")
        assert deliveries(inst, qid, status="deferred", reason=re.compile(r"^451 4\.4\.3 "))
        assert not deliveries(inst, qid, status="bounced")
        assert qid in inst.queue_ids()
        assert inst.messages(DEMO) == []
    finally:
        bad.stop()


def test_domain_literal_recipient(dns, peers, make_instance):
    """user@[127.0.0.1]: no DNS, straight to that address (on remote_port)."""
    sink = peers()
    inst = make_instance(settings(dns, sink.port))
    tok = token()
    try:
        _, qid = send(inst, ["lit@[127.0.0.1]"], tok=tok)
    except AssertionError as e:
        pytest.skip(f"smtpd does not take address literals: {e}")
    t = sink.wait_token(tok)[0]
    assert t.rcpt_tos == ["lit@[127.0.0.1]"]
    removed(inst, qid)


def test_null_mx_bounces_at_once(dns, peers, make_instance):
    sink = peers()
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["frank@nullmx.test"])
    d = wait_dsn(inst, DEMO, tok)
    assert d.final_recipients() == ["frank@nullmx.test"]
    b = d.recipient("frank@nullmx.test")
    assert str(b["Action"]).strip() == "failed"
    assert str(b["Status"]).strip() == "5.1.10"
    assert "null MX" in str(b["Diagnostic-Code"])
    removed(inst, qid)
    assert deliveries(inst, qid, to="<frank@nullmx.test>", status="bounced")
    assert not deliveries(inst, qid, status="deferred")
    assert sink.connections == 0


def test_nxdomain_bounces(dns, peers, make_instance):
    sink = peers()
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["gina@nowhere.test"])
    d = wait_dsn(inst, DEMO, tok)
    assert d.final_recipients() == ["gina@nowhere.test"]
    assert str(d.recipient("gina@nowhere.test")["Status"]).strip().startswith("5.")
    removed(inst, qid)
    assert deliveries(inst, qid, to="<gina@nowhere.test>", status="bounced")
    assert not deliveries(inst, qid, status="deferred")


def test_mx_pointing_at_myself_bounces(dns, peers, make_instance):
    """loop.test's MX is this server's own hostname: a mail loop, not a delivery."""
    sink = peers()
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["hank@loop.test"])
    d = wait_dsn(inst, DEMO, tok)
    assert str(d.recipient("hank@loop.test")["Status"]).strip().startswith("5.")
    assert "loop" in str(d.recipient("hank@loop.test")["Diagnostic-Code"])
    assert sink.transactions == []


# ---------------------------------------------------------------- bounces

def test_5xx_bounce_dsn(dns, peers, make_instance):
    """Refused recipients at two destinations: one DSN, each failed recipient once."""
    sink = peers(rcpt_replies={"bad1@remote.test": "550 5.1.1 <bad1@remote.test>: no such user",
                               "bad2@remote.test": "553 5.7.1 not here either"})
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["good@remote.test", "bad1@remote.test", "bad2@remote.test",
                           "ivan@nullmx.test"])
    t = sink.wait_token(tok)[0]
    assert t.rcpt_tos == ["good@remote.test"]
    d = wait_dsn(inst, DEMO, tok)
    inst.wait_removed(qid)

    # The report itself: from <> (Return-Path), to the sender, about the original.
    assert d.raw.startswith(b"Return-Path: <>\n")
    assert d.msg["To"].addresses[0].addr_spec == DEMO
    assert "MAILER-DAEMON" in str(d.msg["From"])
    assert d.msg["Auto-Submitted"] and "auto" in str(d.msg["Auto-Submitted"])
    assert d.per_message["Reporting-MTA"] is not None
    assert str(d.per_message["Reporting-MTA"]).replace(" ", "").lower() == f"dns;{HOSTNAME}"

    failed = d.final_recipients()
    assert sorted(failed) == ["bad1@remote.test", "bad2@remote.test", "ivan@nullmx.test"]
    assert len(failed) == len(set(failed)), "each failed recipient once"
    assert "good@remote.test" not in d.raw.decode(errors="replace").split("--", 1)[1] \
        .split("Content-Type: text/rfc822-headers")[0]

    b1 = d.recipient("bad1@remote.test")
    assert str(b1["Action"]).strip() == "failed"
    assert str(b1["Status"]).strip() == "5.1.1"
    diag = str(b1["Diagnostic-Code"])
    assert diag.replace(" ", "").lower().startswith("smtp;550")
    assert "5.1.1 <bad1@remote.test>: no such user" in diag
    b2 = d.recipient("bad2@remote.test")
    assert str(b2["Status"]).strip() == "5.7.1"
    assert "553 5.7.1 not here either" in str(b2["Diagnostic-Code"])
    assert str(d.recipient("ivan@nullmx.test")["Status"]).strip() == "5.1.10"

    # The original's headers come back.
    assert d.original is not None
    assert str(d.original["Subject"]) == f"outbound {tok}"
    assert str(d.original["Message-ID"]) == f"<{tok}@example.test>"
    # The human-readable part names the failures too.
    assert "bad1@remote.test" in d.text and "no such user" in d.text
    # Exactly one bounce, and it is not bounced itself.
    assert len([x for x in dsns(inst, DEMO) if tok.encode() in x.raw]) == 1
    assert len(bounced_lines(inst, qid)) == 3


def test_5xx_at_end_of_data_bounces_every_recipient(dns, peers, make_instance):
    sink = peers(data_replies=["554 5.6.0 content rejected"])
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["r1@remote.test", "r2@remote.test"])
    d = wait_dsn(inst, DEMO, tok)
    assert sorted(d.final_recipients()) == ["r1@remote.test", "r2@remote.test"]
    for r in ("r1@remote.test", "r2@remote.test"):
        assert str(d.recipient(r)["Status"]).strip() == "5.6.0"
        assert "554 5.6.0 content rejected" in str(d.recipient(r)["Diagnostic-Code"])
    inst.wait_removed(qid)
    assert len(sink.transactions) == 1


def test_multiline_reply_in_dsn(dns, peers, make_instance):
    """A multi-line 550 reads as one line in the Diagnostic-Code, code first."""
    sink = peers(rcpt_replies={"ml@remote.test": "550-5.1.1 first line\r\n550 5.1.1 second line"})
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["ml@remote.test"])
    d = wait_dsn(inst, DEMO, tok)
    diag = str(d.recipient("ml@remote.test")["Diagnostic-Code"])
    assert re.search(r"smtp;\s*550 5\.1\.1 first line 5\.1\.1 second line", diag), diag
    assert str(d.recipient("ml@remote.test")["Status"]).strip() == "5.1.1"


def test_4xx_then_success_delivered_once(dns, peers, make_instance):
    sink = peers(data_replies=["451 4.3.0 try again later", "421 4.3.2 busy"])
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["jo@remote.test", "kim@remote.test"])
    sink.wait_token(tok, timeout=30)
    removed(inst, qid, timeout=30)
    assert len(deliveries(inst, qid, to="<jo@remote.test>", status="deferred")) == 2
    assert len(deliveries(inst, qid, to="<jo@remote.test>", status="sent")) == 1
    time.sleep(1.5)  # a wrong extra retry would have come by now (retry_min is 1s)
    assert len(sink.with_token(tok)) == 1
    assert [t.reply[:3] for t in sink.transactions] == ["451", "421", "250"]
    assert sink.with_token(tok)[0].rcpt_tos == ["jo@remote.test", "kim@remote.test"]
    assert not inst.messages(DEMO), "no bounce"


def test_4xx_forever_bounces_after_max_queue_lifetime(dns, peers, make_instance):
    sink = peers(rcpt_replies={"slow@remote.test": "450 4.2.1 mailbox busy, try later"})
    inst = make_instance(settings(dns, sink.port, delivery__max_queue_lifetime="5s"))
    tok, qid = send(inst, ["slow@remote.test", "nobody@deadonly.test"])
    inst.wait_event("delivery", qid=qid, to="<slow@remote.test>", status="deferred")
    d = wait_dsn(inst, DEMO, tok, timeout=40)
    inst.wait_removed(qid)
    assert sorted(d.final_recipients()) == ["nobody@deadonly.test", "slow@remote.test"]
    slow = d.recipient("slow@remote.test")
    assert str(slow["Action"]).strip() == "failed"
    assert str(slow["Status"]).strip()[1:] == ".2.1"
    assert "450 4.2.1 mailbox busy" in str(slow["Diagnostic-Code"])
    dead = d.recipient("nobody@deadonly.test")
    assert str(dead["Action"]).strip() == "failed"
    assert re.search(r"refused|127\.0\.0\.2", str(dead["Diagnostic-Code"]), re.I), \
        str(dead["Diagnostic-Code"])
    # It was retried in between, and bounced only after the lifetime.
    assert len(deliveries(inst, qid, to="<slow@remote.test>", status="deferred")) >= 2
    assert sorted(bounced_lines(inst, qid)) == ["<nobody@deadonly.test>", "<slow@remote.test>"]
    assert inst.events("bounce", qid=qid, to=f"<{DEMO}>", bounce_qid=re.compile(r"^[0-9A-F]{16}$"))
    assert not sink.with_token(tok)


def test_no_bounce_for_null_sender(dns, peers, make_instance):
    sink = peers(rcpt_replies={"gone@remote.test": "550 5.1.1 gone"})
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["gone@remote.test"], sender="")
    removed(inst, qid)
    assert deliveries(inst, qid, to="<gone@remote.test>", status="bounced",
                      reason=re.compile(r"^550 5\.1\.1 "))
    assert inst.events("bounce-dropped", qid=qid, reason="null sender")
    assert not inst.events("bounce", qid=qid)
    time.sleep(1)
    assert inst.messages(DEMO) == []
    assert inst.queue_ids() == []
    assert len(sink.rcpts) == 1


def test_4xx_for_one_recipient_retries_only_that_one(dns, peers, make_instance):
    sink = peers(rcpt_replies={"later@remote.test": ["450 4.2.0 later, please"]})
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["now@remote.test", "later@remote.test"])
    removed(inst, qid, timeout=30)
    ts = sink.with_token(tok)
    assert [t.rcpt_tos for t in ts] == [["now@remote.test"], ["later@remote.test"]]
    assert not inst.messages(DEMO)


@pytest.mark.parametrize("pipelining", [False, True])
def test_every_recipient_refused_sends_no_data(dns, peers, make_instance, pipelining):
    sink = peers(pipelining=pipelining, rcpt_replies={"n1@remote.test": "550 5.1.1 no",
                                                      "n2@remote.test": "551 5.1.6 moved"})
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["n1@remote.test", "n2@remote.test"])
    d = wait_dsn(inst, DEMO, tok)
    assert sorted(d.final_recipients()) == ["n1@remote.test", "n2@remote.test"]
    assert str(d.recipient("n2@remote.test")["Status"]).strip() == "5.1.6"
    removed(inst, qid)
    assert sink.data_started == [] and sink.transactions == []


def test_4xx_to_mail_from_defers(dns, peers, make_instance):
    sink = peers(mail_replies=["451 4.3.0 local problem, later"])
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["m1@remote.test", "m2@remote.test"])
    removed(inst, qid, timeout=30)
    assert len(deliveries(inst, qid, to=re.compile(r"^<m[12]@remote\.test>$"), status="deferred",
                          reason=re.compile(r"451 4\.3\.0"))) == 2
    assert len(sink.with_token(tok)) == 1
    assert sink.with_token(tok)[0].rcpt_tos == ["m1@remote.test", "m2@remote.test"]


def test_bounce_of_forwarded_mail_names_the_original_recipient(dns, peers, make_instance):
    """An alias forwards to a remote address that refuses: Final-Recipient is the
    remote address, Original-Recipient the one the client gave."""
    sink = peers(rcpt_replies={"far@remote.test": "550 5.1.1 unknown"})
    inst = make_instance(settings(dns, sink.port))
    inst.run_cli("alias", "add", "fwd@example.test", "far@remote.test")
    tok, qid = send(inst, ["fwd@example.test"])
    d = wait_dsn(inst, DEMO, tok)
    b = d.recipient("far@remote.test")
    assert str(b["Original-Recipient"]).replace(" ", "") == "rfc822;fwd@example.test"
    assert str(b["Status"]).strip() == "5.1.1"


def test_bounce_to_a_remote_sender_and_no_bounce_of_a_bounce(dns, peers, make_instance):
    """The DSN for a remote sender goes out from <> through the sender's MX; when that
    is refused too, nothing more is sent."""
    sink = peers(rcpt_replies={"bad@remote.test": "550 5.1.1 unknown"})
    other = peers(host=OTHER, port=sink.port,
                  rcpt_replies={"nobounce@other.test": "550 5.1.1 no such sender either"})
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["bad@remote.test"], sender="author@other.test")
    t = wait_until(lambda: [x for x in other.accepted() if tok.encode() in x.data], 30,
                   "the DSN at the sender's MX")[0]
    assert t.mail_from in ("", "<>") and t.rcpt_tos == ["author@other.test"]
    d = Dsn(t.data.replace(b"\r\n", b"\n"))
    assert d.final_recipients() == ["bad@remote.test"]
    removed(inst, qid)

    tok2, qid2 = send(inst, ["bad@remote.test"], sender="nobounce@other.test")
    (ev,) = inst.wait_event("delivery", to="<nobounce@other.test>", status="bounced")
    bid = ev["qid"]
    assert inst.events("bounce", bounce_qid=bid, to="<nobounce@other.test>")
    inst.wait_event("bounce-dropped", qid=bid, reason="null sender")
    removed(inst, bid)
    time.sleep(1)
    assert inst.queue_ids() == []
    assert len([r for r in other.rcpts if r[1] == "nobounce@other.test"]) == 1


def test_ehlo_refused_falls_back_to_helo(dns, peers, make_instance):
    sink = peers(ehlo_reply="502 5.5.1 no ESMTP spoken here")
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["helo@remote.test"])
    t = sink.wait_token(tok)[0]
    assert t.helo == HOSTNAME
    assert t.mail_options == []
    removed(inst, qid)


# ---------------------------------------------------------------- connections

def test_one_transaction_per_destination(dns, peers, make_instance):
    """All of a message's recipients at one domain's server in one transaction."""
    sink = peers()
    other = peers(host=OTHER, port=sink.port)
    inst = make_instance(settings(dns, sink.port))
    rcpts = ["a1@remote.test", "a2@remote.test", "A3@Remote.Test", "b1@other.test",
             "b2@other.test"]
    tok, qid = send(inst, rcpts)
    inst.wait_removed(qid)
    ts = sink.with_token(tok)
    assert len(ts) == 1 and sink.connections == 1 and len(sink.mails) == 1
    assert sorted(r.lower() for r in ts[0].rcpt_tos) == ["a1@remote.test", "a2@remote.test",
                                                        "a3@remote.test"]
    to = other.with_token(tok)
    assert len(to) == 1 and other.connections == 1
    assert sorted(to[0].rcpt_tos) == ["b1@other.test", "b2@other.test"]


def test_many_recipients_pipelined_in_one_transaction(dns, peers, make_instance):
    sink = peers(pipelining=True, rcpt_replies={"p7@remote.test": "550 5.1.1 not this one"})
    inst = make_instance(settings(dns, sink.port))
    rcpts = [f"p{i}@remote.test" for i in range(60)]
    tok, qid = send(inst, rcpts)
    t = sink.wait_token(tok)[0]
    assert t.rcpt_tos == [r for r in rcpts if r != "p7@remote.test"]
    assert sink.connections == 1 and len(sink.mails) == 1
    d = wait_dsn(inst, DEMO, tok)
    assert d.final_recipients() == ["p7@remote.test"]
    inst.wait_removed(qid)


def test_one_connection_per_host_across_domains(dns, peers, make_instance):
    sink = peers()
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["x@shared1.test", "y@shared2.test"])
    inst.wait_removed(qid)
    assert sink.connections == 1
    assert len(sink.with_token(tok)) == 1


def test_domains_with_other_hosts_are_not_merged(dns, peers, make_instance):
    """Domains with different MX hosts keep their own connections; a failing one fails alone."""
    sink = peers()
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["x@shared1.test", "y@shared2.test", "z@remote.test",
                           "n@nullmx.test"])
    inst.wait_removed(qid)
    assert sink.connections == 2
    rcpts = sorted(r for t in sink.with_token(tok) for r in t.rcpt_tos)
    assert rcpts == ["x@shared1.test", "y@shared2.test", "z@remote.test"]
    d = wait_dsn(inst, DEMO, tok)
    assert d.final_recipients() == ["n@nullmx.test"]


def test_pipelining_peer(dns, peers, make_instance):
    """With PIPELINING the RCPT replies come back in a batch; the refused one bounces."""
    sink = peers(pipelining=True, rcpt_replies={"no@remote.test": "550 5.1.1 no"})
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["yes1@remote.test", "no@remote.test", "yes2@remote.test"])
    t = sink.wait_token(tok)[0]
    assert t.rcpt_tos == ["yes1@remote.test", "yes2@remote.test"]
    d = wait_dsn(inst, DEMO, tok)
    assert d.final_recipients() == ["no@remote.test"]
    removed(inst, qid)
    assert sorted(e["to"] for e in deliveries(inst, qid, status="sent")) == [
        "<yes1@remote.test>", "<yes2@remote.test>"]


def test_message_text_on_the_wire(dns, peers, make_instance):
    """Dot-stuffing and CRLF over a body larger than the client's chunks, byte for byte."""
    sink = peers(size=4 * 1024 * 1024)
    inst = make_instance(settings(dns, sink.port))
    tok = token()
    body_lines = [".", "..", ".leading dot", "x" * 900, "", " . ", "end."]
    body_lines += [f"line {i} " + "y" * (i % 200) for i in range(6000)]
    body_lines += [".", "last"]
    body = "\n".join(body_lines) + "\n"
    msg = make_message("wire", tok, body=body)
    assert len(msg) > 600 * 1024
    _, qid = send(inst, ["big@remote.test"], tok=tok, msg=msg)
    t = sink.wait_token(tok, timeout=60)[0]
    inst.wait_removed(qid, timeout=60)
    assert t.data.endswith(msg.split(b"\r\n\r\n", 1)[1])
    assert msg.split(b"\r\n\r\n", 1)[0] in t.data


def test_local_and_remote_recipients_of_one_message(dns, peers, make_instance):
    sink = peers()
    other = peers(host=OTHER, port=sink.port)
    inst = make_instance(settings(dns, sink.port, delivery__concurrency="1"))
    tok, qid = send(inst, [DEMO, "far1@remote.test", "far2@other.test"])
    sink.wait_token(tok)
    other.wait_token(tok)
    local = inst.wait_messages(DEMO, 1)
    assert any(f"token {tok}".encode() in m for m in local)
    removed(inst, qid)
    sent = deliveries(inst, qid, status="sent")
    assert sorted(e["to"] for e in sent) == [f"<{DEMO}>", "<far1@remote.test>", "<far2@other.test>"]
    assert [e["relay"] for e in sent if e["to"] == f"<{DEMO}>"] == ["local"]


@pytest.mark.parametrize("concurrency,limit", [("2", 2), ("20", 4)])
def test_connection_limits(dns, peers, make_instance, concurrency, limit):
    """concurrency caps the connections at once; one destination (whatever the case
    of its name) gets a few at most."""
    sink = peers(data_delay=0.3)
    inst = make_instance(settings(dns, sink.port, delivery__concurrency=concurrency))
    domains = ["remote.test", "REMOTE.test", "Remote.Test"]
    sent = [send(inst, [f"c{i}@{domains[i % 3]}"]) for i in range(12)]
    for tok, qid in sent:
        sink.wait_token(tok, timeout=40)
    assert 1 <= sink.max_in_data <= limit
    for tok, qid in sent:
        removed(inst, qid)


# ---------------------------------------------------------------- TLS, limits, SMTPUTF8

def test_starttls_used_when_offered(dns, peers, make_instance):
    sink = peers(tls=True)
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["tls@remote.test"])
    t = sink.wait_token(tok)[0]
    assert t.tls
    removed(inst, qid)
    assert inst.events("delivery-tls", qid=qid, relay=f"mx.remote.test[127.0.0.1]:{sink.port}",
                       version=re.compile(r"^TLSv1\.[23]$"), cipher=re.compile(r"."))


def test_failed_tls_handshake_falls_back_to_clear(dns, peers, make_instance):
    """STARTTLS offered but only with TLS 1.1 (we want 1.2): delivered without TLS."""
    try:
        ctx = server_tls_context(max_version=ssl.TLSVersion.TLSv1_1)
    except ssl.SSLError as e:
        pytest.skip(f"this OpenSSL cannot serve TLS 1.1: {e}")
    sink = peers(tls=ctx)
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["oldtls@remote.test"])
    t = sink.wait_token(tok)[0]
    assert not t.tls
    removed(inst, qid)
    assert inst.events("tls-fallback", qid=qid, relay=f"mx.remote.test[127.0.0.1]:{sink.port}")
    assert len(sink.with_token(tok)) == 1


def test_starttls_refused_carries_on_in_clear(dns, peers, make_instance):
    script = Script(ehlo="250-raw.test\r\n250 STARTTLS",
                    replies={"STARTTLS": "454 4.7.0 TLS not available now"})
    raw = peers.raw(answer=script)
    inst = make_instance(settings(dns, raw.port))
    tok, qid = send(inst, ["clear@remote.test"])
    removed(inst, qid)
    assert deliveries(inst, qid, to="<clear@remote.test>", status="sent")
    assert [line.split()[0].upper() for line in raw.lines[:3]] == ["EHLO", "STARTTLS", "MAIL"]
    assert any(f"token {tok}" in line for line in script.messages[0])


def test_plaintext_after_the_220_to_starttls_is_ignored(dns, peers, make_instance):
    """Lines the server (or a man in the middle) sends after "220" to STARTTLS and
    before the handshake are not replies in the TLS session (CVE-2011-0411's kind)."""
    script = Script(ehlo="250-raw.test\r\n250 STARTTLS",
                    replies={"STARTTLS": "220 2.0.0 go ahead\r\n554 5.7.1 injected reply"})
    raw = peers.raw(answer=script, tls=server_tls_context())
    inst = make_instance(settings(dns, raw.port))
    tok, qid = send(inst, ["inject@remote.test"])
    log = removed(inst, qid)
    assert deliveries(inst, qid, to="<inject@remote.test>", status="sent"), log[-2000:]
    assert raw.tls_sessions == 1
    verbs = [line.split()[0].upper() for line in raw.lines[:4]]
    assert verbs == ["EHLO", "STARTTLS", "EHLO", "MAIL"]
    assert any(f"token {tok}" in line for line in script.messages[0])


def test_data_answered_without_354_is_not_a_delivery(dns, peers, make_instance):
    """A server that answers DATA with 250 never got the text: the message must not
    count as sent (it would be lost)."""
    script = Script(replies={"DATA": "250 2.0.0 thanks, I guess"})
    raw = peers.raw(answer=script)
    inst = make_instance(settings(dns, raw.port))
    tok, qid = send(inst, ["odd@remote.test"])
    (ev,) = inst.wait_event("delivery", qid=qid, to="<odd@remote.test>")[:1]
    assert ev["status"] == "deferred", ev
    assert script.messages == []


def test_8bit_message_to_a_peer_without_8bitmime_bounces(dns, peers, make_instance):
    """RFC 6152: no 8-bit text to a server that did not offer 8BITMIME."""
    script = Script(ehlo="250-raw.test\r\n250 SIZE 1000000")
    raw = peers.raw(answer=script)
    inst = make_instance(settings(dns, raw.port))
    tok = token()
    msg = make_message("8bit", tok, body="caf\u00e9\n",
                       headers=["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                                "Content-Transfer-Encoding: 8bit"])
    _, qid = send(inst, ["eight@remote.test"], tok=tok, msg=msg, mail_options=["BODY=8BITMIME"])
    d = wait_dsn(inst, DEMO, tok)
    assert str(d.recipient("eight@remote.test")["Status"]).strip() == "5.6.3"
    removed(inst, qid)
    assert not any(line.upper().startswith("MAIL") for line in raw.lines)


def test_size_exceeded_bounces(dns, peers, make_instance):
    sink = peers(size=2000)
    inst = make_instance(settings(dns, sink.port))
    tok = token()
    msg = make_message("big", tok, body="z" * 70 + "\n" * 1 + ("w" * 70 + "\n") * 100)
    _, qid = send(inst, ["big@remote.test"], tok=tok, msg=msg)
    d = wait_dsn(inst, DEMO, tok)
    b = d.recipient("big@remote.test")
    assert str(b["Status"]).strip() == "5.3.4"
    assert "2000" in str(b["Diagnostic-Code"])
    inst.wait_removed(qid)
    assert sink.mails == [], "no MAIL for a message the server already refused by SIZE"


def test_smtputf8_needed_but_not_offered_bounces(dns, peers, make_instance):
    sink = peers(smtputf8=False)
    inst = make_instance(settings(dns, sink.port))
    tok = token()
    _, qid = send(inst, ["jos\u00e9@remote.test"], tok=tok, mail_options=["SMTPUTF8"])
    d = wait_dsn(inst, DEMO, tok)
    assert len(d.recipients) == 1
    b = d.recipients[0]
    assert str(b["Status"]).strip() == "5.6.7"
    assert "SMTPUTF8" in str(b["Diagnostic-Code"])
    inst.wait_removed(qid)
    assert sink.mails == []


def test_smtputf8_passed_on_when_offered(dns, peers, make_instance):
    sink = peers(smtputf8=True)
    inst = make_instance(settings(dns, sink.port))
    tok = token()
    _, qid = send(inst, ["jos\u00e9@remote.test"], tok=tok, mail_options=["SMTPUTF8"])
    t = sink.wait_token(tok)[0]
    assert "SMTPUTF8" in [o.upper() for o in t.mail_options]
    assert t.rcpt_tos == ["jos\u00e9@remote.test"]
    inst.wait_removed(qid)


# ---------------------------------------------------------------- relayhost

def write_password_file(inst, line):
    path = os.path.join(inst.dir, "relay-password")
    with open(path, "w") as f:
        f.write(line + "\n")
    os.chmod(path, 0o644)
    return path


def relay_instance(make_instance, dns, sink, relayhost, password_line=None, **extra):
    inst = make_instance(settings(dns, sink.port, relay__relayhost=relayhost, **extra),
                         start=False)
    if password_line is not None:
        inst.set("relay", "relayhost_password_file", write_password_file(inst, password_line))
    inst.start()
    return inst


def test_relayhost_gets_all_remote_mail_with_auth_over_tls(dns, peers, make_instance):
    """relayhost_tls = may: opportunistic, so the sink's self-signed certificate does."""
    sink = peers(tls=True, auth={"relayuser": "s3cret"}, name="smarthost.test")
    other = peers(host=OTHER, port=sink.port)
    inst = relay_instance(make_instance, dns, sink, f"[127.0.0.1]:{sink.port}",
                          "relayuser s3cret", delivery__relayhost_tls="may")
    tok, qid = send(inst, ["u1@nowhere.test", "u2@remote.test", "u3@other.test"])
    t = sink.wait_token(tok)[0]
    assert t.tls
    assert t.auth is not None and t.auth.login in (b"relayuser", "relayuser")
    assert sorted(t.rcpt_tos) == ["u1@nowhere.test", "u2@remote.test", "u3@other.test"]
    assert sink.connections == 1
    assert [a[0] for a in sink.auth_attempts] == ["PLAIN"]
    assert other.transactions == []
    log = removed(inst, qid)
    assert "s3cret" not in log, "never a password in the log"
    assert inst.events("delivery-tls", qid=qid, relay=f"127.0.0.1[127.0.0.1]:{sink.port}")
    assert deliveries(inst, qid, status="sent", relay=f"127.0.0.1[127.0.0.1]:{sink.port}")


def test_relayhost_ip_without_brackets(dns, peers, make_instance):
    """relayhost = 127.0.0.1:PORT: an address, so no MX lookup of "127.0.0.1"."""
    sink = peers()
    inst = relay_instance(make_instance, dns, sink, f"127.0.0.1:{sink.port}",
                          delivery__relayhost_tls="may")
    tok, qid = send(inst, ["v1@nowhere.test"])
    sink.wait_token(tok)
    inst.wait_removed(qid)


def test_relayhost_ipv6(dns, peers, make_instance):
    sink = peers(hosts=["::1"])
    inst = relay_instance(make_instance, dns, sink, f"[::1]:{sink.port}",
                          delivery__relayhost_tls="may")
    tok, qid = send(inst, ["v6relay@nowhere.test"])
    t = sink.wait_token(tok)[0]
    assert t.peer[0] == "::1"
    removed(inst, qid)


def test_relayhost_by_name_uses_its_mx(dns, peers, make_instance):
    """relayhost = name:port without brackets: the name's MX (Postfix's meaning)."""
    sink = peers()
    inst = relay_instance(make_instance, dns, sink, f"smarthost-mx.test:{sink.port}",
                          delivery__relayhost_tls="may")
    tok, qid = send(inst, ["w1@nowhere.test"])
    sink.wait_token(tok)
    removed(inst, qid)
    assert deliveries(inst, qid, to="<w1@nowhere.test>", status="sent",
                      relay=re.compile(r"^mx\.remote\.test\[127\.0\.0\.1\]:"))


def test_relayhost_refusing_the_password_defers(dns, peers, make_instance):
    sink = peers(tls=True, auth={"relayuser": "right"})
    inst = relay_instance(make_instance, dns, sink, f"[127.0.0.1]:{sink.port}",
                          "relayuser wrong", delivery__relayhost_tls="may")
    tok, qid = send(inst, ["a1@nowhere.test"])
    inst.wait_event("delivery", qid=qid, to="<a1@nowhere.test>", status="deferred",
                    reason=re.compile(r"^454 4\.7\.0 authentication at the relayhost failed: 535"))
    assert sink.mails == []
    assert [a[1:4] for a in sink.auth_attempts][:1] == [("relayuser", "wrong", False)]


def test_relayhost_without_tls_gets_no_password(dns, peers, make_instance):
    """Even when TLS is only opportunistic, the password never goes in clear."""
    sink = peers(auth={"relayuser": "s3cret"}, auth_require_tls=False)
    inst = relay_instance(make_instance, dns, sink, f"[127.0.0.1]:{sink.port}",
                          "relayuser s3cret", delivery__relayhost_tls="may")
    tok, qid = send(inst, ["z1@nowhere.test"])
    inst.wait_event("delivery", qid=qid, to="<z1@nowhere.test>", status="deferred",
                    reason=re.compile(r"refusing to send the password in clear"))
    assert sink.auth_attempts == [] and sink.mails == []
    assert qid in inst.queue_ids()


# ------------------------------------------------- relayhost_tls = verify (the default)

@pytest.fixture(scope="module")
def ca():
    c = LocalCA()
    yield c
    c.cleanup()


@pytest.mark.parametrize("relayhost,names", [
    ("[127.0.0.1]", ("127.0.0.1",)),          # an address matches an IP SAN
    ("127.0.0.1", ("127.0.0.1",)),
    ("[relay.test]", ("relay.test",)),        # a name matches a DNS SAN
    ("relay.test", ("other.name.test", "relay.test")),
])
def test_relayhost_verified_certificate_delivers(dns, peers, make_instance, ca, relayhost,
                                                 names):
    sink = peers(tls=ca.server_context(*names), auth={"relayuser": "s3cret"})
    inst = relay_instance(make_instance, dns, sink, f"{relayhost}:{sink.port}",
                          "relayuser s3cret", delivery__tls_ca_file=ca.cert)
    tok, qid = send(inst, ["verified@nowhere.test"])
    t = sink.wait_token(tok)[0]
    assert t.tls and t.auth is not None
    removed(inst, qid)


def untrusted_sinks(peers, ca):
    return {
        "self-signed": lambda: peers(tls=True, auth={"relayuser": "s3cret"}, name="relay.test"),
        "wrong name": lambda: peers(tls=ca.server_context("elsewhere.test"),
                                    auth={"relayuser": "s3cret"}),
        "name, not the address": lambda: peers(tls=ca.server_context("relay.test"),
                                               auth={"relayuser": "s3cret"}),
    }


@pytest.mark.parametrize("kind,relayhost,ca_file", [
    ("self-signed", "[relay.test]", True),
    ("self-signed", "[relay.test]", False),    # the system's CAs do not know it either
    ("wrong name", "[relay.test]", True),
    ("wrong name", "[127.0.0.1]", True),
    ("name, not the address", "[127.0.0.1]", True),
])
def test_relayhost_unverified_certificate_defers_without_auth(dns, peers, make_instance, ca,
                                                              kind, relayhost, ca_file):
    sink = untrusted_sinks(peers, ca)[kind]()
    extra = {"delivery__tls_ca_file": ca.cert} if ca_file else {}
    inst = relay_instance(make_instance, dns, sink, f"{relayhost}:{sink.port}",
                          "relayuser s3cret", **extra)
    tok, qid = send(inst, ["unverified@nowhere.test"])
    inst.wait_event("delivery", qid=qid, to="<unverified@nowhere.test>", status="deferred",
                    reason=re.compile(r"^451 4\.7\.5 "))
    # No second try in clear, no password, no mail.
    time.sleep(1)
    assert sink.auth_attempts == [] and sink.mails == [] and sink.transactions == []
    assert qid in inst.queue_ids()
    assert "s3cret" not in inst.log()


def test_relayhost_tls_may_accepts_an_unverified_certificate(dns, peers, make_instance, ca):
    sink = peers(tls=ca.server_context("elsewhere.test"), auth={"relayuser": "s3cret"})
    inst = relay_instance(make_instance, dns, sink, f"[relay.test]:{sink.port}",
                          "relayuser s3cret", delivery__tls_ca_file=ca.cert,
                          delivery__relayhost_tls="may")
    tok, qid = send(inst, ["maybe@nowhere.test"])
    t = sink.wait_token(tok)[0]
    assert t.tls and t.auth is not None
    removed(inst, qid)


def test_relayhost_verify_needs_starttls(dns, peers, make_instance, ca):
    """verify: a relayhost without STARTTLS gets nothing, with or without a password."""
    sink = peers(auth={"relayuser": "s3cret"}, auth_require_tls=False)
    inst = relay_instance(make_instance, dns, sink, f"[127.0.0.1]:{sink.port}",
                          "relayuser s3cret", delivery__tls_ca_file=ca.cert)
    inst2 = relay_instance(make_instance, dns, sink, f"[127.0.0.1]:{sink.port}",
                           delivery__tls_ca_file=ca.cert)
    for i, rcpt in ((inst, "nostarttls1@nowhere.test"), (inst2, "nostarttls2@nowhere.test")):
        tok, qid = send(i, [rcpt])
        i.wait_event("delivery", qid=qid, to=f"<{rcpt}>", status="deferred",
                     reason=re.compile(r"^451 4\.7\.4 "))
    assert sink.auth_attempts == [] and sink.mails == []


# ---------------------------------------------------------------- crash and the queue

def test_kill9_during_delivery_then_restart(dns, peers, make_instance):
    """kill -9 while the remote server holds the end of DATA: delivered after restart."""
    sink = peers(data_delay=60)
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["crash@remote.test"])
    wait_until(lambda: sink.data_started, 20, "the message text at the sink")
    inst.kill9()
    # The sink notices the lost connection (its DATA handler is cancelled, no reply).
    wait_until(lambda: sink.in_data == 0, 20, "the sink to see the connection go")
    sink.data_delay = 0
    assert sink.with_token(tok) == []
    inst.start()
    sink.wait_token(tok, timeout=30)
    inst.wait_removed(qid, timeout=30)
    time.sleep(1.5)
    assert len(sink.with_token(tok)) == 1
    assert inst.queue_ids() == []
    assert inst.messages(DEMO) == []


def test_sigterm_during_delivery_then_restart(dns, peers, make_instance):
    """A clean stop while the remote server holds the end of DATA: exit 0, nothing
    lost, delivered after the start."""
    sink = peers(data_delay=60)
    inst = make_instance(settings(dns, sink.port))
    tok, qid = send(inst, ["term@remote.test"])
    wait_until(lambda: sink.data_started, 20, "the message text at the sink")
    assert inst.stop() == 0
    wait_until(lambda: sink.in_data == 0, 20, "the sink to see the connection go")
    sink.data_delay = 0
    assert sink.with_token(tok) == []
    inst.start()
    sink.wait_token(tok, timeout=30)
    removed(inst, qid, timeout=30)
    time.sleep(1.5)
    assert len(sink.with_token(tok)) == 1


def test_sigterm_while_a_dns_lookup_hangs(peers, make_instance):
    """A lookup that never ends does not hold up a clean stop (and leaks nothing:
    the sanitizer checks at the end of the test)."""
    silent = ServfailDns(silent=True)
    try:
        sink = peers()
        inst = make_instance({("delivery", "resolver"): silent.resolver,
                              ("delivery", "remote_port"): str(sink.port)})
        tok, qid = send(inst, ["hang@remote.test"])
        wait_until(lambda: silent.queries > 0, 20, "a query at the silent DNS server")
        assert inst.stop() == 0
        assert qid in inst.queue_ids()
    finally:
        silent.stop()


def test_reload_while_connecting(dns, peers, make_instance):
    """SIGHUP while a connection waits for the greeting: the conversation goes on
    with the new configuration's values (the old ones are freed)."""
    raw = peers.raw(answer=lambda line: "250 raw.test" if line.upper().startswith(("EHLO", "HELO"))
                    else "451 4.3.2 not now" if line.upper().startswith("MAIL") else None,
                    hold=True)
    inst = make_instance(settings(dns, raw.port))
    tok, qid = send(inst, ["hup@remote.test"])
    assert raw.connected.wait(20)
    inst.reload()
    inst.wait_event("config-reloaded", _role="queued")
    raw.release.set()
    inst.wait_event("delivery", qid=qid, to="<hup@remote.test>", status="deferred")
    assert raw.lines[0] == f"EHLO {HOSTNAME}"


def test_queue_commands_while_serving(dns, peers, make_instance):
    """list, show, delete and flush on deferred messages while serve runs."""
    sink = peers(rcpt_replies={"q1@remote.test": "451 4.7.1 greylisted, come back later",
                               "q2@remote.test": "451 4.7.1 greylisted, come back later"})
    # Long retries: only a flush makes the next attempt happen during the test.
    inst = make_instance(settings(dns, sink.port, delivery__retry_min="1h",
                                  delivery__retry_max="2h"))
    tok1, id1 = send(inst, ["q1@remote.test"])
    tok2, id2 = send(inst, ["q2@remote.test"])
    inst.wait_event("delivery", qid=id1, to="<q1@remote.test>", status="deferred")
    inst.wait_event("delivery", qid=id2, to="<q2@remote.test>", status="deferred")

    lines = inst.run_cli("queue", "list").stdout.splitlines()
    by_id = {line.split()[0]: line for line in lines if line.strip()}
    assert set(by_id) == {id1, id2}, lines
    assert f"<{DEMO}>" in by_id[id1] and "q1@remote.test" in by_id[id1]
    assert "451 4.7.1 greylisted" in by_id[id1]

    show = inst.run_cli("queue", "show", id1).stdout
    assert f"id: {id1}" in show and f"sender: <{DEMO}>" in show
    assert re.search(r"recipient: q1@remote.test .*pending attempts=1 last error: 451 4\.7\.1",
                     show)
    assert f"token {tok1}" in show

    out = inst.run_cli("queue", "delete", id2)
    assert out.returncode == 0
    assert inst.queue_ids() == [id1]
    assert inst.run_cli("queue", "show", id2, check=False).returncode == 1
    assert inst.run_cli("queue", "delete", id2, check=False).returncode == 1

    # The server now takes the mail; a flush retries at once.
    sink.rcpt_replies.clear()
    assert "flush" in inst.run_cli("queue", "flush").stdout
    sink.wait_token(tok1, timeout=20)
    inst.wait_removed(id1)
    wait_until(lambda: inst.queue_ids() == [], 10, "an empty queue")
    time.sleep(1)
    assert sink.with_token(tok2) == [], "a deleted message is never delivered"
    assert len([r for r in sink.rcpts if r[1] == "q2@remote.test"]) == 1, \
        "a deleted message is not tried again"
    assert inst.messages(DEMO) == [], "no bounce for a deleted message"


# ---------------------------------------------------------------- the done-criterion

def test_submission_from_customer_reaches_remote_mx(dns, peers, make_instance):
    """An authenticated customer submits mail for user@remote.test; it arrives at the
    server found through remote.test's MX."""
    sink = peers(tls=True)
    inst = make_instance(settings(dns, sink.port))
    tok = token()
    qid = submit(inst.ports["submission"], DEMO, ["user@remote.test"],
                 make_message("submitted", tok), login=(DEMO, DEMO_PASSWORD),
                 starttls_ctx=inst.ssl_context())
    t = sink.wait_token(tok)[0]
    assert t.mail_from == DEMO and t.rcpt_tos == ["user@remote.test"]
    assert t.tls
    removed(inst, qid)
    assert deliveries(inst, qid, to="<user@remote.test>", status="sent",
                      relay=f"mx.remote.test[127.0.0.1]:{sink.port}")
    assert inst.events("accept", qid=qid, user=DEMO, **{"from": f"<{DEMO}>"},
                       to="<user@remote.test>", nrcpt=1)


def test_size_parameter_counts_crlf(dns, peers, make_instance):
    """MAIL's SIZE= is the size on the wire (CRLF line ends), at least the octets sent."""
    sink = peers(size=10 * 1024 * 1024)
    inst = make_instance(settings(dns, sink.port))
    tok = token()
    msg = make_message("sized", tok, body=("v" * 60 + "\n") * 200)
    _, qid = send(inst, ["sized@remote.test"], tok=tok, msg=msg)
    t = sink.wait_token(tok)[0]
    inst.wait_removed(qid)
    sizes = [int(o.split("=", 1)[1]) for o in t.mail_options if o.upper().startswith("SIZE=")]
    assert len(sizes) == 1
    # aiosmtpd hands over the text without the final CRLF . CRLF and dot-stuffing.
    assert sizes[0] >= len(t.data) - 2
    assert sizes[0] <= len(t.data) + 16


def test_active_limit_bounds_the_deliveries_under_way(dns, peers, make_instance):
    """[delivery] active_limit: at most that many messages in delivery at once (one
    destination would take 4), and the rest follow as those end."""
    sink = peers(data_delay=0.5)
    inst = make_instance(settings(dns, sink.port, delivery__active_limit="2"))
    toks = [send(inst, ["alice@remote.test"])[0] for _ in range(8)]
    for tok in toks:
        sink.wait_token(tok, timeout=30)
    assert sink.max_in_data == 2, sink.max_in_data
