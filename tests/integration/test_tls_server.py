"""test_tls_server.py - the server side of TLS on every TLS listener: [tls]
min_protocol (TLS 1.0 and 1.1 clients refused with a protocol_version alert, and
TLS 1.2 too under TLSv1.3), the AEAD-only default cipher list (a CBC-only client
refused, an AEAD one accepted), [tls] sni (each name gets its certificate over SMTP
STARTTLS on smtp and submission, SMTPS, POP3 STLS, POP3S and https; other names the
main one), a reload picking up a replaced SNI certificate while older sessions go
on, `config check` on bad SNI entries, and the MTA-STS policy with its configured
mode at https://mta-sts.<domain>/.

Certificates are made with `openssl req`; old protocols are tried with `openssl
s_client` at security level 0, so that the client offers them and the refusal
seen is the server's.
"""
import os
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import DEMO, DEMO_PASSWORD, DOMAIN, HOSTNAME, free_port, wait_port

CUSTOMER = "mail.customer.example"
WILDCARD = "*.hosted.example"
UNDER_WILDCARD = "mail.hosted.example"
# Every TLS listener and how TLS starts on it.
LISTENERS = [("smtp", "smtp"), ("submission", "smtp"), ("submissions", None),
             ("pop3", "pop3"), ("pop3s", None), ("https", None)]


def make_cert(directory, stem, name):
    """A self-signed EC certificate for name; returns (cert path, key path)."""
    cert = os.path.join(directory, stem + ".pem")
    key = os.path.join(directory, stem + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key + ".new", "-out",
                    cert + ".new", "-days", "2", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}"],
                   check=True, capture_output=True, timeout=60)
    # Replaced whole, as an operator's renewal would: a reload never sees half a file.
    os.rename(key + ".new", key)
    os.rename(cert + ".new", cert)
    return cert, key


def der_of(path):
    return ssl.PEM_cert_to_DER_cert(open(path).read())


