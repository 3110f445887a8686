"""test_status.py - `mailroom status`: the running server's roles, uptime, reloads,
connections, queue and last errors, as text and as JSON (--json), asked over the
supervisor's status socket. Checked against the processes that run (pids that
exist), a connection held open, a message deferred in the queue, a role killed
and restarted, SIGHUP reloads (done and refused), no server at all, users who
may not ask (nobody, a role's user), and a socket name taken by another user.
"""
import json
import os
import pwd
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time

import pytest

from conftest import BIN, deferring_settings
from smtpraw import Raw, queue_id

ROLES = ("lookupd", "smtpd", "queued", "pop3d", "httpd", "acmed")

# Binds the supervisor's abstract name (argv[1]) and waits until stdin closes.
SQUAT = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(b"\0" + sys.argv[1].encode())
s.listen(4)
print("bound", flush=True)
sys.stdin.read()
"""


def as_user(user):
    """A preexec_fn that drops to user (its own group, no others)."""
    def drop():
        pw = pwd.getpwnam(user)
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


def status(inst, *args, user=None):
    """`mailroom status ARGS`, as root or (user given) as that user: the CompletedProcess."""
    return subprocess.run([BIN, "-c", inst.conf, "status", *args], capture_output=True,
                          text=True, timeout=30, preexec_fn=as_user(user) if user else None)


def status_json(inst, user=None):
    p = status(inst, "--json", user=user)
    assert p.returncode == 0, (p.returncode, p.stderr, p.stdout)
    assert p.stderr == ""
    return json.loads(p.stdout)


def role(st, name):
    return next(r for r in st["roles"] if r["name"] == name)


def listener(st, name):
    return next(l for l in st["connections"]["listeners"] if l["name"] == name)


def wait_status(inst, cond, what, timeout=20.0):
    """Ask until cond(status) holds (bounded); return that status."""
    deadline = time.monotonic() + timeout
    while True:
        p = status(inst, "--json")
        st = json.loads(p.stdout) if p.stdout else None
        if st is not None and cond(st):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"status never showed {what}: {p.returncode} {p.stderr}\n"
                                 f"{p.stdout}\n{inst.log()[-3000:]}")
        time.sleep(0.1)


def socket_name(data_dir):
    """The supervisor's abstract name (src/util/abstract_name.c): FNV-1a of the real path."""
    h = 1469598103934665603
    for c in os.path.realpath(data_dir).encode():
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"mailroom-serve-{h:016x}"


@pytest.fixture(scope="module")
def mx(make_module_instance):
    return make_module_instance(deferring_settings())


def test_roles_and_server(mx):
    st = status_json(mx)
    version = subprocess.run([BIN, "version"], capture_output=True, text=True,
                             timeout=30).stdout.split()[1]
    assert st["version"] == version
    assert st["pid"] == mx.proc.pid
    assert st["data_dir"] == mx.data
    assert st["hostname"] == "mx.example.test"
    assert st["reloads"] == 0 and st["last_reload"] is None and st["reload_error"] is None
    assert [r["name"] for r in st["roles"]] == list(ROLES)
    pids = mx.pids()
    for name in ("lookupd", "smtpd", "queued", "pop3d"):
        r = role(st, name)
        assert r["state"] == "running", r
        assert r["pid"] in pids, (r, pids)
        os.kill(r["pid"], 0)
        assert r["restarts"] == 0 and r["last_exit"] is None
    # No web listener in this instance: httpd is not configured, and that is no fault.
    assert role(st, "httpd")["state"] == "off" and role(st, "httpd")["pid"] is None
    names = [l["name"] for l in st["connections"]["listeners"]]
    assert names == ["smtp", "submission", "submissions", "pop3", "pop3s"]

    p = status(mx)
    assert p.returncode == 0 and p.stderr == "", p
    out = p.stdout
    assert out.startswith(f"mailroom {version}, pid {mx.proc.pid}, up ")
    assert f"data dir {mx.data}" in out
    for name in ("lookupd", "smtpd", "queued", "pop3d"):
        assert re.search(rf"^  {name} +running +pid {role(st, name)['pid']} ", out, re.M), out
    assert re.search(r"^  httpd +off +\(not configured\)$", out, re.M), out
    assert re.search(r"^  smtp +\d+ open +\d+ accepted$", out, re.M), out


def test_uptime_grows(mx):
    first = status_json(mx)
    st = wait_status(mx, lambda s: s["uptime"] > first["uptime"], "a longer uptime")
    assert role(st, "queued")["uptime"] > role(first, "queued")["uptime"]
    assert st["started"] == first["started"]


