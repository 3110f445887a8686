"""peers.py - the other side of outbound delivery, on loopback, for the tests.

Dns:      a dnsmasq on a free port serving MX, A, AAAA and null-MX records; every
          other name under .test is NXDOMAIN. Point [delivery] resolver at it.
Sink:     an aiosmtpd server recording every connection and transaction, able to
          answer with scripted codes (per recipient, per DATA in turn), with
          optional STARTTLS, AUTH, PIPELINING, SIZE and SMTPUTF8, and a delay
          before the reply to DATA.
LocalCA:  a certificate authority of the test's own (openssl) that issues server
          certificates for names and IP addresses; point [delivery] tls_ca_file at it.
Postfix:  a private Postfix instance (its own config directory and queue) whose
          smtpd receives on a loopback port and delivers into one Maildir.
and helpers: submit() a message and get its queue id, parse_dsn() a bounce.

Every server here is started and stopped by the test that uses it; every wait is
bounded.
"""
import asyncio
import email
import email.policy
import os
import pwd
import random
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

QUEUE_ID = re.compile(r"queued as ([0-9A-F]{16})")


# Test ports come from below the kernel's ephemeral range (32768-60999 here): a port
# picked there by binding to 0 can be taken, before the server binds it, by the local
# end of any outbound connection (the server's own deliveries, a test's clients).
# Test runs on one machine at once (several checkouts) stay out of each other's way
# through a claim file per port, made with O_EXCL and naming the claiming pid.
_PORT_LOW, _PORT_HIGH = 20000, 32767
_PORT_CLAIMS = "/tmp/mailroom-test-ports"
_ports_given = set()


def _claim(port):
    """Whether this process may use port: a claim file made now, or a dead pid's taken over."""
    os.makedirs(_PORT_CLAIMS, mode=0o1777, exist_ok=True)
    path = os.path.join(_PORT_CLAIMS, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                pid = int(open(path).read().strip() or "0")
            except (OSError, ValueError):
                return False
            if pid == os.getpid():
                return True
            if pid > 0 and os.path.exists(f"/proc/{pid}"):
                return False
            try:
                os.unlink(path)  # its run is over
            except FileNotFoundError:
                pass
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True
    return False


def free_port(host="127.0.0.1"):
    """A port free for TCP on host and, as far as one can tell, for UDP too; never the
    same one twice in a test run, nor one another run on this machine holds."""
    rnd = random.Random()
    for _ in range(400):
        port = rnd.randint(_PORT_LOW, _PORT_HIGH)
        if port in _ports_given:
            continue
        try:
            with socket.socket() as t, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                t.bind((host, port))
                u.bind((host, port))
        except OSError:
            continue
        if not _claim(port):
            continue
        _ports_given.add(port)
        return port
    raise RuntimeError("no free port")


def wait_until(pred, timeout=20.0, what="condition"):
    """Poll pred() every 50 ms until it is true (returned) or timeout (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


# ---------------------------------------------------------------- certificates

_CERTS = {}


def make_cert(cn="mx.remote.test"):
    """A self-signed certificate and key (paths), made once per name per run."""
    if cn in _CERTS:
        return _CERTS[cn]
    d = tempfile.mkdtemp(prefix="peercert-", dir="/tmp")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={cn}",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=30)
    _CERTS[cn] = (cert, key)
    return cert, key


def server_tls_context(cn="mx.remote.test", max_version=None):
    cert, key = make_cert(cn)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if max_version is not None:
        # Old protocol versions need the lowest security level in OpenSSL 3.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # the old versions are deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = max_version
    return ctx


class LocalCA:
    """A CA made with openssl for one test run: ca.pem (world-readable, for the
    instance's unprivileged queued) and server certificates that chain to it."""

    def __init__(self, cn="mailroom test CA"):
        self.dir = tempfile.mkdtemp(prefix="testca-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.cert = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca-key.pem")
        self._n = 0
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", f"/CN={cn}", "-keyout", self.key, "-out", self.cert,
                        "-addext", "basicConstraints=critical,CA:TRUE",
                        "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                       check=True, capture_output=True, timeout=30)
        os.chmod(self.cert, 0o644)

    def issue(self, *names):
        """A certificate and key (paths) for names: DNS names or IP addresses (SANs),
        the first also as the CN."""
        self._n += 1
        base = os.path.join(self.dir, f"leaf{self._n}")
        key, csr, cert, ext = (base + s for s in ("-key.pem", ".csr", ".pem", ".ext"))
        sans = []
        for n in names:
            try:
                socket.inet_pton(socket.AF_INET6 if ":" in n else socket.AF_INET, n)
                sans.append(f"IP:{n}")
            except OSError:
                sans.append(f"DNS:{n}")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={','.join(sans)}\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={names[0]}",
                        "-keyout", key, "-out", csr], check=True, capture_output=True, timeout=30)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey",
                        self.key, "-CAcreateserial", "-days", "2", "-extfile", ext,
                        "-out", cert], check=True, capture_output=True, timeout=30)
        return cert, key

    def server_context(self, *names):
        """A server context (for Sink(tls=...)) with a certificate for names."""
        cert, key = self.issue(*names)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        return ctx

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- DNS

