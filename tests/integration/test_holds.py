"""test_holds.py - outbound limits per user and held messages (mailroom.8 "user limit",
"queue hold", "queue release"; mailroom.conf.5 [limits] sends_per_day,
first_time_recipients_per_day).

A logged-in user's mail to other domains is counted by lookupd before its first
delivery; over a limit it stays in the queue, held (not bounced, not sent), until
`queue release`. The remote side is a Sink behind a dnsmasq MX on loopback; mail is
submitted on 587 with STARTTLS and a login.
"""
import re
import time
import uuid

import pytest

from conftest import DEMO, DEMO_PASSWORD, HOSTNAME, free_port
from peers import Dns, make_message, submit

RECORDS = dict(
    mx=[("remote.test", "mx.remote.test", 10)],
    hosts={"mx.remote.test": "127.0.0.1", HOSTNAME: "127.0.0.1"},
)


@pytest.fixture(scope="module")
def dns():
    d = Dns(**RECORDS)
    yield d
    d.stop()


def settings(dns, port, **extra):
    s = {("delivery", "resolver"): dns.resolver, ("delivery", "remote_port"): str(port)}
    for k, v in extra.items():
        section, key = k.split("__")
        s[(section, key)] = v
    return s


def token():
    return uuid.uuid4().hex[:16]


def send(inst, rcpt, tok):
    """Submit one message after a login; its queue id."""
    return submit(inst.ports["submission"], DEMO, [rcpt], make_message("limits", tok),
                  login=(DEMO, DEMO_PASSWORD), starttls_ctx=inst.ssl_context())


def queue_line(inst, qid):
    for line in inst.run_cli("queue", "list").stdout.splitlines():
        if line.startswith(qid + " "):
            return line
    return None


