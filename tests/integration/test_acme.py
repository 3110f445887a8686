"""test_acme.py - certificates from an ACME CA ([acme], RFC 8555), against Debian's
pebble (a test ACME server written by others) on loopback.

- a fresh instance with [acme] and no [tls] serves a self-signed stand-in, gets a
  certificate from pebble by http-01 without a restart, and then shows pebble's
  chain on https and on smtp (STARTTLS);
- the same by tls-alpn-01 on the https listener (RFC 8737), the CA named by a host name;
- a change of names and a reload bring a new certificate while a session opened
  before it goes on; an unreachable CA is logged and the certificate stays;
- the stored certificate is served from the start after a restart;
- http-01 answers only the tokens of an order under way: 404 for any other;
- with [tls] set too, its certificate serves until the first one comes;
- a CA that refuses every nonce: the badNonce answers are retried, then given up.

pebble validates on the instance's http and https ports (its httpPort and tlsPort)
and resolves the names with a dnsmasq of the test (peers.Dns) that answers them
with 127.0.0.1. Its own HTTPS certificate comes from a CA made for the test, which
the instance trusts through [acme] ca_file.
"""
import json
import os
import pwd
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

import pytest

import peers
from conftest import HOSTNAME, free_port, wait_port

PEBBLE = shutil.which("pebble") or "/usr/bin/pebble"
pytestmark = pytest.mark.skipif(not os.path.exists(PEBBLE), reason="pebble is not installed")

WAIT = 90  # seconds an issuance may take at most (pebble without its sleeps takes a few)