class Dns:
    """dnsmasq on 127.0.0.1:port with the given records.

    mx:      [(domain, host, pref), ...]
    hosts:   {host: "ip" or ["ip", ...]} (IPv4 gives A, IPv6 gives AAAA)
    null_mx: [domain, ...] (RFC 7505: "0 .")
    txt:     [(name, [string, ...]), ...] one TXT record of those character-strings
    srv:     [(name, target, port, priority, weight), ...] (target "." or None: not offered)
    ptr:     [(reverse name, target), ...]
    cname:   [(name, target), ...] (dnsmasq answers only for targets it knows, as hosts)
    rr:      [(name, type number, hex rdata), ...] for anything else
    txt:     [(name, text), ...] TXT records (SPF policies)
    ttl:     the TTL of every answer (dnsmasq's default, 0, lets no resolver keep one)
    """

    def __init__(self, mx=(), hosts=None, null_mx=(), rr=(), txt=(), srv=(), ptr=(), cname=(),
                 ttl=0):
        self.dir = tempfile.mkdtemp(prefix="dnsmasq-", dir="/tmp")
        self.logpath = os.path.join(self.dir, "dnsmasq.log")
        self.port = free_port()
        args = ["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground",
                "--conf-file=/dev/null", f"--port={self.port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", f"--pid-file={self.dir}/pid", "--local=/test/",
                # Reverse names too: one not served is NXDOMAIN, not a SERVFAIL.
                "--local=/in-addr.arpa/", "--local=/ip6.arpa/",
                "--log-queries", f"--log-facility={self.logpath}"]
        if ttl:
            args.append(f"--local-ttl={ttl}")
        for domain, host, pref in mx:
            args.append(f"--mx-host={domain},{host},{pref}")
        for host, ips in (hosts or {}).items():
            for ip in [ips] if isinstance(ips, str) else ips:
                args.append(f"--host-record={host},{ip}")
        for domain in null_mx:
            args.append(f"--dns-rr={domain},15,000000")
        for name, rtype, data in rr:
            args.append(f"--dns-rr={name},{rtype},{data}")
        for name, strings in txt:
            # As raw rdata: dnsmasq's --txt-record would split a string at its commas.
            data = b"".join(bytes([len(s)]) + s for s in
                            (x.encode() if isinstance(x, str) else x for x in strings))
            args.append(f"--dns-rr={name.rstrip('.')},16,{data.hex()}")
        for name, target, port, prio, weight in srv:
            if target in (None, ".", ""):
                args.append(f"--srv-host={name.rstrip('.')}")
            else:
                args.append(f"--srv-host={name.rstrip('.')},{target.rstrip('.')},{port},{prio},{weight}")
        for name, target in ptr:
            args.append(f"--ptr-record={name.rstrip('.')},{target.rstrip('.')}")
        for name, target in cname:
            args.append(f"--cname={name.rstrip('.')},{target.rstrip('.')}")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready()

    @property
    def resolver(self):
        return f"127.0.0.1:{self.port}"

    def _wait_ready(self, timeout=10.0):
        """Until dnsmasq answers over UDP (a query for a name it serves or not)."""
        query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x05probe\x04test\x00\x00\x01\x00\x01")
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(0.2)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("dnsmasq exited: " + self.proc.stderr.read().decode())
                try:
                    u.sendto(query, ("127.0.0.1", self.port))
                    data, _ = u.recvfrom(512)
                    if data[:2] == b"\x12\x34":
                        return
                except OSError:
                    time.sleep(0.05)
        raise TimeoutError("dnsmasq does not answer")

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


