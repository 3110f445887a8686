"""test_submission.py - issue 3: submission (587, STARTTLS) and submissions (465,
implicit TLS) with AUTH, against INTERFACE.md "SMTP behaviour", RFC 3207 (STARTTLS),
RFC 4954 (AUTH), RFC 4616 (PLAIN), RFC 6409 (message submission) and RFC 3848.

Two shared instances: one where loopback is trusted (the default) and one where
it is not, so both sides of every rule are seen from 127.0.0.1.
"""
import base64
import email.utils
import os
import re
import smtplib
import subprocess
import uuid

import pytest

from conftest import DEMO, DEMO_PASSWORD, HOSTNAME, deferring_settings
from smtpraw import Raw, queue_id

U2 = "u2@example.test"
U2_PASSWORD = "u2-password-1"
ALIAS = "me-alias@example.test"    # an alias that targets demo
FRIEND = "friend@remote.test"


def token():
    return uuid.uuid4().hex


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def setup_accounts(i):
    i.add_user(U2, U2_PASSWORD)
    i.run_cli("alias", "add", ALIAS, DEMO)
    return i


@pytest.fixture(scope="module")
def trusted(make_module_instance):
    return setup_accounts(make_module_instance(deferring_settings()))


@pytest.fixture(scope="module")
def untrusted(make_module_instance):
    s = deferring_settings()
    s[("relay", "trusted_networks")] = ""
    return setup_accounts(make_module_instance(s))


def tls_session(i, svc="submission"):
    """An encrypted session after EHLO: STARTTLS on submission, implicit on submissions."""
    if svc == "submissions":
        c = Raw(i.ports[svc], tls_context=i.ssl_context())
    else:
        c = Raw(i.ports[svc])
        c.ehlo()
        c.starttls(i.ssl_context())
    c.ehlo()
    return c


def logged_in(i, svc="submission", user=DEMO, password=DEMO_PASSWORD):
    c = tls_session(i, svc)
    r = c.auth_plain(user, password)
    assert r.startswith("235"), r
    return c


def headers(msg):
    head = msg.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    out = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


def header(msg, name):
    return [h.split(":", 1)[1].strip() for h in headers(msg)
            if h.lower().startswith(name.lower() + ":")]


# ---- the ordinary clients ----

def test_smtplib_starttls_login(untrusted):
    t = token()
    with smtplib.SMTP("127.0.0.1", untrusted.ports["submission"], timeout=10) as s:
        s.ehlo()
        assert s.has_extn("starttls")
        assert not s.has_extn("auth")
        s.starttls(context=untrusted.ssl_context())
        s.ehlo()
        mechs = s.esmtp_features["auth"].upper().split()
        assert "PLAIN" in mechs and "LOGIN" in mechs
        assert not s.has_extn("starttls")
        s.login(DEMO, DEMO_PASSWORD)
        s.sendmail(DEMO, [U2], f"From: {DEMO}\r\nSubject: {t}\r\n\r\nvia 587\r\n")
    (msg,) = untrusted.wait_token(U2, t)
    assert header(msg, "Return-Path") == [f"<{DEMO}>"]


def test_smtplib_smtps_login(untrusted):
    t = token()
    with smtplib.SMTP_SSL("127.0.0.1", untrusted.ports["submissions"], timeout=10,
                          context=untrusted.ssl_context()) as s:
        s.ehlo()
        assert "PLAIN" in s.esmtp_features["auth"].upper().split()
        assert not s.has_extn("starttls")
        s.login(DEMO, DEMO_PASSWORD)
        s.sendmail(DEMO, [U2], f"From: {DEMO}\r\nSubject: {t}\r\n\r\nvia 465\r\n")
    untrusted.wait_token(U2, t)


# ---- AUTH required, and only where it is safe ----

def test_mail_before_auth(trusted, untrusted):
    for i in (trusted, untrusted):
        for svc in ("submission", "submissions"):
            with tls_session(i, svc) as c:
                r = c.cmd(f"MAIL FROM:<{DEMO}>")
                assert r.startswith("530 5.7.0"), (svc, r)
                assert c.cmd(f"RCPT TO:<{U2}>").code == 503
    # Trusted networks may log in without TLS, but must still log in.
    with Raw(trusted.ports["submission"]) as c:
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{DEMO}>").startswith("530 5.7.0")


