"""test_login_limits.py - password guessing limited across connections and services.

lookupd counts failed logins per client network (not for trusted_networks) and per
account, whatever the connection or service; past the limit the client or account
is blocked for login_block_time: SMTP says 421, POP3 -ERR, even to the right
password. Logins waiting for a check are bounded (454 4.7.0 past login_queue).
"""
import base64
import poplib
import re
import smtplib
import socket
import ssl
import threading
import time

import pytest

from conftest import DEMO, DEMO_PASSWORD


def smtps(inst):
    return smtplib.SMTP_SSL("127.0.0.1", inst.ports["submissions"], timeout=30,
                            context=inst.ssl_context())


def pop3s(inst):
    return poplib.POP3_SSL("127.0.0.1", inst.ports["pop3s"], timeout=30,
                           context=inst.ssl_context())


def smtp_login(conn, user, password):
    """One AUTH PLAIN (smtplib's login() would try a second mechanism after a 535)."""
    if not conn.does_esmtp:
        conn.ehlo()
    blob = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    try:
        return conn.docmd("AUTH", "PLAIN " + blob)
    except smtplib.SMTPServerDisconnected:
        return 421, b"disconnected"


def pop_login(p, user, password):
    try:
        p.user(user)
        return p.pass_(password)
    except poplib.error_proto as e:
        return e.args[0]


def test_client_blocked_across_connections_and_services(make_instance):
    inst = make_instance({("relay", "trusted_networks"): "",
                          ("limits", "login_failures_per_client"): "4"})
    # Three failures on submissions (then the per-connection limit closes it) ...
    s = smtps(inst)
    for i in range(3):
        code, _ = smtp_login(s, f"nobody{i}@example.test", "wrong")
        assert code == 535
    s.close()
    # ... and the fourth, on POP3S, blocks this client.
    p = pop3s(inst)
    r = pop_login(p, "nobody9@example.test", "wrong")
    assert r.startswith(b"-ERR [AUTH] Too many failed logins"), r
    p.close()
    inst.wait_event("login-blocked", _role="lookupd", client="127.0.0.1", user="nobody9@example.test",
                    scope=re.compile(r"^client"), duration=re.compile(r"^\d+$"))
    # Now even the right password is refused, on either service.
    s = smtps(inst)
    code, msg = smtp_login(s, DEMO, DEMO_PASSWORD)
    s.close()
    assert code == 421 and b"too many failed logins" in msg, (code, msg)
    p = pop3s(inst)
    r = pop_login(p, DEMO, DEMO_PASSWORD)
    assert r.startswith(b"-ERR [AUTH] Too many failed logins"), r


def test_account_blocked_for_every_client(make_instance):
    """From a trusted network the client is not counted, but the account is."""
    inst = make_instance({("limits", "login_failures_per_account"): "3"})
    inst.add_user("other@example.test", "other-password-1")
    with smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30) as s:
        s.ehlo()
        for _ in range(2):
            assert smtp_login(s, DEMO, "guess")[0] == 535
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
    t0 = time.monotonic()
    r = pop_login(p, DEMO, "guess")
    assert r.startswith(b"-ERR [AUTH] Too many failed logins"), r
    p.close()
    # The right password after the block: refused, and no faster than a wrong one.
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
    t0 = time.monotonic()
    r = pop_login(p, DEMO, DEMO_PASSWORD)
    took = time.monotonic() - t0
    assert r.startswith(b"-ERR [AUTH] Too many failed logins"), r
    assert took >= 0.9, took
    p.close()
    # Another account from the same (trusted) client is not affected.
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
    assert pop_login(p, "other@example.test", "other-password-1").startswith(b"+OK")
    p.quit()
    assert inst.events("login-blocked", user=DEMO, scope="account")
    assert inst.events("login-failed", _role="pop3d", user=DEMO, reason="blocked")


def test_empty_password_is_a_wrong_password(instance):
    with smtplib.SMTP("127.0.0.1", instance.ports["submission"], timeout=30) as s:
        s.ehlo()
        blob = base64.b64encode(b"\0" + DEMO.encode() + b"\0").decode()
        code, msg = s.docmd("AUTH", "PLAIN " + blob)
        assert code == 535 and msg.startswith(b"5.7.8"), (code, msg)
        code, msg = s.docmd("AUTH", "LOGIN")
        assert code == 334
        code, msg = s.docmd(base64.b64encode(DEMO.encode()).decode())
        assert code == 334
        code, msg = s.docmd("")
        assert code == 535 and msg.startswith(b"5.7.8"), (code, msg)


def test_bounded_login_queue(make_instance):
    """With room for one check at a time, logins that arrive together are told to retry."""
    inst = make_instance({("limits", "login_queue"): "1"})
    n = 10
    conns = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", inst.ports["submission"]), timeout=30)
        f = c.makefile("rb")
        f.readline()
        c.sendall(b"EHLO x\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        conns.append((c, f))
    blob = base64.b64encode(b"\0" + DEMO.encode() + b"\0" + DEMO_PASSWORD.encode())
    barrier = threading.Barrier(n)
    replies = [None] * n

    def go(i):
        c, f = conns[i]
        barrier.wait(timeout=20)
        c.sendall(b"AUTH PLAIN " + blob + b"\r\n")
        replies[i] = f.readline()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for c, f in conns:
        c.close()
    codes = [r[:3] for r in replies]
    assert b"235" in codes, replies
    assert b"454" in codes, replies
    assert all(c in (b"235", b"454") for c in codes), replies
    assert inst.events("login-queue-full", waiting=re.compile(r"^\d+$"))
