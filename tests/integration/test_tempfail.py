"""test_tempfail.py - a transient failure of the accounts database is a temporary
failure, never a permanent one: local delivery defers (4xx, retried) instead of
bouncing, and MAIL FROM on submission gets 451 instead of 553.

The database is made unreadable the way a stuck process would: a helper process holds
every WAL lock of accounts.db-shm (fcntl, bytes 120-127 of SQLite's wal-index), so
that each read of the running server fails after SQLite's own retries (about 10 s)
with SQLITE_PROTOCOL. Releasing the locks makes the database readable again.
"""
import os
import re
import subprocess
import sys

from conftest import DEMO, DEMO_PASSWORD
from smtpraw import Raw, dot_stuff, queue_id

HOLD = r"""
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120)
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
    token = "survives-a-database-hiccup"
    with Raw(i.ports["smtp"], timeout=60) as s:
        s.ehlo()
        assert s.cmd("MAIL FROM:<sender@remote.test>").code == 250
        assert s.cmd(f"RCPT TO:<{DEMO}>").code == 250
        with AccountsLocked(i):
            r = s.cmd("DATA")
            assert r.code == 354, r
            s.send(dot_stuff(f"Subject: {token}\r\n\r\n{token}\r\n") + b".\r\n")
            r = s.reply()
            assert r.code == 250, r
            qid = queue_id(r)
            i.wait_log(rf"{qid}: to=<{DEMO}> .*status=(deferred|bounced)", timeout=60)
            assert not re.search(rf"{qid}: .*status=bounced", i.log()), i.log()[-3000:]
            lines = [line for line in i.run_cli("queue", "list").stdout.splitlines()
                     if line.startswith(qid)]
            assert len(lines) == 1 and re.search(r" 4\d\d ", lines[0]), lines
        i.wait_token(DEMO, token, timeout=60)
        i.wait_removed(qid, timeout=30)
    log = i.log()
    assert not re.search(rf"{qid}: .*status=bounced", log), log[-3000:]
    assert not re.search(rf"{qid}: sender non-delivery notification", log)


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