def test_auth_on_cleartext(trusted, untrusted):
    with Raw(untrusted.ports["submission"]) as c:
        kw = c.keywords(c.ehlo())
        assert "AUTH" not in kw and "STARTTLS" in kw
        for cmd in ("AUTH PLAIN " + b64(f"\0{DEMO}\0{DEMO_PASSWORD}"), "AUTH LOGIN",
                    "AUTH PLAIN"):
            r = c.cmd(cmd)
            assert r.startswith("538 5.7.11"), (cmd, r)
        assert c.cmd(f"MAIL FROM:<{DEMO}>").startswith("530 5.7.0")
    # From a trusted network, AUTH is offered and works without TLS.
    with Raw(trusted.ports["submission"]) as c:
        kw = c.keywords(c.ehlo())
        assert "PLAIN" in kw["AUTH"].split() and "LOGIN" in kw["AUTH"].split()
        assert c.auth_plain(DEMO, DEMO_PASSWORD).startswith("235")
        assert c.cmd(f"MAIL FROM:<{DEMO}>").code == 250


def test_bad_credentials(untrusted):
    with tls_session(untrusted) as c:
        r = c.auth_plain(DEMO, "wrong-password")
        assert r.startswith("535 5.7.8"), r
        r = c.auth_plain("nosuch@example.test", DEMO_PASSWORD)
        assert r.startswith("535 5.7.8"), r
        # Still under the limit: a good login works on the same connection.
        assert c.auth_plain(DEMO, DEMO_PASSWORD).startswith("235")
    log = untrusted.log()
    assert DEMO_PASSWORD not in log and "wrong-password" not in log
    # Every login failure is logged with the address and the client.
    for user in (DEMO, "nosuch@example.test"):
        assert untrusted.events("login-failed", user=user, client="127.0.0.1",
                                service=re.compile(r"^submissions?$"), reason="credentials"), \
            log[-3000:]
    assert untrusted.events("login", user=DEMO, client="127.0.0.1", tls="yes")


def test_max_auth_failures(untrusted):
    with tls_session(untrusted) as c:
        for _ in range(2):
            assert c.auth_plain(DEMO, "wrong").startswith("535 5.7.8")
        c.send("AUTH PLAIN " + b64(f"\0{DEMO}\0wrong") + "\r\n")
        r = c.reply()
        if r.code == 535:
            r = c.reply()
        assert r.code == 421, r
        assert c.expect_closed() == b""
    # The count is per connection.
    with logged_in(untrusted) as c:
        assert c.cmd("NOOP").code == 250


def test_auth_max_failures_setting(make_instance):
    i = make_instance({("limits", "max_auth_failures"): "1"})
    with Raw(i.ports["submission"]) as c:
        c.ehlo()
        c.send("AUTH PLAIN " + b64(f"\0{DEMO}\0wrong") + "\r\n")
        codes = [c.reply().code]
        if codes[0] == 535:
            codes.append(c.reply().code)
        assert codes[-1] == 421, codes
        c.expect_closed()


def test_auth_plain_forms(untrusted):
    # Initial response.
    with tls_session(untrusted) as c:
        assert c.cmd("AUTH PLAIN " + b64(f"\0{DEMO}\0{DEMO_PASSWORD}")).startswith("235 2.7.0")
        assert c.cmd("AUTH PLAIN " + b64(f"\0{DEMO}\0{DEMO_PASSWORD}")).code == 503
    # authzid naming the same user.
    with tls_session(untrusted) as c:
        r = c.cmd("AUTH PLAIN " + b64(f"{DEMO}\0{DEMO}\0{DEMO_PASSWORD}"))
        assert r.startswith("235"), r
    # No initial response: "334 " then the response.
    with tls_session(untrusted) as c:
        r = c.cmd("AUTH PLAIN")
        assert r.code == 334 and r.lines == [""], r
        assert c.cmd(b64(f"\0{DEMO}\0{DEMO_PASSWORD}")).startswith("235")
    # "*" cancels (RFC 4954 4): 501, and the session is usable.
    with tls_session(untrusted) as c:
        assert c.cmd("AUTH PLAIN").code == 334
        r = c.cmd("*")
        assert r.code == 501, r
        assert c.cmd("NOOP").code == 250
        assert c.cmd(f"MAIL FROM:<{DEMO}>").startswith("530")
        assert c.auth_plain(DEMO, DEMO_PASSWORD).startswith("235")
    # Garbage in place of base64, an unknown mechanism, AUTH in a transaction.
    with tls_session(untrusted) as c:
        assert c.cmd("AUTH PLAIN not*base64").code == 501
        assert c.cmd("AUTH PLAIN").code == 334
        assert c.cmd("%%%").code == 501
        assert c.cmd("AUTH CRAM-MD5").code == 504
        assert c.cmd("NOOP").code == 250


