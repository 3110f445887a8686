"""test_tempfail.py - a transient failure of the accounts database is a temporary
failure, never a permanent one: local delivery defers (4xx, retried) instead of
bouncing, and MAIL FROM on submission gets 451 instead of 553. A bounce that cannot be
addressed while the database fails is retried itself, and kept in the queue state; the
recipient that failed for good is not tried again.

The database is made unreadable the way a stuck process would: a helper process holds
every WAL lock of accounts.db-shm (fcntl, bytes 120-127 of SQLite's wal-index), so
that each read of the running server fails after SQLite's own retries (about 10 s)
with SQLITE_PROTOCOL. Releasing the locks makes the database readable again.
"""
import os
import re
import subprocess
import sys
import time

from conftest import DEMO, DEMO_PASSWORD
from peers import Sink, dsns, wait_dsn
from smtpraw import Raw, dot_stuff, queue_id

HOLD = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
for _ in range(200):  # a reader may hold a lock for a moment: bounded retries
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120)
        break
    except BlockingIOError:
        time.sleep(0.02)
else:
    sys.exit("cannot lock")
print("locked", flush=True)
sys.stdin.read()
"""


class AccountsLocked:
    """While inside: every read of the instance's accounts database fails."""

    def __init__(self, inst):
        self.shm = os.path.join(inst.data, "accounts.db-shm")

    def __enter__(self):
        assert os.path.exists(self.shm), "the server has no wal-index open"
        self.proc = subprocess.Popen([sys.executable, "-c", HOLD, self.shm],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"
        return self

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def test_local_delivery_defers_while_the_database_fails(make_instance):
    i = make_instance()
    # A mailbox with a quota: its mail goes through the queue (mail for mailboxes
    # without one is written at once, and needs the database only at RCPT).
    capped = "capped@example.test"
    i.run_cli("user", "add", capped, "--quota", "1G", input="capped-password-1\n")
    token = "survives-a-database-hiccup"
    with Raw(i.ports["smtp"], timeout=60) as s:
        s.ehlo()
        assert s.cmd("MAIL FROM:<sender@remote.test>").code == 250
        assert s.cmd(f"RCPT TO:<{capped}>").code == 250
        with AccountsLocked(i):
            r = s.cmd("DATA")
            assert r.code == 354, r
            s.send(dot_stuff(f"Subject: {token}\r\n\r\n{token}\r\n") + b".\r\n")
            r = s.reply()
            assert r.code == 250, r
            qid = queue_id(r)
            (ev,) = i.wait_event("delivery", qid=qid, to=f"<{capped}>", timeout=60)[:1]
            assert ev["status"] == "deferred", ev
            lines = [line for line in i.run_cli("queue", "list").stdout.splitlines()
                     if line.startswith(qid)]
            assert len(lines) == 1 and re.search(r" 4\d\d ", lines[0]), lines
        i.wait_token(capped, token, timeout=60)
        i.wait_removed(qid, timeout=30)
    assert not i.events("delivery", qid=qid, status="bounced"), i.log()[-3000:]
    assert i.events("delivery", qid=qid, to=f"<{capped}>", status="sent")
    assert not i.events("bounce", qid=qid)


def test_mail_from_on_submission_is_451_while_the_database_fails(make_instance):
    i = make_instance()
    with Raw(i.ports["submission"], timeout=60) as s:
        s.ehlo()
        assert s.auth_plain(DEMO, DEMO_PASSWORD).code == 235
        with AccountsLocked(i):
            r = s.cmd(f"MAIL FROM:<{DEMO}>")
        assert r.startswith("451 4.3.0"), r
        # Once the database answers again the same command works.
        assert s.cmd(f"MAIL FROM:<{DEMO}>").code == 250


# ------------------------------------------- a bounce that cannot be written for now

GONE = "gone@remote.test"


def refusing_relay(make_instance):
    """An instance whose remote mail goes to a sink that refuses GONE once with 550,
    and would take it if asked again."""
    sink = Sink(rcpt_replies={GONE: ["550 5.1.1 <gone@remote.test>: no such user"]})
    inst = make_instance({("relay", "relayhost"): f"[127.0.0.1]:{sink.port}",
                          ("delivery", "relayhost_tls"): "may"})
    return sink, inst


def send_then_lock(inst, token, lock):
    """DEMO sends to GONE; lock (an AccountsLocked) is taken before the end of DATA, so
    the bounce of the 550 cannot be addressed (the sender's address needs a lookup).
    Returns the queue id; the caller releases the lock."""
    with Raw(inst.ports["smtp"], timeout=60) as s:
        s.ehlo()
        assert s.cmd(f"MAIL FROM:<{DEMO}>").code == 250
        assert s.cmd(f"RCPT TO:<{GONE}>").code == 250
        lock.__enter__()
        r = s.cmd("DATA")
        assert r.code == 354, r
        s.send(dot_stuff(f"Subject: {token}\r\n\r\n{token}\r\n") + b".\r\n")
        r = s.reply()
        assert r.code == 250, r
        return queue_id(r)


def rcpts_to(sink, addr):
    with sink.lock:
        return [r for r in sink.rcpts if r[1].lower() == addr]


def test_bounce_that_cannot_be_written_retries_the_bounce_not_the_recipient(make_instance):
    """A recipient refused with 5xx is final: when its bounce cannot be written, the
    bounce is retried, never the delivery to the recipient (which would ask the remote
    server again, and could deliver after a permanent failure)."""
    sink, inst = refusing_relay(make_instance)
    try:
        token = "bounce-waits-for-the-database"
        lock = AccountsLocked(inst)
        try:
            qid = send_then_lock(inst, token, lock)
            inst.wait_event("bounce-error", qid=qid, _level="error", timeout=60)
            # retry_min is 1 s: a retried recipient would be at the sink by now.
            time.sleep(4)
            assert len(rcpts_to(sink, GONE)) == 1, sink.rcpts
            assert sink.with_token(token) == []
            show = inst.run_cli("queue", "show", qid).stdout
            assert re.search(rf"recipient: {GONE} .*bounced", show), show
            assert not re.search(rf"recipient: {GONE} .*pending", show), show
        finally:
            lock.__exit__(None, None, None)
        wait_dsn(inst, DEMO, token, timeout=60)
        inst.wait_removed(qid, timeout=30)
        assert len(rcpts_to(sink, GONE)) == 1, sink.rcpts
        assert sink.with_token(token) == [], "delivered after a permanent failure"
        assert len([d for d in dsns(inst, DEMO) if token.encode() in d.raw]) == 1
    finally:
        sink.stop()


def test_pending_bounce_is_kept_in_the_queue_state(make_instance):
    """The bounce still owed is in state/<id>: after a kill -9 and a restart it is
    written, and the recipient is not tried again."""
    sink, inst = refusing_relay(make_instance)
    try:
        token = "bounce-owed-across-a-restart"
        lock = AccountsLocked(inst)
        try:
            qid = send_then_lock(inst, token, lock)
            inst.wait_event("bounce-error", qid=qid, _level="error", timeout=60)
            inst.kill9()
        finally:
            lock.__exit__(None, None, None)
        assert len(rcpts_to(sink, GONE)) == 1, sink.rcpts
        inst.start()
        wait_dsn(inst, DEMO, token, timeout=60)
        inst.wait_removed(qid, timeout=30)
        assert len(rcpts_to(sink, GONE)) == 1, sink.rcpts
        assert sink.with_token(token) == [], "delivered after a permanent failure"
    finally:
        sink.stop()
