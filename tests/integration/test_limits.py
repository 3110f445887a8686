"""test_limits.py - slow clients, floods and memory.

Deadlines that bytes do not reset (Postfix's smtpd_per_request_deadline and
smtpd_min_data_rate): a command line, a TLS handshake, DATA or BDAT text trickled
a byte at a time is cut off at its deadline, where the old idle timers were reset
by every byte and held such a client for ever.

Connection limits per client network (IPv4 /32 and IPv6 /64 by default, so one
host cannot take a whole pool with the addresses of its /64) and per listener, so
a flood on smtp does not lock customers out of submission.

Memory per session bounded: mail for local mailboxes, written straight into the
Maildirs, is spilled to an unnamed file past 64 KiB instead of being held whole
(up to 4 MiB a session before).
"""
import os
import poplib
import re
import resource
import subprocess
import select
import smtplib
import socket
import ssl
import time

import pytest

from conftest import DEMO, DEMO_PASSWORD
from smtpraw import Raw, queue_id

TIMEOUT = 3  # command_timeout of these instances, seconds
SLACK = 3    # how much later than the deadline the cut may come (loaded machine, ASan)


@pytest.fixture(scope="module")
def inst(make_module_instance):
    return make_module_instance({("limits", "command_timeout"): f"{TIMEOUT}s"})


def connect(port, host="127.0.0.1", source=None):
    return socket.create_connection((host, port), timeout=10,
                                    source_address=(source, 0) if source else None)


def read_until(sock, token, timeout=10.0):
    """Read until token is in what arrived (or the server closes); return it all."""
    deadline = time.monotonic() + timeout
    got = b""
    while token not in got:
        left = deadline - time.monotonic()
        assert left > 0, f"no {token!r} within {timeout}s; have {got!r}"
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def trickle(sock, data, interval, limit):
    """Send data in pieces (bytes, or a list of pieces), one every interval seconds,
    until the server closes the connection or limit seconds pass. Returns (seconds
    until the close, or None when still open at the limit; what the server sent)."""
    pieces = [data[i:i + 1] for i in range(len(data))] if isinstance(data, bytes) else data
    start = time.monotonic()
    got = b""
    i = 0
    while time.monotonic() - start < limit:
        if i < len(pieces):
            try:
                sock.sendall(pieces[i])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start, got
            i += 1
        end = time.monotonic() + interval
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([sock], [], [], left)
            if not r:
                continue
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return time.monotonic() - start, got
            got += chunk
    return None, got


def assert_cut(elapsed, limit=TIMEOUT):
    assert elapsed is not None, "the trickling client was never cut off"
    assert limit - 0.5 <= elapsed <= limit + SLACK, f"cut off after {elapsed:.1f}s"