def test_auth_pipelined(untrusted):
    # RFC 4954 4: AUTH with an initial response may be pipelined with what follows.
    with tls_session(untrusted, "submissions") as c:
        c.send("AUTH PLAIN " + b64(f"\0{DEMO}\0{DEMO_PASSWORD}") + "\r\n"
               f"MAIL FROM:<{DEMO}>\r\nRCPT TO:<{U2}>\r\nNOOP\r\n")
        assert [r.code for r in c.replies(4)] == [235, 250, 250, 250]
    with tls_session(untrusted, "submissions") as c:
        c.send("AUTH PLAIN " + b64(f"\0{DEMO}\0wrong") + "\r\n"
               f"MAIL FROM:<{DEMO}>\r\nNOOP\r\n")
        rs = c.replies(3)
        assert rs[0].startswith("535 5.7.8") and rs[1].startswith("530 5.7.0"), rs
        assert rs[2].code == 250


def test_auth_response_is_not_a_command(untrusted):
    with tls_session(untrusted) as c:
        assert c.cmd("AUTH PLAIN").code == 334
        # Not base64 (control octets): the exchange ends with 501, and the next line
        # is a command again.
        assert c.cmd(b"\x01\x02 junk").code == 501
        assert c.cmd("NOOP").code == 250
        assert c.cmd("AUTH LOGIN").code == 334
        assert c.cmd("HELP me").code == 501  # inside AUTH, a command is a bad response
        assert c.cmd("NOOP").code == 250


def test_auth_login(untrusted):
    with tls_session(untrusted) as c:
        r = c.cmd("AUTH LOGIN")
        assert r.code == 334 and base64.b64decode(r.lines[0]).lower().startswith(b"username"), r
        r = c.cmd(b64(DEMO))
        assert r.code == 334 and base64.b64decode(r.lines[0]).lower().startswith(b"password"), r
        assert c.cmd(b64(DEMO_PASSWORD)).startswith("235")
        assert c.cmd(f"MAIL FROM:<{DEMO}>").code == 250
    # The user name as an initial response.
    with tls_session(untrusted) as c:
        assert c.cmd("AUTH LOGIN " + b64(DEMO)).code == 334
        assert c.cmd(b64(DEMO_PASSWORD)).startswith("235")
    # A wrong password; "*" at either step.
    with tls_session(untrusted) as c:
        assert c.cmd("AUTH LOGIN").code == 334
        assert c.cmd(b64(DEMO)).code == 334
        assert c.cmd(b64("nope")).startswith("535 5.7.8")
        assert c.cmd("AUTH LOGIN").code == 334
        assert c.cmd("*").code == 501
        assert c.cmd("AUTH LOGIN").code == 334
        assert c.cmd(b64(DEMO)).code == 334
        assert c.cmd("*").code == 501
        assert c.cmd("NOOP").code == 250
    # smtplib's LOGIN.
    with smtplib.SMTP_SSL("127.0.0.1", untrusted.ports["submissions"], timeout=10,
                          context=untrusted.ssl_context()) as s:
        s.ehlo()
        s.user, s.password = DEMO, DEMO_PASSWORD
        code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        assert code == 235


# ---- who may send as whom ----

