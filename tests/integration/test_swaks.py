"""test_swaks.py - swaks and openssl s_client, written by other people, as clients.

One instance where loopback is not trusted, so the TLS and AUTH rules apply in full.
"""
import subprocess
import uuid

import pytest

from conftest import DEMO, DEMO_PASSWORD, HOSTNAME, deferring_settings

U2 = "u2@example.test"


@pytest.fixture(scope="module")
def inst(make_module_instance):
    s = deferring_settings()
    s[("relay", "trusted_networks")] = ""
    i = make_module_instance(s)
    i.add_user(U2, "u2-password-1")
    return i


def swaks(inst, *args):
    cmd = ["swaks", "--server", "127.0.0.1", "--timeout", "20", "--hide-informational"] + \
        list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"swaks exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
    return p.stdout + p.stderr


def test_plain_smtp(inst):
    t = uuid.uuid4().hex
    out = swaks(inst, "--port", str(inst.ports["smtp"]), "--from", "someone@remote.test",
                "--to", DEMO, "--header", f"Subject: {t}", "--body", "plain swaks")
    assert "<-  250" in out
    (msg,) = inst.wait_token(DEMO, t)
    assert b"plain swaks" in msg


def test_plain_smtp_refuses_relay(inst):
    cmd = ["swaks", "--server", "127.0.0.1", "--port", str(inst.ports["smtp"]), "--timeout",
           "20", "--from", "someone@remote.test", "--to", "friend@remote.test"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "554 5.7.1" in p.stdout + p.stderr


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_starttls_auth_on_submission(inst, mech):
    t = uuid.uuid4().hex
    out = swaks(inst, "--port", str(inst.ports["submission"]), "--tls",
                "--tls-verify", "--tls-ca-path", inst.cert,
                "--auth", mech, "--auth-user", DEMO, "--auth-password", DEMO_PASSWORD,
                "--from", DEMO, "--to", U2, "--header", f"Subject: {t}",
                "--body", f"swaks {mech}")
    assert "<-  220" in out and "235" in out
    (msg,) = inst.wait_token(U2, t)
    assert f"swaks {mech}".encode() in msg


def test_tls_on_connect_submissions(inst):
    t = uuid.uuid4().hex
    swaks(inst, "--port", str(inst.ports["submissions"]), "--tlsc",
          "--tls-verify", "--tls-ca-path", inst.cert,
          "--auth", "PLAIN", "--auth-user", DEMO, "--auth-password", DEMO_PASSWORD,
          "--from", DEMO, "--to", U2, "--header", f"Subject: {t}", "--body", "swaks tlsc")
    inst.wait_token(U2, t)


def test_swaks_without_tls_cannot_auth(inst):
    cmd = ["swaks", "--server", "127.0.0.1", "--port", str(inst.ports["submission"]),
           "--timeout", "20", "--auth", "PLAIN", "--auth-user", DEMO,
           "--auth-password", DEMO_PASSWORD, "--from", DEMO, "--to", U2]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    # AUTH is not advertised in cleartext from outside: swaks gives up before sending it,
    # or the server refuses it with 538.
    assert "538 5.7.11" in out or "did not advertise authentication" in out, out


def test_openssl_s_client_starttls(inst):
    p = subprocess.run(
        ["openssl", "s_client", "-starttls", "smtp", "-connect",
         f"127.0.0.1:{inst.ports['submission']}", "-CAfile", inst.cert,
         "-verify_return_error", "-crlf", "-ign_eof", "-quiet", "-name", "client.example"],
        input="EHLO client.example\nQUIT\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    # What came over TLS: the EHLO reply, with AUTH now offered, and QUIT's 221.
    assert f"250-{HOSTNAME}" in lines, p.stdout
    assert any(line.startswith("250-AUTH") and "PLAIN" in line for line in lines), p.stdout
    assert not any("STARTTLS" in line for line in lines), p.stdout
    assert lines[-1].startswith("221"), p.stdout
    assert "verify return:1" in p.stderr or "Verification: OK" in p.stderr, p.stderr