def client_ctx(max_version=None, ciphers=None):
    """A client that takes any certificate: the tests compare what they get."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if max_version is not None:
        ctx.maximum_version = max_version
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    return ctx


class Conn:
    """A client on one listener: the plain dialog up to STARTTLS/STLS, then TLS with SNI."""

    def __init__(self, port, starttls, name, ctx=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.starttls = starttls
        self.plain = self.sock.makefile("rb")
        if starttls == "smtp":
            assert self.reply(self.plain).startswith(b"220")
            self.sock.sendall(b"EHLO client.test\r\n")
            assert b"STARTTLS" in self.reply(self.plain)
            self.sock.sendall(b"STARTTLS\r\n")
            assert self.reply(self.plain).startswith(b"220")
        elif starttls == "pop3":
            assert self.plain.readline().startswith(b"+OK")
            self.sock.sendall(b"STLS\r\n")
            assert self.plain.readline().startswith(b"+OK")
        self.tls = (ctx or client_ctx()).wrap_socket(self.sock, server_hostname=name)
        self.f = self.tls.makefile("rb")

    @staticmethod
    def reply(f):
        """One SMTP reply, all its lines."""
        out = b""
        for _ in range(100):
            line = f.readline()
            assert line, "connection closed"
            out += line
            if line[3:4] != b"-":
                return out
        raise AssertionError("endless reply")

    def cert(self):
        return self.tls.getpeercert(binary_form=True)

    def close(self):
        try:
            self.tls.close()
        finally:
            self.sock.close()


def session_works(port_name, conn):
    """A command on the TLS session gets its answer."""
    if port_name in ("smtp", "submission", "submissions"):
        if port_name == "submissions":
            assert Conn.reply(conn.f).startswith(b"220")  # the greeting after the handshake
        conn.tls.sendall(b"EHLO client.test\r\n")
        assert Conn.reply(conn.f).startswith(b"250")
        conn.tls.sendall(b"NOOP\r\n")
        assert Conn.reply(conn.f).startswith(b"250")
    elif port_name in ("pop3", "pop3s"):
        if port_name == "pop3s":
            assert conn.f.readline().startswith(b"+OK")
        conn.tls.sendall(b"CAPA\r\n")
        assert conn.f.readline().startswith(b"+OK")
        for _ in range(50):
            if conn.f.readline() == b".\r\n":
                break
        else:
            raise AssertionError("CAPA without an end")
    else:
        conn.tls.sendall(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts." +
                         DOMAIN.encode() + b"\r\n\r\n")
        assert conn.f.readline().startswith(b"HTTP/1.1 200")


def https_get(port, host, path, sni=None):
    """(status, body) of a GET over TLS with SNI sni (default host)."""
    conn = Conn(port, None, sni or host)
    try:
        conn.tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                         .encode())
        data = b""
        for _ in range(1000):
            chunk = conn.tls.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body.decode()
    finally:
        conn.close()


def ports_of(inst):
    return dict(inst.ports, https=inst.https_port)


def start_with_sni(make, settings=None):
    """An instance (not started) with an https listener and two SNI certificates."""
    https_port = free_port()
    inst = make({("listen", "https"): f"127.0.0.1:{https_port}", **(settings or {})},
                start=False)
    inst.https_port = https_port
    inst.customer = make_cert(inst.dir, "customer", CUSTOMER)
    inst.wildcard = make_cert(inst.dir, "wildcard", WILDCARD)
    inst.set("tls", "sni", f"{CUSTOMER}:{inst.customer[0]}:{inst.customer[1]}, "
             f"{WILDCARD}:{inst.wildcard[0]}:{inst.wildcard[1]}")
    inst.start()
    wait_port(https_port)
    inst.wait_event("started", _role="httpd")
    return inst


@pytest.fixture(scope="module")
def srv(make_module_instance):
    return start_with_sni(make_module_instance, {("tls", "mta_sts_mode"): "enforce",
                                                 ("tls", "mta_sts_max_age"): "1d"})


# ---- SNI ----

@pytest.mark.parametrize("listener,starttls", LISTENERS)
def test_sni_picks_the_certificate(srv, listener, starttls):
    port = ports_of(srv)[listener]
    want = {CUSTOMER: der_of(srv.customer[0]), UNDER_WILDCARD: der_of(srv.wildcard[0]),
            "MAIL.Customer.EXAMPLE": der_of(srv.customer[0]),
            HOSTNAME: der_of(srv.cert), "unknown.example": der_of(srv.cert),
            "a.b.hosted.example": der_of(srv.cert), None: der_of(srv.cert)}
    for name, der in want.items():
        conn = Conn(port, starttls, name)
        try:
            assert conn.cert() == der, (listener, name)
            session_works(listener, conn)
        finally:
            conn.close()


def test_sni_certificate_verifies(srv):
    # A client that checks names, trusting the customer's certificate, accepts it by name.
    ctx = ssl.create_default_context(cafile=srv.customer[0])
    conn = Conn(srv.ports["submissions"], None, CUSTOMER, ctx)
    conn.close()
    with pytest.raises(ssl.SSLCertVerificationError):
        Conn(srv.ports["submissions"], None, "webmail.customer.example", ctx)


def test_sni_reload_keeps_sessions(make_instance):
    inst = start_with_sni(make_instance)
    old = der_of(inst.customer[0])
    # Sessions begun before the reload, with the old certificate.
    pop = Conn(inst.ports["pop3s"], None, CUSTOMER)
    sub = Conn(inst.ports["submission"], "smtp", CUSTOMER)
    assert pop.cert() == old and sub.cert() == old
    mark = inst.log_mark()
    make_cert(inst.dir, "customer", CUSTOMER)
    new = der_of(inst.customer[0])
    assert new != old
    inst.reload()
    for role in ("smtpd", "pop3d", "httpd"):
        inst.wait_event("tls-reloaded", _role=role, sni=2, since=mark)
    for listener, starttls in LISTENERS:
        conn = Conn(ports_of(inst)[listener], starttls, CUSTOMER)
        try:
            assert conn.cert() == new, listener
            session_works(listener, conn)
        finally:
            conn.close()
    # The main certificate and the other name are as they were.
    conn = Conn(inst.ports["submissions"], None, UNDER_WILDCARD)
    assert conn.cert() == der_of(inst.wildcard[0])
    conn.close()
    # The old sessions go on: log in and look at the mailbox, send mail.
    assert pop.f.readline().startswith(b"+OK")
    pop.tls.sendall(f"USER {DEMO}\r\nPASS {DEMO_PASSWORD}\r\nSTAT\r\nQUIT\r\n".encode())
    replies = [pop.f.readline() for _ in range(4)]
    assert all(r.startswith(b"+OK") for r in replies), replies
    pop.close()
    sub.tls.sendall(b"EHLO client.test\r\n")
    assert b"AUTH" in Conn.reply(sub.f)
    sub.tls.sendall(b"NOOP\r\n")
    assert Conn.reply(sub.f).startswith(b"250")
    sub.close()


def test_sni_bad_reload_keeps_the_old(make_instance):
    inst = start_with_sni(make_instance)
    old = der_of(inst.customer[0])
    # A certificate for another name where the customer's was: refused, the old one stays.
    mark = inst.log_mark()
    make_cert(inst.dir, "customer", "someone.else.example")
    inst.reload()
    inst.wait_event("reload-refused", _role="serve", since=mark,
                    error=re.compile(r"^\[tls\] sni: the certificate for mail\.customer\.example "
                                     r"does not name mail\.customer\.example"))
    conn = Conn(inst.ports["submissions"], None, CUSTOMER)
    assert conn.cert() == old
    conn.close()
    p = inst.run_cli("config", "check", check=False)
    assert p.returncode == 1
    assert p.stderr == (f"mailroom: {inst.conf}: [tls] sni: the certificate for {CUSTOMER} "
                        f"does not name {CUSTOMER}\n")


# ---- config check ----

def test_config_check_sni(make_instance):
    inst = make_instance(start=False)
    assert inst.run_cli("config", "check").stdout == f"{inst.conf}: ok\n"
    cert, key = make_cert(inst.dir, "customer", CUSTOMER)
    other_cert, other_key = make_cert(inst.dir, "other", "other.example")
    cases = [
        (f"{CUSTOMER}:{cert}:{key}", None),
        (f"{CUSTOMER}:{cert}:{key}, other.example:{other_cert}:{other_key}", None),
        (f"{CUSTOMER}:{cert}:{other_key}", "TLS certificate or key for mail.customer.example: "),
        (f"{CUSTOMER}:{inst.dir}/missing.pem:{key}",
         f"cannot read {inst.dir}/missing.pem: No such file or directory"),
        (f"webmail.customer.example:{cert}:{key}", "[tls] sni: the certificate for "
         "webmail.customer.example does not name webmail.customer.example"),
        (f"{CUSTOMER}:{cert}", f"bad value for sni: '{CUSTOMER}:{cert}' (")]
    for value, error in cases:
        inst.set("tls", "sni", value)
        p = inst.run_cli("config", "check", check=False)
        if error is None:
            assert p.returncode == 0 and p.stdout == f"{inst.conf}: ok\n", (value, p.stderr)
        else:
            assert p.returncode == 1, value
            assert p.stderr.startswith("mailroom: ") and error in p.stderr, (value, p.stderr)
            assert len(p.stderr.splitlines()) == 1
    inst.set("tls", "sni", "")
    inst.set("tls", "min_protocol", "TLSv1.1")
    p = inst.run_cli("config", "check", check=False)
    assert p.returncode == 1
    assert "bad value for min_protocol: 'TLSv1.1' (TLSv1.2 or TLSv1.3)" in p.stderr
    inst.set("tls", "min_protocol", "TLSv1.3")
    inst.set("tls", "ciphers", "NOSUCHCIPHER")
    p = inst.run_cli("config", "check", check=False)
    assert p.returncode == 1
    assert "[tls] ciphers 'NOSUCHCIPHER' selects no TLS 1.2 cipher suite" in p.stderr
    # A main certificate for another name is only a warning.
    inst.set("tls", "ciphers", "ECDHE+AESGCM")
    inst.set("server", "hostname", "mx.elsewhere.test")
    p = inst.run_cli("config", "check")
    assert "warning: the [tls] cert does not name the hostname mx.elsewhere.test" in p.stdout


# ---- protocol versions and cipher suites ----

def s_client(port, *args, starttls=None):
    """openssl s_client's output (both streams) for one attempt on port."""
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", HOSTNAME,
           "-cipher", "DEFAULT:@SECLEVEL=0"] + list(args)
    if starttls:
        cmd += ["-starttls", starttls]
    p = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
