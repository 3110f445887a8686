"""test_trace_escaping.py - text from the network in the headers and log lines we write.

The Received header has the RFC 5321 4.4 form: `from <HELO> ([client ip])`, the
client address always there; a HELO that is not a domain or an address literal is
shown only escaped inside a comment, `from unknown (HELO ...)`, so a client cannot
forge our own comments (such as "(authenticated sender: ...)"). Control
characters, C1 controls and bidirectional overrides from SMTPUTF8 addresses, AUTH
and POP3 user names are written escaped (\\x1b, \\u202e), in headers and in logs.
"""
import base64
import poplib
import re
import uuid

import pytest

from conftest import DEMO, HOSTNAME, deferring_settings
from smtpraw import Raw, queue_id

RLO = "\u202e"   # RIGHT-TO-LEFT OVERRIDE
NEL = "\u0085"   # a C1 control (NEXT LINE)


def token():
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def inst(make_module_instance):
    return make_module_instance(deferring_settings())


def headers(msg):
    """The header section of a stored message as unfolded lines (bytes kept as text)."""
    head = msg.split(b"\n\n", 1)[0].decode("utf-8", "surrogateescape")
    out = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


def header(msg, name):
    return [h.split(":", 1)[1].strip() for h in headers(msg)
            if h.lower().startswith(name.lower() + ":")]


def deliver(inst, helo, sender, body, params=""):
    """One message to DEMO with the given HELO and sender; the stored message."""
    with Raw(inst.ports["smtp"]) as c:
        assert c.cmd(f"EHLO {helo}".encode()).code == 250
        r = c.cmd(f"MAIL FROM:<{sender}>{' ' + params if params else ''}".encode())
        assert r.code == 250, r
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(body.encode() + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
    inst.wait_removed(queue_id(r))
    t = body.split("Subject: ", 1)[1].split("\r\n", 1)[0]
    (msg,) = inst.messages_with(DEMO, t)
    return msg, queue_id(r)


def test_forged_comment_in_helo_is_escaped(inst):
    t = token()
    helo = "evil (authenticated sender: boss@example.test)"
    msg, _ = deliver(inst, helo, "a@remote.test", f"Subject: {t}\r\n\r\nx\r\n")
    (received,) = header(msg, "Received")
    assert "(authenticated sender: boss@example.test)" not in received, received
    assert received.startswith(
        r"from unknown (HELO evil \(authenticated sender: boss@example.test\)) ([127.0.0.1])"), \
        received
    assert f"by {HOSTNAME} (mailroom)" in received


@pytest.mark.parametrize("helo,shown", [
    ("client.example.test", "from client.example.test ([127.0.0.1])"),
    ("[127.0.0.1]", "from [127.0.0.1] ([127.0.0.1])"),
    ("[IPv6:2001:db8::1]", "from [IPv6:2001:db8::1] ([127.0.0.1])"),
    ("bad_name", "from unknown (HELO bad_name) ([127.0.0.1])"),
    ("a\\b)c", r"from unknown (HELO a\\b\)c) ([127.0.0.1])"),
    ("[999.1.1.1]", "from unknown (HELO [999.1.1.1]) ([127.0.0.1])"),
])
def test_received_from_part(inst, helo, shown):
    t = token()
    msg, _ = deliver(inst, helo, "a@remote.test", f"Subject: {t}\r\n\r\nx\r\n")
    (received,) = header(msg, "Received")
    assert received.startswith(shown), received


@pytest.mark.parametrize("char,escaped", [(RLO, r"\u202e"), (NEL, r"\u0085")])
def test_smtputf8_sender_is_escaped_in_log_and_headers(inst, char, escaped):
    t = token()
    sender = f"x{char}gro.live@remote.test"
    mark = inst.log_mark()
    msg, qid = deliver(inst, "client.example.test", sender, f"Subject: {t}\r\n\r\nx\r\n",
                       params="SMTPUTF8")
    raw = char.encode()
    assert raw not in msg.split(b"\n\n", 1)[0], msg[:300]
    assert header(msg, "Return-Path") == [f"<x{escaped}gro.live@remote.test>"]
    with open(inst.logpath, "rb") as f:
        log = f.read()[mark:]
    assert raw not in log
    assert re.search(rf"event=accept qid={qid} .*from=<x{re.escape(escaped)}gro\.live@remote\.test> "
                     .encode(), log), log[-2000:]
    assert inst.events("accept", since=mark, qid=qid, **{"from": f"<x{escaped}gro.live@remote.test>"})


def test_unknown_rcpt_is_escaped_in_the_log(inst):
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test> SMTPUTF8").code == 250
        # An unknown local user with an override: refused, and logged escaped.
        mark = inst.log_mark()
        r = c.cmd(f"RCPT TO:<{RLO}nobody@example.test>".encode())
        assert r.code == 550, r
    log = open(inst.logpath, "rb").read()[mark:]
    assert RLO.encode() not in log
    assert rb" to=<\u202enobody@example.test> reason=user-unknown" in log, log[-2000:]


def test_auth_user_name_is_escaped_in_the_log(inst):
    mark = inst.log_mark()
    user = f"{RLO}boss\x1b[31m@example.test"
    token_ = base64.b64encode(f"\0{user}\0wrong".encode()).decode()
    with Raw(inst.ports["submission"]) as c:
        c.ehlo()
        r = c.cmd(f"AUTH PLAIN {token_}")
        assert r.code == 535, r
    inst.wait_event("login-failed", since=mark, service="submission",
                    user=r"\u202eboss\x1b[31m@example.test")
    log = open(inst.logpath, "rb").read()[mark:]
    assert RLO.encode() not in log and b"\x1b" not in log
    assert rb"event=login-failed user=\u202eboss\x1b[31m@example.test client=" in log, log[-2000:]


def test_pop3_user_name_is_escaped_in_the_log(inst):
    mark = inst.log_mark()
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=10)
    try:
        p._putcmd(f"USER {RLO}boss{NEL}@example.test")
        p._getresp()
        with pytest.raises(poplib.error_proto):
            p.pass_("wrong")
    finally:
        p.close()
    inst.wait_event("login-failed", since=mark, service="pop3", user=r"\u202eboss\u0085@example.test")
    log = open(inst.logpath, "rb").read()[mark:]
    assert RLO.encode() not in log and NEL.encode() not in log
    assert rb"event=login-failed user=\u202eboss\u0085@example.test client=" in log, log[-2000:]


def test_ipv6_client_address_literal(make_instance):
    inst = make_instance(start=False)
    port = inst.ports["smtp"]
    inst.set("listen", "smtp", f"127.0.0.1:{port}, [::1]:{port}")
    inst.start()
    t = token()
    with Raw(port, host="::1") as c:
        c.ehlo("client.example.test")
        r = c.mail_rcpt_data("a@remote.test", [DEMO], f"Subject: {t}\r\n\r\nx\r\n")
        assert r.code == 250, r
    inst.wait_removed(queue_id(r))
    (msg,) = inst.messages_with(DEMO, t)
    (received,) = header(msg, "Received")
    assert received.startswith("from client.example.test ([IPv6:::1])"), received
