"""test_smtp.py - the SMTP side of mailroom against INTERFACE.md "SMTP behaviour" and
RFC 5321 / 2920 / 3030 / 6152 / 6531, with smtplib and a raw client (smtpraw.py).

Most tests share one instance per module (trusted loopback, remote mail kept
deferred); each message carries a unique token, so tests only look at their own.
Tests of limits run on instances of their own.
"""
import os
import random
import re
import smtplib
import socket
import ssl
import subprocess
import time
import uuid

import pytest

from conftest import DEMO, DEMO_PASSWORD, HOSTNAME, deferring_settings
from smtpraw import Closed, Raw, dot_stuff, queue_id

U2 = "u2@example.test"
VICTIM = "victim@example.test"
FRIEND = "friend@remote.test"
PASSWORD = "some-password-1"


def token():
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def inst(make_module_instance):
    """Trusted loopback (the default); aliases of every kind."""
    i = make_module_instance(deferring_settings())
    for user in (U2, VICTIM, "real@catch.test"):
        if user.endswith("@catch.test"):
            i.run_cli("domain", "add", "catch.test")
        i.add_user(user, PASSWORD)
    i.run_cli("alias", "add", "single@example.test", DEMO)
    i.run_cli("alias", "add", "multi@example.test", DEMO, U2)
    i.run_cli("alias", "add", "fwd@example.test", FRIEND)
    i.run_cli("alias", "add", "@catch.test", U2)
    return i


@pytest.fixture(scope="module")
def untrusted(make_module_instance):
    """Loopback is not a trusted network here."""
    s = deferring_settings()
    s[("relay", "trusted_networks")] = ""
    return make_module_instance(s)


def send(inst, rcpts, body, sender="sender@remote.test", params="", port=None):
    """One transaction over a raw connection; the final reply."""
    with Raw(port or inst.ports["smtp"]) as c:
        c.ehlo()
        r = c.mail_rcpt_data(sender, rcpts, body, params)
        c.cmd("QUIT")
    return r


def deliver(inst, rcpts, body, **kw):
    """send(), which must be accepted; wait until queued is done with it; the queue id."""
    r = send(inst, rcpts, body, **kw)
    assert r.code == 250, r
    qid = queue_id(r)
    inst.wait_removed(qid)
    return qid


def headers(msg):
    """The header section of a stored message as a list of unfolded lines."""
    head = msg.split(b"\n\n", 1)[0].decode("utf-8", "replace")
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


# ---- greeting, EHLO, simple commands ----

def test_greeting(inst):
    for port in (inst.ports["smtp"], inst.ports["submission"]):
        with Raw(port) as c:
            assert c.banner.lines == [f"{HOSTNAME} ESMTP mailroom"]
            assert c.banner.code == 220
    with Raw(inst.ports["submissions"], tls_context=inst.ssl_context()) as c:
        assert c.banner.first == f"220 {HOSTNAME} ESMTP mailroom"


def test_ehlo_keywords(inst):
    with Raw(inst.ports["smtp"]) as c:
        r = c.ehlo()
        assert r.lines[0].split()[0] == HOSTNAME
        kw = c.keywords(r)
        for k in ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING",
                  "STARTTLS"):
            assert k in kw, (k, r)
        assert kw["SIZE"] == str(25 * 1024 * 1024)
        # AUTH belongs to the submission listeners, even from a trusted network.
        assert "AUTH" not in kw
        a = c.cmd("AUTH PLAIN " + "AGRlbW9AZXhhbXBsZS50ZXN0AHg=")
        assert 500 <= a.code < 600, a
        c.starttls(inst.ssl_context())
        kw = c.keywords(c.ehlo())
        assert "STARTTLS" not in kw
        assert "AUTH" not in kw
        for k in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8",
                  "CHUNKING"):
            assert k in kw, k


def test_ehlo_with_smtplib(inst):
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=10) as s:
        code, _ = s.ehlo("client.example")
        assert code == 250
        for k in ("pipelining", "size", "8bitmime", "enhancedstatuscodes", "smtputf8",
                  "chunking", "starttls"):
            assert s.has_extn(k), k
        assert not s.has_extn("auth")


def test_helo(inst):
    t = token()
    with Raw(inst.ports["smtp"]) as c:
        r = c.cmd("HELO client.example")
        assert r.code == 250 and len(r.lines) == 1, r
        assert c.cmd("HELO").code == 501
        assert c.cmd("EHLO").code == 501
        assert c.cmd("HELO client.example").code == 250
        r = c.mail_rcpt_data("s@remote.test", [DEMO], f"Subject: {t}\r\n\r\nhelo\r\n")
        assert r.code == 250, r
        qid = queue_id(r)
        assert c.cmd("QUIT").code == 221
    inst.wait_removed(qid)
    (msg,) = inst.messages_with(DEMO, t)
    assert "client.example" in header(msg, "Received")[0]


