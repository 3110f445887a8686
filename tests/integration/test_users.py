"""test_users.py - `user suspend|resume` and `user app-password add|list|del`.

A suspended user cannot log in (SMTP 535 5.7.8, POP3 -ERR [AUTH], as for a wrong
password) but still receives mail. An app password is printed once, works for SMTP
AUTH and POP3 beside the main password, is listed by name only, and stops working
when deleted or while its user is suspended.
"""
import base64
import os
import poplib
import re
import smtplib
import subprocess
import time
import uuid

import pytest

from conftest import BIN, DEMO, DEMO_PASSWORD

APP_FORM = re.compile(r"^[a-z2-7]{4}(-[a-z2-7]{4}){5}$")


@pytest.fixture(scope="module")
def inst(make_module_instance):
    return make_module_instance()


def cli(inst, *args):
    return subprocess.run([BIN, "-c", inst.conf] + list(args), capture_output=True, text=True,
                          timeout=60)


def ok(p):
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr}"
    return p.stdout


def failed(p):
    """Exit 1 with exactly one line "mailroom: ..." on stderr."""
    assert p.returncode == 1, f"exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr!r}"
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mailroom: "), p.stderr
    assert p.stdout == "", p.stdout
    return lines[0]


def smtp_auth(inst, user, password):
    """One AUTH PLAIN on submissions; (code, text)."""
    with smtplib.SMTP_SSL("127.0.0.1", inst.ports["submissions"], timeout=30,
                          context=inst.ssl_context()) as s:
        s.ehlo()
        blob = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        return s.docmd("AUTH", "PLAIN " + blob)


def smtp_send(inst, user, password, token):
    """Log in on submission (STARTTLS) and send one message to the user itself."""
    with smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30) as s:
        s.starttls(context=inst.ssl_context())
        s.ehlo()
        s.login(user, password)
        s.sendmail(user, [user], f"From: {user}\r\nSubject: {token}\r\n\r\n{token}\r\n")


def pop_login(inst, user, password):
    """USER/PASS on pop3s: the reply to PASS (bytes), "-ERR ..." included."""
    p = poplib.POP3_SSL("127.0.0.1", inst.ports["pop3s"], timeout=30, context=inst.ssl_context())
    try:
        p.user(user)
        try:
            r = p.pass_(password)
        except poplib.error_proto as e:
            return e.args[0]
        p.quit()
        return r
    finally:
        p.close()


def deliver_from_outside(inst, rcpt, token):
    """Mail from an outside sender on the MX port."""
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail("someone@elsewhere.test", [rcpt],
                   f"From: someone@elsewhere.test\r\nSubject: {token}\r\n\r\n{token}\r\n")


def smtp_auth_587(inst, user, password):
    """One AUTH PLAIN on submission after STARTTLS; (code, text)."""
    with smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30) as s:
        s.starttls(context=inst.ssl_context())
        s.ehlo()
        blob = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        return s.docmd("AUTH", "PLAIN " + blob)


def pop_login_110(inst, user, password):
    """USER/PASS on pop3 after STLS: the reply to PASS."""
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
    try:
        p.stls(context=inst.ssl_context())
        p.user(user)
        try:
            return p.pass_(password)
        except poplib.error_proto as e:
            return e.args[0]
    finally:
        p.close()


def assert_refused(inst, user, password):
    """Refused on 465, 587, 995 and 110 alike."""
    code, msg = smtp_auth(inst, user, password)
    assert code == 535 and msg.startswith(b"5.7.8"), (code, msg)
    code, msg = smtp_auth_587(inst, user, password)
    assert code == 535 and msg.startswith(b"5.7.8"), (code, msg)
    r = pop_login(inst, user, password)
    assert r.startswith(b"-ERR [AUTH]"), r
    r = pop_login_110(inst, user, password)
    assert r.startswith(b"-ERR [AUTH]"), r


def assert_works(inst, user, password):
    code, msg = smtp_auth(inst, user, password)
    assert code == 235, (code, msg)
    r = pop_login(inst, user, password)
    assert r.startswith(b"+OK"), r


def new_user(inst, password):
    user = f"u{uuid.uuid4().hex[:8]}@example.test"
    inst.add_user(user, password)
    return user


def test_suspend_and_resume(inst):
    user = new_user(inst, "user-password-1")
    assert_works(inst, user, "user-password-1")
    ok(cli(inst, "user", "suspend", user.upper()))
    ok(cli(inst, "user", "suspend", user))  # twice is no error
    listed = [line.split() for line in ok(cli(inst, "user", "list")).splitlines()]
    assert [user, "0", "suspended"] in listed, listed
    assert [DEMO, "0"] in listed, listed
    mark = inst.log_mark()
    # The right password is refused as a wrong one would be; the log says why.
    assert_refused(inst, user, "user-password-1")
    inst.wait_event("login-failed", user=user, client="127.0.0.1", reason="suspended", count=2,
                    since=mark)
    assert_refused(inst, user, "wrong-password")
    # Mail for it is still received.
    token = uuid.uuid4().hex
    deliver_from_outside(inst, user, token)
    inst.wait_token(user, token)
    ok(cli(inst, "user", "resume", user))
    ok(cli(inst, "user", "resume", user))
    assert [user, "0"] in [line.split() for line in ok(cli(inst, "user", "list")).splitlines()]
    assert_works(inst, user, "user-password-1")


