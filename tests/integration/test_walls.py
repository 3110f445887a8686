"""test_walls.py - the walls between mailroom's processes, proved from inside and out.

Each role runs under a uid of its own (lookupd alone can open the account store),
with no_new_privs, a seccomp filter and Landlock. The sanitized test build has a
probe (MAILROOM_WALL_PROBE) that makes every role try, once walled in, what it must
never do: open accounts.db, read the TLS key, read /etc/shadow, exec /bin/sh,
(all but queued) make a TCP connection, and (smtpd, pop3d) ask lookupd for DKIM
signers or a signature. The log says result=refused or result=allowed (event=wall-probe).
The supervisor runs as root: links planted in the data dir must not turn its
work on files elsewhere.
"""
import os
import pwd
import re
import stat
import subprocess
import time

import pytest

from conftest import BIN, Instance, free_port

ROLES = ("lookupd", "smtpd", "queued", "pop3d")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the walls need serve started as root")


def role_pids(inst):
    """{role name: pid} of the instance's role processes (children of serve)."""
    out = {}
    serve = inst.proc.pid
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{serve}$", status, re.M) and inst.conf.encode() in cmd:
            m = re.search(r"^Uid:\s+(\d+)", status, re.M)
            user = pwd.getpwuid(int(m.group(1))).pw_name
            out[user] = (int(pid), status)
    return out


def lookup_socket_name(data_dir):
    """The abstract name lookupd listens on: FNV-1a of the data dir's real path."""
    h = 1469598103934665603
    for b in os.path.realpath(data_dir).encode():
        h = ((h ^ b) * 1099511628211) & (2**64 - 1)
    return "mailroom-lookupd-%016x" % h


def probe_lines(inst, role):
    """(check, result) of each wall probe of role."""
    return [(e["check"], e["result"]) for e in inst.events("wall-probe", _role=role)]


@pytest.fixture
def probed(make_instance):
    inst = make_instance(start=False)
    inst.extra_env["MAILROOM_WALL_PROBE"] = "1"
    inst.start()
    for role in ROLES:
        inst.wait_event("started", _role=role)
    return inst


def test_every_probe_is_refused(probed):
    log = probed.log()
    assert probed.events("wall-probe", result="allowed") == [], log
    expected = {
        "smtpd": {"open accounts.db", "open key.pem", "open /etc/shadow", "exec /bin/sh",
                  "tcp connect", "dkim keys", "dkim sign", "web who", "web op"},
        "pop3d": {"open accounts.db", "open key.pem", "open /etc/shadow", "exec /bin/sh",
                  "tcp connect", "dkim keys", "dkim sign", "web who", "web op"},
        "queued": {"open accounts.db", "open key.pem", "open /etc/shadow", "exec /bin/sh",
                   "web who", "web op"},
        "lookupd": {"open key.pem", "open /etc/shadow", "exec /bin/sh", "tcp connect"},
    }
    for role, what in expected.items():
        seen = {w for w, verdict in probe_lines(probed, role) if verdict == "refused"}
        assert what <= seen, f"{role}: probes refused {seen}, expected {what}\n{log[-3000:]}"


def test_proc_status_shows_the_walls(probed):
    pids = role_pids(probed)
    users = set(pids)
    # One uid per role: the mail user for queued, and one each for the others.
    assert users == {"mailroom", "mailroom-smtpd", "mailroom-pop3d", "mailroom-lookup"}, users
    for user, (pid, status) in pids.items():
        assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), (user, status)
        assert re.search(r"^Seccomp:\s+2$", status, re.M), (user, status)
        # No capabilities left in any role.
        assert re.search(r"^CapEff:\s+0+$", status, re.M), (user, status)
    mail_gid = pwd.getpwnam("mailroom").pw_gid
    for user in ("mailroom-smtpd", "mailroom-pop3d"):
        assert pwd.getpwnam(user).pw_gid == mail_gid
    assert pwd.getpwnam("mailroom-lookup").pw_gid != mail_gid


