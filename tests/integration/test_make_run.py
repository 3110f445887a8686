"""test_make_run.py - the development instance of `make run` (scripts/run-dev.sh),
in a directory of its own: it is made on first use, prints how to connect (the
admin URL and where its password is), serves SMTP on 2525, the web on 2443 where
the printed admin password logs in, and metrics on 2912; a second start keeps it."""
import http.client
import os
import re
import shutil
import signal
import smtplib
import ssl
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import wait_port

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(TOP, "scripts", "run-dev.sh")
RELEASE = os.path.join(TOP, "build", "mailroom")


def start(run):
    proc = subprocess.Popen(["sh", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, MAILROOM_RUN_DIR=run), start_new_session=True)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode(errors="replace")
        if not line:
            break
        lines.append(line)
        if "Serving in the foreground" in line:
            return proc, "".join(lines)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("run-dev.sh did not start:\n" + "".join(lines))


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def admin_login(password):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def go(method, path, body=None, headers=None):
        c = http.client.HTTPSConnection("127.0.0.1", 2443, timeout=15, context=ctx)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read().decode(errors="replace")
        c.close()
        return r, data

    r, html = go("GET", "/admin/login")
    token = re.search(r'name="csrf" value="([^"]*)"', html).group(1)
    cookie = r.getheader("Set-Cookie").split(";")[0]
    form = urllib.parse.urlencode({"csrf": token, "name": "admin", "password": password})
    r, _ = go("POST", "/admin/login", form, {"Cookie": cookie,
                                             "Content-Type": "application/x-www-form-urlencoded"})
    return r


@pytest.mark.skipif(not os.path.exists(RELEASE), reason="make run uses build/mailroom")
def test_make_run_instance():
    run = tempfile.mkdtemp(prefix="mrrun-", dir="/tmp")
    os.chmod(run, 0o755)
    proc = None
    try:
        proc, out = start(run)
        assert "created the development instance" in out
        assert "https://127.0.0.1:2443/admin/" in out
        assert f"{run}/admin-password" in out and f"{run}/demo-password" in out
        wait_port(2525)
        wait_port(2443)
        wait_port(2912)
        admin_pw = open(os.path.join(run, "admin-password")).read().strip()
        demo_pw = open(os.path.join(run, "demo-password")).read().strip()
        assert oct(os.stat(os.path.join(run, "admin-password")).st_mode & 0o777) == "0o600"
        r = admin_login(admin_pw)
        assert r.status == 303 and r.getheader("Location") == "/admin/"
        assert admin_login("not-" + admin_pw).status == 401
        with smtplib.SMTP("127.0.0.1", 2525, timeout=10) as s:
            s.sendmail("someone@elsewhere.test", ["demo@example.test"],
                       b"Subject: dev\r\n\r\nhello\r\n")
        with smtplib.SMTP("127.0.0.1", 2587, timeout=10) as s:
            s.starttls(context=ssl._create_unverified_context())
            s.login("demo@example.test", demo_pw)
        with urllib.request.urlopen("http://127.0.0.1:2912/metrics", timeout=10) as m:
            assert b"mailroom_" in m.read()
        stop(proc)
        # A second start keeps the instance and its passwords.
        proc, out = start(run)
        assert "created the development instance" not in out
        assert open(os.path.join(run, "admin-password")).read().strip() == admin_pw
        wait_port(2443)
        assert admin_login(admin_pw).status == 303
    finally:
        if proc is not None:
            stop(proc)
        conf = os.path.join(run, "mailroom.conf")
        data = None
        if os.path.exists(conf):
            m = re.search(r"^data_dir = (.*)$", open(conf).read(), re.M)
            data = m.group(1) if m else None
        shutil.rmtree(run, ignore_errors=True)
        if data and data.startswith("/var/lib/mailroom-dev/"):
            shutil.rmtree(data, ignore_errors=True)