class ServfailDns:
    """A DNS server that answers every query at once with SERVFAIL (rcode 2): a
    resolver in trouble, as the instance sees it; or, silent, never answers."""

    def __init__(self, silent=False):
        self.silent = silent
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def resolver(self):
        return f"127.0.0.1:{self.port}"

    def _serve(self):
        while not self.stopping:
            try:
                q, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            if len(q) < 17:
                continue
            end = q.find(b"\0", 12)
            if end < 0 or end + 5 > len(q):
                continue
            self.queries += 1
            if self.silent:
                continue
            # Same id and question; QR, RD, RA; rcode 2; one question, nothing else.
            reply = q[:2] + b"\x81\x82\x00\x01\x00\x00\x00\x00\x00\x00" + q[12:end + 5]
            try:
                self.sock.sendto(reply, addr)
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


# ---------------------------------------------------------------- the SMTP sink

class Transaction:
    """One MAIL ... DATA as the sink saw it."""

    def __init__(self, conn, session, envelope, reply):
        self.conn = conn                       # connection number (1, 2, ...)
        self.peer = session.peer
        self.helo = session.host_name
        self.tls = session.ssl is not None
        self.auth = session.auth_data          # LoginPassword or None
        self.mail_from = envelope.mail_from
        self.mail_options = list(envelope.mail_options)
        self.rcpt_tos = list(envelope.rcpt_tos)
        self.data = envelope.original_content  # bytes, CRLF, dots removed
        self.reply = reply

    @property
    def accepted(self):
        return self.reply.startswith("2")

    def __repr__(self):
        return (f"<Transaction conn={self.conn} from={self.mail_from!r} to={self.rcpt_tos!r} "
                f"tls={self.tls} reply={self.reply!r} {len(self.data or b'')} octets>")


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.sink._conn_of(server)
        if self.sink.ehlo_reply:
            return [self.sink.ehlo_reply]
        if self.sink.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        self.sink._conn_of(server)
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.sink.lock:
            self.sink.mails.append((self.sink._conn_of(server), address))
            reply = self.sink.mail_replies.pop(0) if self.sink.mail_replies else None
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.sink.lock:
            reply = self.sink.rcpt_replies.get(address.lower())
            if isinstance(reply, list):
                # Used up in turn, then accepted.
                reply = reply.pop(0) if reply else None
            self.sink.rcpts.append((self.sink._conn_of(server), address, reply or "250 OK"))
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        conn = sink._conn_of(server)
        with sink.lock:
            sink.data_started.append(conn)
            sink.in_data += 1
            sink.max_in_data = max(sink.max_in_data, sink.in_data)
        try:
            # Bounded: the delay is a number of seconds the test chose (its value
            # when the text arrived: a change applies to the next transaction).
            end = time.monotonic() + sink.data_delay
            while time.monotonic() < end:
                await asyncio.sleep(0.05)
        finally:
            with sink.lock:
                sink.in_data -= 1
        with sink.lock:
            reply = sink.data_replies.pop(0) if sink.data_replies else "250 2.0.0 OK"
            sink.transactions.append(Transaction(conn, session, envelope, reply))
        return reply


