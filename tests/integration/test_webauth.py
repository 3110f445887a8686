"""test_webauth.py - administrators, API tokens and web sessions, kept by lookupd.

The admin commands (`admin add|del|list|passwd|token add`, `user quota`) through
the command line, then the web's requests to lookupd (LK_WEB_LOGIN, LK_WEB_WHO,
LK_WEB_LOGOUT, LK_WEB_OP) over its socket, as httpd makes them (the tests run as
root, whom lookupd answers too): a login opens a session, lookupd decides what a
session or token may do, app passwords never log in to the web, a suspended user
is refused, failed logins are counted with mail's, and a new password or a
suspension ends the principal's sessions whoever makes the change.
"""
import json
import os
import poplib
import re
import socket
import struct
import subprocess

import pytest

from conftest import BIN, DEMO, DEMO_PASSWORD, DOMAIN

LK_WEB_LOGIN, LK_WEB_WHO, LK_WEB_LOGOUT, LK_WEB_OP = 60, 61, 62, 63
LK_REPLY = 100
OK, FAIL, BLOCKED, SUSPENDED = 0, 1, 2, 5
TOKEN_FORM = re.compile(r"^mrt_[A-Za-z0-9_-]{43}$")


@pytest.fixture(scope="module")
def inst(make_module_instance):
    inst = make_module_instance({("limits", "login_failures_per_account"): "3"})
    inst.run_cli("admin", "add", "boss", input="boss-password\n")
    return inst


def cli(inst, *args, input=None):
    return subprocess.run([BIN, "-c", inst.conf] + list(args), capture_output=True, text=True,
                          input=input, timeout=60)


def failed(p):
    """Exit 1 with exactly one line "mailroom: ..." on stderr."""
    assert p.returncode == 1, f"exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr!r}"
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mailroom: "), p.stderr
    return lines[0]


# -- lookupd's frames (ipc/frame.h) --

def lookup_socket_name(data_dir):
    h = 1469598103934665603
    for b in os.path.realpath(data_dir).encode():
        h = ((h ^ b) * 1099511628211) & (2**64 - 1)
    return "\0mailroom-lookupd-%016x" % h


def frame(type_, *fields):
    out = bytes([1, 0]) + struct.pack(">H", type_)
    for f in fields:
        if isinstance(f, int):
            out += b"u" + struct.pack(">Q", f)
        else:
            b = f.encode() if isinstance(f, str) else f
            out += b"s" + struct.pack(">I", len(b)) + b
    return out


def parse(data):
    assert data[0] == 1, data
    type_ = struct.unpack(">H", data[2:4])[0]
    fields, pos = [], 4
    while pos < len(data):
        kind = data[pos:pos + 1]
        if kind == b"u":
            fields.append(struct.unpack(">Q", data[pos + 1:pos + 9])[0])
            pos += 9
        else:
            n = struct.unpack(">I", data[pos + 1:pos + 5])[0]
            fields.append(data[pos + 5:pos + 5 + n].decode())
            pos += 5 + n
    return type_, fields


class Lookupd:
    def __init__(self, inst):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(30)
        self.s.connect(lookup_socket_name(inst.data))

    def ask(self, type_, *fields):
        self.s.send(frame(type_, *fields))
        data = self.s.recv(70000)
        assert data, "lookupd closed the connection"
        t, f = parse(data)
        assert t == LK_REPLY, (t, f)
        return f

    def login(self, kind, name, password, ip="127.0.0.1"):
        return self.ask(LK_WEB_LOGIN, kind, name, password, ip)

    def who(self, cred):
        return self.ask(LK_WEB_WHO, cred)

    def op(self, cred, op, *args):
        status, doc = self.ask(LK_WEB_OP, cred, op, len(args), *args)
        doc = json.loads(doc)
        assert isinstance(doc, dict)
        return status, doc

    def close(self):
        self.s.close()