def test_noop_help_vrfy_rset_quit(inst):
    with Raw(inst.ports["smtp"]) as c:
        assert c.cmd("NOOP").code == 250
        c.ehlo()
        assert c.cmd("NOOP").code == 250
        assert c.cmd("noop with an argument").code == 250
        assert c.cmd("mail from:<lower@remote.test>").code == 250  # verbs in any case
        assert c.cmd(f"rcpt to:<{DEMO}>").code == 250
        assert c.cmd("rset").code == 250
        assert c.cmd("HELP").code in (211, 214)
        r = c.cmd(f"VRFY {DEMO}")
        assert r.code == 252, r
        assert c.cmd("VRFY nosuch@example.test").code == 252  # never confirm nor deny
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd("RSET").code == 250
        # The transaction is gone.
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 503
        assert c.cmd("DATA").code == 503
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        # EHLO resets the transaction too (RFC 5321 4.1.4).
        assert c.cmd("EHLO client.example").code == 250
        assert c.cmd("DATA").code == 503
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("QUIT").code == 221
        assert c.expect_closed() == b""


def test_unknown_command(inst):
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        # RFC 5321 4.2.4: 500 for a command not recognized (502 is for recognized ones).
        r = c.cmd("FROBNICATE now")
        assert r.code == 500, r
        assert c.cmd("MAIL FROM:<a@remote.test> WHATEVER=1").code == 555
        assert c.cmd("MAIL FROM:not an address").code == 501
        assert c.cmd("NOOP").code == 250


def test_commands_out_of_order(inst):
    with Raw(inst.ports["smtp"]) as c:
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 503  # before EHLO
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 503
        assert c.cmd("DATA").code == 503
        c.ehlo()
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 503           # before MAIL
        assert c.cmd("DATA").code == 503
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 503   # nested MAIL
        # DATA without a valid RCPT: 503 or 554 (RFC 5321 3.3)
        assert c.cmd("DATA").code in (503, 554)
        assert c.cmd("RSET").code == 250
        # BDAT out of order: the chunk is read and dropped, not taken as commands.
        c.send("BDAT 6 LAST\r\nNOOP\r\n")
        assert c.reply().code == 503
        assert c.cmd("RSET").code == 250
        assert c.pending(0.2) == b""


# ---- recipients and relaying ----

def test_rcpt_unknown_local_user(inst):
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        for rcpt in ("nosuch@example.test", "NoSuch@EXAMPLE.test", "nosuch+tag@example.test"):
            r = c.cmd(f"RCPT TO:<{rcpt}>")
            assert r.startswith("550 5.1.1"), (rcpt, r)
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250


