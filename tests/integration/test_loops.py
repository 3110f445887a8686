"""test_loops.py - mail loops (INTERFACE.md "Loops and trust").

A destination that resolves to one of the instance's own listening addresses and
ports is a loop: bounced with 5.4.6 and never connected to. Here the instance's
[delivery] remote_port is its own smtp port, so that 127.0.0.1 on remote_port
really is itself (before the fix, such a message went round and round from
127.0.0.1, which is trusted). A message with more than max_hops Received headers
is refused at the end of DATA or BDAT LAST (554 5.4.6), and one found in the
queue with too many is bounced. RFC 5321 5.1: an MX host that is ourselves is
dropped with every MX host of the same or a worse preference. At most
[delivery] mx_address_limit addresses are tried per delivery (Postfix's
smtp_mx_address_limit).
"""
import re
import time
import uuid

import pytest

from conftest import DEMO, DEMO_PASSWORD, HOSTNAME, free_port
from peers import Dns, Sink, make_message, submit, wait_dsn, wait_until
from smtpraw import Raw, queue_id

SELF = "127.0.0.1"      # where the instance listens
OTHER = "127.0.0.3"     # a sink on the same port, not us
MANY = 8                # MX hosts of many.test, none of them answering

RECORDS = dict(
    mx=[("selfmx.test", "mx.selfmx.test", 10),
        # The better MX is a sink; we are the backup: mail goes to the sink.
        ("backup-self.test", "mx.other.test", 10),
        ("backup-self.test", "mx.selfmx.test", 20),
        # We are the better MX: a loop, the worse one is never tried.
        ("primary-self.test", "mx.selfmx.test", 10),
        ("primary-self.test", "mx.other.test", 20)]
    + [("many.test", f"mx{i}.many.test", 10 * i) for i in range(1, MANY + 1)],
    hosts={"mx.selfmx.test": SELF, "amx-self.test": SELF, "mx.other.test": OTHER,
           **{f"mx{i}.many.test": f"127.0.0.{10 + i}" for i in range(1, MANY + 1)}},
)


@pytest.fixture(scope="module")
def dns():
    d = Dns(**RECORDS)
    yield d
    d.stop()


def token():
    return uuid.uuid4().hex[:16]


def self_looping(make_instance, dns=None, **extra):
    """An instance whose remote_port is its own smtp port (so 127.0.0.1 on
    remote_port is itself), started."""
    settings = {("delivery", "resolver"): dns.resolver if dns else f"127.0.0.1:{free_port()}"}
    settings.update(extra)
    inst = make_instance(settings, start=False)
    inst.set("delivery", "remote_port", str(inst.ports["smtp"]))
    return inst.start()


def connects_after(inst, qid):
    """The connections to the instance's smtp listener after it accepted qid: ours to
    ourselves, if it looped."""
    evs = inst.events()
    at = next(i for i, e in enumerate(evs) if e["event"] == "accept" and e["qid"] == qid)
    return [e for e in evs[at:] if e["event"] == "connect" and e["service"] == "smtp"]


def assert_loop_dsn(inst, tok, rcpt):
    d = wait_dsn(inst, DEMO, tok, timeout=20)
    b = d.recipient(rcpt)
    assert str(b["Status"]).strip() == "5.4.6", str(b)
    assert "loops back to myself" in str(b["Diagnostic-Code"]), str(b)
    # Only the first hop's Received header: the message never came back to us.
    assert len(d.original.get_all("Received")) == 1, d.original.get_all("Received")
    return d


@pytest.mark.parametrize("via", ["submission", "trusted-smtp"])
def test_address_literal_of_myself_bounces(make_instance, via):
    inst = self_looping(make_instance)
    mark = inst.log_mark()
    tok = token()
    rcpt = "x@[127.0.0.1]"
    msg = make_message("loop", tok)
    if via == "submission":
        with Raw(inst.ports["submission"]) as c:
            c.ehlo()
            assert c.auth_plain(DEMO, DEMO_PASSWORD).startswith("235")
            qid = queue_id(c.mail_rcpt_data(DEMO, [rcpt], msg))
    else:
        qid = submit(inst.ports["smtp"], DEMO, [rcpt], msg)
    assert_loop_dsn(inst, tok, rcpt)
    inst.wait_removed(qid)
    log = inst.log()
    assert inst.events("delivery", qid=qid, to=f"<{rcpt}>", status="bounced",
                       reason=re.compile(r"^554 5\.4\.6 "))
    assert inst.events("loop", qid=qid, host="127.0.0.1", domain="[127.0.0.1]")
    # No connection of ours to ourselves: the only smtp client was the test's own.
    assert connects_after(inst, qid) == [], log[mark:]
    assert len(inst.events("accept", since=mark)) == 1, log[mark:]