@pytest.mark.parametrize("listener,starttls", LISTENERS)
def test_old_protocols_refused(srv, listener, starttls, version):
    port = ports_of(srv)[listener]
    rc, out = s_client(port, version, starttls=starttls)
    assert rc != 0, out
    # The server's alert: the client did send its hello (a local refusal would say so).
    assert re.search(r"alert protocol version|SSL alert number 70", out), out
    assert "no protocols available" not in out, out


@pytest.mark.parametrize("listener,starttls", LISTENERS)
def test_cbc_only_client_refused(srv, listener, starttls):
    port = ports_of(srv)[listener]
    ctx = client_ctx(ssl.TLSVersion.TLSv1_2,
                     "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:"
                     "ECDHE-RSA-AES128-SHA:AES128-SHA:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError) as e:
        Conn(port, starttls, HOSTNAME, ctx)
    assert "alert handshake failure" in str(e.value), e.value


@pytest.mark.parametrize("listener,starttls", LISTENERS)
def test_aead_clients_accepted(srv, listener, starttls):
    port = ports_of(srv)[listener]
    for cipher in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                   "ECDHE-ECDSA-CHACHA20-POLY1305"):
        conn = Conn(port, starttls, HOSTNAME, client_ctx(ssl.TLSVersion.TLSv1_2, cipher))
        try:
            assert conn.tls.version() == "TLSv1.2" and conn.tls.cipher()[0] == cipher
            session_works(listener, conn)
        finally:
            conn.close()
    conn = Conn(port, starttls, HOSTNAME)
    assert conn.tls.version() == "TLSv1.3"
    conn.close()