def test_open_connection_counted(mx):
    with smtplib.SMTP("127.0.0.1", mx.ports["smtp"], timeout=30) as c:
        c.ehlo("client.example")
        st = wait_status(mx, lambda s: listener(s, "smtp")["open"] >= 1, "the open connection")
        assert st["connections"]["open"] >= 1
        assert listener(st, "smtp")["accepted"] >= 1
        assert listener(st, "pop3")["open"] == 0
        text = status(mx).stdout
        assert re.search(r"^  smtp +[1-9]\d* open", text, re.M), text
    wait_status(mx, lambda s: listener(s, "smtp")["open"] == 0, "the connection closed")


def test_deferred_message_counted(mx):
    with Raw(mx.ports["smtp"]) as s:
        s.ehlo()
        r = s.mail_rcpt_data("sender@remote.test", ["friend@remote.test"],
                             "Subject: status\r\n\r\nwaiting\r\n")
        assert r.code == 250, r
    qid = queue_id(r)
    mx.wait_event("delivery", qid=qid, to="<friend@remote.test>", status="deferred")
    st = wait_status(mx, lambda s: s["queue"]["messages"] >= 1, "the deferred message")
    assert st["queue"]["oldest_age"] is not None and st["queue"]["oldest_age"] >= 0
    assert re.search(r"^queue: [1-9]\d* messages?, the oldest \S+ old$", status(mx).stdout, re.M)
    mx.run_cli("queue", "delete", qid)


def test_mail_user_may_ask(mx):
    st = status_json(mx, user="mailroom")
    assert role(st, "smtpd")["state"] == "running"
    p = status(mx, user="mailroom")
    assert p.returncode == 0 and "roles:" in p.stdout, p


@pytest.mark.parametrize("user", ["nobody", "mailroom-smtpd"])
def test_other_users_refused(mx, user):
    """Neither another user nor a role's own user gets the status; the server says why
    and logs the refusal."""
    uid = pwd.getpwnam(user).pw_uid
    mark = mx.log_mark()
    p = status(mx, user=user)
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1, p.stderr
    assert p.stderr.startswith("mailroom: the server refused: only root and the mail user"), p.stderr
    mx.wait_event("status-refused", since=mark, _role="serve", uid=uid, _level="warning")
    # The refusal is one of the last warnings the status shows.
    st = status_json(mx)
    assert any(e["level"] == "warning" and e["text"].startswith(f"event=status-refused uid={uid} ")
               for e in st["errors"]), st["errors"]


def test_json_flag_only(mx):
    p = status(mx, "--bogus")
    assert p.returncode == 2 and "usage: mailroom" in p.stderr and p.stdout == ""
    p = status(mx, "--json", "extra")
    assert p.returncode == 2


def test_no_server(make_instance):
    inst = make_instance(start=False)
    for args in ((), ("--json",)):
        p = status(inst, *args)
        assert p.returncode == 1
        assert p.stdout == ""
        assert p.stderr.count("\n") == 1, p.stderr
        assert p.stderr.startswith("mailroom: no server is running (nothing listens on "
                                   f"@{socket_name(inst.data)}"), p.stderr


def test_killed_role_restarted_and_down(make_instance):
    """A role killed is restarted and counted, its death among the last errors; while it
    waits for its restart the status says so and exits 1."""
    inst = make_instance()
    old = role(status_json(inst), "smtpd")["pid"]
    os.kill(old, signal.SIGKILL)
    st = wait_status(inst, lambda s: role(s, "smtpd")["state"] == "running" and
                     role(s, "smtpd")["pid"] != old, "smtpd restarted")
    r = role(st, "smtpd")
    assert r["restarts"] == 1
    assert r["last_exit"]["reason"] == "killed by signal 9"
    assert any(e["role"] == "serve" and e["level"] == "error" and
               e["text"] == f"event=role-exit role=smtpd pid={old} signal=9" for e in st["errors"]), st
    assert re.search(rf"serve\[{st['pid']}\] error: event=role-exit role=smtpd pid={old} signal=9",
                     status(inst).stdout)
    assert role(st, "queued")["restarts"] == 0

    # Killed again and again, it waits longer each time (1 s, 2 s, ...) before it is
    # back: meanwhile the status reports it down and exits 1, printing all the same.
    p = catch_down(inst, ())
    assert p.stderr == "mailroom: not running: smtpd (restarting)\n", p.stderr
    assert re.search(r"^  smtpd +restarting +restart in \S+ +restarts [2-9]", p.stdout, re.M), \
        p.stdout
    assert re.search(r"^  lookupd +running", p.stdout, re.M), p.stdout
    p = catch_down(inst, ("--json",))
    assert p.stderr == "mailroom: not running: smtpd (restarting)\n", p.stderr
    r = role(json.loads(p.stdout), "smtpd")
    assert r["state"] == "restarting" and r["pid"] is None and r["restart_in"] >= 0
    assert r["restarts"] >= 3
    wait_status(inst, lambda s: role(s, "smtpd")["state"] == "running", "smtpd back", timeout=40)
    assert status(inst).returncode == 0


