"""test_pop3.py - the POP3 server against poplib and a raw client: every command of
RFC 1939, CAPA (RFC 2449), AUTH PLAIN (RFC 5034), STLS (RFC 2595), the refusals,
locking, deletion only at QUIT, stable UIDLs, limits and a large maildrop.

Mail reaches the mailboxes through mailroom's SMTP listener (from 127.0.0.1, a
trusted network); files that only another program would write (foreign names,
10,000 messages) are put into the Maildir directly.
"""
import base64
import itertools
import os
import poplib
import re
import smtplib
import socket
import time

import pytest

from conftest import DEMO, DEMO_PASSWORD

REQUIRED_CAPA = {"USER", "UIDL", "TOP", "PIPELINING", "RESP-CODES", "AUTH-RESP-CODE"}
_users = itertools.count(1)


@pytest.fixture(scope="module")
def srv(make_module_instance):
    """One instance for the tests that do not change its settings; each uses its own user."""
    return make_module_instance()


def new_user(inst, password="pw-for-pop3-tests"):
    addr = f"pop{next(_users)}@example.test"
    inst.add_user(addr, password)
    return addr, password


def deliver(inst, addr, bodies):
    """Send each body (bytes, after the headers) to addr over SMTP; wait until all are stored."""
    before = len(inst.messages(addr))
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20) as s:
        for i, body in enumerate(bodies):
            msg = b"From: sender@remote.test\r\nSubject: test %d\r\n\r\n" % i + body
            s.sendmail("sender@remote.test", [addr], msg)
    return inst.wait_messages(addr, before + len(bodies))


def owner_of(inst):
    st = os.stat(os.path.join(inst.data, "mail"))
    return st.st_uid, st.st_gid


def put_file(inst, addr, sub, name, content):
    """A message file written straight into the Maildir, owned as mailroom's own are:
    the mail user and group, open to the group (as Dovecot, which takes the mode of
    the mailbox directory, would write it)."""
    md = inst.maildir(addr)
    uid, gid = owner_of(inst)
    for d in (os.path.dirname(os.path.dirname(md)), os.path.dirname(md), md,
              os.path.join(md, "tmp"), os.path.join(md, "new"), os.path.join(md, "cur")):
        if not os.path.isdir(d):
            os.mkdir(d)
            os.chown(d, uid, gid)
            os.chmod(d, 0o770)
    path = os.path.join(md, sub, name)
    with open(path, "wb") as f:
        f.write(content)
    os.chown(path, uid, gid)
    os.chmod(path, 0o660)
    return path


def pop(inst, user=None, password=None):
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=20)
    if user:
        p.user(user)
        p.pass_(password)
    return p


def files(inst, addr):
    md = inst.maildir(addr)
    return {sub: sorted(os.listdir(os.path.join(md, sub))) for sub in ("new", "cur")}


def as_wire(stored):
    """A stored message (LF line ends) as POP3 sends it, before dot-stuffing."""
    return stored.replace(b"\n", b"\r\n")