class Sink:
    """An SMTP server on host:port that records what it receives.

    rcpt_replies:  {address: reply} for RCPT (e.g. "550 5.1.1 no such user"), or
                   {address: [reply, ...]}: those in turn, then "250 OK"
    mail_replies:  replies to MAIL, used up in turn (then "250 OK")
    ehlo_reply:    the whole reply to EHLO instead of the extensions (e.g. a 502)
    data_replies:  replies to DATA, used up in turn (then "250 2.0.0 OK")
    data_delay:    seconds to wait before replying to DATA (changeable while running);
                   max_in_data counts the transactions waiting there at once
    tls:           offer STARTTLS (a TLS context or True for a self-signed one)
    auth:          {"user": "password"}: offer AUTH PLAIN LOGIN after TLS and check it
    pipelining:    advertise PIPELINING
    size:          the SIZE limit advertised and enforced (None: aiosmtpd's default)
    smtputf8:      advertise SMTPUTF8
    """

    def __init__(self, port=None, host="127.0.0.1", hosts=None, rcpt_replies=None,
                 data_replies=None, data_delay=0, mail_replies=None, ehlo_reply=None,
                 tls=None, auth=None, pipelining=False, size=None, smtputf8=True,
                 name="mx.remote.test", auth_require_tls=True):
        self.port = port or free_port(host)
        self.hosts = hosts or [host]
        self.rcpt_replies = {k.lower(): v for k, v in (rcpt_replies or {}).items()}
        self.data_replies = list(data_replies or [])
        self.mail_replies = list(mail_replies or [])
        self.ehlo_reply = ehlo_reply
        self.in_data = 0
        self.max_in_data = 0
        self.data_delay = data_delay
        self.pipelining = pipelining
        self.lock = threading.RLock()
        self.transactions = []
        self.mails = []
        self.rcpts = []
        self.data_started = []
        self._conns = {}
        self.auth_attempts = []
        kwargs = {"server_hostname": name, "enable_SMTPUTF8": smtputf8,
                  "ready_timeout": 10}
        if size is not None:
            kwargs["data_size_limit"] = size
        if tls:
            kwargs["tls_context"] = (tls if isinstance(tls, ssl.SSLContext)
                                     else server_tls_context(name))
        if auth:
            self.users = dict(auth)
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_require_tls"] = auth_require_tls
        self.controllers = []
        handler = _Handler(self)
        for h in self.hosts:
            c = Controller(handler, hostname=h, port=self.port, **kwargs)
            c.start()
            self.controllers.append(c)

    def _conn_of(self, server):
        with self.lock:
            if server not in self._conns:
                self._conns[server] = len(self._conns) + 1
            return self._conns[server]

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
        password = (auth_data.password.decode() if isinstance(auth_data.password, bytes)
                    else auth_data.password)
        ok = self.users.get(login) == password
        self.auth_attempts.append((mechanism, login, password, ok, session.ssl is not None))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    @property
    def connections(self):
        """How many connections said EHLO or HELO."""
        return len(self._conns)

    def accepted(self):
        with self.lock:
            return [t for t in self.transactions if t.accepted]

    def with_token(self, token):
        """Accepted transactions whose data holds token."""
        if isinstance(token, str):
            token = token.encode()
        return [t for t in self.accepted() if token in (t.data or b"")]

    def wait_token(self, token, n=1, timeout=20.0):
        return wait_until(lambda: len(self.with_token(token)) >= n and self.with_token(token),
                          timeout, f"{n} transaction(s) with {token!r} at the sink")

    def stop(self):
        for c in self.controllers:
            try:
                c.stop()
            except Exception:  # already stopped, or its loop died: nothing to clean
                pass
        self.controllers = []


class RawPeer:
    """A hand-scripted SMTP server for what aiosmtpd cannot do (a held back or odd
    greeting, odd replies): per connection it waits for `release` (if hold), sends
    greeting, then answers each command line with answer(line) (None: close; with
    tls, a 220 to STARTTLS is followed by the handshake). Every line it reads is
    kept in lines."""

    def __init__(self, port=None, host="127.0.0.1", greeting="220 raw.test ESMTP",
                 answer=None, hold=False, tls=None):
        self.port = port or free_port(host)
        self.tls = tls              # an ssl server context: a 220 to STARTTLS starts TLS
        self.tls_sessions = 0
        self.greeting = greeting
        self.answer = answer or (lambda line: "250 ok" if not line.upper().startswith(
            "QUIT") else None)
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.connected = threading.Event()
        self.lines = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, self.port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c):
        self.connected.set()
        try:
            c.settimeout(30)
            self.release.wait(30)
            if self.greeting is None:
                return
            c.sendall(self.greeting.encode() + b"\r\n")
            buf = b""
            for _ in range(1000):
                while b"\r\n" not in buf:
                    chunk = c.recv(4096)
                    if not chunk:
                        return
                    buf += chunk
                line, buf = buf.split(b"\r\n", 1)
                text = line.decode(errors="replace")
                self.lines.append(text)
                reply = self.answer(text)
                if reply is None:
                    c.sendall(b"221 bye\r\n")
                    return
                if reply != "":  # "": no reply to this line (message text)
                    c.sendall(reply.encode() + b"\r\n")
                if self.tls and text.upper() == "STARTTLS" and reply.startswith("220"):
                    c = self.tls.wrap_socket(c, server_side=True)
                    self.tls_sessions += 1
                    buf = b""
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.stopping = True
        self.release.set()
        self.thread.join(timeout=5)
        self.sock.close()