def catch_down(inst, args):
    """Kill smtpd until `status ARGS` finds it waiting for its restart (bounded): that
    status's CompletedProcess."""
    for _ in range(8):
        st = wait_status(inst, lambda s: role(s, "smtpd")["state"] == "running", "smtpd running",
                         timeout=40)
        pid = role(st, "smtpd")["pid"]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            p = status(inst, *args)
            if p.returncode != 0:
                return p
            if role(status_json(inst), "smtpd")["pid"] not in (pid, None):
                break  # restarted at once: kill it again
            time.sleep(0.02)
    raise AssertionError(f"smtpd was never seen down:\n{inst.log()[-3000:]}")


def test_reloads(make_instance):
    """After a SIGHUP reload the status exits 0 and counts it; a refused reload is
    shown (the old config stays in force, the roles run: still 0)."""
    inst = make_instance()
    mark = inst.log_mark()
    inst.reload()
    inst.wait_event("reload", since=mark, _role="serve")
    st = status_json(inst)
    assert st["reloads"] == 1 and st["last_reload"] is not None and st["reload_error"] is None
    assert all(r["state"] in ("running", "off") for r in st["roles"])
    assert re.search(r"^reloads: 1, the last at \S+, done$", status(inst).stdout, re.M)

    # A config that parses but that the server refuses: a certificate it cannot read.
    good = open(inst.conf).read()
    inst.set("tls", "cert", os.path.join(inst.dir, "no-such-cert.pem"))
    mark = inst.log_mark()
    inst.reload()
    inst.wait_event("reload-refused", since=mark, _role="serve", error=re.compile("no-such-cert"))
    p = status(inst, "--json")
    assert p.returncode == 0, p.stderr
    st = json.loads(p.stdout)
    assert st["reloads"] == 2
    assert "no-such-cert.pem" in st["reload_error"]
    assert any(e["level"] == "error" and e["text"].startswith("event=reload-refused error=") and
               e["role"] == "serve" for e in st["errors"])
    assert re.search(r"^reloads: 2, the last at \S+, refused: .*no-such-cert", status(inst).stdout,
                     re.M)

    # A config that does not parse: status cannot find the server's data dir in it,
    # and says why, as the server did when it refused the reload.
    with open(inst.conf, "a") as f:
        f.write("\n[server]\nno_such_key = 1\n")
    mark = inst.log_mark()
    inst.reload()
    inst.wait_event("reload-refused", since=mark, error=re.compile("no_such_key"))
    p = status(inst)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "no_such_key" in p.stderr, p.stderr

    with open(inst.conf, "w") as f:
        f.write(good)
    mark = inst.log_mark()
    inst.reload()
    inst.wait_event("reload", since=mark, _role="serve")
    st = status_json(inst)
    assert st["reloads"] == 4 and st["reload_error"] is None


def test_squatted_name(make_instance):
    """Another user holding the status name first: the command will not believe it, and
    serve will not start beside it."""
    inst = make_instance(start=False)
    squat = subprocess.Popen([sys.executable, "-c", SQUAT, socket_name(inst.data)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             preexec_fn=as_user("nobody"))
    try:
        assert squat.stdout.readline().strip() == "bound"
        p = status(inst)
        assert p.returncode == 1 and p.stdout == ""
        assert p.stderr == (f"mailroom: @{socket_name(inst.data)} is held by uid "
                            f"{pwd.getpwnam('nobody').pw_uid}, not by a mailroom server: "
                            "refusing it\n"), p.stderr
        s = subprocess.run([BIN, "-c", inst.conf, "serve"], capture_output=True, text=True,
                           timeout=30)
        assert s.returncode == 1
        assert "cannot make the status socket" in s.stderr, s.stderr
    finally:
        squat.stdin.close()
        squat.wait(timeout=10)