@pytest.fixture
def lk(inst):
    c = Lookupd(inst)
    yield c
    c.close()


# -- the command line --

def test_admin_commands(inst):
    assert cli(inst, "admin", "add", "Second", input="pw-2\n").returncode == 0
    assert "admin exists: second" in failed(cli(inst, "admin", "add", "second", input="x\n"))
    assert "bad admin name" in failed(cli(inst, "admin", "add", "no spaces", input="x\n"))
    assert "bad admin name" in failed(cli(inst, "admin", "add", "x" * 65, input="x\n"))
    assert "empty password" in failed(cli(inst, "admin", "add", "third", input="\n"))
    p = cli(inst, "admin", "token", "add", "second")
    assert p.returncode == 0, p.stderr
    token = p.stdout.strip()
    assert TOKEN_FORM.match(token), token
    assert p.stdout == token + "\n"
    p2 = cli(inst, "admin", "token", "add", "SECOND")
    assert p2.stdout.strip() != token
    listed = cli(inst, "admin", "list").stdout.splitlines()
    assert "second 2" in listed and "boss 0" in listed, listed
    # the token is not in the store, only its digest
    db = open(os.path.join(inst.data, "accounts.db"), "rb").read()
    wal = os.path.join(inst.data, "accounts.db-wal")
    if os.path.exists(wal):
        db += open(wal, "rb").read()
    assert token.encode() not in db and token[4:].encode() not in db
    assert "no such admin: nobody" in failed(cli(inst, "admin", "token", "add", "nobody"))
    assert "no such admin" in failed(cli(inst, "admin", "passwd", "nobody", input="x\n"))
    # a new password ends the admin's tokens
    assert cli(inst, "admin", "passwd", "second", input="pw-3\n").returncode == 0
    assert "second 0" in cli(inst, "admin", "list").stdout.splitlines()
    assert cli(inst, "admin", "del", "second").returncode == 0
    assert "no such admin: second" in failed(cli(inst, "admin", "del", "second"))
    assert "second" not in cli(inst, "admin", "list").stdout
    assert cli(inst, "admin", "frobnicate").returncode == 2
    assert cli(inst, "admin", "token", "add").returncode == 2


def test_user_quota_command(inst):
    user = "quota@" + DOMAIN
    inst.add_user(user, "pw")
    assert cli(inst, "user", "quota", user, "2M").returncode == 0
    assert f"{user} {2 << 20}" in cli(inst, "user", "list").stdout.splitlines()
    assert "bad quota" in failed(cli(inst, "user", "quota", user, "lots"))
    assert "no such user" in failed(cli(inst, "user", "quota", "nobody@" + DOMAIN, "1M"))
    assert cli(inst, "user", "quota", user, "0").returncode == 0
    assert f"{user} 0" in cli(inst, "user", "list").stdout.splitlines()


# -- lookupd --

def test_admin_login_session_and_logout(inst, lk):
    v, sid, name, csrf = lk.login("admin", "BOSS", "wrong")
    assert (v, sid, name, csrf) == (FAIL, "", "", "")
    v, sid, name, csrf = lk.login("admin", "BOSS", "boss-password")
    assert v == OK and re.fullmatch(r"[0-9a-f]{64}", sid) and name == "boss"
    assert re.fullmatch(r"[0-9a-f]{64}", csrf) and csrf != sid
    assert lk.who("s:" + sid) == [1, 1, "boss", csrf]
    status, doc = lk.op("s:" + sid, "domain.list")
    assert status == 200 and DOMAIN in doc["domains"], doc
    status, doc = lk.op("s:" + sid, "self.show")
    assert status == 403 and "error" in doc
    status, doc = lk.op("s:" + sid, "user.show", DEMO)
    assert status == 200 and doc["address"] == DEMO, doc
    assert lk.ask(LK_WEB_LOGOUT, sid) == [0]
    assert lk.who("s:" + sid) == [0, 0, "", ""]
    status, doc = lk.op("s:" + sid, "domain.list")
    assert status == 401, doc
    # the session id itself is nowhere in the store
    db = open(os.path.join(inst.data, "accounts.db"), "rb").read()
    assert sid.encode() not in db