def test_sender_ownership(untrusted):
    with logged_in(untrusted) as c:
        for sender in (U2, "someone@remote.test", "demo@other.test", "demox@example.test"):
            r = c.cmd(f"MAIL FROM:<{sender}>")
            assert r.startswith("553 5.7.1"), (sender, r)
        for sender in (DEMO, "demo+tag@example.test", "Demo@Example.Test", ALIAS):
            r = c.cmd(f"MAIL FROM:<{sender}>")
            assert r.code == 250, (sender, r)
            assert c.cmd("RSET").code == 250
        # RFC 4954 5: the AUTH= parameter is accepted.
        for param in ("AUTH=<>", f"AUTH={DEMO}"):
            r = c.cmd(f"MAIL FROM:<{DEMO}> {param}")
            assert r.code == 250, (param, r)
            assert c.cmd("RSET").code == 250
    # And the other way round: u2 may not use demo's alias.
    with logged_in(untrusted, user=U2, password=U2_PASSWORD) as c:
        assert c.cmd(f"MAIL FROM:<{ALIAS}>").startswith("553 5.7.1")
        assert c.cmd(f"MAIL FROM:<{U2}>").code == 250


def test_received_header_names_login(untrusted):
    for svc in ("submission", "submissions"):
        t = token()
        with logged_in(untrusted, svc) as c:
            r = c.mail_rcpt_data(DEMO, [U2], f"From: {DEMO}\r\nSubject: {t}\r\n\r\nx\r\n")
            assert r.code == 250, r
        untrusted.wait_removed(queue_id(r))
        (msg,) = untrusted.messages_with(U2, t)
        (received,) = header(msg, "Received")
        assert "with ESMTPSA" in received, received
        assert DEMO in received, received
        assert HOSTNAME in received


def test_message_id_and_date(trusted):
    def submit(svc, body):
        if svc == "smtp":
            c = Raw(trusted.ports["smtp"])
            c.ehlo()
        else:
            c = logged_in(trusted, svc)
        with c:
            r = c.mail_rcpt_data(DEMO, [U2], body)
            assert r.code == 250, r
        trusted.wait_removed(queue_id(r))

    for svc in ("submission", "submissions"):
        # Missing: both added, once.
        t = token()
        submit(svc, f"From: {DEMO}\r\nSubject: {t}\r\n\r\nno ids\r\n")
        (msg,) = trusted.messages_with(U2, t)
        (mid,) = header(msg, "Message-ID")
        assert mid.startswith("<") and mid.endswith(">") and "@" in mid, mid
        (date,) = header(msg, "Date")
        assert email.utils.parsedate_to_datetime(date) is not None
        # Present: kept as they are, nothing added.
        t = token()
        mine_id, mine_date = f"<{t}@client.example>", "Mon, 02 Jan 2006 15:04:05 -0700"
        submit(svc, f"From: {DEMO}\r\nMessage-ID: {mine_id}\r\nDate: {mine_date}\r\n"
                    f"Subject: {t}\r\n\r\nhas ids\r\n")
        (msg,) = trusted.messages_with(U2, t)
        assert header(msg, "Message-ID") == [mine_id]
        assert header(msg, "Date") == [mine_date]
        # Header names are case-insensitive.
        t = token()
        submit(svc, f"message-id: <{t}@c>\r\nDATE: {mine_date}\r\nSubject: {t}\r\n\r\nx\r\n")
        (msg,) = trusted.messages_with(U2, t)
        assert len(header(msg, "Message-ID")) == 1 and len(header(msg, "Date")) == 1
    # Port 25 relays what it gets: nothing added.
    t = token()
    submit("smtp", f"Subject: {t}\r\n\r\nmx\r\n")
    (msg,) = trusted.messages_with(U2, t)
    assert header(msg, "Message-ID") == [] and header(msg, "Date") == []


# ---- real clients: msmtp and s-nail ----

def run_client(cmd, input_bytes, env=None, timeout=60):
    p = subprocess.run(cmd, input=input_bytes, capture_output=True, timeout=timeout, env=env)
    assert p.returncode == 0, f"{cmd[0]} exited {p.returncode}: {p.stderr.decode(errors='replace')}"
    return p