def never_arrives(sink, tok, seconds=3.0):
    """tok does not reach the sink within seconds (retries are 1-2 s here)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert not sink.with_token(tok), f"{tok} was delivered"
        time.sleep(0.1)


def test_sends_per_day_holds_then_release(dns, sinks, make_instance):
    sink = sinks()
    inst = make_instance(settings(dns, sink.port, limits__sends_per_day="2"))
    toks = [token() for _ in range(3)]
    ids = [send(inst, "alice@remote.test", t) for t in toks]
    sink.wait_token(toks[0])
    sink.wait_token(toks[1])
    inst.wait_event("held", qid=ids[2], user=DEMO, reason="sends_per_day", limit=2,
                    _level="warning")
    line = queue_line(inst, ids[2])
    assert line is not None and "held: " in line and "sends_per_day (2)" in line, line
    shown = inst.run_cli("queue", "show", ids[2]).stdout
    assert "held: " in shown, shown
    never_arrives(sink, toks[2])
    assert "bounce" not in (queue_line(inst, ids[2]) or "")
    # the hold outlives a restart
    assert inst.stop() == 0
    assert "held: " in (queue_line(inst, ids[2]) or "")
    inst.start()
    never_arrives(sink, toks[2])
    out = inst.run_cli("queue", "release", ids[2]).stdout
    assert f"released {ids[2]}" in out, out
    sink.wait_token(toks[2])
    inst.wait_removed(ids[2])
    # the release sent it uncounted: only the first two are counted
    shown = inst.run_cli("user", "limit", DEMO).stdout
    assert re.search(r"per-day: 2 \(default\), counted 2", shown), shown


def test_hold_deferred_message(dns, sinks, make_instance):
    port = free_port()  # no sink yet: delivery is deferred
    inst = make_instance(settings(dns, port))
    tok = token()
    qid = send(inst, "bob@remote.test", tok)
    inst.wait_event("delivery", qid=qid, to="<bob@remote.test>", status="deferred")
    out = inst.run_cli("queue", "hold", qid).stdout
    assert f"held {qid}" in out, out
    assert "held: queue hold" in (queue_line(inst, qid) or ""), queue_line(inst, qid)
    inst.wait_event("held", _role="queued", qid=qid, reason="queue hold")
    sink = sinks(port=port)
    inst.run_cli("queue", "flush")
    never_arrives(sink, tok)
    # released while queued is not running: the CLI records it, the next start sends
    assert inst.stop() == 0
    out = inst.run_cli("queue", "release", qid).stdout
    assert f"released {qid}" in out, out
    assert "held" not in (queue_line(inst, qid) or "")
    inst.start()
    sink.wait_token(tok)
    inst.wait_removed(qid)
    p = inst.run_cli("queue", "hold", "0123456789ABCDEF", check=False)
    assert p.returncode == 1 and "no such message" in p.stderr, p.stderr


def test_user_limit_lifts(dns, sinks, make_instance):
    sink = sinks()
    inst = make_instance(settings(dns, sink.port, limits__sends_per_day="1"))
    out = inst.run_cli("user", "limit", DEMO, "--per-day", "0").stdout
    assert "per-day: none (own)" in out, out
    toks = [token() for _ in range(3)]
    for t in toks:
        send(inst, "carol@remote.test", t)
    for t in toks:
        sink.wait_token(t)
    assert inst.events("held") == []
    p = inst.run_cli("user", "limit", DEMO, "--per-day", "x", check=False)
    assert p.returncode == 1 and "bad limit" in p.stderr, p.stderr
    p = inst.run_cli("user", "limit", "nobody@" + DEMO.split("@")[1], check=False)
    assert p.returncode == 1 and "no such user" in p.stderr, p.stderr
    # back to the default of 1: the next message is held
    inst.run_cli("user", "limit", DEMO, "--per-day", "default")
    tok = token()
    qid = send(inst, "carol@remote.test", tok)
    inst.wait_event("held", qid=qid, reason="sends_per_day", limit=1)


def test_first_time_recipients(dns, sinks, make_instance):
    sink = sinks()
    inst = make_instance(settings(dns, sink.port, limits__sends_per_day="100",
                                  limits__first_time_recipients_per_day="3"))
    toks = [token() for _ in range(3)]
    for i, t in enumerate(toks):
        send(inst, f"r{i}@remote.test", t)
    for t in toks:
        sink.wait_token(t)
    tok4 = token()
    q4 = send(inst, "r3@remote.test", tok4)
    inst.wait_event("held", qid=q4, user=DEMO, reason="first_time_recipients_per_day", limit=3)
    # a recipient written to before is no first-time one: it goes
    tok5 = token()
    send(inst, "r0@remote.test", tok5)
    sink.wait_token(tok5)
    never_arrives(sink, tok4, 1.0)
    assert "held: " in (queue_line(inst, q4) or "")


def test_compromised_account_is_held_back(dns, sinks, make_instance):
    """A stolen password: a script submits 2,000 messages as one user, one session
    after another. At most sends_per_day reach the remote side; the rest wait in the
    queue, held, for the operator."""
    limit, total, per_session = 50, 2000, 200
    sink = sinks()
    inst = make_instance(settings(dns, sink.port, limits__sends_per_day=str(limit),
                                  limits__first_time_recipients_per_day="0"))
    import smtplib
    tok = token()
    sent = 0
    deadline = time.monotonic() + 300
    while sent < total and time.monotonic() < deadline:
        with smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30) as s:
            s.ehlo("spam-bot")
            s.starttls(context=inst.ssl_context())
            s.ehlo("spam-bot")
            s.login(DEMO, DEMO_PASSWORD)
            for _ in range(per_session):
                s.sendmail(DEMO, [f"victim{sent}@remote.test"],
                           make_message("spam", f"{tok}-{sent}"))
                sent += 1
    assert sent == total
    # Everything was accepted; queued counts and holds. Wait until nothing is pending.
    def settled():
        lines = inst.run_cli("queue", "list").stdout.splitlines()
        held = [ln for ln in lines if "held" in ln]
        return len(sink.accepted()) + len(held) >= total and (lines, held)
    lines, held = None, None
    end = time.monotonic() + 240
    while time.monotonic() < end:
        r = settled()
        if r:
            lines, held = r
            break
        time.sleep(1)
    assert held is not None, f"sent {len(sink.accepted())}, log: {inst.log()[-2000:]}"
    assert len(sink.accepted()) <= limit, len(sink.accepted())
    assert len(held) >= total - limit, len(held)
    assert inst.events("held", user=DEMO, reason="sends_per_day", limit=limit)