def client_hello():
    """The first flight of a TLS client: what it sends before it hears anything."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="mx.example.test")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    assert len(hello) > 100
    return hello


def smtp_to_data(sock, bdat=None):
    """Greeting, EHLO, MAIL, RCPT and DATA (or the BDAT command line) pipelined."""
    read_until(sock, b"\r\n")
    last = f"BDAT {bdat} LAST\r\n" if bdat else "DATA\r\n"
    sock.sendall(f"EHLO c.example\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<{DEMO}>\r\n"
                 f"{last}".encode())
    if bdat:
        read_until(sock, b"250 2.1.5")
    else:
        read_until(sock, b"354 ")


# ---- deadlines ----

def test_command_line_trickle_smtp(inst):
    """A byte a second never completes a line: cut at command_timeout from the
    greeting, with the usual 421 4.4.2 and log line."""
    mark = inst.log_mark()
    with connect(inst.ports["smtp"]) as s:
        read_until(s, b"220 ")
        elapsed, got = trickle(s, b"NOOP" + b"x" * 40, 1.0, TIMEOUT + 10)
    assert_cut(elapsed)
    assert b"421 4.4.2" in got, got
    inst.wait_event("timeout", since=mark, _role="smtpd", client="127.0.0.1", state="connected")
    inst.wait_event("disconnect", since=mark, _role="smtpd", client="127.0.0.1", reason="timeout")


def test_command_line_deadline_counts_from_last_reply(inst):
    """Each complete line starts a new deadline: a client that answers in time is
    never cut, however long the session lasts."""
    with connect(inst.ports["smtp"]) as s:
        read_until(s, b"220 ")
        start = time.monotonic()
        for _ in range(4):
            s.sendall(b"NO")
            time.sleep(TIMEOUT / 2)
            s.sendall(b"OP\r\n")
            read_until(s, b"250 ")
        assert time.monotonic() - start > TIMEOUT + 1
        s.sendall(b"QUIT\r\n")
        assert b"221 " in read_until(s, b"221 ")


def test_command_line_trickle_pop3(inst):
    mark = inst.log_mark()
    with connect(inst.ports["pop3"]) as s:
        read_until(s, b"+OK")
        elapsed, got = trickle(s, b"USER " + b"x" * 40, 1.0, TIMEOUT + 10)
    assert_cut(elapsed)
    assert got.startswith(b"-ERR"), got
    inst.wait_event("timeout", since=mark, _role="pop3d", client="127.0.0.1", state="authorization")


@pytest.mark.parametrize("how", ["submissions", "starttls", "pop3s", "stls"])
def test_tls_handshake_trickle(inst, how):
    """A ClientHello sent a byte every 0.3 s: the handshake has command_timeout (at
    most 30 s) in all, not per byte; no reply can reach such a client."""
    hello = client_hello()
    mark = inst.log_mark()
    port = {"submissions": "submissions", "starttls": "smtp", "pop3s": "pop3s",
            "stls": "pop3"}[how]
    with connect(inst.ports[port]) as s:
        if how == "starttls":
            read_until(s, b"220 ")
            s.sendall(b"EHLO c.example\r\nSTARTTLS\r\n")
            read_until(s, b"220 2.0.0")
        elif how == "stls":
            read_until(s, b"+OK")
            s.sendall(b"STLS\r\n")
            read_until(s, b"+OK Begin")
        elapsed, got = trickle(s, hello, 0.3, TIMEOUT + 10)
    assert_cut(elapsed)
    assert b"421" not in got and b"-ERR" not in got
    inst.wait_event("timeout", since=mark, client="127.0.0.1", state="tls-handshake")


def test_data_below_min_rate(inst):
    """DATA at 40 octets/s, far below min_data_rate (500): cut with 421 4.4.2 soon
    after command_timeout, though bytes arrive every half second."""
    mark = inst.log_mark()
    with connect(inst.ports["smtp"]) as s:
        smtp_to_data(s)
        elapsed, got = trickle(s, [b"y" * 19 + b"\n"] * 100, 0.5, TIMEOUT + 12)
    assert elapsed is not None, "the slow DATA was never cut off"
    assert TIMEOUT - 0.5 <= elapsed <= TIMEOUT * 1.2 + SLACK, f"cut off after {elapsed:.1f}s"
    assert b"421 4.4.2" in got, got
    inst.wait_event("timeout", since=mark, client="127.0.0.1", state="data")


def test_bdat_below_min_rate(inst):
    mark = inst.log_mark()
    with connect(inst.ports["smtp"]) as s:
        smtp_to_data(s, bdat=100000)
        elapsed, got = trickle(s, [b"z" * 20] * 100, 0.5, TIMEOUT + 12)
    assert elapsed is not None, "the slow BDAT was never cut off"
    assert TIMEOUT - 0.5 <= elapsed <= TIMEOUT * 1.2 + SLACK, f"cut off after {elapsed:.1f}s"
    assert b"421 4.4.2" in got, got
    inst.wait_event("timeout", since=mark, client="127.0.0.1", state="bdat")


def test_data_at_min_rate_is_not_cut(inst):
    """DATA at twice min_data_rate for longer than command_timeout is accepted: the
    deadline grows with what arrives."""
    with connect(inst.ports["smtp"]) as s:
        smtp_to_data(s)
        start = time.monotonic()
        while time.monotonic() - start < TIMEOUT + 2:
            s.sendall(b"w" * 249 + b"\n")
            time.sleep(0.25)
        s.sendall(b"\r\n.\r\n")
        got = read_until(s, b"\r\n")
        assert got.startswith(b"250 "), got


# ---- connection limits ----

def test_limit_per_client_network(make_instance):
    """connection_prefix_v4 = 24: 127.0.0.2 and 127.0.0.3 are one client network, and
    with max_connections_per_ip = 2 a third address of it is refused. (IPv6 /64s,
    the default, are counted alike: tests/unit/test_conn_limit.c; this machine has
    one IPv6 loopback address only.)"""
    i = make_instance({("limits", "max_connections_per_ip"): "2",
                       ("limits", "connection_prefix_v4"): "24"})
    mark = i.log_mark()
    a = Raw(i.ports["smtp"], source="127.0.0.2")
    b = Raw(i.ports["smtp"], source="127.0.0.3")
    try:
        assert a.banner.code == 220 and b.banner.code == 220
        with Raw(i.ports["smtp"], source="127.0.0.4", greet=False) as c:
            r = c.reply()
            assert r.startswith("421 4.7.0"), r
            c.expect_closed()
        i.wait_event("reject", since=mark, client="127.0.0.4", service="smtp", stage="connect",
                     reason="too-many-connections")
        # Another /24 is another client.
        with Raw(i.ports["smtp"], source="127.0.1.2") as d:
            assert d.banner.code == 220
            assert d.cmd("QUIT").code == 221
        # A place freed in the network is free for any of its addresses.
        assert a.cmd("QUIT").code == 221
        a.expect_closed()
        deadline = time.monotonic() + 10
        while True:
            with Raw(i.ports["smtp"], source="127.0.0.4", greet=False) as c:
                if c.reply().code == 220:
                    break
            assert time.monotonic() < deadline, "the place was not freed"
            time.sleep(0.1)
    finally:
        a.close()
        b.close()


def test_flood_on_smtp_does_not_lock_out_submission(make_instance):
    """Each listener has its own pool: smtp full (in all and for 127.0.0.1), a
    customer still logs in and sends on submission; pop3 full, pop3s still works."""
    i = make_instance({("limits", "max_connections"): "3",
                       ("limits", "max_connections_per_ip"): "3"})
    flood = [Raw(i.ports["smtp"]) for _ in range(3)]
    pops = []
    try:
        with Raw(i.ports["smtp"], greet=False) as c:
            r = c.reply()
            assert r.startswith("421 4.7.0"), r
        with smtplib.SMTP("127.0.0.1", i.ports["submission"], timeout=10) as s:
            s.ehlo()
            s.login(DEMO, DEMO_PASSWORD)
            s.sendmail(DEMO, [DEMO], f"From: {DEMO}\r\nSubject: flood-ok\r\n\r\nhi\r\n")
        i.wait_token(DEMO, "flood-ok")
        for _ in range(3):
            p = connect(i.ports["pop3"])
            pops.append(p)
            assert read_until(p, b"\r\n").startswith(b"+OK")
        with connect(i.ports["pop3"]) as p:
            assert read_until(p, b"\r\n").startswith(b"-ERR")
        p = poplib.POP3_SSL("127.0.0.1", i.ports["pop3s"], timeout=10,
                            context=i.ssl_context())
        p.user(DEMO)
        p.pass_(DEMO_PASSWORD)
        assert p.stat()[0] >= 1
        p.quit()
        # The flood's sessions are untouched.
        assert all(c.cmd("NOOP").code == 250 for c in flood)
    finally:
        for c in flood:
            c.close()
        for p in pops:
            p.close()


# ---- memory ----

def listening_inode(port):
    """The inode of the socket listening on 127.0.0.1:port (from /proc/net/tcp)."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":
                return fields[9]
    raise AssertionError(f"nothing listens on {port}")