@pytest.mark.parametrize("svc", ["submission", "submissions"])
def test_msmtp(untrusted, svc, tmp_path):
    t = token()
    rc = tmp_path / "msmtprc"
    rc.write_text(
        "account test\n"
        "host 127.0.0.1\n"
        f"port {untrusted.ports[svc]}\n"
        f"from {DEMO}\n"
        "auth on\n"
        f"user {DEMO}\n"
        f"password {DEMO_PASSWORD}\n"
        "tls on\n"
        f"tls_starttls {'on' if svc == 'submission' else 'off'}\n"
        f"tls_trust_file {untrusted.cert}\n"
        f"logfile {tmp_path / 'msmtp.log'}\n")
    rc.chmod(0o600)
    run_client(["msmtp", "-C", str(rc), "-a", "test", U2],
               f"From: {DEMO}\nTo: {U2}\nSubject: {t}\n\nsent by msmtp\n".encode())
    (msg,) = untrusted.wait_token(U2, t)
    assert b"sent by msmtp" in msg
    assert "with ESMTPSA" in header(msg, "Received")[0]


@pytest.mark.parametrize("svc", ["submission", "submissions"])
def test_s_nail(untrusted, svc, tmp_path):
    t = token()
    scheme = "smtp" if svc == "submission" else "smtps"
    env = dict(os.environ, HOME=str(tmp_path), MAILRC="/dev/null", LC_ALL="C.UTF-8")
    cmd = ["s-nail", "-:/", "-S", "v15-compat", "-S", "sendwait",
           "-S", f"mta={scheme}://demo%40example.test:{DEMO_PASSWORD}@127.0.0.1:"
                 f"{untrusted.ports[svc]}",
           "-S", "smtp-auth=plain", "-S", f"tls-ca-file={untrusted.cert}",
           "-S", "tls-ca-no-defaults", "-S", "tls-verify=warn",
           "-S", f"from={DEMO}", "-s", f"s-nail {t}", U2]
    if svc == "submission":
        cmd[2:2] = ["-S", "smtp-use-starttls"]
    p = run_client(cmd, b"sent by s-nail\n", env=env)
    # s-nail checks names itself and knows no IP addresses in certificates: with
    # tls-verify=warn, the chain is still checked against the instance's certificate,
    # and the name mismatch must be its only complaint.
    for line in p.stderr.decode(errors="replace").splitlines():
        assert "TLS certificate does not match: 127.0.0.1" in line, p.stderr
    (msg,) = untrusted.wait_token(U2, t)
    assert b"sent by s-nail" in msg


# ---- STARTTLS: nothing said before it counts after it ----

@pytest.mark.parametrize("svc", ["smtp", "submission"])
def test_starttls_command_injection(untrusted, svc):
    with Raw(untrusted.ports[svc]) as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nMAIL FROM:<x@y.test>\r\nRCPT TO:<demo@example.test>\r\n")
        r = c.reply()
        assert r.code == 220, r
        assert c.buf == b"", f"plaintext after the 220: {c.buf!r}"
        c.sock = untrusted.ssl_context().wrap_socket(c.sock)
        # The first reply over TLS is the EHLO's, not an answer to the injected MAIL.
        r = c.cmd("EHLO client.example")
        assert r.code == 250 and r.lines[0].startswith(HOSTNAME), r
        r = c.cmd("NOOP")
        assert r.code == 250 and len(r.lines) == 1, r
        assert c.pending(0.3) == b""
        # No transaction was started by the injected MAIL.
        assert c.cmd(f"RCPT TO:<{DEMO}>").code in (503, 530)


def test_state_forgotten_after_starttls(trusted):
    # EHLO must be given again.
    with Raw(trusted.ports["smtp"]) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
        c.cmd("RSET")
        c.starttls(trusted.ssl_context())
        r = c.cmd("MAIL FROM:<a@remote.test>")
        assert r.code == 503, r
        c.ehlo()
        assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
    # A login made in cleartext (allowed from a trusted network) is forgotten too
    # (RFC 3207 4.2: discard any knowledge obtained from the client).
    with Raw(trusted.ports["submission"]) as c:
        c.ehlo()
        assert c.auth_plain(DEMO, DEMO_PASSWORD).startswith("235")
        c.starttls(trusted.ssl_context())
        c.ehlo()
        r = c.cmd(f"MAIL FROM:<{DEMO}>")
        assert r.startswith("530"), r
        assert c.auth_plain(DEMO, DEMO_PASSWORD).startswith("235")
        assert c.cmd(f"MAIL FROM:<{DEMO}>").code == 250
    # STARTTLS twice: refused.
    with tls_session(trusted) as c:
        assert 500 <= c.cmd("STARTTLS").code < 600