class Script:
    """answer() for a RawPeer: a small SMTP server whose replies the test picks.

    ehlo:     the whole EHLO reply ("250-raw.test\r\n250 STARTTLS")
    replies:  {"STARTTLS": "454 4.7.0 no TLS today", "DATA": "250 odd", "MAIL": ...,
               "RCPT": ..., ".": reply to the end of the text}
    Messages received whole are in messages (lists of lines)."""

    def __init__(self, ehlo="250 raw.test", replies=None):
        self.ehlo = ehlo
        self.replies = dict(replies or {})
        self.in_data = False
        self.lines = []
        self.messages = []

    def __call__(self, line):
        if self.in_data:
            if line == ".":
                self.in_data = False
                self.messages.append(self.lines)
                self.lines = []
                return self.replies.get(".", "250 2.0.0 queued")
            self.lines.append(line)
            return ""
        verb = line.split(" ", 1)[0].split(":", 1)[0].upper()
        if verb == "QUIT":
            return None
        if verb == "EHLO":
            return self.ehlo
        if verb == "DATA":
            reply = self.replies.get("DATA", "354 go ahead")
            self.in_data = reply.startswith("354")
            return reply
        return self.replies.get(verb, "250 ok")


# ---------------------------------------------------------------- Postfix

class Postfix:
    """A private Postfix instance: smtpd on 127.0.0.1:port (STARTTLS with a self-signed
    certificate unless tls=False), mail for domains into one Maildir; the addresses
    in reject are refused at RCPT with 554 5.7.1.

    Its config directory, queue and data directories live in a temporary directory;
    `postfix -c DIR start` runs it, `postfix -c DIR stop` (then abort) ends it.
    """

    def __init__(self, domains=("remote.test",), reject=(), hostname="mx.remote.test",
                 message_size_limit=10240000, tls=True):
        self.dir = tempfile.mkdtemp(prefix="pf-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "q")
        self.data = os.path.join(self.dir, "data")
        self.mail = os.path.join(self.dir, "mail")
        self.logpath = os.path.join(self.dir, "maillog")
        for d in (self.conf, self.queue, self.data, self.mail):
            os.makedirs(d, exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        postfix = pwd.getpwnam("postfix")
        os.chown(self.data, postfix.pw_uid, postfix.pw_gid)
        rejects = ", ".join(f"{{{a}=REJECT no such user here}}" for a in reject)
        access = f"check_recipient_access inline:{{ {rejects} }}, " if reject else ""
        main = f"""
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = {hostname}
mydomain = remote.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP Postfix (test peer)
maillog_file = {self.logpath}
maillog_file_prefixes = {self.dir}
virtual_mailbox_domains = {", ".join(domains)}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
virtual_minimum_uid = 1
smtpd_recipient_restrictions = {access}permit_mynetworks, reject_unauth_destination
message_size_limit = {message_size_limit}
smtputf8_enable = yes
biff = no
append_dot_mydomain = no
readme_directory = no
alias_maps =
alias_database =
local_recipient_maps =
relayhost =
smtp_dns_support_level = disabled
default_transport = error:no outbound mail from the test peer
"""
        if tls:
            cert, key = make_cert(hostname)
            main += (f"smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n"
                     "smtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\n")
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main)
        master = open("/etc/postfix/master.cf").read()
        lines = []
        for line in master.splitlines():
            if re.match(r"^smtp\s+inet\s", line):
                line = f"127.0.0.1:{self.port} inet n - n - - smtpd"
            elif re.match(r"^\w", line) and not line.startswith("#"):
                # Nothing runs chrooted in the private instance (no chroot set up).
                f = line.split()
                if len(f) >= 8 and f[4] == "y":
                    f[4] = "n"
                    line = " ".join(f)
            lines.append(line)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write("\n".join(lines) + "\n")
        try:
            self._postfix("start")
            self._wait_smtpd()
        except Exception:
            self.stop()
            raise

    def _wait_smtpd(self):
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.settimeout(5)
                    if s.recv(512).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"postfix smtpd does not answer:\n{self.log()}")
            time.sleep(0.1)

    def _postfix(self, *args, check=True):
        cmd = ["postfix", "-c", self.conf] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            # postfix(1) reports to syslog, or to stderr when that is a terminal.
            why = subprocess.run(["script", "-qc", " ".join(cmd), "/dev/null"],
                                 capture_output=True, text=True, timeout=60).stdout
            raise RuntimeError(f"postfix {' '.join(args)}: {p.stdout}{p.stderr}{why}\n"
                               f"{self.log()}")
        return p

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def messages(self):
        """Every message delivered into the Maildir (bytes)."""
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.mail, "box", sub)
            if os.path.isdir(d):
                for name in sorted(os.listdir(d)):
                    with open(os.path.join(d, name), "rb") as f:
                        out.append(f.read())
        return out

    def with_token(self, token):
        if isinstance(token, str):
            token = token.encode()
        return [m for m in self.messages() if token in m]

    def _master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        pid = self._master_pid()
        p = self._postfix("stop", check=False)
        if p.returncode != 0:
            self._postfix("abort", check=False)

        def gone():
            if pid is None:
                return True
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            # A zombie is gone too (master's parent is init here).
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().split(") ", 1)[1].startswith("Z")
            except (OSError, IndexError):
                return True
            return False

        deadline = time.monotonic() + 15
        while not gone() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not gone():
            self._postfix("abort", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- helpers

def make_message(subject, token, body="hello\n", headers=None, extra=b""):
    """A small RFC 5322 message with token in its Subject, Message-ID and body (bytes, CRLF)."""
    lines = ["From: <sender@example.test>", "To: <someone@remote.test>",
             f"Subject: {subject} {token}", f"Message-ID: <{token}@example.test>",
             "Date: Mon, 01 Jan 2024 00:00:00 +0000"]
    lines += list(headers or [])
    text = "\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n") + f"token {token}\r\n"
    return text.encode() + extra