class Pebble:
    """pebble on 127.0.0.1 with its own TLS certificate (from ca), validating
    challenges on http_port and tls_port and asking dns for the names."""

    def __init__(self, ca, http_port, tls_port, dns, nonce_reject=20):
        self.dir = tempfile.mkdtemp(prefix="pebble-", dir="/tmp")
        self.port = free_port()
        self.mgmt = free_port()
        cert, key = ca.issue("127.0.0.1", "localhost")
        self.ca = ca
        conf = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt}",
            "certificate": cert, "privateKey": key,
            "httpPort": http_port, "tlsPort": tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        path = os.path.join(self.dir, "pebble.json")
        with open(path, "w") as f:
            json.dump(conf, f)
        self.logpath = os.path.join(self.dir, "pebble.log")
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT=str(nonce_reject),
                   PEBBLE_AUTHZREUSE="0")
        self.log_f = open(self.logpath, "wb")
        self.proc = subprocess.Popen([PEBBLE, "-config", path, "-dnsserver", dns.resolver,
                                      "-strict=false"], stdout=self.log_f, stderr=self.log_f,
                                     env=env, cwd=self.dir)
        wait_port(self.port)
        wait_port(self.mgmt)

    @property
    def directory(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def roots(self):
        """pebble's root certificate (made anew at each start), PEM."""
        ctx = ssl.create_default_context(cafile=self.ca.cert)
        with urllib.request.urlopen(f"https://127.0.0.1:{self.mgmt}/roots/0", context=ctx,
                                    timeout=30) as r:
            return r.read().decode()

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log_f.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def ca():
    c = peers.LocalCA("pebble listener CA")
    yield c
    c.cleanup()


NAMES = (HOSTNAME, "mta-sts.example.test")


@pytest.fixture
def dns():
    d = peers.Dns(hosts={n: "127.0.0.1" for n in NAMES + ("autoconfig.example.test",)})
    yield d
    d.stop()


def acme_settings(pebble, ca, http_port, https_port, challenge="http-01",
                  names=", ".join(NAMES)):
    """An instance certified by ACME alone: no [tls], the web listeners on the
    ports pebble validates on."""
    return {("tls", "cert"): "", ("tls", "key"): "",
            ("listen", "http"): f"127.0.0.1:{http_port}",
            ("listen", "https"): f"127.0.0.1:{https_port}",
            ("acme", "directory"): pebble.directory,
            ("acme", "email"): "postmaster@example.test",
            ("acme", "names"): names,
            ("acme", "challenge"): challenge,
            ("acme", "ca_file"): ca.cert}


def served_cert(port, name=HOSTNAME, starttls=False):
    """The leaf certificate (DER) the listener on port shows for name."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if starttls:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.starttls(context=ctx)
            return s.sock.getpeercert(binary_form=True)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as t:
            return t.getpeercert(binary_form=True)


def verify_https(port, roots, name=HOSTNAME):
    """A full check of the https listener's chain against pebble's root, for name."""
    ctx = ssl.create_default_context(cadata=roots)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as t:
            return t.getpeercert()


def verify_smtp(port, roots, name=HOSTNAME):
    ctx = ssl.create_default_context(cadata=roots)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s._host = name  # the name STARTTLS checks the certificate for
        s.starttls(context=ctx)
        return s.sock.getpeercert()


def sans(cert):
    return sorted(v for k, v in cert.get("subjectAltName", ()) if k == "DNS")


@pytest.fixture
def acme_env(ca, dns):
    """pebble on the ports of a web listener pair made for the test."""
    http_port, https_port = free_port(), free_port()
    pb = Pebble(ca, http_port, https_port, dns)
    yield pb, http_port, https_port
    pb.cleanup()


def test_fresh_instance_gets_certificate_by_http01(make_instance, acme_env, ca):
    pb, http_port, https_port = acme_env
    inst = make_instance(acme_settings(pb, ca, http_port, https_port), start=False)
    inst.extra_env["MAILROOM_WALL_PROBE"] = "1"
    inst.start()
    pid = inst.proc.pid
    inst.wait_event("acme-loaded", _role="serve", timeout=WAIT)
    log = inst.log()
    assert inst.events("acme-stand-in", _role="serve"), log[-3000:]
    assert inst.events("acme-authorized", _role="acmed", name="mx.example.test"), log[-3000:]
    assert inst.events("acme-challenge", _role="httpd", type="http-01")
    assert inst.events("acme-issued", _role="acmed", not_after=re.compile(r"."))
    roots = pb.roots()
    # Both names, chained to pebble's root, on https and on smtp's STARTTLS.
    cert = verify_https(https_port, roots)
    assert sans(cert) == sorted(NAMES)
    verify_https(https_port, roots, name="mta-sts.example.test")
    assert sans(verify_smtp(inst.ports["smtp"], roots)) == sorted(NAMES)
    # No restart: the same supervisor, and its roles were not restarted.
    assert inst.proc.pid == pid and inst.proc.poll() is None
    assert inst.events("role-restart") == []
    assert re.search(r"^  acmed +running +pid \d+", inst.run_cli("status").stdout, re.M)
    # The state is acmed's alone: its own user's 0700 directory, keys 0600.
    adir = os.path.join(inst.data, "acme")
    assert os.stat(adir).st_mode & 0o777 == 0o700
    if os.geteuid() == 0:
        assert pwd.getpwuid(os.stat(adir).st_uid).pw_name == "mailroom-acme"
    # acmed's walls: no account store, no exec, TCP only to the CA's port and DNS.
    for probe in ("open accounts.db", "open /etc/shadow", "exec /bin/sh", "tcp connect"):
        assert inst.events("wall-probe", _role="acmed", check=probe, result="refused"), \
            (probe, log[-3000:])
    assert inst.events("wall-probe", _role="acmed", result="allowed") == []
    for f in ("account.key", "key.pem", "cert.pem"):
        assert os.stat(os.path.join(adir, f)).st_mode & 0o777 == 0o600, f


def test_tls_alpn01_on_https(make_instance, acme_env, ca):
    pb, http_port, https_port = acme_env
    settings = acme_settings(pb, ca, http_port, https_port, challenge="tls-alpn-01")
    del settings[("listen", "http")]
    # By name this time: acmed resolves it (/etc/hosts) inside its walls.
    settings[("acme", "directory")] = f"https://localhost:{pb.port}/dir"
    inst = make_instance(settings)
    inst.wait_event("acme-loaded", _role="serve", timeout=WAIT)
    log = inst.log()
    assert inst.events("acme-challenge", type="tls-alpn-01", name="mx.example.test"), log[-3000:]
    assert inst.events("acme-challenge", type="http-01") == []
    assert sans(verify_https(https_port, pb.roots())) == sorted(NAMES)
    # An ordinary client on https still gets the web pages (no ALPN chosen).
    ctx = ssl.create_default_context(cadata=pb.roots())
    ctx.set_alpn_protocols(["http/1.1"])
    with socket.create_connection(("127.0.0.1", https_port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOSTNAME) as t:
            t.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
            assert t.recv(100).startswith(b"HTTP/1.1 404")


def test_new_names_renew_session_survives_ca_gone(make_instance, acme_env, ca):
    pb, http_port, https_port = acme_env
    inst = make_instance(acme_settings(pb, ca, http_port, https_port, names=HOSTNAME))
    inst.wait_event("acme-loaded", _role="serve", timeout=WAIT)
    roots = pb.roots()
    first = served_cert(https_port)
    assert sans(verify_https(https_port, roots)) == [HOSTNAME]
    # A session opened under the first certificate.
    ctx = ssl.create_default_context(cadata=roots)
    ctx.check_hostname = False
    s = smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30)
    s.starttls(context=ctx)
    s.ehlo("client.example.test")

    mark = inst.log_mark()
    inst.set("acme", "names", ", ".join(NAMES))
    inst.reload()
    inst.wait_event("acme-order", since=mark, reason="the names changed", timeout=30)
    inst.wait_event("acme-loaded", _role="serve", since=mark, timeout=WAIT)
    second = served_cert(https_port)
    assert second != first
    assert sans(verify_https(https_port, roots)) == sorted(NAMES)
    # The session from before goes on.
    assert s.noop()[0] == 250
    assert s.ehlo("client.example.test")[0] == 250

    # The CA gone: the error is logged, the certificate stays, the session goes on.
    pb.stop()
    mark = inst.log_mark()
    inst.set("acme", "names", ", ".join(NAMES + ("autoconfig.example.test",)))
    inst.reload()
    inst.wait_event("acme-failed", since=mark, names=re.compile(r"^mx\.example\.test, "),
                    error=re.compile(rf"127\.0\.0\.1:{pb.port}"), retry=60, _level="error", timeout=60)
    assert served_cert(https_port) == second
    assert served_cert(inst.ports["smtp"], starttls=True) == second
    assert s.noop()[0] == 250
    s.quit()

    # After a restart the stored certificate is served at once (the CA still gone).
    inst.stop()
    inst.set("acme", "names", HOSTNAME)
    mark = inst.log_mark()
    inst.start()
    inst.wait_event("acme-stored", since=mark, _role="serve", dir="acme")
    assert served_cert(https_port) == second
    inst.wait_event("acme-valid", since=mark, names="mx.example.test", not_after=re.compile(r"."),
                    renew_from=re.compile(r"."))


def http_get(port, path, host=HOSTNAME):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        c.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_http01_unknown_tokens_404(make_instance, acme_env, ca):
    pb, http_port, https_port = acme_env
    # The CA's directory is a closed port: no order ever gets under way.
    settings = acme_settings(pb, ca, http_port, https_port)
    settings[("acme", "directory")] = f"https://127.0.0.1:{free_port()}/dir"
    inst = make_instance(settings)
    inst.wait_event("acme-failed", timeout=60)
    for path in ("/.well-known/acme-challenge/abcDEF123_-", "/.well-known/acme-challenge/",
                 "/.well-known/acme-challenge/a%2Fb", "/.well-known/acme-challenge/../x"):
        code, _ = http_get(http_port, path)
        assert code == 404, path
    # Everything else on http still redirects to https.
    code, _ = http_get(http_port, "/admin/")
    assert code == 301
    # The stand-in serves meanwhile: self-signed, for the names.
    der = served_cert(https_port)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-issuer",
                          "-subject"], input=pem, capture_output=True, text=True, timeout=30)
    assert "DNS:mx.example.test" in out.stdout and "DNS:mta-sts.example.test" in out.stdout
    issuer = re.search(r"issuer=(.*)", out.stdout).group(1)
    subject = re.search(r"subject=(.*)", out.stdout).group(1)
    assert issuer == subject


def test_http01_answers_only_during_an_order(make_instance, ca, dns):
    """While pebble checks, the token it asks for is answered (pebble's own log says
    it fetched it); after the order, the same token is 404."""
    http_port, https_port = free_port(), free_port()
    pb = Pebble(ca, http_port, https_port, dns, nonce_reject=0)
    try:
        inst = make_instance(acme_settings(pb, ca, http_port, https_port, names=HOSTNAME))
        inst.wait_event("acme-loaded", _role="serve", timeout=WAIT)
        tokens = [e["token"] for e in inst.events("acme-challenge", type="http-01")]
        assert tokens, inst.log()[-3000:]
        code, _ = http_get(http_port, f"/.well-known/acme-challenge/{tokens[0]}")
        assert code == 404
    finally:
        pb.cleanup()


def test_bad_nonce_retried_then_given_up(make_instance, ca, dns):
    http_port, https_port = free_port(), free_port()
    pb = Pebble(ca, http_port, https_port, dns, nonce_reject=100)
    try:
        inst = make_instance(acme_settings(pb, ca, http_port, https_port, names=HOSTNAME))
        inst.wait_event("acme-failed", names="mx.example.test",
                        error=re.compile(r"fresh nonces refused in a row"), timeout=60)
        assert len(inst.events("acme-nonce-refused", reason=re.compile(r"^badNonce"))) >= 5
        assert inst.events("acme-loaded") == []
    finally:
        pb.cleanup()


def test_tls_files_serve_until_the_first_certificate(make_instance, ca):
    """With [tls] set too, its certificate serves while the CA cannot be reached."""
    http_port, https_port = free_port(), free_port()
    inst = make_instance({("listen", "http"): f"127.0.0.1:{http_port}",
                          ("listen", "https"): f"127.0.0.1:{https_port}",
                          ("acme", "directory"): f"https://127.0.0.1:{free_port()}/dir",
                          ("acme", "ca_file"): ca.cert})
    inst.wait_event("acme-failed", timeout=60)
    assert inst.events("acme-stand-in") == []
    with open(inst.cert) as f:
        files = ssl.PEM_cert_to_DER_cert(f.read())
    assert served_cert(https_port) == files
    assert served_cert(inst.ports["smtp"], starttls=True) == files


def test_tls_alpn01_for_a_name_with_an_sni_entry(make_instance, acme_env, ca):
    """A name that [tls] sni also serves switches the handshake to that entry's context:
    the tls-alpn-01 answer must come from there too."""
    pb, http_port, https_port = acme_env
    settings = acme_settings(pb, ca, http_port, https_port, challenge="tls-alpn-01")
    del settings[("listen", "http")]
    inst = make_instance(settings, start=False)
    # [tls] back (sni needs a main certificate), and an entry of its own for the
    # second name, with a certificate that names it.
    key, cert = os.path.join(inst.dir, "sni-key.pem"), os.path.join(inst.dir, "sni-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", f"/CN={NAMES[1]}",
                    "-addext", f"subjectAltName=DNS:{NAMES[1]}"],
                   check=True, capture_output=True, timeout=60)
    inst.set("tls", "cert", inst.cert)
    inst.set("tls", "key", os.path.join(inst.dir, "key.pem"))
    inst.set("tls", "sni", f"{NAMES[1]}:{cert}:{key}")
    inst.start()
    inst.wait_event("acme-loaded", _role="serve", timeout=WAIT)
    for name in NAMES:
        assert inst.events("acme-challenge", type="tls-alpn-01", name=name), inst.log()[-3000:]