# ---- the relay matrix ----

# (listener, client network, logged in, recipient) -> (command that decides, reply)
# On smtp AUTH is never offered: its "auth" cells are the same as without.
RELAY_MATRIX = {
    ("smtp", "trusted", "auth", "local"): ("RCPT", "250"),
    ("smtp", "trusted", "auth", "remote"): ("RCPT", "250"),
    ("smtp", "trusted", "noauth", "local"): ("RCPT", "250"),
    ("smtp", "trusted", "noauth", "remote"): ("RCPT", "250"),
    ("smtp", "untrusted", "auth", "local"): ("RCPT", "250"),
    ("smtp", "untrusted", "auth", "remote"): ("RCPT", "554 5.7.1"),
    ("smtp", "untrusted", "noauth", "local"): ("RCPT", "250"),
    ("smtp", "untrusted", "noauth", "remote"): ("RCPT", "554 5.7.1"),
    ("submission", "trusted", "auth", "local"): ("RCPT", "250"),
    ("submission", "trusted", "auth", "remote"): ("RCPT", "250"),
    ("submission", "trusted", "noauth", "local"): ("MAIL", "530 5.7.0"),
    ("submission", "trusted", "noauth", "remote"): ("MAIL", "530 5.7.0"),
    ("submission", "untrusted", "auth", "local"): ("RCPT", "250"),
    ("submission", "untrusted", "auth", "remote"): ("RCPT", "250"),
    ("submission", "untrusted", "noauth", "local"): ("MAIL", "530 5.7.0"),
    ("submission", "untrusted", "noauth", "remote"): ("MAIL", "530 5.7.0"),
    ("submissions", "trusted", "auth", "local"): ("RCPT", "250"),
    ("submissions", "trusted", "auth", "remote"): ("RCPT", "250"),
    ("submissions", "trusted", "noauth", "local"): ("MAIL", "530 5.7.0"),
    ("submissions", "trusted", "noauth", "remote"): ("MAIL", "530 5.7.0"),
    ("submissions", "untrusted", "auth", "local"): ("RCPT", "250"),
    ("submissions", "untrusted", "auth", "remote"): ("RCPT", "250"),
    ("submissions", "untrusted", "noauth", "local"): ("MAIL", "530 5.7.0"),
    ("submissions", "untrusted", "noauth", "remote"): ("MAIL", "530 5.7.0"),
}


@pytest.mark.parametrize("cell", list(RELAY_MATRIX), ids="-".join)
def test_relay_matrix(trusted, untrusted, cell):
    svc, net, auth, rcpt_kind = cell
    stage, expected = RELAY_MATRIX[cell]
    i = trusted if net == "trusted" else untrusted
    rcpt = U2 if rcpt_kind == "local" else FRIEND
    sender = "someone@remote.test"

    if svc == "submissions":
        c = Raw(i.ports[svc], tls_context=i.ssl_context())
    else:
        c = Raw(i.ports[svc])
    with c:
        kw = c.keywords(c.ehlo())
        if auth == "auth":
            if svc == "submission" and net == "untrusted":
                c.starttls(i.ssl_context())  # no AUTH in cleartext from outside
                kw = c.keywords(c.ehlo())
            if svc == "smtp":
                assert "AUTH" not in kw
                r = c.auth_plain(DEMO, DEMO_PASSWORD)
                assert 500 <= r.code < 600, r
            else:
                assert "PLAIN" in kw["AUTH"].split()
                assert c.auth_plain(DEMO, DEMO_PASSWORD).startswith("235")
                sender = DEMO
        r = c.cmd(f"MAIL FROM:<{sender}>")
        if stage == "MAIL":
            assert r.startswith(expected), (cell, r)
            return
        assert r.code == 250, (cell, r)
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert r.startswith(expected), (cell, r)
        assert c.cmd("RSET").code == 250
        assert c.cmd("QUIT").code == 221