def submit(port, sender, rcpts, msg, login=None, starttls_ctx=None, mail_options=(),
           host="127.0.0.1"):
    """Send one message; return its queue id (from the 250 reply to DATA)."""
    with smtplib.SMTP(host, port, timeout=30) as s:
        s.ehlo("client.example.test")
        if starttls_ctx is not None:
            s.starttls(context=starttls_ctx)
            s.ehlo("client.example.test")
        if login is not None:
            s.login(*login)
        code, resp = s.mail(sender, list(mail_options))
        assert code == 250, (code, resp)
        for r in rcpts:
            code, resp = s.rcpt(r)
            assert code in (250, 251), (r, code, resp)
        code, resp = s.data(msg)
        assert code == 250, (code, resp)
        m = QUEUE_ID.search(resp.decode(errors="replace"))
        assert m, resp
        return m.group(1)


class Dsn:
    """A bounce read back with the email package: its parts and fields."""

    def __init__(self, raw):
        self.raw = raw
        self.msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert self.msg.get_content_type() == "multipart/report", self.msg.get_content_type()
        assert self.msg.get_param("report-type") == "delivery-status"
        self.parts = list(self.msg.iter_parts())
        types = [p.get_content_type() for p in self.parts]
        assert len(self.parts) >= 2 and types[0] == "text/plain", types
        assert types[1] == "message/delivery-status", types
        self.text = self.parts[0].get_content()
        blocks = self.parts[1].get_payload()
        assert isinstance(blocks, list) and len(blocks) >= 2, blocks
        self.per_message = blocks[0]
        self.recipients = blocks[1:]
        self.original = None
        for p in self.parts[2:]:
            if p.get_content_type() == "text/rfc822-headers":
                self.original = email.message_from_string(
                    p.get_payload(decode=True).decode("utf-8", "replace"),
                    policy=email.policy.default)
            elif p.get_content_type() == "message/rfc822":
                self.original = p.get_payload()[0]

    def final_recipients(self):
        """The addresses in Final-Recipient fields, in order (without "rfc822;")."""
        out = []
        for b in self.recipients:
            v = str(b["Final-Recipient"])
            kind, _, addr = v.partition(";")
            assert kind.strip().lower() == "rfc822", v
            out.append(addr.strip())
        return out

    def recipient(self, addr):
        for b in self.recipients:
            if str(b["Final-Recipient"]).partition(";")[2].strip().lower() == addr.lower():
                return b
        raise AssertionError(f"{addr} not in the DSN: {self.final_recipients()}")


def dsns(instance, address):
    """Every message in address's Maildir that is a delivery-status report."""
    out = []
    for raw in instance.messages(address):
        m = email.message_from_bytes(raw, policy=email.policy.default)
        if m.get_content_type() == "multipart/report":
            out.append(Dsn(raw))
    return out


def wait_dsn(instance, address, token, timeout=30.0):
    """The one DSN in address's Maildir whose quoted original headers hold token."""
    def find():
        found = [d for d in dsns(instance, address) if token.encode() in d.raw]
        return found
    found = wait_until(find, timeout, f"a bounce for {token} in {address}'s Maildir")
    assert len(found) == 1, f"{len(found)} bounces for {token}"
    return found[0]