def smtpd_pid(inst):
    """The smtpd child of the instance's supervisor: the one holding the smtp socket."""
    inode = listening_inode(inst.ports["smtp"])
    out = subprocess.run(["pgrep", "-P", str(inst.proc.pid)], capture_output=True, text=True)
    for pid in out.stdout.split():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except FileNotFoundError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return int(pid)
            except OSError:
                pass
    raise AssertionError("no smtpd process found")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1))


def settled_rss(pid, timeout=20.0):
    """VmRSS once it has stopped growing for a second (the server has read what was
    sent), bounded by timeout."""
    deadline = time.monotonic() + timeout
    last, since = rss_kib(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = rss_kib(pid)
        if now > last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 1.0:
            break
    return last


@pytest.fixture
def small_quarantine(monkeypatch):
    """ASan keeps freed memory in quarantine (256 MB by default), which shows in
    RSS: it must not be taken for smtpd's own. (No effect on a release build.)"""
    base = os.environ.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    monkeypatch.setenv("ASAN_OPTIONS", base + ":quarantine_size_mb=1")


QUOTA_USER = "quota@example.test"  # a quota sends mail through the queue


@pytest.mark.parametrize("how,rcpt", [("data", DEMO), ("bdat", DEMO), ("bdat", QUOTA_USER)])
def test_unfinished_messages_stay_out_of_memory(make_instance, small_quarantine, how, rcpt):
    """16 sessions, each 2 MiB into DATA (or into one BDAT chunk) for a local
    mailbox: smtpd grew by the whole text, as mail written straight into Maildirs
    was held in memory up to 4 MiB (60 MB for 15 sessions), and a BDAT chunk was
    held whole even on the way to the queue. Now by a small buffer each."""
    i = make_instance()
    i.run_cli("user", "add", QUOTA_USER, "--quota", "1G", input="quota-password-1\n")
    pid = smtpd_pid(i)
    warm = connect(i.ports["smtp"])  # the first session's allocations are not the text's
    smtp_to_data(warm)
    before = settled_rss(pid)
    line = b"x" * 1022 + b"\r\n"
    text = b"Subject: unfinished\r\n\r\n" + line * 2048
    socks = []
    try:
        for _ in range(16):
            s = connect(i.ports["smtp"])
            socks.append(s)
            read_until(s, b"\r\n")
            s.sendall(f"EHLO c.example\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<{rcpt}>\r\n"
                      .encode())
            read_until(s, b"250 2.1.5")
            if how == "data":
                s.sendall(b"DATA\r\n")
                read_until(s, b"354 ")
                s.sendall(text)
            else:
                s.sendall(b"BDAT %d LAST\r\n" % (len(text) + 100) + text)
        growth = settled_rss(pid) - before
        print(f"smtpd RSS {before} KiB, +{growth} KiB for 16 sessions 2 MiB into {how}"
              f" to {rcpt}")
        assert growth < 16 * 1024, f"smtpd grew by {growth} KiB for 16 unfinished messages"
        # A message written out on the way arrives whole.
        socks[0].sendall(b".\r\n" if how == "data" else b"z" * 99 + b"\n")
        assert read_until(socks[0], b"\r\n").startswith(b"250 ")
        msgs = [m for m in i.wait_messages(rcpt, 1) if b"unfinished" in m]
        assert len(msgs) == 1
        body = msgs[0].split(b"\n\n", 1)[1]
        assert body == (b"x" * 1022 + b"\n") * 2048 + (b"" if how == "data" else b"z" * 99 + b"\n")
    finally:
        warm.close()
        for s in socks:
            s.close()


@pytest.mark.parametrize("how,size", [("data", 200_000), ("data", 5 * 1024 * 1024),
                                      ("bdat", 3 * 1024 * 1024), ("chunks", 300_000)])
def test_spilled_messages_arrive_whole(make_instance, how, size):
    """Past 64 KiB the text of direct delivery is in the spill file: each recipient's
    copy is made from it; past 4 MiB it moves into the queue file instead."""
    i = make_instance()
    other = "other@example.test"
    i.add_user(other, "other-password-1")
    tok = f"spill-{how}-{size}"
    lines = [b"%07d %s\r\n" % (n, b"s" * 90) for n in range(size // 100)]
    text = b"Subject: " + tok.encode() + b"\r\n\r\n" + b"".join(lines)
    with Raw(i.ports["smtp"], timeout=60) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        assert c.cmd(f"RCPT TO:<{other}>").code == 250
        if how == "data":
            assert c.cmd("DATA").code == 354
            c.send(text + b".\r\n")
            r = c.reply(timeout=60)
        elif how == "bdat":
            c.send(b"BDAT %d LAST\r\n" % len(text) + text)
            r = c.reply(timeout=60)
        else:
            third = len(text) // 3
            parts = [text[:third], text[third:2 * third], text[2 * third:]]
            for n, p in enumerate(parts):
                last = b" LAST" if n == 2 else b""
                c.send(b"BDAT %d%s\r\n" % (len(p), last) + p)
                r = c.reply(timeout=60)
        assert r.code == 250, r
    want = b"".join(line.replace(b"\r\n", b"\n") for line in lines)
    for rcpt in (DEMO, other):
        msgs = i.wait_token(rcpt, tok, timeout=60)
        assert len(msgs) == 1
        head, body = msgs[0].split(b"\n\n", 1)
        assert body == want, (rcpt, len(body), len(want))
        assert f"Delivered-To: {rcpt}".encode() in head
    qid = queue_id(r)
    (ev,) = i.wait_event("removed", qid=qid)
    direct = ev.get("direct") == "yes"
    assert ev["_role"] == ("smtpd" if direct else "queued")
    assert direct == (size <= 4 * 1024 * 1024)


# ---- many slow sessions ----

SLOW_SESSIONS = 1000
RSS_LIMIT_KIB = 256 * 1024


@pytest.fixture
def many_files():
    """Room for this process's and smtpd's descriptors (smtpd inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * SLOW_SESSIONS
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {want}")
    if soft == resource.RLIM_INFINITY or soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def spill_sizes(pid, prefix):
    """The sizes of the files under prefix that process pid has open."""
    sizes = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(prefix):
                sizes.append(os.stat(f"/proc/{pid}/fd/{fd}").st_size)
        except OSError:
            pass
    return sizes


def test_thousand_slow_sessions_in_bounded_memory(make_instance, many_files, small_quarantine):
    """1,000 sessions at once, each stalled: greeted and silent, half-way through a
    command line, or half-way through DATA with 1 MiB sent (past the 64 KiB kept
    in memory). smtpd's RSS stays under 256 MiB (with the text held in memory, as
    before, the DATA sessions alone took over 330 MB), and it still serves a new
    client."""
    i = make_instance({("limits", "max_connections"): str(2 * SLOW_SESSIONS),
                       ("limits", "max_connections_per_ip"): str(2 * SLOW_SESSIONS)})
    pid = smtpd_pid(i)
    start = time.monotonic()
    chunk = (b"d" * 1022 + b"\r\n") * 1024
    socks = []
    try:
        for n in range(SLOW_SESSIONS):
            s = connect(i.ports["smtp"])
            socks.append(s)
            kind = n % 3
            if kind == 0:
                read_until(s, b"\r\n")
            elif kind == 1:
                read_until(s, b"\r\n")
                s.sendall(b"EHLO slow.example\r\nMAIL FROM:<slow@remote.te")
            else:
                smtp_to_data(s)
                s.sendall(b"Subject: slow\r\n\r\n" + chunk)
        sent = time.monotonic() - start
        # The text was read, not left in the sockets: each DATA session's is past
        # its 64 KiB in memory, in a spill file (smtpd's descriptors show them).
        ndata = len(range(2, SLOW_SESSIONS, 3))
        spool_tmp = os.path.join(i.data, "queue", "tmp") + "/"
        deadline = time.monotonic() + 40
        while True:
            spilled = spill_sizes(pid, spool_tmp)
            if len(spilled) == ndata and min(spilled) >= len(chunk) // 2:
                break
            assert time.monotonic() < deadline, \
                f"{len(spilled)} of {ndata} spill files, smallest {min(spilled, default=0)}"
            time.sleep(0.2)
        rss = settled_rss(pid, timeout=30)
        print(f"{SLOW_SESSIONS} slow sessions set up in {sent:.1f}s; smtpd VmRSS {rss} KiB")
        assert rss < RSS_LIMIT_KIB, f"smtpd VmRSS {rss} KiB with {SLOW_SESSIONS} slow sessions"
        assert i.events("reject", reason="too-many-connections") == []
        # Still serving.
        with Raw(i.ports["smtp"]) as c:
            c.ehlo()
            assert c.mail_rcpt_data("a@remote.test", [DEMO], "Subject: alive\r\n\r\nok\r\n").code == 250
        assert time.monotonic() - start < 60
    finally:
        for s in socks:
            s.close()


def soft_nofile(pid):
    """The soft RLIMIT_NOFILE of a process, from /proc/PID/limits."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no open-files line")


def test_serve_raises_the_open_files_limit(make_instance):
    """Started with a soft limit of 1,024 open files (the usual default), serve
    raises it to the hard limit for itself and its roles: smtpd would otherwise
    refuse connections near a thousand."""
    i = make_instance(start=False)
    i.launcher = ["prlimit", "--nofile=1024:8192", "--"]
    i.start()
    assert soft_nofile(i.proc.pid) == 8192
    assert soft_nofile(smtpd_pid(i)) == 8192