def test_ipv6_literal_of_myself_bounces(make_instance):
    """[IPv6:::1] on remote_port is us when we listen on [::1] there too."""
    inst = make_instance(start=False)
    port = inst.ports["smtp"]
    inst.set("listen", "smtp", f"127.0.0.1:{port}, [::1]:{port}")
    inst.set("delivery", "remote_port", str(port))
    inst.set("delivery", "resolver", f"127.0.0.1:{free_port()}")
    inst.start()
    mark = inst.log_mark()
    tok = token()
    qid = submit(inst.ports["smtp"], DEMO, ["six@[IPv6:::1]"], make_message("loop6", tok))
    assert_loop_dsn(inst, tok, "six@[IPv6:::1]")
    inst.wait_removed(qid)
    assert connects_after(inst, qid) == [], inst.log()[mark:]


@pytest.mark.parametrize("rcpt", ["y@selfmx.test", "z@amx-self.test", "p@primary-self.test"])
def test_mx_or_address_record_of_myself_bounces(dns, make_instance, rcpt):
    """An MX (or, without MX, the A record) whose address is our own smtp listener."""
    inst = make_instance({("delivery", "resolver"): dns.resolver}, start=False)
    inst.set("delivery", "remote_port", str(inst.ports["smtp"]))
    other = Sink(host=OTHER, port=inst.ports["smtp"])
    try:
        inst.start()
        mark = inst.log_mark()
        tok = token()
        qid = submit(inst.ports["smtp"], DEMO, [rcpt], make_message("loopmx", tok))
        assert_loop_dsn(inst, tok, rcpt)
        inst.wait_removed(qid)
        assert connects_after(inst, qid) == [], inst.log()[mark:]
        assert len(inst.events("accept", since=mark)) == 1
        assert inst.events("loop", qid=qid, domain=rcpt.split("@")[1])
        # The worse MX is never tried once we are the better one.
        assert other.connections == 0
    finally:
        other.stop()


def test_backup_mx_that_is_myself_is_skipped(dns, make_instance):
    """RFC 5321 5.1: we are MX 20 of backup-self.test; MX 10 (a sink) gets the mail."""
    inst = make_instance({("delivery", "resolver"): dns.resolver}, start=False)
    port = inst.ports["smtp"]
    inst.set("delivery", "remote_port", str(port))
    sink = Sink(host=OTHER, port=port)
    try:
        inst.start()
        tok = token()
        qid = submit(port, DEMO, ["b@backup-self.test"], make_message("backup", tok))
        t = sink.wait_token(tok)[0]
        assert t.rcpt_tos == ["b@backup-self.test"]
        inst.wait_removed(qid)
    finally:
        sink.stop()


def test_backup_mx_that_is_myself_when_the_better_one_is_down(dns, make_instance):
    """MX 10 is down and MX 20 is us: deferred (try MX 10 later), not sent to us."""
    inst = self_looping(make_instance, dns)
    mark = inst.log_mark()
    tok = token()
    qid = submit(inst.ports["smtp"], DEMO, ["c@backup-self.test"], make_message("down", tok))
    inst.wait_event("delivery", since=mark, qid=qid, to="<c@backup-self.test>", status="deferred")
    log = inst.log()[mark:]
    assert not inst.events("delivery", since=mark, qid=qid, status="bounced")
    assert inst.events("mx-self", since=mark, qid=qid, domain="backup-self.test", pref=20)
    assert connects_after(inst, qid) == [], log


def test_relayhost_that_is_myself_bounces(make_instance):
    inst = make_instance(start=False)
    inst.set("relay", "relayhost", f"127.0.0.1:{inst.ports['smtp']}")
    inst.set("delivery", "resolver", f"127.0.0.1:{free_port()}")
    inst.start()
    mark = inst.log_mark()
    tok = token()
    qid = submit(inst.ports["smtp"], DEMO, ["r@remote.test"], make_message("relay", tok))
    assert_loop_dsn(inst, tok, "r@remote.test")
    inst.wait_removed(qid)
    assert connects_after(inst, qid) == [], inst.log()[mark:]


def test_other_port_on_my_address_is_not_a_loop(dns, make_instance):
    """127.0.0.1 on a port we do not listen on is someone else (the tests' sinks)."""
    sink = Sink()
    try:
        inst = make_instance({("delivery", "resolver"): dns.resolver,
                              ("delivery", "remote_port"): str(sink.port)})
        tok = token()
        qid = submit(inst.ports["smtp"], DEMO, ["s@selfmx.test"], make_message("notme", tok))
        sink.wait_token(tok)
        inst.wait_removed(qid)
    finally:
        sink.stop()


# ---------------------------------------------------------------- max_hops