def test_postmaster_without_domain(untrusted):
    # RFC 5321 4.5.1: "<postmaster>" without a domain MUST be accepted (here it reaches
    # the postmaster of the hosted domain).
    untrusted.run_cli("alias", "add", "postmaster@example.test", DEMO)
    t = token()
    with Raw(untrusted.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        r = c.cmd("RCPT TO:<Postmaster>")
        assert r.code == 250, r
        assert c.cmd("DATA").code == 354
        c.send(f"Subject: {t}\r\n\r\nfor the postmaster\r\n.\r\n")
        assert c.reply().code == 250
    untrusted.wait_token(DEMO, t)


def test_no_relay_for_untrusted(untrusted):
    with Raw(untrusted.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        r = c.cmd(f"RCPT TO:<{FRIEND}>")
        assert r.startswith("554 5.7.1"), r
        # Old open-relay tricks: a local domain in the address must not route elsewhere.
        for probe in ("friend%remote.test@example.test", "friend!remote.test@example.test",
                      '"friend@remote.test"@example.test', "FRIEND@Remote.Test",
                      "friend@remote.test."):
            r = c.cmd(f"RCPT TO:<{probe}>")
            assert 500 <= r.code < 600, (probe, r)
        # Mail for local users is what port 25 is for.
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd("QUIT").code == 221
    assert untrusted.queue_ids() == []


def test_relay_from_trusted_is_queued(inst):
    r = send(inst, [FRIEND], f"Subject: relay {token()}\r\n\r\nout\r\n")
    assert r.code == 250, r
    qid = queue_id(r)
    out = inst.run_cli("queue", "list").stdout
    lines = [line for line in out.splitlines() if line.startswith(qid)]
    assert len(lines) == 1, out
    assert FRIEND in lines[0]
    assert "<sender@remote.test>" in lines[0]


# ---- limits ----

@pytest.fixture(scope="module")
def limited(make_module_instance):
    s = deferring_settings()
    s[("limits", "max_recipients")] = "3"
    s[("limits", "max_message_size")] = "10K"
    i = make_module_instance(s)
    i.add_user(U2, PASSWORD)
    return i


def test_max_recipients(limited):
    t = token()
    with Raw(limited.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        for rcpt in (DEMO, "demo+1@example.test", "demo+2@example.test"):
            assert c.cmd(f"RCPT TO:<{rcpt}>").code == 250
        r = c.cmd(f"RCPT TO:<{U2}>")
        assert r.startswith("452 4.5.3"), r
        assert c.cmd("DATA").code == 354
        c.send(f"Subject: {t}\r\n\r\nthree\r\n.\r\n")
        r = c.reply()
        assert r.code == 250, r
    limited.wait_removed(queue_id(r))
    assert len(limited.messages_with(DEMO, t)) == 1
    assert limited.messages_with(U2, t) == []


def test_max_message_size(limited):
    big, small = token(), token()
    with Raw(limited.ports["smtp"]) as c:
        r = c.ehlo()
        assert c.keywords(r)["SIZE"] == "10240"
        # SIZE= announced too big: refused at MAIL.
        r = c.cmd("MAIL FROM:<a@remote.test> SIZE=10241")
        assert r.startswith("552 5.3.4"), r
        assert c.cmd("MAIL FROM:<a@remote.test> SIZE=2000").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd("RSET").code == 250
        # DATA over the limit: read to the end, then 552; the session goes on.
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(f"Subject: {big}\r\n\r\n".encode() + (b"x" * 78 + b"\r\n") * 200 + b".\r\n")
        r = c.reply()
        assert r.startswith("552 5.3.4"), r
        assert c.cmd("NOOP").code == 250
        # BDAT in one chunk over the limit.
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        chunk = f"Subject: {big}\r\n\r\n".encode() + b"y" * 12000
        c.send(f"BDAT {len(chunk)} LAST\r\n".encode() + chunk)
        r = c.reply()
        assert r.startswith("552 5.3.4"), r
        assert c.cmd("RSET").code == 250
        # BDAT in chunks that together go over it: the LAST chunk is refused at the latest.
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        part = f"Subject: {big}\r\n\r\n".encode() + b"z" * 6000
        c.send(f"BDAT {len(part)}\r\n".encode() + part)
        first = c.reply()
        c.send(f"BDAT {len(part)}\r\n".encode() + part + b"BDAT 0 LAST\r\n")
        second, last = c.reply(), c.reply()
        assert first.code == 250, first
        assert second.code in (250, 552), second
        assert last.startswith("552 5.3.4"), last
        assert c.cmd("RSET").code == 250
        # Under the limit, everything still works.
        r = c.mail_rcpt_data("a@remote.test", [DEMO], f"Subject: {small}\r\n\r\n" + "k" * 8000)
        assert r.code == 250, r
    limited.wait_removed(queue_id(r))
    assert len(limited.messages_with(DEMO, small)) == 1
    assert limited.messages_with(DEMO, big) == []


def sized_message(n, tok):
    """A message of exactly n octets (CRLF line ends) with lines that need dot-stuffing."""
    head = f"Subject: {tok}\r\n\r\n.dot line\r\n..two\r\n".encode()
    return head + b"x" * (n - len(head) - 2) + b"\r\n"


def test_max_message_size_boundary(limited):
    # RFC 1870: the size counts CRLF line ends, not DATA's doubled dots or final dot.
    fits, over = token(), token()
    with Raw(limited.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test> SIZE=10240").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(dot_stuff(sized_message(10240, fits)) + b".\r\n")
        r1 = c.reply()
        assert r1.code == 250, r1
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        text = sized_message(10240, fits)
        c.send(f"BDAT {len(text)} LAST\r\n".encode() + text)
        r2 = c.reply()
        assert r2.code == 250, r2
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(dot_stuff(sized_message(10241, over)) + b".\r\n")
        assert c.reply().startswith("552 5.3.4")
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        text = sized_message(10241, over)
        c.send(f"BDAT {len(text)} LAST\r\n".encode() + text)
        assert c.reply().startswith("552 5.3.4")
    limited.wait_removed(queue_id(r1))
    limited.wait_removed(queue_id(r2))
    assert len(limited.messages_with(DEMO, fits)) == 2
    assert limited.messages_with(DEMO, over) == []


def test_long_command_line(limited):
    with Raw(limited.ports["smtp"]) as c:
        c.ehlo()
        # 512 octets with the CRLF is allowed (RFC 5321 4.5.3.1.4); 513 is not.
        assert c.cmd("NOOP " + "x" * 505).code == 250
        r = c.cmd("NOOP " + "x" * 506)
        assert r.startswith("500 5.5.2"), r
        assert c.cmd("NOOP").code == 250
        # A huge line: one refusal, then the session goes on.
        c.send(b"MAIL FROM:<" + b"a" * 200000 + b"@remote.test>\r\n")
        r = c.reply()
        assert r.startswith("500 5.5.2"), r
        assert c.cmd("NOOP").code == 250
        assert c.pending(0.2) == b""
        # Inside a transaction it costs the line, not the transaction.
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<" + "b" * 600 + "@example.test>").startswith("500 5.5.2")
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250


def test_command_timeout(make_instance):
    i = make_instance({("limits", "command_timeout"): "2s"})
    # Silent after the greeting.
    with Raw(i.ports["smtp"], timeout=15) as c:
        r = c.reply(timeout=15)
        assert r.startswith("421 4.4.2"), r
        assert c.expect_closed(timeout=15) == b""
    # Silent in the middle of DATA: the message is dropped.
    t = token()
    with Raw(i.ports["smtp"], timeout=15) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(f"Subject: {t}\r\n\r\nhalf a mess")
        r = c.reply(timeout=15)
        assert r.startswith("421 4.4.2"), r
        c.expect_closed(timeout=15)
    # Also after STARTTLS on the encrypted side, and on submissions before a word.
    with Raw(i.ports["submissions"], tls_context=i.ssl_context(), timeout=15) as c:
        assert c.reply(timeout=15).startswith("421 4.4.2")
    # Connected to submissions without ever starting the TLS handshake, or silent
    # after the 220 to STARTTLS: closed too (no reply can reach such a client).
    with socket.create_connection(("127.0.0.1", i.ports["submissions"]), timeout=30) as s:
        assert s.recv(100) == b""
    with Raw(i.ports["smtp"], timeout=30) as c:
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        assert c.expect_closed(timeout=30) == b""
    # A working session is not affected, and the half message never arrives.
    r = send(i, [DEMO], "Subject: after\r\n\r\nok\r\n")
    assert r.code == 250
    i.wait_removed(queue_id(r))
    assert i.messages_with(DEMO, t) == []


def test_connection_limits(make_instance):
    i = make_instance({("limits", "max_connections_per_ip"): "2",
                       ("limits", "max_connections"): "3"})
    open_ = []
    try:
        # Two from 127.0.0.1 on smtp: the address's limit there.
        open_.append(Raw(i.ports["smtp"]))
        open_.append(Raw(i.ports["smtp"]))
        assert all(c.banner.code == 220 for c in open_)
        with Raw(i.ports["smtp"], greet=False) as c:
            r = c.reply()
            assert r.startswith("421 4.7.0"), r
            c.expect_closed()
        # Each listener counts its own (tests/integration/test_limits.py has the flood).
        with Raw(i.ports["submission"]) as c:
            assert c.banner.code == 220
        # Another address is fine, until the total is reached.
        open_.append(Raw(i.ports["smtp"], source="127.0.0.2"))
        assert open_[-1].banner.code == 220
        with Raw(i.ports["smtp"], source="127.0.0.3", greet=False) as c:
            r = c.reply()
            assert r.startswith("421 4.7.0"), r
            c.expect_closed()
        # The refused ones did not use up places; a closed one frees its place.
        assert open_[0].cmd("QUIT").code == 221
        open_[0].expect_closed()
        open_[0].close()
        deadline = time.monotonic() + 10
        while True:
            with Raw(i.ports["smtp"], greet=False) as c:
                r = c.reply()
                if r.code == 220:
                    c.ehlo()
                    break
            assert time.monotonic() < deadline, "the place was not freed"
            time.sleep(0.1)
        # The others still work.
        assert open_[1].cmd("NOOP").code == 250
        assert open_[2].cmd("NOOP").code == 250
    finally:
        for c in open_:
            c.close()


# ---- message text ----

def test_dot_unstuffing(inst):
    t = token()
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(f"Subject: {t}\r\n\r\n..one\r\n...two\r\nmid.dle.\r\n..\r\n. x\r\n.\r\n")
        r = c.reply()
        assert r.code == 250, r
    inst.wait_removed(queue_id(r))
    (msg,) = inst.messages_with(DEMO, t)
    assert msg.endswith(b"\n\n.one\n..two\nmid.dle.\n.\n x\n"), msg


def test_smtplib_dot_stuffing_round_trip(inst):
    t = token()
    body = f"Subject: {t}\r\n\r\n.\r\n..\r\n.hidden\r\nend\r\n"
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=10) as s:
        s.sendmail("a@remote.test", [DEMO], body)
    (msg,) = inst.wait_token(DEMO, t)
    assert msg.endswith(b"\n\n.\n..\n.hidden\nend\n"), msg


def test_pipelining_whole_transactions(inst):
    t1, t2 = token(), token()
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        c.send(
            "MAIL FROM:<p@remote.test>\r\n"
            f"RCPT TO:<{DEMO}>\r\n"
            "RCPT TO:<nosuch@example.test>\r\n"
            f"RCPT TO:<{U2}>\r\n"
            "DATA\r\n"
            f"Subject: {t1}\r\n\r\nfirst\r\n.\r\n"
            "NOOP\r\n"
            "MAIL FROM:<p@remote.test>\r\n"
            f"RCPT TO:<{U2}>\r\n"
            "DATA\r\n"
            f"Subject: {t2}\r\n\r\nsecond\r\n.\r\n"
            "QUIT\r\n")
        rs = c.replies(11)
        codes = [r.code for r in rs]
        assert codes == [250, 250, 550, 250, 354, 250, 250, 250, 250, 354, 250], rs
        assert rs[2].startswith("550 5.1.1")
        assert c.reply().code == 221
        c.expect_closed()
    inst.wait_removed(queue_id(rs[5]))
    inst.wait_removed(queue_id(rs[10]))
    assert len(inst.messages_with(DEMO, t1)) == 1
    assert len(inst.messages_with(U2, t1)) == 1
    assert inst.messages_with(DEMO, t2) == []
    assert len(inst.messages_with(U2, t2)) == 1


def test_pipelining_with_smtplib_sendmail(inst):
    # smtplib pipelines nothing, but a server bug in reply ordering would still show.
    t = token()
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=10) as s:
        refused = s.sendmail("a@remote.test", [DEMO, "nosuch@example.test", U2],
                             f"Subject: {t}\r\n\r\nx\r\n")
    assert list(refused) == ["nosuch@example.test"]
    assert refused["nosuch@example.test"][0] == 550


def test_bdat_single_chunk(inst):
    t = token()
    # In BDAT there is no dot-stuffing: every octet is text, "." lines included.
    text = f"Subject: {t}\r\n\r\n..two dots\r\n.\r\nafter a dot line\r\n".encode()
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<b@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        c.send(f"BDAT {len(text)} LAST\r\n".encode() + text)
        r = c.reply()
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    inst.wait_removed(queue_id(r))
    (msg,) = inst.messages_with(DEMO, t)
    assert msg.endswith(b"\n\n..two dots\n.\nafter a dot line\n"), msg


def test_bdat_chunks_and_zero_last(inst):
    t = token()
    text = f"Subject: {t}\r\n\r\nline one\r\nline two\r\nline three\r\n".encode()
    cr = text.index(b"\r\nline two") + 1
    parts = [text[:7], text[7:cr], text[cr:]]  # cut inside the header and inside a CRLF
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<b@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        for p in parts:
            c.send(f"BDAT {len(p)}\r\n".encode() + p)
            r = c.reply()
            assert r.code == 250, r
        # DATA cannot follow BDAT in the same transaction.
        assert c.cmd("DATA").code == 503
        r = c.cmd("BDAT 0 LAST")
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    inst.wait_removed(queue_id(r))
    (msg,) = inst.messages_with(DEMO, t)
    assert msg.endswith(b"\n\nline one\nline two\nline three\n"), msg


def test_bdat_pipelined(inst):
    t = token()
    a = f"Subject: {t}\r\n\r\nchunk a ".encode()
    b = b"chunk b\r\n"
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<b@remote.test>\r\n" + f"RCPT TO:<{DEMO}>\r\n".encode() +
               f"BDAT {len(a)}\r\n".encode() + a + f"BDAT {len(b)} LAST\r\n".encode() + b +
               b"NOOP\r\nQUIT\r\n")
        rs = c.replies(6)
        assert [r.code for r in rs] == [250, 250, 250, 250, 250, 221], rs
    inst.wait_removed(queue_id(rs[3]))
    (msg,) = inst.messages_with(DEMO, t)
    assert msg.endswith(b"\n\nchunk a chunk b\n"), msg


def test_refused_bdat_leaves_other_files_alone(make_instance):
    """A BDAT refused before MAIL is read and discarded; the empty transaction made
    for it used to close descriptor 0 when freed, and so, once that number was
    reused, another client's connection."""
    i = make_instance()
    with Raw(i.ports["smtp"]) as a:
        a.ehlo()
        a.send(b"BDAT 5 LAST\r\nhello")
        r = a.reply()
        assert r.startswith("503 5.5.1"), r
        others = [Raw(i.ports["smtp"]) for _ in range(3)]
        try:
            for o in others:
                o.ehlo()
            for _ in range(3):
                a.send(b"BDAT 5 LAST\r\nhello")
                assert a.reply().startswith("503 5.5.1")
            for o in others:
                assert o.cmd("NOOP").code == 250
                assert o.cmd("QUIT").code == 221
        finally:
            for o in others:
                o.close()


SMUGGLING_PROBES = {
    "lf-dot-lf": b"\n.\n",
    "cr-dot-cr": b"\r.\r",
    "lf-dot-crlf": b"\n.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-cr": b"\r\n.\r",
}


@pytest.mark.parametrize("name", list(SMUGGLING_PROBES))
def test_no_smtp_smuggling(inst, name):
    probe = SMUGGLING_PROBES[name]
    t = token()
    smuggled = (b"MAIL FROM:<smuggler@evil.test>\r\n" +
                f"RCPT TO:<{VICTIM}>\r\n".encode() + b"DATA\r\n" +
                f"Subject: smuggled {t}\r\n\r\nsmuggled body\r\n".encode())
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<honest@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(f"Subject: probe {t}\r\n\r\nbefore".encode() + probe + smuggled +
               b".\r\nQUIT\r\n")
        replies = []
        try:
            for _ in range(8):
                replies.append(c.reply())
                if replies[-1].code == 221:
                    break
        except Closed:
            pass
    codes = [r.code for r in replies]
    # One answer for the one message (accepted, or refused with 5xx), then QUIT's.
    assert len(codes) == 2 and codes[1] == 221, replies
    assert codes[0] == 250 or 500 <= codes[0] < 600, replies
    if codes[0] == 250:
        inst.wait_removed(queue_id(replies[0]))
        msgs = inst.messages_with(DEMO, t)
        assert len(msgs) == 1
        msg = msgs[0]
        assert b"MAIL FROM:<smuggler@evil.test>" in msg
        assert b"smuggled body" in msg
        assert header(msg, "Return-Path") == ["<honest@remote.test>"]
        # No bare CR is stored; bare LFs became line ends.
        assert b"\r" not in msg.replace(b"\r\n", b"")
    else:
        r = send(inst, [DEMO], "Subject: after the probe\r\n\r\n")
        inst.wait_removed(queue_id(r))
        assert inst.messages_with(DEMO, t) == []
    assert inst.messages_with(VICTIM, t) == []


# ---- headers added ----

def test_trace_headers(inst):
    t = token()
    deliver(inst, [DEMO], f"Subject: {t}\r\n\r\nbody\r\n", sender="Sender@Remote.Test")
    (msg,) = inst.messages_with(DEMO, t)
    lines = msg.split(b"\n")
    # The local part exactly as sent (RFC 5321 2.4); the domain in any case.
    assert lines[0].lower() == b"return-path: <sender@remote.test>", lines[0]
    assert lines[0].startswith(b"Return-Path: <Sender@"), lines[0]
    assert lines[1] == b"Delivered-To: demo@example.test"
    received = header(msg, "Received")
    assert len(received) == 1
    assert HOSTNAME in received[0] and "127.0.0.1" in received[0], received
    # The client's own header is kept below ours.
    assert header(msg, "Subject") == [t]
    # Null sender.
    t = token()
    deliver(inst, [DEMO], f"Subject: {t}\r\n\r\nbounce-like\r\n", sender="")
    (msg,) = inst.messages_with(DEMO, t)
    assert msg.split(b"\n")[0] == b"Return-Path: <>"


def test_log_lines(inst):
    """INTERFACE.md "Logs": one line an event, with the queue id where there is one."""
    mark = inst.log_mark()
    t = token()
    qid = deliver(inst, [DEMO], f"Subject: {t}\r\n\r\nlogged\r\n", sender="logme@remote.test")
    r = send(inst, [FRIEND], f"Subject: {t}\r\n\r\nfor later\r\n", sender="logme@remote.test")
    rid = queue_id(r)
    (later,) = inst.wait_event("delivery", since=mark, qid=rid, to=f"<{FRIEND}>",
                               status="deferred", timeout=60)[:1]
    # The connection, the accepted message (id, client, sender, size, recipients),
    # and each delivery attempt (id, recipient, relay, status, reason).
    assert inst.events("connect", since=mark, client="127.0.0.1", service="smtp")
    for q, to in ((qid, DEMO), (rid, FRIEND)):
        (acc,) = inst.events("accept", since=mark, qid=q)
        assert acc["client"] == "127.0.0.1" and acc["from"] == "<logme@remote.test>", acc
        assert acc["to"] == f"<{to}>" and acc["nrcpt"] == "1" and int(acc["size"]) > 40, acc
    assert inst.events("delivery", since=mark, qid=qid, to=f"<{DEMO}>", orig_to=f"<{DEMO}>",
                       relay="local", status="sent", reason=re.compile(r"^250 "))
    assert later["relay"] and later["reason"] and int(later["delay"]) >= 0, later


# ---- addresses: aliases, +tags, case ----

def test_aliases(inst):
    t = token()
    deliver(inst, ["single@example.test"], f"Subject: {t}\r\n\r\nsingle\r\n")
    (msg,) = inst.messages_with(DEMO, t)
    assert header(msg, "Delivered-To") == [DEMO]

    t = token()
    deliver(inst, ["multi@example.test"], f"Subject: {t}\r\n\r\nmulti\r\n")
    assert len(inst.messages_with(DEMO, t)) == 1
    (msg,) = inst.messages_with(U2, t)
    assert header(msg, "Delivered-To") == [U2]

    # A catch-all takes unknown local parts; a real user of that domain keeps its mail.
    t = token()
    deliver(inst, ["anything@catch.test", "Other.Thing@CATCH.test"],
            f"Subject: {t}\r\n\r\ncatch\r\n")
    assert len(inst.messages_with(U2, t)) == 1
    t = token()
    deliver(inst, ["real@catch.test"], f"Subject: {t}\r\n\r\nreal\r\n")
    assert len(inst.messages_with("real@catch.test", t)) == 1
    assert inst.messages_with(U2, t) == []


def test_alias_to_remote_is_queued(inst):
    r = send(inst, ["fwd@example.test"], f"Subject: fwd {token()}\r\n\r\nforward me\r\n")
    assert r.code == 250, r
    qid = queue_id(r)
    out = inst.run_cli("queue", "list").stdout
    (line,) = [line for line in out.splitlines() if line.startswith(qid)]
    assert FRIEND in line


def test_plus_tag_and_case(inst):
    t = token()
    for rcpt in ("demo+tag@example.test", "DEMO@EXAMPLE.TEST", "Demo+Other@Example.Test"):
        deliver(inst, [rcpt], f"Subject: {t} {rcpt}\r\n\r\nx\r\n")
    msgs = inst.messages_with(DEMO, t)
    assert len(msgs) == 3
    for m in msgs:
        assert header(m, "Delivered-To") == [DEMO]


def test_each_recipient_once(inst):
    t = token()
    deliver(inst, [DEMO, "single@example.test", "demo+x@example.test", "DEMO@example.test",
                   "multi@example.test", U2, "u2+y@Example.Test"],
            f"Subject: {t}\r\n\r\nonce\r\n")
    assert len(inst.messages_with(DEMO, t)) == 1
    assert len(inst.messages_with(U2, t)) == 1


# ---- 8-bit and UTF-8 ----

def test_8bitmime(inst):
    t = token()
    body = f"Subject: {t}\r\nContent-Type: text/plain; charset=latin1\r\n\r\n".encode() + \
        b"caf\xe9 \xff\xfe \x80\r\n"
    deliver(inst, [DEMO], body, params="BODY=8BITMIME")
    (msg,) = inst.messages_with(DEMO, t)
    assert msg.endswith(b"\n\ncaf\xe9 \xff\xfe \x80\n")


def test_smtputf8(inst):
    t = token()
    sender = "j\u00f6rg@b\u00fccher.test"
    body = f"Subject: Gr\u00fc\u00dfe {t} \u2713\r\n\r\nZa\u017c\u00f3\u0142\u0107 \u2713\r\n"
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        # Without SMTPUTF8 a UTF-8 address is refused...
        r = c.cmd(f"MAIL FROM:<{sender}>".encode())
        assert 500 <= r.code < 600, r
        # ...with it, accepted and kept as sent.
        r = c.mail_rcpt_data(sender, [DEMO], body.encode(), params="SMTPUTF8 BODY=8BITMIME")
        assert r.code == 250, r
    inst.wait_removed(queue_id(r))
    (msg,) = inst.messages_with(DEMO, t)
    assert msg.split(b"\n")[0] == f"Return-Path: <{sender}>".encode()
    assert msg.endswith(body.split("\r\n\r\n")[1].replace("\r\n", "\n").encode())
    assert f"Subject: Gr\u00fc\u00dfe {t} \u2713".encode() in msg


def test_smtputf8_with_smtplib(inst):
    t = token()
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=10) as s:
        s.ehlo()
        s.sendmail("m\u00fcller@remote.test", [DEMO],
                   f"Subject: {t}\r\n\r\n\u00fcber\r\n".encode(),
                   mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    (msg,) = inst.wait_token(DEMO, t)
    assert "\u00fcber".encode() in msg


# ---- broken clients ----

def test_disconnect_mid_data(inst):
    t = token()
    mark = inst.log_mark()
    for how in ("fin", "rst", "bdat"):
        c = Raw(inst.ports["smtp"])
        c.ehlo()
        assert c.cmd("MAIL FROM:<gone@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        if how == "bdat":
            c.send(f"BDAT 1000 LAST\r\nSubject: {t}\r\n\r\nonly part of the chunk")
        else:
            assert c.cmd("DATA").code == 354
            c.send(f"Subject: {t}\r\n\r\nhalf a message\r\n")
        if how == "rst":
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        c.close()
    inst.wait_event("disconnect", since=mark, client="127.0.0.1", state=re.compile(r"^(data|bdat)$"),
                    count=3)
    # A later message goes through; the broken ones never arrive.
    deliver(inst, [DEMO], "Subject: later\r\n\r\nfine\r\n")
    assert inst.messages_with(DEMO, t) == []
    assert not any(t in line for line in inst.run_cli("queue", "list").stdout.splitlines())


def test_garbage_does_not_stop_the_server(inst):
    junk = [
        os.urandom(65536),
        b"\0" * 4096 + b"\r\n",
        b"EHLO x\r\nMAIL FROM:<a\0b@remote.test>\r\nNOOP\0\r\n",
        b"\xff\xfe\xfd\r\n" * 500,
        b"\r\n" * 1000,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(500),  # a TLS hello
    ]
    for data in junk:
        for port in (inst.ports["smtp"], inst.ports["submission"], inst.ports["submissions"]):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                try:
                    s.sendall(data)
                    s.settimeout(0.2)
                    for _ in range(1000):  # until closed, or quiet for 0.2 s
                        if not s.recv(65536):
                            break
                except (socket.timeout, BrokenPipeError, ConnectionResetError):
                    pass
    # A NUL in a command line is refused, and the session goes on.
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        r = c.cmd(b"NOOP \0")
        assert r.code == 500, r
        assert c.cmd("NOOP").code == 250
    # Everyone else is still served.
    t = token()
    deliver(inst, [DEMO], f"Subject: {t}\r\n\r\nstill here\r\n")
    assert len(inst.messages_with(DEMO, t)) == 1
    with smtplib.SMTP_SSL("127.0.0.1", inst.ports["submissions"], timeout=10,
                          context=inst.ssl_context()) as s:
        assert s.noop()[0] == 250


# ---- admin commands while serving ----

def test_admin_changes_apply_at_once(inst, untrusted):
    addr = f"live{token()[:8]}@example.test"
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{addr}>").startswith("550 5.1.1")
        inst.add_user(addr, PASSWORD)
        assert c.cmd(f"RCPT TO:<{addr}>").code == 250
        inst.run_cli("user", "del", addr)
        assert c.cmd(f"RCPT TO:<{addr}>").startswith("550 5.1.1")
        inst.run_cli("alias", "add", addr, DEMO)
        assert c.cmd(f"RCPT TO:<{addr}>").code == 250
        inst.run_cli("alias", "del", addr)
        assert c.cmd(f"RCPT TO:<{addr}>").startswith("550 5.1.1")
    # A new domain is local at once; once deleted it is remote again (no relay).
    with Raw(untrusted.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd("RCPT TO:<x@new-domain.test>").startswith("554 5.7.1")
        untrusted.run_cli("domain", "add", "new-domain.test")
        untrusted.add_user("x@new-domain.test", PASSWORD)
        assert c.cmd("RCPT TO:<x@new-domain.test>").code == 250
        untrusted.run_cli("user", "del", "x@new-domain.test")
        untrusted.run_cli("domain", "del", "new-domain.test")
        assert c.cmd("RCPT TO:<x@new-domain.test>").startswith("554 5.7.1")


# ---- big messages and reloads ----

def test_large_message_intact(inst):
    rnd = random.Random(7)
    lines = []
    for n in range(20000):
        k = rnd.choice((0, 1, 5, 76, 200, 998))
        line = "".join(rnd.choice("abcdefghij .,:;!?-=") for _ in range(k))
        if n % 97 == 0:
            line = "." + line
        lines.append(line)
    for mode in ("DATA", "BDAT"):
        t = token()
        body = f"Subject: {t}\r\n\r\n" + "\r\n".join(lines) + "\r\n"
        raw = body.encode()
        with Raw(inst.ports["smtp"], timeout=60) as c:
            c.ehlo()
            assert c.cmd("MAIL FROM:<big@remote.test>").code == 250
            assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
            if mode == "DATA":
                assert c.cmd("DATA").code == 354
                c.send(dot_stuff(raw) + b".\r\n")
                r = c.reply(timeout=60)
            else:
                step = 65536
                for off in range(0, len(raw), step):
                    piece = raw[off:off + step]
                    last = off + step >= len(raw)
                    c.send(f"BDAT {len(piece)}{' LAST' if last else ''}\r\n".encode() + piece)
                    r = c.reply(timeout=60)
                    assert r.code == 250, r
            assert r.code == 250, r
        inst.wait_removed(queue_id(r), timeout=60)
        (msg,) = inst.messages_with(DEMO, t)
        assert msg.endswith(raw.replace(b"\r\n", b"\n")), mode


def served_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s) as tls:
            return tls.getpeercert(binary_form=True)


def test_sighup_after_the_config_file_was_replaced(make_instance):
    """`sed -i` (and many editors) write a new file and rename it over the old one; the
    roles' walls allow only the file they started with, so they take the text the
    supervisor read: every role has the new config, none fails to reload."""
    i = make_instance()
    with Raw(i.ports["smtp"]) as c:
        assert c.keywords(c.ehlo())["SIZE"] == str(25 * 1024 * 1024)
    before = os.stat(i.conf).st_ino
    subprocess.run(["sed", "-i", "s/^max_message_size *=.*/max_message_size = 2M/", i.conf],
                   check=True, timeout=30)
    assert "max_message_size = 2M" in open(i.conf).read()
    assert os.stat(i.conf).st_ino != before  # a new file, not the old one rewritten
    mark = i.log_mark()
    i.reload()
    for role in ("smtpd", "pop3d", "queued", "lookupd"):
        i.wait_event("config-reloaded", _role=role, since=mark)
    assert i.events("config-reload-failed", since=mark) == [], i.log()[mark:]
    with Raw(i.ports["smtp"]) as c:
        assert c.keywords(c.ehlo())["SIZE"] == str(2 * 1024 * 1024)


def test_sighup_reloads_config_and_certificate(make_instance):
    i = make_instance()
    with Raw(i.ports["smtp"]) as c:
        assert c.keywords(c.ehlo())["SIZE"] == str(25 * 1024 * 1024)
    old_cert = served_cert(i.ports["submissions"])
    i.set("limits", "max_message_size", "1M")
    key = os.path.join(i.dir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key + ".new", "-out",
                    i.cert + ".new", "-days", "2", "-subj", "/CN=mx.example.test",
                    "-addext", "subjectAltName=DNS:mx.example.test,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key + ".new", 0o644)
    os.rename(key + ".new", key)
    os.rename(i.cert + ".new", i.cert)
    i.reload()
    deadline = time.monotonic() + 15
    while True:
        with Raw(i.ports["smtp"]) as c:
            size = c.keywords(c.ehlo())["SIZE"]
        new_cert = served_cert(i.ports["submissions"])
        if size == "1048576" and new_cert != old_cert:
            break
        assert time.monotonic() < deadline, (size, new_cert == old_cert, i.log()[-3000:])
        time.sleep(0.2)
    # The new certificate is the one on disk, over STARTTLS too, and sessions work.
    with smtplib.SMTP("127.0.0.1", i.ports["submission"], timeout=10) as s:
        s.starttls(context=i.ssl_context())
        s.login(DEMO, DEMO_PASSWORD)
