"""bench/peers.py - the other side of the benchmarks, on loopback: a DNS server
(dnsmasq) with the benchmark's zones, Postfix's smtp-sink as the remote MX, and
OpenDKIM, the milter that signs for Postfix when both servers are to sign.

The DNS server listens on port 53 of an address of its own in 127.0.0.0/8: Postfix
asks only port 53 of the servers in resolv.conf, so its private instance gets a
resolv.conf naming that address (bound over /etc/resolv.conf in a mount namespace);
mailroom is told the same address with [delivery] resolver.
"""
import base64
import os
import pwd
import re
import socket
import subprocess
import time

from benchlib import free_port, wait_port


def stop_proc(proc, timeout=10):
    """SIGTERM, then SIGKILL after timeout seconds, to a child we started."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def free_dns_address():
    """An address of 127.0.0.0/8 whose port 53 is free for UDP and TCP."""
    for last in range(150, 250):
        addr = f"127.0.0.{last}"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                u.bind((addr, 53))
                t.bind((addr, 53))
            return addr
        except OSError:
            continue
    raise RuntimeError("no address of 127.0.0.150-249 has port 53 free")


class Dnsmasq:
    """dnsmasq answering for .test (and the reverse zones) from the given records,
    NXDOMAIN for any other name there; nothing is forwarded anywhere.

    mx: [(domain, host, pref)]; hosts: {host: ip}; txt: [(name, [string, ...])]
    """

    def __init__(self, work, mx=(), hosts=None, txt=()):
        self.dir = os.path.join(work, "dns")
        os.makedirs(self.dir, exist_ok=True)
        self.addr = free_dns_address()
        lines = ["no-resolv", "no-hosts", "bind-interfaces", f"listen-address={self.addr}",
                 "port=53", "local=/test/", "local=/in-addr.arpa/", "local=/ip6.arpa/",
                 # A TTL as real zones have (dnsmasq gives its own records 0 otherwise),
                 # so that a resolver that caches (libunbound) does.
                 "local-ttl=300", "cache-size=0"]
        for domain, host, pref in mx:
            lines.append(f"mx-host={domain},{host},{pref}")
        for host, ip in (hosts or {}).items():
            lines.append(f"host-record={host},{ip}")
        for name, strings in txt:
            # Raw rdata: dnsmasq's txt-record would split a string at its commas.
            data = b"".join(bytes([len(s)]) + s for s in (x.encode() for x in strings))
            lines.append(f"dns-rr={name},16,{data.hex()}")
        self.conf = os.path.join(self.dir, "dnsmasq.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["dnsmasq", "--keep-in-foreground", f"--conf-file={self.conf}",
                                      f"--pid-file={self.dir}/pid"],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "err"), "wb"),
                                     start_new_session=True)
        self._wait_ready()

    @property
    def resolver(self):
        return f"{self.addr}:53"

    def resolv_conf(self):
        return f"nameserver {self.addr}\noptions attempts:2 timeout:2\n"

    def _wait_ready(self, timeout=10.0):
        query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                 b"\x05probe\x04test\x00\x00\x01\x00\x01")
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(0.2)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("dnsmasq exited: " + open(os.path.join(self.dir, "err")).read())
                try:
                    u.sendto(query, (self.addr, 53))
                    if u.recvfrom(512)[0][:2] == b"\x12\x34":
                        return
                except OSError:
                    time.sleep(0.05)
        raise RuntimeError("dnsmasq does not answer")

    def stop(self, timeout=10):
        stop_proc(self.proc, timeout)
        self.proc = None


class Sink:
    """Postfix's smtp-sink on addr:port (event-driven, one process, PIPELINING, no
    TLS): accepts every message and throws it away. Its -c counters, written to a
    file, say how many messages it has had ("mesg=N" after each final dot)."""
    name = "smtp-sink"

    def __init__(self, work, addr="127.0.0.2", port=None):
        self.addr = addr
        self.port = port or free_port()
        self.out = os.path.join(work, f"smtp-sink-{self.port}.out")
        self.proc = None
        self._offset = self._done = self._last = 0

    def start(self, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            return     # up already
        f = open(self.out, "ab")
        self.proc = subprocess.Popen(["/usr/sbin/smtp-sink", "-c", "-u", "nobody", "-h",
                                      "sink.test", f"{self.addr}:{self.port}", "1024"],
                                     stdout=f, stderr=f, start_new_session=True)
        f.close()
        wait_port(self.port, timeout, host=self.addr)

    def count(self):
        """Messages taken since the file was begun, over every start of the sink (each
        counts from 0 again). The file is read on from where the last call stopped."""
        try:
            with open(self.out, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return 0
        cut = data.rfind(b"\r") + 1      # a record ends with CR; keep a partial one
        self._offset += cut
        for m in re.finditer(rb"mesg=(\d+)", data[:cut]):
            n = int(m.group(1))
            if n < self._last:
                self._done += self._last
            self._last = n
        return self._done + self._last

    def last_write(self):
        return os.stat(self.out).st_mtime

    def stop(self, timeout=10):
        stop_proc(self.proc, timeout)
        self.proc = None

    def roots(self):
        return [self.proc.pid] if self.proc else []


class OpenDKIM:
    """OpenDKIM (Debian's opendkim) as a signing milter on a UNIX socket (as Debian
    sets it up; over TCP on loopback each message waited some 135 ms, the delayed
    ACKs of the milter's small writes), with one key: OpenDKIM signs with one
    algorithm an instance (SignatureAlgorithm), so a Postfix that signs with Ed25519
    and RSA as mailroom does runs two, one after the other (servers.PostfixDKIM).
    relaxed/relaxed as mailroom signs, for mail from 127.0.0.1 (its default
    InternalHosts). records() gives what a verifier needs."""
    name = "OpenDKIM"

    def __init__(self, work, domain, label, selector, alg):
        """alg: "ed25519" or "rsa" (2048 bits); the key is made here with openssl."""
        self.dir = os.path.join(work, label)
        os.makedirs(self.dir, exist_ok=True)
        self.domain, self.selector = domain, selector
        self.socket = os.path.join(self.dir, "milter.sock")
        self.proc = None
        key = os.path.join(self.dir, selector + ".key")
        gen = ["-algorithm", "ed25519"] if alg == "ed25519" else \
            ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        subprocess.run(["openssl", "genpkey", *gen, "-out", key], check=True,
                       capture_output=True, timeout=60)
        der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True, timeout=60).stdout
        # Ed25519's p= is the bare 32-octet key (RFC 8463), RSA's the whole SPKI.
        self.record = (f"v=DKIM1; k={alg}; p="
                       + base64.b64encode(der[-32:] if alg == "ed25519" else der).decode())
        self.conf = os.path.join(self.dir, "opendkim.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# private benchmark instance (bench/run.py)
Syslog no
Mode s
Socket local:{self.socket}
UMask 000
PidFile {self.dir}/opendkim.pid
UserID opendkim
Domain {domain}
Selector {selector}
KeyFile {key}
SignatureAlgorithm {"ed25519-sha256" if alg == "ed25519" else "rsa-sha256"}
Canonicalization relaxed/relaxed
RequireSafeKeys false
""")
        pw = pwd.getpwnam("opendkim")
        for name in os.listdir(self.dir):
            os.chown(os.path.join(self.dir, name), pw.pw_uid, pw.pw_gid)
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.version = subprocess.run(["opendkim", "-V"], capture_output=True, text=True,
                                      timeout=30).stdout.splitlines()[0].split()[-1]

    def milter(self):
        return f"unix:{self.socket}"

    def records(self):
        """{name: TXT value} of the key's record."""
        return {f"{self.selector}._domainkey.{self.domain}": self.record}

    def start(self, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            return
        log = open(os.path.join(self.dir, "opendkim.log"), "ab")
        self.proc = subprocess.Popen(["opendkim", "-f", "-x", self.conf], stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"opendkim did not start: see {self.dir}/opendkim.log")
            time.sleep(0.05)

    def stop(self, timeout=10):
        stop_proc(self.proc, timeout)
        self.proc = None

    def roots(self):
        return [self.proc.pid] if self.proc else []


class Capture:
    """An SMTP server (aiosmtpd, in a thread) on addr that keeps each message it takes:
    where a server sends one message so that its signatures can be checked."""

    def __init__(self, addr="127.0.0.3"):
        from aiosmtpd.controller import Controller

        self.messages = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append(envelope.original_content)
                return "250 kept"

        self.addr = addr
        self.port = free_port()
        self.controller = Controller(Handler(), hostname=addr, port=self.port)

    def start(self):
        self.controller.start()

    def stop(self):
        self.controller.stop()

    def wait(self, n=1, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages[:n] if len(self.messages) >= n else None
