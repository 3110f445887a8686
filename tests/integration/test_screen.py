"""test_screen.py - screening before the greeting on the smtp listener ([inbound]
pregreet_wait, as Postfix's postscreen pregreet test): a multi-line 220 whose first
line comes at once and whose last comes after the wait; a client that talks in
between is refused 554 5.5.1 and, for a day, at once; a client that waited is greeted
at once the next time. Trusted clients and submission are never made to wait.
"""
import smtplib
import socket
import time

import pytest

from conftest import DEMO, HOSTNAME

WAIT = 2


def settings(extra=None):
    s = {("relay", "trusted_networks"): "", ("inbound", "pregreet_wait"): f"{WAIT}s"}
    s.update(extra or {})
    return s


def read_until_final(sock, deadline):
    """Reply lines until a final one (code followed by a space), or the deadline."""
    buf = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
        lines = buf.split(b"\r\n")
        if any(len(ln) >= 4 and ln[3:4] == b" " for ln in lines):
            break
    return buf


def test_waiting_client_is_greeted_after_the_wait_then_at_once(make_instance):
    inst = make_instance(settings())
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", inst.ports["smtp"]), timeout=10) as s:
        first = s.recv(4096)
        assert first.startswith(f"220-{HOSTNAME} ESMTP mailroom\r\n".encode()), first
        rest = read_until_final(s, time.monotonic() + WAIT + 5)
        waited = time.monotonic() - t0
        assert (first + rest).endswith(f"220 {HOSTNAME} ESMTP mailroom\r\n".encode()), rest
        assert waited >= WAIT - 0.2, waited
    # Passed once: greeted at once next time, and mail goes through.
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=10) as c:
        t1 = time.monotonic()
        code, _ = c.ehlo("client.example")
        assert code == 250
        assert time.monotonic() - t1 < WAIT
        c.sendmail("a@remote.test", [DEMO], b"Subject: screened\r\n\r\nbody\r\n")
    inst.wait_messages(DEMO, 1)


def test_talking_first_is_refused_and_remembered(make_instance):
    inst = make_instance(settings())
    with socket.create_connection(("127.0.0.1", inst.ports["smtp"]), timeout=10) as s:
        first = s.recv(4096)
        assert first.startswith(b"220-"), first
        s.sendall(b"EHLO bot.example\r\n")
        rest = read_until_final(s, time.monotonic() + 5)
        assert b"554 5.5.1" in rest, rest
        s.settimeout(5)
        assert s.recv(4096) == b"", "the connection is closed"
    inst.wait_event("reject", client="127.0.0.1", stage="connect", reason="pregreet")
    # Remembered: refused at once.
    with socket.create_connection(("127.0.0.1", inst.ports["smtp"]), timeout=10) as s:
        reply = read_until_final(s, time.monotonic() + 5)
        assert reply.startswith(b"554 5.7.1"), reply
    # Submission is not screened.
    with socket.create_connection(("127.0.0.1", inst.ports["submission"]), timeout=10) as s:
        assert read_until_final(s, time.monotonic() + 5).startswith(b"220 "), "submission"


def test_trusted_and_off_are_not_screened(make_instance):
    trusted = make_instance(settings({("relay", "trusted_networks"): "127.0.0.0/8"}))
    off = make_instance({("relay", "trusted_networks"): ""})
    for inst in (trusted, off):
        with socket.create_connection(("127.0.0.1", inst.ports["smtp"]), timeout=10) as s:
            t0 = time.monotonic()
            reply = read_until_final(s, time.monotonic() + 5)
            assert reply == f"220 {HOSTNAME} ESMTP mailroom\r\n".encode(), reply
            assert time.monotonic() - t0 < 1