def test_app_password(inst):
    user = new_user(inst, "main-password-1")
    out = ok(cli(inst, "user", "app-password", "add", user, "phone"))
    lines = out.splitlines()
    assert len(lines) == 1 and APP_FORM.match(lines[0]), out
    app = lines[0]
    # Listed by name, never with the password; stored as a digest only.
    listed = ok(cli(inst, "user", "app-password", "list", user))
    assert listed.split()[0] == "phone" and listed.split()[2] == "never", listed
    assert app not in listed and app.replace("-", "") not in listed
    for name in ("accounts.db", "accounts.db-wal"):
        path = os.path.join(inst.data, name)
        if os.path.exists(path):
            data = open(path, "rb").read()
            assert app.encode() not in data and app.replace("-", "").encode() not in data
    # It logs in over SMTP submission (and sends) and POP3, beside the main password.
    token = uuid.uuid4().hex
    smtp_send(inst, user, app, token)
    inst.wait_token(user, token)
    assert_works(inst, user, app)
    assert_works(inst, user, app.replace("-", "").upper())  # retyped without the dashes
    assert_works(inst, user, "main-password-1")
    inst.wait_event("app-password-used", _role="lookupd", user=user, app="phone", service="pop3s")
    listed = ok(cli(inst, "user", "app-password", "list", user)).split()
    assert listed[0] == "phone" and re.match(r"\d{4}-\d\d-\d\dT", listed[2]), listed
    # A second one works too, and the first is not another user's.
    app2 = ok(cli(inst, "user", "app-password", "add", user, "laptop")).strip()
    assert APP_FORM.match(app2) and app2 != app
    assert_works(inst, user, app2)
    assert_refused(inst, DEMO, app)
    names = [line.split()[0] for line in
             ok(cli(inst, "user", "app-password", "list", user)).splitlines()]
    assert names == ["laptop", "phone"], names
    # Deleted: no longer works; the other one and the main password still do.
    ok(cli(inst, "user", "app-password", "del", user, "phone"))
    assert_refused(inst, user, app)
    assert_works(inst, user, app2)
    assert_works(inst, user, "main-password-1")
    names = [line.split()[0] for line in
             ok(cli(inst, "user", "app-password", "list", user)).splitlines()]
    assert names == ["laptop"], names


def test_suspended_user_app_password(inst):
    user = new_user(inst, "main-password-2")
    app = ok(cli(inst, "user", "app-password", "add", user, "mua")).strip()
    assert_works(inst, user, app)
    ok(cli(inst, "user", "suspend", user))
    assert_refused(inst, user, app)
    assert_refused(inst, user, "main-password-2")
    ok(cli(inst, "user", "resume", user))
    assert_works(inst, user, app)


def test_user_del_takes_app_passwords(inst):
    user = new_user(inst, "main-password-3")
    app = ok(cli(inst, "user", "app-password", "add", user, "mua")).strip()
    ok(cli(inst, "user", "suspend", user))
    ok(cli(inst, "user", "del", user))
    inst.add_user(user, "main-password-4")
    assert ok(cli(inst, "user", "app-password", "list", user)) == ""
    assert_works(inst, user, "main-password-4")
    assert_refused(inst, user, app)


def test_bad_arguments(inst):
    user = new_user(inst, "main-password-5")
    for args in (("suspend", "nobody@example.test"), ("resume", "nobody@example.test"),
                 ("suspend", "not-an-address"), ("resume", "a b@example.test"),
                 ("app-password", "add", "nobody@example.test", "x"),
                 ("app-password", "add", "not-an-address", "x"),
                 ("app-password", "add", user, "two words"),
                 ("app-password", "add", user, ""),
                 ("app-password", "add", user, "n" * 65),
                 ("app-password", "add", user, "t\u00e9l\u00e9phone"),
                 ("app-password", "list", "nobody@example.test"),
                 ("app-password", "del", user, "none-such"),
                 ("app-password", "del", "nobody@example.test", "x")):
        failed(cli(inst, "user", *args))
    ok(cli(inst, "user", "app-password", "add", user, "n" * 64))
    failed(cli(inst, "user", "app-password", "add", user, "n" * 64))  # the name is taken
    for i in range(19):
        assert APP_FORM.match(ok(cli(inst, "user", "app-password", "add", user, f"a{i}")).strip())
    assert "20 app passwords" in failed(cli(inst, "user", "app-password", "add", user, "one-more"))
    assert len(ok(cli(inst, "user", "app-password", "list", user)).splitlines()) == 20
    # Wrong argument counts are usage errors (exit 2), as for every command.
    for args in (("suspend",), ("suspend", user, "x"), ("app-password",),
                 ("app-password", "add", user), ("app-password", "list", user, "x"),
                 ("app-password", "frob", user), ("app-password", "del", user)):
        p = cli(inst, "user", *args)
        assert p.returncode == 2 and "usage" in p.stderr, (args, p.returncode, p.stderr)