def test_token(inst, lk):
    token = cli(inst, "admin", "token", "add", "boss").stdout.strip()
    assert lk.who("t:" + token) == [1, 1, "boss", ""]
    status, doc = lk.op("t:" + token, "admin.list")
    assert status == 200 and {"name": "boss", "tokens": 1} in doc["admins"], doc
    assert lk.who("t:" + token[:-1] + ("A" if token[-1] != "A" else "B"))[0] == 0
    assert lk.who("t:" + "x" * 500)[0] == 0  # longer than any token: unknown, not a crash
    status, _ = lk.op("t:" + token, "domain.add", "tokens.test")
    assert status == 201
    assert "tokens.test" in cli(inst, "domain", "list").stdout.split()
    # `admin passwd` ends the admin's tokens
    assert cli(inst, "admin", "passwd", "boss", input="boss-password\n").returncode == 0
    assert lk.who("t:" + token)[0] == 0


def test_user_session_is_its_own(inst, lk):
    user, pw = "web@" + DOMAIN, "web-password"
    inst.add_user(user, pw)
    v, sid, name, csrf = lk.login("user", "Web@" + DOMAIN.upper(), pw)
    assert v == OK and name == user
    cred = "s:" + sid
    assert lk.who(cred) == [1, 2, user, csrf]
    status, doc = lk.op(cred, "self.show")
    assert status == 200 and doc["address"] == user
    for op, args in (("user.show", [DEMO]), ("domain.list", []), ("user.passwd", [DEMO, "x"]),
                     ("admin.list", [])):
        status, doc = lk.op(cred, op, *args)
        assert status == 403, (op, doc)
    status, doc = lk.op(cred, "self.app_password.add", "laptop")
    assert status == 201 and re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){5}", doc["password"])
    app = doc["password"]
    # the app password works for mail (checked elsewhere), never for the web
    assert lk.login("user", user, app)[0] == FAIL
    status, doc = lk.op(cred, "self.forward.set", "1", "far@away.test")
    assert status == 200 and doc["forward"] == {"targets": ["far@away.test"], "keep": True}
    assert f"{user} far@away.test,{user}" in cli(inst, "alias", "list").stdout.splitlines()
    status, doc = lk.op(cred, "self.forward.off")
    assert status == 200
    # a wrong old password is refused; the right one ends the session
    status, doc = lk.op(cred, "self.passwd", "wrong", "new-password")
    assert status == 403
    status, doc = lk.op(cred, "self.passwd", pw, "new-password")
    assert status == 200
    assert lk.who(cred)[0] == 0
    assert lk.login("user", user, "new-password")[0] == OK


def test_cli_changes_end_sessions(inst, lk):
    user = "ends@" + DOMAIN
    inst.add_user(user, "pw-1")
    sid = lk.login("user", user, "pw-1")[1]
    assert lk.who("s:" + sid)[0] == 1
    assert cli(inst, "user", "passwd", user, input="pw-2\n").returncode == 0
    assert lk.who("s:" + sid)[0] == 0
    sid = lk.login("user", user, "pw-2")[1]
    assert cli(inst, "user", "suspend", user).returncode == 0
    assert lk.who("s:" + sid)[0] == 0
    # suspended: the right password is refused as such
    assert lk.login("user", user, "pw-2")[0] == SUSPENDED
    assert cli(inst, "user", "resume", user).returncode == 0
    sid = lk.login("user", user, "pw-2")[1]
    assert cli(inst, "user", "del", user).returncode == 0
    assert lk.who("s:" + sid)[0] == 0
    admin_sid = lk.login("admin", "boss", "boss-password")[1]
    assert cli(inst, "admin", "add", "temp", input="t\n").returncode == 0
    temp_sid = lk.login("admin", "temp", "t")[1]
    assert cli(inst, "admin", "del", "temp").returncode == 0
    assert lk.who("s:" + temp_sid)[0] == 0
    assert lk.who("s:" + admin_sid)[0] == 1


