"""test_srs.py - forwarding with SRS (mailroom(8) "Forwarding and SRS").

An alias info@a.test forwards to x@remote.test, whose MX is an aiosmtpd sink on
loopback (dnsmasq serves the MX records, and the SPF policies as TXT records). Mail
from s@other.test must leave with an SRS0 sender in a.test, which pyspf at the next
hop passes for 127.0.0.1 where the original sender fails; mail from a hosted sender
or the null sender keeps its sender; a bounce to the SRS address reaches the
original sender; forged and malformed SRS addresses are unknown users. Checked
against the SRS address forms of Shevek's paper (libsrs2, postsrsd) and RFC 7208.
"""
import re
import smtplib
import uuid

import dnslib
import pytest
import spf

from conftest import DEMO, HOSTNAME
from peers import Dns, Sink, make_message, submit, wait_until

A_TEST_SPF = "v=spf1 ip4:127.0.0.1 mx ~all"
OTHER_SPF = "v=spf1 -all"  # the original sender's domain does not list us
SRS0 = re.compile(r"^SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=other\.test=s@a\.test$")


@pytest.fixture(scope="module")
def dns():
    d = Dns(mx=[("remote.test", "mx.remote.test", 10), ("other.test", "mx.remote.test", 10)],
            hosts={"mx.remote.test": "127.0.0.1", HOSTNAME: "127.0.0.1"},
            txt=[("a.test", [A_TEST_SPF]), ("other.test", [OTHER_SPF])])
    yield d
    d.stop()


@pytest.fixture(scope="module")
def sink():
    s = Sink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def inst(dns, sink, make_module_instance):
    i = make_module_instance({("delivery", "resolver"): dns.resolver,
                              ("delivery", "remote_port"): str(sink.port)}, start=False)
    i.run_cli("domain", "add", "a.test")
    i.run_cli("alias", "add", "info@a.test", "x@remote.test")
    return i.start()


@pytest.fixture
def spf_via(dns, monkeypatch):
    """pyspf asking our dnsmasq (through dnslib) instead of the system's resolver."""
    def lookup(name, qtype, *args, **kwargs):
        q = dnslib.DNSRecord.question(name, qtype)
        reply = dnslib.DNSRecord.parse(q.send("127.0.0.1", dns.port, timeout=5))
        out = []
        for rr in reply.rr:
            rtype = dnslib.QTYPE[rr.rtype]
            if rtype != qtype:
                continue
            if rtype in ("A", "AAAA"):
                out.append(((name, qtype), str(rr.rdata)))
            elif rtype == "MX":
                out.append(((name, qtype), (rr.rdata.preference, str(rr.rdata.label).rstrip("."))))
            elif rtype == "TXT":
                out.append(((name, qtype), list(rr.rdata.data)))
        return out
    monkeypatch.setattr(spf, "DNSLookup", lookup)


def token():
    return uuid.uuid4().hex[:16]


def send(inst, sender, rcpts, tok):
    return submit(inst.ports["smtp"], sender, rcpts, make_message("srs", tok))


def one(sink, tok):
    (t,) = sink.wait_token(tok)
    return t


def test_forwarded_mail_gets_an_srs_sender_that_passes_spf(inst, sink, spf_via):
    tok = token()
    mark = inst.log_mark()
    send(inst, "s@other.test", ["info@a.test"], tok)
    t = one(sink, tok)
    assert t.rcpt_tos == ["x@remote.test"]
    assert SRS0.match(t.mail_from), t.mail_from
    # SPF at the next hop: the alias domain lists us, the original sender's does not
    assert spf.check2(i="127.0.0.1", s=t.mail_from, h="mx.example.test")[0] == "pass"
    assert spf.check2(i="127.0.0.1", s="s@other.test", h="mx.example.test")[0] == "fail"
    inst.wait_event("srs", since=mark, sent_as=re.compile(r"^<SRS0=[^>]*@a\.test>$"),
                    to="<x@remote.test>", orig_to="<info@a.test>", **{"from": "<s@other.test>"})