def hops_message(n, tok):
    hops = [f"Received: from hop{i}.example.test by relay{i}.example.test; "
            "Mon, 01 Jan 2024 00:00:00 +0000" for i in range(n)]
    # A Received line in the body is not a header.
    return make_message("hops", tok, headers=hops,
                        body="Received: from body.example.test\nbody\n")


def received_count(msg):
    head = msg.split(b"\n\n", 1)[0]
    return len(re.findall(rb"(?m)^Received:", head))


@pytest.fixture(scope="module")
def hops_inst(make_module_instance):
    return make_module_instance()


@pytest.mark.parametrize("mode", ["data", "bdat"])
def test_max_hops_at_the_end_of_the_message(hops_inst, mode):
    for n, want in ((50, 250), (51, 554)):
        tok = token()
        msg = hops_message(n, tok)
        with Raw(hops_inst.ports["smtp"]) as c:
            c.ehlo()
            assert c.cmd(f"MAIL FROM:<{DEMO}>").code == 250
            assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
            if mode == "data":
                assert c.cmd("DATA").code == 354
                half = len(msg) // 2
                c.send(msg[:half])
                time.sleep(0.05)
                c.send(msg[half:] + b".\r\n")
                r = c.reply()
            else:
                half = len(msg) // 2
                c.send(b"BDAT %d\r\n" % half + msg[:half])
                assert c.reply().code == 250
                c.send(b"BDAT %d LAST\r\n" % (len(msg) - half) + msg[half:])
                r = c.reply()
            assert r.code == want, (n, r)
            if want == 554:
                assert r.startswith("554 5.4.6"), r
            # The session goes on.
            assert c.cmd("RSET").code == 250
        if want == 250:
            (got,) = hops_inst.wait_token(DEMO, tok)
            assert received_count(got) == n + 1
        else:
            time.sleep(0.2)
            assert hops_inst.messages_with(DEMO, tok) == []
    assert hops_inst.events("reject", client="127.0.0.1", stage="data", reason="too-many-hops",
                            received=51, limit=50), hops_inst.log()[-2000:]


def test_max_hops_is_the_config_value(make_instance):
    inst = make_instance({("limits", "max_hops"): "3"})
    for n, want in ((3, 250), (4, 554)):
        tok = token()
        with Raw(inst.ports["smtp"]) as c:
            c.ehlo()
            r = c.mail_rcpt_data(DEMO, [DEMO], hops_message(n, tok))
            assert r.code == want, (n, r)


def test_too_many_hops_found_in_the_queue_bounce(make_instance):
    """Queued under a higher max_hops, then the limit is lowered: bounced, 5.4.6."""
    inst = make_instance({("limits", "max_hops"): "100",
                          ("relay", "relayhost"): f"127.0.0.1:{free_port()}",
                          ("delivery", "resolver"): f"127.0.0.1:{free_port()}",
                          ("delivery", "retry_min"): "1h", ("delivery", "retry_max"): "1h"})
    tok = token()
    qid = submit(inst.ports["smtp"], DEMO, ["far@remote.test"], hops_message(60, tok))
    inst.wait_event("delivery", qid=qid, to="<far@remote.test>", status="deferred")
    inst.set("limits", "max_hops", "50")
    mark = inst.log_mark()
    inst.reload()
    inst.wait_event("config-reloaded", since=mark, _role="queued")
    inst.run_cli("queue", "flush")
    d = wait_dsn(inst, DEMO, tok, timeout=20)
    b = d.recipient("far@remote.test")
    assert str(b["Status"]).strip() == "5.4.6", str(b)
    assert "hops" in str(b["Diagnostic-Code"])
    inst.wait_removed(qid)
    assert inst.events("delivery", qid=qid, to="<far@remote.test>", status="bounced",
                       reason=re.compile(r"^554 5\.4\.6 "))


# ---------------------------------------------------------------- mx_address_limit

def test_mx_address_limit(dns, make_instance):
    """many.test has 8 MX hosts, none answering: 5 addresses tried, then deferred."""
    dead_port = free_port()
    inst = make_instance({("delivery", "resolver"): dns.resolver,
                          ("delivery", "remote_port"): str(dead_port),
                          ("delivery", "retry_min"): "1h", ("delivery", "retry_max"): "1h"})
    tok = token()
    qid = submit(inst.ports["smtp"], DEMO, ["m@many.test"], make_message("many", tok))
    inst.wait_event("delivery", qid=qid, to="<m@many.test>", status="deferred")
    tried = [e["relay"].split("[")[0] for e in inst.events("attempt", qid=qid, domain="many.test",
                                                             reason=re.compile(r"Connection refused"))]
    assert tried == [f"mx{i}.many.test" for i in range(1, 6)], inst.log()[-3000:]
    assert inst.events("mx-limit", qid=qid, domain="many.test", tried=5)