def test_failures_are_counted(inst, lk):
    """login_failures_per_account is 3 here: the fourth try is blocked, right or not,
    and it is the same count as mail's (service web and POP3 together)."""
    user = "guess@" + DOMAIN
    inst.add_user(user, "right")
    for _ in range(2):
        assert lk.login("user", user, "wrong", ip="192.0.2.7")[0] == FAIL
    assert lk.login("user", user, "wrong", ip="192.0.2.8")[0] == BLOCKED
    assert lk.login("user", user, "right", ip="192.0.2.9")[0] == BLOCKED
    # POP3 counts with it: the account is blocked there too
    assert not pop3_login(inst, user, "right")
    assert inst.events("login-blocked", _role="lookupd", user=user, service="web", scope="account")
    assert inst.events("login-failed", _role="lookupd", user=user, client="192.0.2.8",
                       service="web", kind="user", reason="blocked")
    # an admin name has a count of its own
    assert lk.login("admin", "boss", "boss-password", ip="192.0.2.7")[0] == OK


def pop3_login(inst, user, password):
    """True when POP3S takes user and password."""
    p = poplib.POP3_SSL("127.0.0.1", inst.ports["pop3s"], timeout=30,
                        context=inst.ssl_context())
    try:
        p.user(user)
        p.pass_(password)
        return True
    except poplib.error_proto:
        return False
    finally:
        p.close()


def test_failures_count_by_canonical_address(inst, lk):
    """Mail logins under other spellings of the address, and the web's, share one count."""
    user = "case@" + DOMAIN
    inst.add_user(user, "right")
    assert not pop3_login(inst, "Case@" + DOMAIN.upper(), "wrong")
    assert not pop3_login(inst, "CASE@" + DOMAIN, "wrong")
    assert lk.login("user", user, "wrong", ip="192.0.2.20")[0] == BLOCKED
    assert not pop3_login(inst, user, "right")


def test_wrong_old_password_counts(inst, lk):
    """self.passwd with a wrong old password counts as a failed login of the user: a
    stolen session is no way to guess its password."""
    user = "stolen@" + DOMAIN
    inst.add_user(user, "right")
    sid = lk.login("user", user, "right", ip="192.0.2.30")[1]
    for _ in range(3):
        status, _ = lk.op("s:" + sid, "self.passwd", "guess", "mine-now")
        assert status == 403
    # blocked: even the right old password is not checked now, nor a login taken
    status, doc = lk.op("s:" + sid, "self.passwd", "right", "mine-now")
    assert status == 403 and "try again later" in doc["error"], doc
    assert lk.login("user", user, "right", ip="192.0.2.31")[0] == BLOCKED


def test_malformed_requests(inst, lk):
    # a kind that is neither: the request is malformed and the connection closed
    lk.s.send(frame(LK_WEB_LOGIN, "root", "boss", "boss-password", "127.0.0.1"))
    assert lk.s.recv(100) == b""
    c = Lookupd(inst)
    try:
        # too many arguments for any operation: closed too
        c.s.send(frame(LK_WEB_OP, "s:x", "domain.list", 17, *(["a"] * 17)))
        assert c.s.recv(100) == b""
    finally:
        c.close()
    c = Lookupd(inst)
    try:
        status, doc = c.op("s:" + "0" * 64, "domain.list")
        assert status == 401 and doc == {"error": "not logged in"}
        status, doc = c.op("garbage", "no.such")
        assert status == 401
    finally:
        c.close()
    assert inst.run_cli("domain", "list").returncode == 0  # lookupd is still there