def test_srs_sender_passes_the_printed_spf_record(inst, sink, spf_via, monkeypatch):
    """The SPF record that `dns records a.test` prints lets the forwarded mail through."""
    out = inst.run_cli("dns", "records", "a.test").stdout
    (line,) = [ln for ln in out.splitlines()
               if ln.split()[:1] == ["a.test."] and "v=spf1" in ln]
    printed = "".join(re.findall(r'"([^"]*)"', line))
    asked = spf.DNSLookup

    def lookup(name, qtype, *args, **kwargs):
        if name.rstrip(".").lower() == "a.test" and qtype == "TXT":
            return [((name, qtype), [printed.encode()])]
        return asked(name, qtype, *args, **kwargs)
    monkeypatch.setattr(spf, "DNSLookup", lookup)
    tok = token()
    send(inst, "s@other.test", ["info@a.test"], tok)
    t = one(sink, tok)
    assert SRS0.match(t.mail_from), t.mail_from
    assert spf.check2(i="127.0.0.1", s=t.mail_from, h=HOSTNAME)[0] == "pass", printed
    assert spf.check2(i="127.0.0.2", s=t.mail_from, h=HOSTNAME)[0] != "pass", printed


def test_hosted_and_null_senders_are_kept(inst, sink):
    tok = token()
    send(inst, DEMO, ["info@a.test"], tok)
    assert one(sink, tok).mail_from == DEMO
    tok = token()
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo("client.example.test")
        assert s.mail("")[0] == 250
        assert s.rcpt("info@a.test")[0] == 250
        assert s.data(make_message("srs", tok))[0] == 250
    assert one(sink, tok).mail_from in ("", "<>")


def test_bounce_to_the_srs_address_reaches_the_sender(inst, sink):
    tok = token()
    send(inst, "s@other.test", ["info@a.test"], tok)
    srs = one(sink, tok).mail_from
    assert SRS0.match(srs), srs
    # as its bounce would come back, and once with the case changed on the way
    for rcpt in (srs, srs.upper()):
        tok = token()
        with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
            s.ehlo("mx.remote.test")
            assert s.mail("")[0] == 250
            code, resp = s.rcpt(rcpt)
            assert code == 250, (rcpt, code, resp)
            assert s.data(make_message("bounce", tok))[0] == 250
        t = one(sink, tok)
        assert [r.lower() for r in t.rcpt_tos] == ["s@other.test"]
        assert t.mail_from in ("", "<>")


def test_forged_and_malformed_srs_addresses_are_unknown(inst, sink):
    tok = token()
    send(inst, "s@other.test", ["info@a.test"], tok)
    srs = one(sink, tok).mail_from
    h = srs[5:9]
    forged = srs[:5] + ("QQQQ" if h.upper() != "QQQQ" else "RRRR") + srs[9:]
    bad = ["SRS0=nonsense@a.test", "srs1=x@a.test", "SRS0=abcd=AA=other.test=@a.test",
           forged, srs.replace("=other.test=", "=evil.test=")]
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo("mx.remote.test")
        assert s.mail("")[0] == 250
        for rcpt in bad:
            code, resp = s.rcpt(rcpt)
            assert code == 550 and b"5.1.1" in resp, (rcpt, code, resp)
        # the genuine one still is fine in the same session
        assert s.rcpt(srs)[0] == 250
        s.rset()


def test_forwarded_and_direct_recipients_get_separate_transactions(inst, sink):
    tok = token()
    send(inst, "s@other.test", ["info@a.test", "y@remote.test"], tok)
    ts = sink.wait_token(tok, n=2)
    wait_until(lambda: len(sink.with_token(tok)) == 2, 5, "two transactions")
    by_rcpt = {tuple(t.rcpt_tos): t.mail_from for t in sink.with_token(tok)}
    assert set(by_rcpt) == {("x@remote.test",), ("y@remote.test",)}, ts
    assert SRS0.match(by_rcpt[("x@remote.test",)]), by_rcpt
    assert by_rcpt[("y@remote.test",)] == "s@other.test"
