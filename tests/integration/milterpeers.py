"""milterpeers.py - milters for test_milter.py, each on loopback, each stopped at the end.

Rspamd    Debian's rspamd: its proxy worker in milter mode in front of a normal
          worker, from a private configuration directory (no redis), with the
          milter_headers module adding its headers; DNS to a dnsmasq that knows
          nothing, so lookups fail fast.
PyMilter  pymilter_peer.py (python3-milter, on libmilter) in a child process.
RawMilter a milter written here on the bare protocol, for what a well-behaved
          library will not do: stall, or answer garbage.
"""
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from conftest import free_port, wait_port
from peers import Dns

HERE = os.path.dirname(os.path.abspath(__file__))


def _stop(proc, timeout=15):
    """SIGTERM to proc's process group, SIGKILL if it lingers (bounded)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class Rspamd:
    """rspamd on 127.0.0.1: self.port is its milter (proxy worker)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rspamd-", dir="/tmp")
        self.dns = Dns()
        self.port = free_port()
        normal, controller = free_port(), free_port()
        for sub in ("local.d", "override.d", "db", "run", "log"):
            os.makedirs(os.path.join(self.dir, sub))
        files = {
            "override.d/worker-proxy.inc": f"""
bind_socket = "127.0.0.1:{self.port}";
milter = yes;
timeout = 120s;
count = 1;
upstream "local" {{
  default = yes;
  hosts = "127.0.0.1:{normal}";
}}
""",
            "override.d/worker-normal.inc": f'bind_socket = "127.0.0.1:{normal}";\ncount = 1;\n',
            "override.d/worker-controller.inc":
                f'bind_socket = "127.0.0.1:{controller}";\ncount = 1;\n',
            "override.d/logging.inc":
                'type = "file";\nfilename = "$LOGDIR/rspamd.log";\nlevel = "info";\n',
            "override.d/options.inc": f"""
pidfile = "$RUNDIR/rspamd.pid";
dns {{
  nameserver = ["{self.dns.resolver}"];
  timeout = 1s;
  retransmits = 1;
}}
""",
            # The headers rspamd asks its MTA to add; loopback clients are no exception.
            "local.d/milter_headers.conf": """
extended_spam_headers = true;
skip_local = false;
skip_authenticated = false;
""",
        }
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.logpath = os.path.join(self.dir, "log", "rspamd.log")
        out = open(os.path.join(self.dir, "stdout.txt"), "wb")
        args = ["rspamd", "-f", "-i", "-u", "root", "-g", "root", "-c", "/etc/rspamd/rspamd.conf"]
        for var, sub in (("LOCAL_CONFDIR", ""), ("DBDIR", "db"), ("RUNDIR", "run"),
                         ("LOGDIR", "log")):
            args.append(f"--var={var}={os.path.join(self.dir, sub).rstrip('/')}")
        self.proc = subprocess.Popen(args, stdout=out, stderr=out, start_new_session=True)
        out.close()
        try:
            # Loading its rules takes rspamd a while on a small machine.
            wait_port(self.port, timeout=120)
        except TimeoutError:
            raise AssertionError("rspamd did not start:\n" + self.log()[-3000:])

    def log(self):
        text = ""
        for name in (self.logpath, os.path.join(self.dir, "stdout.txt")):
            try:
                with open(name, errors="replace") as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def stop(self):
        _stop(self.proc)
        self.dns.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PyMilter:
    """pymilter_peer.py on inet:127.0.0.1:port, or on a unix socket when unix is true."""

    def __init__(self, unix=False):
        self.dir = tempfile.mkdtemp(prefix="pymilter-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.record = os.path.join(self.dir, "record.jsonl")
        if unix:
            self.path = os.path.join(self.dir, "milter.sock")
            spec, self.spec = f"unix:{self.path}", f"unix:{self.path}"
        else:
            self.port = free_port()
            spec, self.spec = f"inet:{self.port}@127.0.0.1", f"inet:127.0.0.1:{self.port}"
        out = open(os.path.join(self.dir, "out.txt"), "wb")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "pymilter_peer.py"), spec,
                                      self.record], stdout=out, stderr=out,
                                     start_new_session=True)
        out.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._listening():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("pymilter_peer did not start: " + self.output())

    def _listening(self):
        if not hasattr(self, "path"):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                return False
        return os.path.exists(self.path)

    def output(self):
        try:
            with open(os.path.join(self.dir, "out.txt"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def records(self):
        """Every message it saw: dicts, the body as bytes."""
        try:
            with open(self.record) as f:
                out = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        for r in out:
            r["body"] = base64.b64decode(r["body"])
        return out

    def record_with(self, token, timeout=10.0):
        """The record of the message whose Subject holds token (bounded wait)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in self.records():
                if any(n.lower() == "subject" and token in v for n, v in r["headers"]):
                    return r
            time.sleep(0.05)
        raise AssertionError(f"the milter saw no message with {token}: {self.output()}")

    def stop(self):
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def _packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


class RawMilter:
    """A milter on the bare protocol, on 127.0.0.1:self.port, one thread per connection.

    It asks for no reply to any stage but the end of the message (as rspamd does),
    or with replies=True it replies to every stage, and to the Subject field with a
    header change when that holds mt-early (which is only allowed at the end).
    At the end of the message, by a word in the Subject field:
      mt-stall    no reply until release(token) is called for the token in the Subject
                  (or forever, for a time limit to end)
      mt-garbage  octets that are no milter reply (a length of 0xffffffff)
      mt-unknown  a packet of an unknown reply command
      anything    continue
    """

    NO_REPLIES = 0x80 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x40000 | 0x80000

    def __init__(self, replies=False):
        self.replies = replies
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.spec = f"inet:127.0.0.1:{self.port}"
        self.released = set()
        self.lock = threading.Lock()
        self.seen = []  # subjects that reached the end of the message
        self.stopping = False
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def release(self, token):
        with self.lock:
            self.released.add(token)

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._talk, args=(c,), daemon=True).start()

    @staticmethod
    def _read(c, n):
        data = b""
        while len(data) < n:
            part = c.recv(n - len(data))
            if not part:
                raise EOFError
            data += part
        return data

    def _talk(self, c):
        c.settimeout(60)
        subject = ""
        try:
            while True:
                n = struct.unpack(">I", self._read(c, 4))[0]
                pkt = self._read(c, n)
                cmd, data = pkt[:1], pkt[1:]
                if cmd == b"O":
                    flags = 0 if self.replies else self.NO_REPLIES
                    c.sendall(_packet(b"O", struct.pack(">III", 6, 0x31, flags)))
                    continue
                if cmd == b"L":
                    name, value = data.split(b"\0")[:2]
                    if name.lower() == b"subject":
                        subject = value.decode(errors="replace")
                        if self.replies and "mt-early" in subject:
                            c.sendall(_packet(b"h", b"X-Early\0no\0"))
                            continue
                if cmd == b"E":
                    with self.lock:
                        self.seen.append(subject)
                    if not self._answer(c, subject):
                        return
                elif cmd == b"Q":
                    return
                elif self.replies and cmd in b"CHMRTLNB":
                    c.sendall(_packet(b"c"))
        except (EOFError, OSError, struct.error):
            return
        finally:
            c.close()

    def _answer(self, c, subject):
        if "mt-stall" in subject:
            token = subject.split()[-1]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not self.stopping:
                with self.lock:
                    if token in self.released:
                        break
                time.sleep(0.05)
            else:
                return False
        if "mt-garbage" in subject:
            c.sendall(b"\xff\xff\xff\xffgarbage")
            return False
        if "mt-unknown" in subject:
            c.sendall(_packet(b"Z", b"what"))
            return False
        c.sendall(_packet(b"c"))
        return True

    def stop(self):
        self.stopping = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.thread.join(timeout=5)