def thread_walls(pid):
    """{thread id: the Seccomp: line's value} of every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                m = re.search(r"^Seccomp:\s+(\d+)$", f.read(), re.M)
        except OSError:
            continue  # gone meanwhile
        out[int(tid)] = m.group(1) if m else None
    return out


def test_every_thread_is_walled_in(probed):
    """The walls are a thread's (seccomp without TSYNC, Landlock): a thread made before
    them would be outside, and a role's other threads could be driven from it. Every
    thread, after mail, a login and a check have made them, has the filter."""
    import poplib
    import smtplib
    with smtplib.SMTP("127.0.0.1", probed.ports["smtp"], timeout=20) as c:
        c.sendmail("someone@outside.test", ["demo@example.test"],
                   b"From: someone@outside.test\r\nSubject: walls\r\n\r\nhello\r\n")
    p = poplib.POP3("127.0.0.1", probed.ports["pop3"], timeout=20)
    p.user("demo@example.test")
    p.pass_("demo-password-1")
    p.quit()
    probed.wait_event("delivery", status="sent")
    several = 0
    for user, (pid, _) in role_pids(probed).items():
        walls = thread_walls(pid)
        several += len(walls) > 1
        outside = {tid: v for tid, v in walls.items() if v != "2"}
        assert outside == {}, f"{user} (pid {pid}): threads without the filter: {outside}"
    assert several >= 2  # the threads were there to look at (login, commit, store)


def test_store_and_key_belong_to_nobody_else(instance):
    st = os.stat(instance.dir + "/key.pem")
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600
    lookup = pwd.getpwnam("mailroom-lookup")
    for name in ("accounts.db", "accounts.db-wal", "accounts.db-shm"):
        path = os.path.join(instance.data, name)
        if os.path.exists(path):
            st = os.stat(path)
            assert st.st_uid == lookup.pw_uid, name
            assert stat.S_IMODE(st.st_mode) == 0o600, name
    mail = pwd.getpwnam("mailroom")
    for sub in ("queue", "mail"):
        st = os.stat(os.path.join(instance.data, sub))
        assert (st.st_uid, st.st_gid) == (mail.pw_uid, mail.pw_gid)
        assert stat.S_IMODE(st.st_mode) == 0o770


def test_key_not_in_roles_without_tls(probed):
    """queued and lookupd never get the key: no PEM private key in their memory."""
    pids = role_pids(probed)
    key = open(probed.dir + "/key.pem").read()
    body = "".join(key.strip().splitlines()[1:-1])[:40]
    for user in ("mailroom", "mailroom-lookup"):
        pid = pids[user][0]
        found = False
        with open(f"/proc/{pid}/maps") as maps:
            regions = [line.split() for line in maps]
        with open(f"/proc/{pid}/mem", "rb", 0) as mem:
            for r in regions:
                if len(r) < 2 or "rw" not in r[1] or (len(r) > 5 and r[5].startswith("[v")):
                    continue
                lo, hi = (int(x, 16) for x in r[0].split("-"))
                if hi - lo > 256 << 20:
                    continue
                try:
                    mem.seek(lo)
                    if body.encode() in mem.read(hi - lo):
                        found = True
                except (OSError, ValueError, OverflowError):
                    continue
        assert not found, f"{user} holds the TLS key"


def test_supervisor_follows_no_planted_links(tmp_path):
    """A mail user that replaced queue/tmp with a link to a directory of root's files,
    and accounts.db with a link to a file of root's: serve deletes and hands over neither."""
    inst = Instance()
    try:
        victim = tmp_path / "victim"
        victim.mkdir()
        (victim / "precious").write_text("root's file\n")
        tmpdir = os.path.join(inst.data, "queue", "tmp")
        if os.path.isdir(tmpdir):
            os.rmdir(tmpdir)
        os.makedirs(os.path.dirname(tmpdir), exist_ok=True)
        os.symlink(victim, tmpdir)
        inst.start(wait=False)
        inst.wait_event("started", _role="queued", timeout=20)
        assert (victim / "precious").exists(), "root followed queue/tmp and deleted its files"
        assert os.stat(victim).st_uid == 0
        inst.stop()

        target = tmp_path / "rootfile"
        target.write_text("not the account store\n")
        os.chmod(target, 0o644)
        db = os.path.join(inst.data, "accounts.db")
        os.replace(db, db + ".moved")
        os.symlink(target, db)
        p = subprocess.run([BIN, "-c", inst.conf, "serve"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1, p
        assert "accounts.db" in p.stderr and "refusing" in p.stderr, p.stderr
        st = os.stat(target)
        assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o644
    finally:
        inst.cleanup()


def test_lookup_socket_refuses_other_users(instance):
    """Only root and the mail roles may ask lookupd: another local user is turned away."""
    code = r"""
import socket, struct, sys
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect("\0" + name)
# LK_DOMAINS: version 1, reserved 0, type 3
try:
    s.send(bytes([1, 0, 0, 3]))
    data = s.recv(70000)
except OSError:  # turned away: closed before or after the request
    data = b""
print(len(data))
"""
    name = lookup_socket_name(instance.data)
    assert "@" + name in open("/proc/net/unix").read()
    ok = subprocess.run(["/usr/bin/python3", "-c", code, name], capture_output=True, text=True,
                        timeout=20)
    assert ok.returncode == 0 and int(ok.stdout) > 4, ok
    nobody = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                             "/usr/bin/python3", "-c", code, name],
                            capture_output=True, text=True, timeout=20)
    assert nobody.returncode == 0 and int(nobody.stdout) == 0, nobody
    instance.wait_event("lookup-refused", _role="lookupd", uid=pwd.getpwnam("nobody").pw_uid,
                        reason="not a mail role")


def test_web_requests_for_httpd_alone(make_instance):
    """LK_WEB_* are answered to httpd's uid alone: smtpd, pop3d and queued are refused
    (lookupd logs each), httpd gets its answer (an unknown session: 401)."""
    inst = make_instance({("listen", "https"): f"127.0.0.1:{free_port()}"}, start=False)
    inst.extra_env["MAILROOM_WALL_PROBE"] = "1"
    inst.start()
    inst.wait_event("wall-probe", _role="httpd", check="web")
    for role in ("smtpd", "pop3d", "queued"):
        inst.wait_event("wall-probe", _role=role, check="web op")
    log = inst.log()
    assert inst.events("wall-probe", _role="httpd", check="web", result="answered"), log[-3000:]
    for role in ("smtpd", "pop3d", "queued"):
        seen = {w for w, verdict in probe_lines(inst, role) if verdict == "refused"}
        assert {"web who", "web op"} <= seen, (role, seen)
    uids = {pwd.getpwnam(u).pw_uid for u in ("mailroom", "mailroom-smtpd", "mailroom-pop3d")}
    refused = {int(e["uid"]) for e in inst.events("lookup-refused", _role="lookupd",
                                                   request=re.compile(r"^LK_WEB_(WHO|OP)$"))}
    assert uids <= refused, (uids, refused)
