"""test_browser.py - the web pages in a real browser: headless Chromium (Debian's
/usr/bin/chromium) driven by tests/browser/flow.mjs (node, playwright-core), then
what the browser set up checked over the mail protocols.

The browser: the admin adds shop.test and ann@shop.test (password P1) at /admin/;
ann changes her password to P2, sets a vacation reply and makes an app password at
/account/ (with JavaScript off), and flow.mjs prints that app password. Then POP3
takes the app password and P2 but not P1, and a message from bob@far.test to ann
gets the vacation reply at bob's server (a sink behind the relayhost). Screenshots
of every page seen go to build/screenshots/.

`make check` runs `npm ci` in tests/browser first (when node_modules is missing or
older than the lock file).
"""
import datetime
import email
import email.policy
import json
import os
import poplib
import secrets
import shutil
import smtplib
import subprocess
import uuid

import pytest

from conftest import DEMO, ROOT, free_port, wait_port
from peers import Sink, wait_until

FLOW = os.path.join(ROOT, "tests", "browser", "flow.mjs")
NODE_MODULES = os.path.join(ROOT, "tests", "browser", "node_modules", "playwright-core")
SHOTS = os.path.join(ROOT, "build", "screenshots")
CHROMIUM = "/usr/bin/chromium"
NODE_TIMEOUT = 180  # seconds for one whole run of flow.mjs; it takes well under 60

ADMIN = "admin"
ANN = "ann@shop.test"
BOB = "bob@far.test"


@pytest.fixture(scope="module")
def sink():
    """bob's mail server: where the relayhost setting sends all remote mail."""
    s = Sink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def web(make_module_instance, sink):
    https = free_port()
    inst = make_module_instance({("listen", "https"): f"127.0.0.1:{https}",
                                 ("relay", "relayhost"): f"[127.0.0.1]:{sink.port}",
                                 ("delivery", "relayhost_tls"): "may"})
    inst.https = https
    shutil.rmtree(SHOTS, ignore_errors=True)  # only this run's pictures (and failures)
    wait_port(https)
    inst.wait_event("started", _role="httpd")
    return inst


def need_browser():
    """The tools flow.mjs needs; missing ones fail the test (make check installs them)."""
    missing = []
    if shutil.which("node") is None:
        missing.append("node (scripts/deps.sh all)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (scripts/deps.sh all)")
    if not os.path.isdir(NODE_MODULES):
        missing.append("tests/browser/node_modules (make check runs npm ci there)")
    assert not missing, "the browser test needs: " + ", ".join(missing)


def run_flow(inst, steps, **env):
    need_browser()
    full = dict(os.environ)
    full.update({"MR_BASE": f"https://127.0.0.1:{inst.https}", "MR_STEPS": steps,
                 "MR_SETUP_ADDRESS": DEMO, "MR_SHOTS": SHOTS})
    full.update(env)
    try:
        p = subprocess.run(["node", FLOW], cwd=ROOT, env=full, capture_output=True, text=True,
                           timeout=NODE_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"flow.mjs ran over {NODE_TIMEOUT}s:\n{e.stderr or ''}") from None
    assert p.returncode == 0, (f"flow.mjs exited {p.returncode}:\n{p.stderr}\n"
                               f"server log:\n{inst.log()[-3000:]}")
    return p


def test_chromium_shows_autoconfig(web):
    """The infrastructure: Chromium starts headless (as root too) and shows a page of
    the https listener with its self-signed certificate."""
    run_flow(web, "smoke")
    assert os.path.getsize(os.path.join(SHOTS, "autoconfig.png")) > 1000


def pop3_login(inst, user, password):
    """True when POP3 USER/PASS succeeds, False for -ERR."""
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
    try:
        p.user(user)
        try:
            p.pass_(password)
        except poplib.error_proto:
            return False
        p.stat()
        return True
    finally:
        try:
            p.quit()
        except (poplib.error_proto, OSError):
            pass


def test_admin_and_account_pages(web, sink):
    admin_password = "adm-" + secrets.token_hex(8)
    p1 = "p1-" + secrets.token_hex(8)
    p2 = "p2-" + secrets.token_hex(8)
    web.run_cli("admin", "add", ADMIN, input=admin_password + "\n")
    until = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    p = run_flow(web, "all", MR_ADMIN=ADMIN, MR_ADMIN_PASSWORD=admin_password, MR_USER=ANN,
                 MR_PASSWORD=p1, MR_NEW_PASSWORD=p2, MR_VACATION_UNTIL=until)
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, f"flow.mjs printed {p.stdout!r}"
    app_password = json.loads(lines[0])["app_password"]
    for name in ("admin-domains", "admin-users", "account-home", "account-home-phone",
                 "account-vacation", "account-app-passwords"):
        assert os.path.getsize(os.path.join(SHOTS, name + ".png")) > 1000, name

    # What the browser set up, seen by the mail protocols.
    assert pop3_login(web, ANN, app_password), "the app password made on the web"
    assert pop3_login(web, ANN, p2), "the password set on the web"
    assert not pop3_login(web, ANN, p1), "the password before the change"

    token = uuid.uuid4().hex
    msg = (f"From: Bob <{BOB}>\r\nTo: <{ANN}>\r\nSubject: hello {token}\r\n"
           f"Message-ID: <{token}@far.test>\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
           f"\r\nAre you there? {token}\r\n")
    with smtplib.SMTP("127.0.0.1", web.ports["smtp"], timeout=30) as s:
        s.sendmail(BOB, [ANN], msg)
    web.wait_token(ANN, token)

    def reply():
        for t in sink.accepted():
            if BOB in t.rcpt_tos:
                return t
        return None

    t = wait_until(reply, 30, f"the vacation reply to {BOB} at the sink")
    m = email.message_from_bytes(t.data, policy=email.policy.default)
    assert m["Subject"] == "Away", m["Subject"]
    assert m["Auto-Submitted"] == "auto-replied", m["Auto-Submitted"]
    assert "Back on Monday" in m.get_body(("plain",)).get_content()
