"""bench/peers.py - the other side of the benchmarks, on loopback: a DNS server
(dnsmasq) with the benchmark's zones, and Postfix's smtp-sink as the remote MX.

The DNS server listens on port 53 of an address of its own in 127.0.0.0/8: Postfix
asks only port 53 of the servers in resolv.conf, so its private instance gets a
resolv.conf naming that address (bound over /etc/resolv.conf in a mount namespace);
mailroom is told the same address with [delivery] resolver.
"""
import os
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
