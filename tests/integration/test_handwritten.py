"""test_handwritten.py - INTERFACE.md `init` row: "`serve` and every admin command create
a missing data_dir and its accounts database themselves, so a config written by hand
works from the first command". No `mailroom init` here: a config of a few lines names a
data_dir that does not exist yet.
"""
import os
import poplib
import shutil
import signal
import smtplib
import stat
import subprocess
import tempfile

import pytest

from conftest import BIN, SANITIZER_MARKS, free_port, wait_port


class HandMade:
    def __init__(self, nested=False):
        self.dir = tempfile.mkdtemp(prefix="mrhand-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "var", "lib", "data") if nested else \
            os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "hand.conf")
        self.smtp, self.pop3 = free_port(), free_port()
        self.logpath = os.path.join(self.dir, "serve.log")
        self.proc = None
        with open(self.conf, "w") as f:
            f.write(f"""; written by hand
[server]
hostname = mx.hand.test
data_dir = {self.data}

[listen]
smtp = 127.0.0.1:{self.smtp}
pop3 = 127.0.0.1:{self.pop3}
""")

    def cli(self, *args, input=None):
        p = subprocess.run([BIN, "-c", self.conf] + list(args), input=input,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"{args} exited {p.returncode}: {p.stderr}"
        return p.stdout

    def start(self):
        log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([BIN, "-c", self.conf, "serve"], stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        try:
            wait_port(self.smtp)
            wait_port(self.pop3)
        except TimeoutError:
            raise AssertionError(f"serve did not start:\n{self.log()}")

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=12)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            rc = "killed"
        self.proc = None
        assert rc == 0, f"serve exited {rc}:\n{self.log()}"
        bad = [line for line in self.log().splitlines() if any(m in line for m in SANITIZER_MARKS)]
        assert not bad, "\n".join(bad)

    def deliver_and_fetch(self, addr, password, token):
        with smtplib.SMTP("127.0.0.1", self.smtp, timeout=20) as s:
            s.sendmail("someone@remote.test", [addr],
                       f"From: someone@remote.test\r\nSubject: {token}\r\n\r\n{token}\r\n")
        p = poplib.POP3("127.0.0.1", self.pop3, timeout=20)
        try:
            p.user(addr)
            p.pass_(password)
            count, _ = p.stat()
            assert count == 1
            text = b"\n".join(p.retr(1)[1])
            assert token.encode() in text
        finally:
            p.quit()


@pytest.fixture
def hand(request):
    made = []

    def make(**kw):
        h = HandMade(**kw)
        made.append(h)
        return h
    yield make
    for h in made:
        try:
            h.stop()
        finally:
            shutil.rmtree(h.dir, ignore_errors=True)


@pytest.mark.parametrize("nested", [False, True])
def test_admin_commands_first(hand, nested):
    h = hand(nested=nested)
    assert not os.path.exists(h.data)
    h.cli("domain", "add", "hand.test")
    st = os.stat(h.data)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o750, oct(st.st_mode)
    db = os.stat(os.path.join(h.data, "accounts.db"))
    assert stat.S_IMODE(db.st_mode) == 0o600, oct(db.st_mode)
    assert h.cli("domain", "list").split() == ["hand.test"]
    h.cli("user", "add", "ann@hand.test", input="ann-pw-1\n")
    h.start()
    h.deliver_and_fetch("ann@hand.test", "ann-pw-1", "hand-written-first-mail")


def test_serve_first(hand):
    h = hand()
    assert not os.path.exists(h.data)
    h.start()
    st = os.stat(h.data)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o750, oct(st.st_mode)
    h.cli("domain", "add", "hand.test")
    h.cli("user", "add", "bea@hand.test", input="bea-pw-1\n")
    h.deliver_and_fetch("bea@hand.test", "bea-pw-1", "served-before-any-account")


def test_every_admin_command_works_on_a_missing_data_dir(hand):
    h = hand()
    assert h.cli("user", "list") == ""
    assert h.cli("alias", "list") == ""
    assert h.cli("queue", "list") == ""
    assert os.path.isdir(h.data)
