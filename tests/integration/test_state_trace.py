"""test_state_trace.py - MAILROOM_TRACE: every change of a session's state in the log.

The SMTP and POP3 sessions change state only through their enter_state function,
which writes "debug: session <ip>: <old> -> <new>" when the environment of
`mailroom serve` has MAILROOM_TRACE set, and nothing otherwise.
"""
import poplib

from conftest import DEMO, DEMO_PASSWORD
from smtpraw import Raw


def test_trace_off_by_default(instance):
    with Raw(instance.ports["smtp"]) as c:
        c.ehlo()
        c.cmd("QUIT")
    instance.wait_event("disconnect", _role="smtpd", client="127.0.0.1", reason="quit")
    assert "debug:" not in instance.log()


def test_trace_shows_each_transition(make_instance):
    i = make_instance(start=False)
    i.extra_env["MAILROOM_TRACE"] = "1"
    i.start()
    with Raw(i.ports["smtp"]) as c:
        c.ehlo()
        assert c.mail_rcpt_data("a@remote.test", [DEMO], "Subject: t\r\n\r\nt\r\n").code == 250
        c.cmd("QUIT")
    i.wait_event("disconnect", _role="smtpd", client="127.0.0.1", reason="quit")
    log = i.log()
    steps = [("connected", "ready"), ("ready", "mail"), ("mail", "rcpt"), ("rcpt", "data"),
             ("data", "commit"), ("commit", "ready"), ("ready", "closing")]
    at = 0
    for old, new in steps:
        line = f"smtpd: debug: session 127.0.0.1: {old} -> {new}"
        found = log.find(line, at)
        assert found >= 0, f"no {line!r} after offset {at}:\n{log[-3000:]}"
        at = found
    p = poplib.POP3("127.0.0.1", i.ports["pop3"], timeout=10)
    p.user(DEMO)
    p.pass_(DEMO_PASSWORD)
    p.quit()
    i.wait_event("disconnect", _role="pop3d", client="127.0.0.1", reason="quit")
    log = i.log()
    a = log.find("pop3d: debug: session 127.0.0.1: authorization -> transaction")
    assert a >= 0, log[-3000:]
    assert log.find("pop3d: debug: session 127.0.0.1: transaction -> closing", a) >= 0