class Raw:
    """A POP3 connection that sends exact bytes and reads lines with a deadline."""

    def __init__(self, inst, tls=False, port=None, greet=True):
        port = port or inst.ports["pop3s" if tls else "pop3"]
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        if tls:
            self.sock = inst.ssl_context().wrap_socket(self.sock)
        self.buf = b""
        self.inst = inst
        if greet:
            self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        """One line without its CRLF; b"" at EOF (with nothing pending)."""
        deadline = time.monotonic() + 30
        while b"\r\n" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError(self.buf)
            chunk = self.sock.recv(65536)
            if not chunk:
                rest, self.buf = self.buf, b""
                return rest
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line body up to the "." (still dot-stuffed)."""
        out = []
        for _ in range(1_000_000):
            line = self.line()
            if line == b".":
                return out
            out.append(line)
        raise AssertionError("no end of multi-line reply")

    def read_eof(self):
        """Everything until the server closes."""
        deadline = time.monotonic() + 30
        data, self.buf = self.buf, b""
        while time.monotonic() < deadline:
            chunk = self.sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        raise TimeoutError(data)

    def login(self, user, password):
        assert self.cmd(f"USER {user}").startswith(b"+OK")
        reply = self.cmd(f"PASS {password}")
        assert reply.startswith(b"+OK"), reply
        return reply

    def close(self):
        self.sock.close()


def capa_of(p):
    return {k if not v else f"{k} {' '.join(v)}" for k, v in p.capa().items()}


# ---- greeting, CAPA, state checks ----

def test_greeting_and_capa(srv):
    p = pop(srv)
    assert p.getwelcome().startswith(b"+OK")
    caps = capa_of(p)
    assert REQUIRED_CAPA <= caps
    assert "SASL PLAIN" in caps
    assert "STLS" in caps
    assert any(c.startswith("IMPLEMENTATION") for c in caps)
    p.quit()


def test_capa_on_pop3s_has_no_stls(srv):
    p = poplib.POP3_SSL("127.0.0.1", srv.ports["pop3s"], timeout=20, context=srv.ssl_context())
    caps = capa_of(p)
    assert REQUIRED_CAPA <= caps and "SASL PLAIN" in caps
    assert "STLS" not in caps
    p.quit()


def test_commands_need_the_right_state(srv):
    addr, pw = new_user(srv)
    r = Raw(srv)
    for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 1", "RSET", "NOOP"):
        assert r.cmd(cmd).startswith(b"-ERR"), cmd
    assert r.cmd("PASS secret").startswith(b"-ERR")  # no USER before
    r.login(addr, pw)
    for cmd in (f"USER {addr}", "PASS x", "AUTH PLAIN", "STLS"):
        assert r.cmd(cmd).startswith(b"-ERR"), cmd
    assert r.cmd("NOOP") == b"+OK"
    assert r.cmd("QUIT").startswith(b"+OK")
    assert r.read_eof() == b""


def test_unknown_and_malformed_commands(srv):
    r = Raw(srv)
    assert r.cmd("APOP demo c4c9334bac560ecc979e58001b3e22fb").startswith(b"-ERR")
    assert r.cmd("XYZZY").startswith(b"-ERR")
    assert r.cmd("").startswith(b"-ERR")
    assert r.cmd("CAPA now").startswith(b"-ERR")
    r.send(b"NOOP\x00\r\n")
    assert r.line().startswith(b"-ERR")
    # Still usable.
    assert r.cmd("CAPA").startswith(b"+OK")
    assert b"UIDL" in r.multi()
    assert r.cmd("QUIT").startswith(b"+OK")


def test_quit_in_authorization(srv):
    r = Raw(srv)
    assert r.cmd("QUIT").startswith(b"+OK")
    assert r.read_eof() == b""


def test_auth_without_mechanism_lists_plain(srv):
    r = Raw(srv)
    assert r.cmd("AUTH").startswith(b"+OK")
    assert r.multi() == [b"PLAIN"]
    assert r.cmd("AUTH CRAM-MD5").startswith(b"-ERR")
    r.cmd("QUIT")


def test_line_too_long(srv):
    addr, pw = new_user(srv)
    r = Raw(srv)
    # RFC 2449: 255 octets with the CRLF. 253 + CRLF is fine, one more is not.
    ok = "USER " + "a" * 248
    assert len(ok) == 253
    assert r.cmd(ok).startswith(b"+OK")
    assert r.cmd("USER " + "a" * 249).startswith(b"-ERR")
    assert r.cmd("NOOP " + "x" * 5000).startswith(b"-ERR")
    r.login(addr, pw)
    assert r.cmd("STAT") == b"+OK 0 0"
    r.cmd("QUIT")


# ---- the maildrop ----

def test_stat_list_retr_match_the_stored_messages(srv):
    addr, pw = new_user(srv)
    stored = deliver(srv, addr, [b"first body\r\n", b"second\r\nbody\r\nlines\r\n"])
    p = pop(srv, addr, pw)
    count, size = p.stat()
    assert count == 2
    resp, lines, _ = p.list()
    sizes = [int(line.split()[1]) for line in lines]
    assert [int(line.split()[0]) for line in lines] == [1, 2]
    assert sum(sizes) == size
    # Sizes are the octets of the message as sent, with CRLF line ends.
    assert sorted(sizes) == sorted(len(as_wire(m)) for m in stored)
    for n in (1, 2):
        resp, lines, octets = p.retr(n)
        text = b"\r\n".join(lines) + b"\r\n"
        assert resp.startswith(b"+OK %d octets" % sizes[n - 1])
        assert octets == len(text) == sizes[n - 1]
        assert text in [as_wire(m) for m in stored]
        assert p.list(n).split() == [b"+OK", str(n).encode(), str(sizes[n - 1]).encode()]
    p.quit()


def test_retr_dot_stuffing(srv):
    addr, pw = new_user(srv)
    body = b".starts with a dot\r\n..two dots\r\nmid.dle\r\n.\r\n"
    # smtplib stuffs the dots for SMTP, the server unstuffs: the stored body has them.
    stored = deliver(srv, addr, [body])[0]
    assert b"\n.starts with a dot\n..two dots\n" in stored
    r = Raw(srv)
    r.login(addr, pw)
    assert r.cmd("RETR 1").startswith(b"+OK")
    wire = r.multi()
    assert b"..starts with a dot" in wire
    assert b"...two dots" in wire
    assert b"mid.dle" in wire
    assert wire[-1] == b".."  # the lone "." line of the body
    r.cmd("QUIT")
    p = pop(srv, addr, pw)
    _, lines, _ = p.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == as_wire(stored)
    p.quit()


def test_top(srv):
    addr, pw = new_user(srv)
    stored = deliver(srv, addr, [b"l1\r\n.l2\r\nl3\r\nl4\r\n"])[0]
    headers = stored.split(b"\n\n", 1)[0].split(b"\n")
    p = pop(srv, addr, pw)
    resp, lines, _ = p.top(1, 0)
    assert resp.startswith(b"+OK")
    assert lines == headers + [b""]
    _, lines, _ = p.top(1, 2)
    assert lines == headers + [b"", b"l1", b".l2"]
    _, lines, _ = p.top(1, 100)
    assert lines == headers + [b"", b"l1", b".l2", b"l3", b"l4"]
    with pytest.raises(poplib.error_proto):
        p.top(2, 1)
    p.quit()


def test_uidl(srv):
    addr, pw = new_user(srv)
    deliver(srv, addr, [b"a\r\n", b"b\r\n", b"c\r\n"])
    p = pop(srv, addr, pw)
    _, lines, _ = p.uidl()
    uidls = [line.split()[1] for line in lines]
    assert len(set(uidls)) == 3
    for u in uidls:
        assert 1 <= len(u) <= 70 and all(0x21 <= c <= 0x7E for c in u)
    # The Maildir base names, so Dovecot (pop3_uidl_format = %f) agrees.
    assert sorted(u.decode() for u in uidls) == sorted(n.split(":")[0] for n in files(srv, addr)["cur"])
    assert p.uidl(2).split()[2] == uidls[1]
    p.quit()


def test_no_such_message_and_deleted(srv):
    addr, pw = new_user(srv)
    deliver(srv, addr, [b"only\r\n"])
    r = Raw(srv)
    r.login(addr, pw)
    for cmd in ("RETR 0", "RETR 2", "LIST 2", "UIDL 9", "TOP 2 0", "DELE 2",
                "RETR 99999999999999999999999"):
        assert r.cmd(cmd).startswith(b"-ERR"), cmd
    for cmd in ("RETR x", "DELE", "TOP 1", "LIST 1 2"):
        assert r.cmd(cmd).startswith(b"-ERR"), cmd
    assert r.cmd("DELE 1").startswith(b"+OK")
    for cmd in ("DELE 1", "RETR 1", "LIST 1", "UIDL 1", "TOP 1 0"):
        assert r.cmd(cmd).startswith(b"-ERR"), cmd
    assert r.cmd("STAT") == b"+OK 0 0"
    assert r.cmd("LIST").startswith(b"+OK")
    assert r.multi() == []
    assert r.cmd("RSET").startswith(b"+OK")
    assert r.cmd("STAT").startswith(b"+OK 1 ")
    r.cmd("QUIT")
    assert len(srv.messages(addr)) == 1


def test_dele_takes_effect_at_quit(srv):
    addr, pw = new_user(srv)
    deliver(srv, addr, [b"one\r\n", b"two\r\n", b"three\r\n"])
    p = pop(srv, addr, pw)
    _, lines, _ = p.uidl()
    uidls = [line.split()[1] for line in lines]
    assert p.dele(2).startswith(b"+OK")
    assert p.stat()[0] == 2
    _, lines, _ = p.list()
    assert [line.split()[0] for line in lines] == [b"1", b"3"]
    # Not yet: the file is there until QUIT.
    assert len(srv.messages(addr)) == 3
    assert p.quit().startswith(b"+OK")
    assert len(srv.messages(addr)) == 2
    p = pop(srv, addr, pw)
    _, lines, _ = p.uidl()
    assert [line.split()[1] for line in lines] == [uidls[0], uidls[2]]
    p.quit()


def test_rset_undeletes(srv):
    addr, pw = new_user(srv)
    deliver(srv, addr, [b"one\r\n", b"two\r\n"])
    p = pop(srv, addr, pw)
    p.dele(1)
    p.dele(2)
    assert p.stat() == (0, 0)
    assert p.rset().startswith(b"+OK")
    assert p.stat()[0] == 2
    p.quit()
    assert len(srv.messages(addr)) == 2


def test_dropped_connection_deletes_nothing(srv):
    addr, pw = new_user(srv)
    deliver(srv, addr, [b"one\r\n", b"two\r\n"])
    r = Raw(srv)
    r.login(addr, pw)
    assert r.cmd("DELE 1").startswith(b"+OK")
    assert r.cmd("DELE 2").startswith(b"+OK")
    r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    r.close()  # a reset, no QUIT
    srv.wait_event("disconnect", _role="pop3d", client="127.0.0.1", reason=re.compile(r"^(eof|error)$"),
                   state="transaction", user=addr, deleted=0)
    assert len(srv.messages(addr)) == 2
    # And the maildrop is free again at once.
    p = pop(srv, addr, pw)
    assert p.stat()[0] == 2
    p.quit()


def test_new_mail_is_moved_to_cur_and_shows_next_session(srv):
    addr, pw = new_user(srv)
    deliver(srv, addr, [b"first\r\n"])
    assert len(files(srv, addr)["new"]) == 1
    p = pop(srv, addr, pw)
    f = files(srv, addr)
    assert f["new"] == [] and len(f["cur"]) == 1 and f["cur"][0].endswith(":2,")
    deliver(srv, addr, [b"arrived during the session\r\n"])
    assert p.stat()[0] == 1  # the snapshot of the login
    p.dele(1)
    p.quit()
    p = pop(srv, addr, pw)
    assert p.stat()[0] == 1
    _, lines, _ = p.retr(1)
    assert b"arrived during the session" in lines
    p.quit()


def test_uidl_stable_across_sessions_and_restart(make_instance):
    inst = make_instance()
    deliver(inst, DEMO, [b"a\r\n", b"b\r\n"])
    p = pop(inst, DEMO, DEMO_PASSWORD)
    first = p.uidl()[1]
    p.quit()
    p = pop(inst, DEMO, DEMO_PASSWORD)
    assert p.uidl()[1] == first
    p.quit()
    assert inst.stop() == 0
    inst.start()
    p = pop(inst, DEMO, DEMO_PASSWORD)
    assert p.uidl()[1] == first
    p.quit()


def test_foreign_files(srv):
    """Names another program wrote: no W= (size computed), too long or odd for a UIDL."""
    addr, pw = new_user(srv)
    plain = b"From: x@remote.test\nSubject: foreign\n\nline\n.dot\nno final newline"
    crlf = b"From: y@remote.test\r\nSubject: crlf\r\n\r\nbody\r\n"
    longname = "1500000001.M1P2." + "h" * 80 + ",S=%d" % len(crlf)
    put_file(srv, addr, "cur", "1500000000.M1P1.otherhost:2,S", plain)
    put_file(srv, addr, "new", longname, crlf)
    put_file(srv, addr, "new", "1500000002.M1P3.odd host", b"A: b\n\nc\n")
    p = pop(srv, addr, pw)
    _, lines, _ = p.list()
    sizes = [int(line.split()[1]) for line in lines]
    assert sizes == [len(plain.replace(b"\n", b"\r\n")), len(crlf), len(b"A: b\r\n\r\nc\r\n")]
    _, lines, _ = p.uidl()
    uidls = [line.split()[1].decode() for line in lines]
    assert uidls[0] == "1500000000.M1P1.otherhost"
    for u in uidls[1:]:
        assert re.fullmatch(r"H[0-9a-f]{64}", u), u
    assert uidls[1] != uidls[2]
    _, lines, _ = p.retr(1)
    assert lines == plain.split(b"\n")
    _, lines, _ = p.retr(2)
    assert b"\r\n".join(lines) + b"\r\n" == crlf
    p.quit()
    p = pop(srv, addr, pw)
    assert [line.split()[1].decode() for line in p.uidl()[1]] == uidls
    p.quit()


def test_large_message_streams(srv):
    addr, pw = new_user(srv)
    line = b"0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:-_\r\n"
    body = b"".join(b"%07d " % i + line if i % 50 else b"." + line for i in range(80000))
    assert len(body) > 6_000_000
    stored = deliver(srv, addr, [body])[0]
    p = pop(srv, addr, pw)
    size = int(p.list(1).split()[2])
    assert size == len(as_wire(stored))
    _, lines, octets = p.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == as_wire(stored)
    p.quit()
    # The same through TLS, implicit and after STLS.
    p = poplib.POP3_SSL("127.0.0.1", srv.ports["pop3s"], timeout=20, context=srv.ssl_context())
    p.user(addr)
    p.pass_(pw)
    assert b"\r\n".join(p.retr(1)[1]) + b"\r\n" == as_wire(stored)
    p.quit()
    p = pop(srv)
    p.stls(srv.ssl_context())
    p.user(addr)
    p.pass_(pw)
    assert b"\r\n".join(p.retr(1)[1]) + b"\r\n" == as_wire(stored)
    p.quit()


def test_pipelining(srv):
    addr, pw = new_user(srv)
    stored = deliver(srv, addr, [b"one\r\n", b"two\r\n"])
    r = Raw(srv)
    r.send(f"CAPA\r\nUSER {addr}\r\nPASS {pw}\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\n"
           "TOP 2 0\r\nDELE 1\r\nNOOP\r\nQUIT\r\n".encode())
    assert r.line().startswith(b"+OK")
    assert b"PIPELINING" in r.multi()
    assert r.line().startswith(b"+OK")
    assert r.line().startswith(b"+OK")
    assert r.line().startswith(b"+OK 2 ")
    assert r.line().startswith(b"+OK")
    assert [x.split()[0] for x in r.multi()] == [b"1", b"2"]
    assert r.line().startswith(b"+OK")
    assert len(r.multi()) == 2
    assert r.line().startswith(b"+OK")
    assert b"\r\n".join(r.multi()) + b"\r\n" in [as_wire(m) for m in stored]
    assert r.line().startswith(b"+OK")
    assert r.multi()[-1] == b""
    assert r.line().startswith(b"+OK")  # DELE
    assert r.line() == b"+OK"          # NOOP
    assert r.line().startswith(b"+OK")  # QUIT
    assert r.read_eof() == b""
    assert len(srv.messages(addr)) == 1


# ---- logging in ----

def test_bad_credentials(srv):
    addr, pw = new_user(srv)
    r = Raw(srv)
    assert r.cmd(f"USER {addr}").startswith(b"+OK")
    assert r.cmd("PASS wrong").startswith(b"-ERR [AUTH]")
    # Unknown users look the same.
    assert r.cmd("USER nobody@example.test").startswith(b"+OK")
    assert r.cmd("PASS wrong").startswith(b"-ERR [AUTH]")
    r.close()
    srv.wait_event("login-failed", user="nobody@example.test", client="127.0.0.1", service="pop3",
                   reason="credentials")
    assert srv.events("login-failed", user=addr, client="127.0.0.1", service="pop3")
    log = srv.log()
    assert "wrong" not in log
    assert pw not in log


def test_max_auth_failures_closes(make_instance):
    inst = make_instance({("limits", "max_auth_failures"): "2"})
    r = Raw(inst)
    r.cmd(f"USER {DEMO}")
    assert r.cmd("PASS bad1").startswith(b"-ERR [AUTH]")
    r.cmd(f"USER {DEMO}")
    assert r.cmd("PASS bad2").startswith(b"-ERR [AUTH]")
    assert r.read_eof() == b""


def test_password_with_spaces(srv):
    addr, pw = new_user(srv, "a pass phrase with spaces")
    p = pop(srv, addr, pw)
    assert p.stat() == (0, 0)
    p.quit()


def test_user_name_is_case_insensitive(srv):
    addr, pw = new_user(srv)
    p = pop(srv, addr.upper(), pw)
    assert p.stat() == (0, 0)
    p.quit()


def plain(authzid, authcid, password):
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


def test_auth_plain_initial_response(srv):
    addr, pw = new_user(srv)
    deliver(srv, addr, [b"x\r\n"])
    r = Raw(srv)
    assert r.cmd(f"AUTH PLAIN {plain('', addr, pw)}").startswith(b"+OK")
    assert r.cmd("STAT").startswith(b"+OK 1 ")
    r.cmd("QUIT")


def test_auth_plain_continuation_and_authzid(srv):
    addr, pw = new_user(srv)
    r = Raw(srv)
    assert r.cmd("AUTH PLAIN") == b"+ "
    assert r.cmd(plain(addr, addr, pw)).startswith(b"+OK")
    r.cmd("QUIT")
    # Another identity in authzid is not allowed.
    r = Raw(srv)
    assert r.cmd(f"AUTH PLAIN {plain(DEMO, addr, pw)}").startswith(b"-ERR [AUTH]")
    r.close()


def test_auth_plain_cancel_and_garbage(srv):
    addr, pw = new_user(srv)
    r = Raw(srv)
    assert r.cmd("AUTH PLAIN") == b"+ "
    assert r.cmd("*").startswith(b"-ERR")
    assert r.cmd("AUTH PLAIN") == b"+ "
    assert r.cmd("not base64!").startswith(b"-ERR")
    assert r.cmd("AUTH PLAIN =").startswith(b"-ERR")
    assert r.cmd(f"AUTH PLAIN {plain('', addr, 'wrong')}").startswith(b"-ERR [AUTH]")
    assert r.cmd(f"AUTH PLAIN {plain('', addr, pw)}").startswith(b"+OK")
    r.cmd("QUIT")


def test_mailbox_in_use(srv):
    addr, pw = new_user(srv)
    deliver(srv, addr, [b"x\r\n"])
    first = pop(srv, addr, pw)
    r = Raw(srv)
    r.cmd(f"USER {addr}")
    assert r.cmd(f"PASS {pw}").startswith(b"-ERR [IN-USE]")
    first.quit()
    # The same connection may try again once the other session is gone.
    r.login(addr, pw)
    assert r.cmd("STAT").startswith(b"+OK 1 ")
    r.cmd("QUIT")
    assert srv.events("mailbox-in-use", user=addr, client="127.0.0.1")


def test_lock_released_when_pop3d_is_killed(make_instance):
    inst = make_instance()
    r = Raw(inst)
    r.login(DEMO, DEMO_PASSWORD)
    pids = [int(e["pid"]) for e in inst.events("role-start", role="pop3d")]
    os.kill(pids[-1], 9)
    assert r.read_eof() == b""
    # The supervisor starts a new pop3d; the dead one's lock is gone with it.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            p = pop(inst, DEMO, DEMO_PASSWORD)
            break
        except (OSError, poplib.error_proto) as e:
            assert b"IN-USE" not in str(e).encode()
            time.sleep(0.2)
    else:
        raise AssertionError("no pop3d after the kill")
    assert p.stat() == (0, 0)
    p.quit()


# ---- TLS ----

def test_pop3s_login_and_retr(srv):
    addr, pw = new_user(srv)
    stored = deliver(srv, addr, [b"over tls\r\n"])[0]
    p = poplib.POP3_SSL("127.0.0.1", srv.ports["pop3s"], timeout=20, context=srv.ssl_context())
    p.user(addr)
    p.pass_(pw)
    _, lines, _ = p.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == as_wire(stored)
    p.quit()
    assert srv.events("login", user=addr, client="127.0.0.1", service="pop3s", method="USER", tls="yes",
                      messages=1)


def test_stls(srv):
    addr, pw = new_user(srv)
    p = pop(srv)
    assert p.stls(srv.ssl_context()).startswith(b"+OK")
    caps = capa_of(p)
    assert "STLS" not in caps and "USER" in caps
    p.user(addr)
    p.pass_(pw)
    assert p.stat() == (0, 0)
    assert p.quit().startswith(b"+OK")


def test_stls_discards_pipelined_commands(srv):
    addr, pw = new_user(srv)
    r = Raw(srv)
    r.send(f"STLS\r\nUSER {addr}\r\nCAPA\r\n".encode())
    assert r.line().startswith(b"+OK")
    assert r.buf == b""
    r.sock = srv.ssl_context().wrap_socket(r.sock)
    # USER said in the clear does not count: PASS alone is refused.
    assert r.cmd(f"PASS {pw}").startswith(b"-ERR")
    assert r.cmd("QUIT").startswith(b"+OK")
    assert r.read_eof() == b""
    assert srv.events("pipelined-discarded", client="127.0.0.1", after="STLS")


def test_stls_twice_and_on_pop3s(srv):
    p = pop(srv)
    p.stls(srv.ssl_context())
    with pytest.raises(poplib.error_proto):
        p._shortcmd("STLS")
    p.quit()
    r = Raw(srv, tls=True)
    assert r.cmd("STLS").startswith(b"-ERR")
    r.cmd("QUIT")


def test_cleartext_login_refused_outside_trusted_networks(make_instance):
    inst = make_instance({("relay", "trusted_networks"): ""})
    p = pop(inst)
    caps = capa_of(p)
    assert "USER" not in caps
    assert "STLS" in caps
    with pytest.raises(poplib.error_proto) as e:
        p.user(DEMO)
    assert e.value.args[0].startswith(b"-ERR")
    with pytest.raises(poplib.error_proto):
        p.pass_(DEMO_PASSWORD)
    with pytest.raises(poplib.error_proto):
        p._shortcmd(f"AUTH PLAIN {plain('', DEMO, DEMO_PASSWORD)}")
    # Under TLS the same login works.
    p.stls(inst.ssl_context())
    assert "USER" in capa_of(p)
    p.user(DEMO)
    p.pass_(DEMO_PASSWORD)
    p.quit()
    p = poplib.POP3_SSL("127.0.0.1", inst.ports["pop3s"], timeout=20, context=inst.ssl_context())
    assert "USER" in capa_of(p)
    p._shortcmd(f"AUTH PLAIN {plain('', DEMO, DEMO_PASSWORD)}")
    p.quit()


# ---- limits and lifecycle ----

def test_command_timeout(make_instance):
    inst = make_instance({("limits", "command_timeout"): "2s"})
    r = Raw(inst)
    rest = r.read_eof()
    assert rest.startswith(b"-ERR"), rest
    r = Raw(inst)
    r.login(DEMO, DEMO_PASSWORD)
    assert r.read_eof().startswith(b"-ERR")
    inst.wait_event("disconnect", _role="pop3d", reason="timeout", state="transaction")


def test_connection_limit_per_ip(make_instance):
    inst = make_instance({("limits", "max_connections_per_ip"): "2"})
    a, b = Raw(inst), Raw(inst)
    assert a.greeting.startswith(b"+OK") and b.greeting.startswith(b"+OK")
    c = Raw(inst, greet=False)
    assert c.read_eof().startswith(b"-ERR")
    # pop3s is another listener, with a pool of its own.
    e = Raw(inst, tls=True)
    assert e.greeting.startswith(b"+OK")
    e.cmd("QUIT")
    a.cmd("QUIT")
    a.read_eof()
    inst.wait_event("disconnect", _role="pop3d", client="127.0.0.1", reason="quit")
    d = Raw(inst)
    assert d.greeting.startswith(b"+OK")
    for r in (b, d):
        r.cmd("QUIT")


def test_reload_keeps_serving(make_instance):
    inst = make_instance()
    mark = inst.log_mark()
    inst.reload()
    inst.wait_event("config-reloaded", _role="pop3d", since=mark)
    p = poplib.POP3_SSL("127.0.0.1", inst.ports["pop3s"], timeout=20, context=inst.ssl_context())
    p.user(DEMO)
    p.pass_(DEMO_PASSWORD)
    p.quit()


def test_ten_thousand_messages(srv):
    """A big maildrop: sizes come from W= in the names (the contents do not match them,
    so a server that read or stat()ed the files would report other numbers)."""
    addr, pw = new_user(srv)
    n = 10_000
    for i in range(n):
        put_file(srv, addr, "new" if i % 2 else "cur",
                 f"{1600000000 + i}.Q{i:016X}_0.mx.example.test,S={i + 1},W={i + 7}"
                 + ("" if i % 2 else ":2,"), b"x\n")
    r = Raw(srv)
    r.login(addr, pw)
    assert r.cmd("STAT") == b"+OK %d %d" % (n, sum(i + 7 for i in range(n)))
    assert r.cmd("LIST").startswith(b"+OK")
    lines = r.multi()
    assert lines == [b"%d %d" % (i + 1, i + 7) for i in range(n)]
    assert r.cmd("UIDL").startswith(b"+OK")
    uidls = r.multi()
    assert len(uidls) == n
    assert uidls[0] == b"1 1600000000.Q%016X_0.mx.example.test,S=1,W=7" % 0
    assert r.cmd("DELE 10000").startswith(b"+OK")
    assert r.cmd("QUIT").startswith(b"+OK")
    assert len(os.listdir(os.path.join(srv.maildir(addr), "cur"))) == n - 1


def test_pipelined_retrs_read_late(srv):
    """Many RETRs sent at once, the replies read only afterwards: the server paces its
    output by what the client reads, and every reply arrives whole and in order."""
    addr, pw = new_user(srv)
    body = b"".join(b"line %05d of a message that is read many times\r\n" % i for i in range(4000))
    stored = deliver(srv, addr, [body])[0]
    r = Raw(srv)
    r.login(addr, pw)
    n = 40
    r.send(b"RETR 1\r\n" * n + b"UIDL 1\r\nQUIT\r\n")
    time.sleep(1)  # let the server fill what it may; nothing here depends on how long
    for _ in range(n):
        assert r.line().startswith(b"+OK %d octets" % len(as_wire(stored)))
        assert b"\r\n".join(r.multi()) + b"\r\n" == as_wire(stored)
    assert r.line().startswith(b"+OK 1 ")
    assert r.line().startswith(b"+OK")
    assert r.read_eof() == b""
