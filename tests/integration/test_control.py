"""test_control.py - queued's control datagram socket obeys only root and the mail user
(INTERFACE.md "Loops and trust": control commands are taken only from root and the mail
user). Datagrams are sent from a child process that drops to `nobody` before sending.
"""
import os
import pwd
import socket
import subprocess
import sys
import time

from conftest import BIN, deferring_settings
from smtpraw import Raw, queue_id

SEND = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(bytes.fromhex(sys.argv[2]), b"\0" + sys.argv[1].encode())
"""


def frame(msg):
    """The control frame (src/ipc/frame.h, src/queue/notify.h) for "flush" or "delete ID"."""
    verb, _, arg = msg.partition(" ")
    kind = {"new": 1, "flush": 2, "delete": 3}[verb]
    out = bytes([1, 0, 0, kind])
    if arg:
        out += b"s" + len(arg).to_bytes(4, "big") + arg.encode()
    return out


def socket_name(data_dir):
    """The abstract name queued binds (src/queue/notify.c): FNV-1a of the real path."""
    h = 1469598103934665603
    for c in os.path.realpath(data_dir).encode():
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"mailroom-queued-{h:016x}"


def send(data_dir, msg, user=None):
    """Send one control datagram, as root or (user given) as that user."""
    def drop():
        pw = pwd.getpwnam(user)
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    subprocess.run([sys.executable, "-c", SEND, socket_name(data_dir), frame(msg).hex()], check=True,
                   timeout=20, preexec_fn=drop if user else None)


def attempts(inst, qid, since=0):
    return len(inst.events("delivery", since, qid=qid, status="deferred"))


def queue_remote(inst, token):
    with Raw(inst.ports["smtp"]) as s:
        s.ehlo()
        r = s.mail_rcpt_data("sender@remote.test", ["friend@remote.test"],
                             f"Subject: {token}\r\n\r\n{token}\r\n")
        assert r.code == 250, r
    qid = queue_id(r)
    inst.wait_event("delivery", qid=qid, to="<friend@remote.test>", status="deferred")
    return qid


def test_flush_only_from_root_and_the_mail_user(make_instance):
    # Long retries: only a flush makes queued try the message again.
    settings = deferring_settings()
    settings[("delivery", "retry_min")] = "1h"
    settings[("delivery", "retry_max")] = "1h"
    i = make_instance(settings)
    qid = queue_remote(i, "flush-me")
    assert attempts(i, qid) == 1

    mark = i.log_mark()
    send(i.data, "flush", user="nobody")
    i.wait_event("control-refused", since=mark, uid=65534, _role="queued", _level="warning")
    time.sleep(1.5)
    assert i.events("flush", since=mark) == []
    assert attempts(i, qid) == 1, i.log()[-3000:]

    mark = i.log_mark()
    send(i.data, "flush")
    i.wait_event("flush", since=mark, _role="queued")
    i.wait_event("delivery", since=mark, qid=qid, to="<friend@remote.test>", status="deferred")
    assert i.events("control-refused", since=mark) == []


def test_delete_only_from_root_and_the_mail_user(make_instance):
    # Short retries (the instance's 1 s to 2 s): a forgotten message would stop being tried.
    i = make_instance(deferring_settings())
    qid = queue_remote(i, "keep-me")

    mark = i.log_mark()
    send(i.data, f"delete {qid}", user="nobody")
    i.wait_event("control-refused", since=mark, uid=65534)
    # queued keeps trying the message: it was not dropped from its schedule.
    deadline = time.monotonic() + 15
    while attempts(i, qid, since=mark) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert attempts(i, qid, since=mark) >= 2, i.log()[-3000:]
    assert qid in i.queue_ids()

    # From root (the CLI removes the file and tells queued) it works.
    i.run_cli("queue", "delete", qid)
    assert qid not in i.queue_ids()
    time.sleep(3)
    mark = i.log_mark()
    time.sleep(3)
    assert attempts(i, qid, since=mark) == 0, i.log()[-3000:]


def test_malformed_control_datagrams_are_ignored(make_instance):
    """Text of the old protocol, a truncated frame, a frame with trailing data: each is
    logged and ignored, and queued goes on obeying proper frames."""
    i = make_instance(deferring_settings())
    qid = queue_remote(i, "still-here")
    mark = i.log_mark()
    for raw in (f"delete {qid}".encode(), bytes([1, 0, 0, 3]) + b"s\0\0\0\x40" + qid.encode(),
                frame(f"delete {qid}") + b"x", bytes([1, 0, 0, 9])):
        subprocess.run([sys.executable, "-c", SEND, socket_name(i.data), raw.hex()], check=True,
                       timeout=20)
    i.wait_event("control-malformed", since=mark, count=4, uid=0, _level="warning")
    assert qid in i.queue_ids()
    send(i.data, "flush")
    i.wait_event("flush", since=mark)


def test_cli_flush_refused_to_others(instance):
    """`queue flush` run by a user queued would not obey fails with one line, exit 1,
    rather than saying "flush requested" for a request that is dropped."""
    nobody = pwd.getpwnam("nobody")

    def drop():
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    p = subprocess.run([BIN, "-c", instance.conf, "queue", "flush"], capture_output=True,
                       text=True, timeout=30, preexec_fn=drop)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and "only root and the mail user" in p.stderr, p.stderr
    p = instance.run_cli("queue", "flush")
    assert p.stdout == "flush requested\n"