def test_min_protocol_tls13(make_instance):
    inst = make_instance({("tls", "min_protocol"): "TLSv1.3"})
    for listener, starttls in LISTENERS[:5]:
        port = inst.ports[listener]
        with pytest.raises(ssl.SSLError) as e:
            Conn(port, starttls, HOSTNAME, client_ctx(ssl.TLSVersion.TLSv1_2))
        assert "alert protocol version" in str(e.value), e.value
        conn = Conn(port, starttls, HOSTNAME)
        assert conn.tls.version() == "TLSv1.3"
        session_works(listener, conn)
        conn.close()


def test_ciphers_setting(make_instance):
    # An operator's list is what the server takes: here the CBC suite the default refuses.
    inst = make_instance({("tls", "ciphers"): "ECDHE-ECDSA-AES128-SHA"})
    conn = Conn(inst.ports["submissions"], None, HOSTNAME,
                client_ctx(ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"))
    assert conn.tls.cipher()[0] == "ECDHE-ECDSA-AES128-SHA"
    conn.close()
    with pytest.raises(ssl.SSLError):
        Conn(inst.ports["submissions"], None, HOSTNAME,
             client_ctx(ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-GCM-SHA256"))


# ---- MTA-STS ----

def sts_id(inst):
    p = inst.run_cli("dns", "records", DOMAIN)
    m = re.search(r'^_mta-sts\.' + re.escape(DOMAIN) + r'\.\s.*"v=STSv1; id=([0-9a-f]{32})"',
                  p.stdout, re.M)
    assert m, p.stdout
    return m.group(1)


def test_mta_sts_policy(srv):
    status, body = https_get(srv.https_port, f"mta-sts.{DOMAIN}", "/.well-known/mta-sts.txt")
    assert status == 200
    assert body == f"version: STSv1\r\nmode: enforce\r\nmx: {HOSTNAME}\r\nmax_age: 86400\r\n"
    # Only for the hosted domains, whatever the SNI name.
    status, _ = https_get(srv.https_port, "mta-sts.unhosted.example", "/.well-known/mta-sts.txt")
    assert status == 404
    status, _ = https_get(srv.https_port, "mta-sts.unhosted.example", "/.well-known/mta-sts.txt",
                          sni=f"mta-sts.{DOMAIN}")
    assert status == 404


def test_mta_sts_id_follows_the_mode(make_instance):
    inst = make_instance(start=False)
    ids = set()
    for mode in ("testing", "enforce", "none"):
        inst.set("tls", "mta_sts_mode", mode)
        ids.add(sts_id(inst))
        assert sts_id(inst) in ids  # stable for one policy
    assert len(ids) == 3
    inst.set("tls", "mta_sts_max_age", "30d")
    assert sts_id(inst) not in ids


def test_certificate_too_large_for_the_roles(make_instance):
    """A chain that cannot go to the roles in one control frame (a CA bundle appended)
    is refused by config check and by a reload, which keeps the old certificate."""
    inst = make_instance()
    pem = open(inst.cert).read()
    old = der_of(inst.cert)
    big = os.path.join(inst.dir, "big.pem")
    with open(big, "w") as f:
        f.write(pem * (70000 // len(pem) + 2))
    assert os.path.getsize(big) > 70000
    inst.set("tls", "cert", big)
    p = inst.run_cli("config", "check", check=False)
    assert p.returncode == 1 and len(p.stderr.splitlines()) == 1, p.stderr
    assert f"{big}: the certificate and key take" in p.stderr, p.stderr
    mark = inst.log_mark()
    inst.reload()
    inst.wait_event("reload-refused", _role="serve", since=mark,
                    error=re.compile(r"the certificate and key take \d+ octets"))
    conn = Conn(inst.ports["submissions"], None, None)
    assert conn.cert() == old
    conn.close()
