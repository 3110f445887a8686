"""conftest.py - run a real `mailroom serve` on free loopback ports for each test.

An Instance is made with `mailroom init` in its own directory (world-traversable,
so the unprivileged mail user can reach it), its listeners moved to free ports on
127.0.0.1, and the user demo@example.test created. Tests start it, talk to it with
real clients, and stop it; a sanitizer report in its log fails the test.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

import peers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MAILROOM_BIN", os.path.join(ROOT, "build", "san", "mailroom"))
DOMAIN = "example.test"
HOSTNAME = "mx.example.test"
DEMO = "demo@example.test"
DEMO_PASSWORD = "demo-password-1"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")

# One log line (docs/logs.md): the prefix, then "event=NAME" and key=value pairs; a
# value is bare or in double quotes (with \" and \\ inside).
LOG_LINE = re.compile(r'^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) mailroom\[(?P<pid>\d+)\] '
                      r'(?P<role>[a-z][a-z0-9]*): (?:(?P<level>warning|error|debug): )?(?P<body>.*)$')
LOG_BODY = re.compile(r'^event=(?P<event>[a-z][a-z0-9-]*)'
                      r'(?P<kv>(?: [a-z][a-z0-9_]*=(?:"(?:[^"\\]|\\.)*"|[^\s"]+))*)$')
LOG_KV = re.compile(r' ([a-z][a-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^\s"]+)')


def parse_log_line(line):
    """The event of one log line as a dict: "event", the line's keys (a quoted value
    without its quotes, \" made "; other escapes as written) and "_role", "_pid",
    "_level" ("info", "warning", "error") from its prefix. None: not an event line."""
    m = LOG_LINE.match(line)
    if m is None or m.group("level") == "debug":
        return None
    b = LOG_BODY.match(m.group("body"))
    if b is None:
        return None
    ev = {"event": b.group("event"), "_role": m.group("role"), "_pid": int(m.group("pid")),
          "_level": m.group("level") or "info"}
    for key, value in LOG_KV.findall(b.group("kv")):
        if value.startswith('"'):
            value = re.sub(r'\\(.)', lambda x: '"' if x.group(1) == '"' else x.group(0),
                           value[1:-1])
        ev[key] = value
    return ev


def delivery_line(inst, qid, rcpt, status, timeout=30.0):
    """The log line of rcpt's delivery event with that status."""
    def find():
        for line in inst.log().splitlines():
            ev = parse_log_line(line)
            if (ev is not None and ev["event"] == "delivery" and ev["qid"] == qid and
                    ev["to"] == f"<{rcpt}>" and ev["status"] == status):
                return line
        return None
    return peers.wait_until(find, timeout, f"{rcpt} {status} in the log")


def log_format_problems(text):
    """The lines of a serve log that are not as docs/logs.md has them: neither an
    event line, nor a debug line (MAILROOM_TRACE), nor serve's own last word when it
    cannot start ("mailroom: ..."); and the lines of code not made an event yet
    (event=message). Sanitizer reports are conftest's other check."""
    bad = []
    for line in text.splitlines():
        if any(m in line for m in SANITIZER_MARKS) or line.startswith("mailroom: "):
            continue
        m = LOG_LINE.match(line)
        if m is not None and m.group("level") == "debug":
            continue
        ev = parse_log_line(line)
        if ev is None or ev["event"] == "message":
            bad.append(line)
    return bad


def event_matches(ev, event, keys):
    """Whether ev is event (None: any) with every key of keys: a str equal, a compiled
    regex found in the value, None absent."""
    if event is not None and ev["event"] != event:
        return False
    for k, want in keys.items():
        have = ev.get(k)
        if want is None:
            if have is not None:
                return False
        elif have is None:
            return False
        elif isinstance(want, re.Pattern):
            if not want.search(have):
                return False
        elif str(have) != str(want):
            return False
    return True


def free_port():
    """A port on 127.0.0.1 that nothing uses right now (peers.free_port)."""
    return peers.free_port()


def wait_port(port, timeout=20.0, host="127.0.0.1"):
    """Wait until something accepts connections on host:port (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def deferring_settings():
    """Settings under which remote mail stays deferred in the queue, and no traffic
    leaves loopback: the relayhost and the DNS resolver are closed loopback ports."""
    return {("relay", "relayhost"): f"127.0.0.1:{free_port()}",
            ("delivery", "resolver"): f"127.0.0.1:{free_port()}"}


def set_key(text, section, key, value):
    """Set key in [section] of an INI text (replacing or adding the line)."""
    lines = text.split("\n")
    out, cur, done = [], None, False
    for line in lines:
        m = re.match(r"\s*\[([^\]]+)\]", line)
        if m:
            if cur == section and not done:
                out.append(f"{key} = {value}")
                done = True
            cur = m.group(1).strip()
        elif cur == section and re.match(rf"\s*{re.escape(key)}\s*=", line):
            if not done:
                out.append(f"{key} = {value}")
                done = True
            continue
        out.append(line)
    if not done:
        if cur != section:
            out.append(f"[{section}]")
        out.append(f"{key} = {value}")
    return "\n".join(out)


class Instance:
    """One mailroom: its directory, config, ports, process and helpers."""

    SERVICES = ("smtp", "submission", "submissions", "pop3", "pop3s")

    def __init__(self, settings=None):
        self.dir = tempfile.mkdtemp(prefix="mrtest-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "mailroom.conf")
        self.data = os.path.join(self.dir, "data")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.logpath = os.path.join(self.dir, "serve.log")
        self.proc = None
        self.extra_env = {}  # more environment for serve (MAILROOM_WALL_PROBE)
        self.launcher = []  # a command serve runs under (that execs it: unshare, sh -c)
        self.ports = {s: free_port() for s in self.SERVICES}
        self.run_cli("init", self.dir, "--domain", DOMAIN, "--hostname", HOSTNAME, config=False)
        text = open(self.conf).read()
        for svc in self.SERVICES:
            text = set_key(text, "listen", svc, f"127.0.0.1:{self.ports[svc]}")
        # Short retries so that tests of deferral finish quickly.
        text = set_key(text, "delivery", "retry_min", "1s")
        text = set_key(text, "delivery", "retry_max", "2s")
        # These instances have no DNS server (or a closed port for one): the checks of
        # mail from outside would wait on it. Tests of those checks turn them on.
        text = set_key(text, "inbound", "verify", "no")
        for (section, key), value in (settings or {}).items():
            text = set_key(text, section, key, value)
        with open(self.conf, "w") as f:
            f.write(text + "\n")
        # init made the domain in its own SQLite store; a shared (PostgreSQL) store gets
        # it and the demo user from the first of the hosts that use it.
        shared = (settings or {}).get(("accounts", "backend")) == "postgresql"
        if shared:
            self.run_cli("domain", "add", DOMAIN, check=False)
        self.run_cli("user", "add", DEMO, input=DEMO_PASSWORD + "\n", check=not shared)

    # -- the command line --
    def run_cli(self, *args, input=None, check=True, config=True):
        cmd = [BIN] + (["-c", self.conf] if config else []) + list(args)
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr}")
        return p

    def set(self, section, key, value):
        text = open(self.conf).read()
        with open(self.conf, "w") as f:
            f.write(set_key(text, section, key, value) + "\n")

    def add_user(self, address, password):
        self.run_cli("user", "add", address, input=password + "\n")

    # -- the server --
    def start(self, wait=True):
        mark = self.log_mark()
        log = open(self.logpath, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        env.update(self.extra_env)
        self.proc = subprocess.Popen(self.launcher + [BIN, "-c", self.conf, "serve"], stdout=log,
                                     stderr=log, start_new_session=True, env=env)
        log.close()
        if wait:
            for svc in ("smtp", "submission", "pop3"):
                wait_port(self.ports[svc])
            # this start's queued, not an earlier one's line in the same log
            self.wait_event("started", since=mark, _role="queued", timeout=20)
        return self

    def stop(self, timeout=12):
        """SIGTERM; the server must exit 0 within the contract's 10 s."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError("serve did not stop within %ss" % timeout)
        self.proc = None
        return rc

    def kill9(self):
        """kill -9 of every mailroom process of this instance."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None
        # The roles die with their supervisor (PDEATHSIG); wait until the ports are free.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = subprocess.run(["pgrep", "-f", self.conf], capture_output=True, text=True)
            if not out.stdout.strip():
                break
            time.sleep(0.05)

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_mark(self):
        """The log's length now: pass it as since= to wait_log to look only at what follows."""
        return len(self.log())

    def wait_log(self, pattern, timeout=20.0, count=1, since=0):
        """Wait until the log (from offset since) holds pattern (a regex) count times;
        return the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if len(re.findall(pattern, text[since:])) >= count:
                return text
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"log lacks {pattern!r} x{count}:\n{self.log()[-4000:]}")

    def events(self, event=None, since=0, **keys):
        """The events of the log (from offset since) that match (event_matches)."""
        out = []
        for line in self.log()[since:].splitlines():
            ev = parse_log_line(line)
            if ev is not None and event_matches(ev, event, keys):
                out.append(ev)
        return out

    def wait_event(self, event, since=0, count=1, timeout=20.0, **keys):
        """Wait until the log (from offset since) has count events that match; return
        them all. Keys that are no identifiers (from): pass them as **{"from": ...}."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(event, since, **keys)
            if len(found) >= count:
                return found
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"log lacks event={event} {keys} x{count}:\n{self.log()[-4000:]}")

    def sanitizer_reports(self):
        text = self.log()
        return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKS)]

    # -- mailboxes --
    def maildir(self, address):
        local, domain = address.lower().split("@")
        return os.path.join(self.data, "mail", domain, local)

    def messages(self, address):
        """Contents of every message in the Maildir (new and cur), oldest name first."""
        out = []
        md = self.maildir(address)
        for sub in ("new", "cur"):
            d = os.path.join(md, sub)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    out.append(f.read())
        return out

    def wait_messages(self, address, n, timeout=20.0):
        """Wait until address has at least n messages; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.messages(address)
            if len(msgs) >= n:
                return msgs
            time.sleep(0.05)
        raise AssertionError(f"{address} has {len(self.messages(address))} messages, "
                             f"wanted {n}; log:\n{self.log()[-4000:]}")

    def messages_with(self, address, token):
        """The messages of address that contain token (bytes or str)."""
        if isinstance(token, str):
            token = token.encode()
        return [m for m in self.messages(address) if token in m]

    def wait_token(self, address, token, n=1, timeout=20.0):
        """Wait until n messages of address contain token; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.messages_with(address, token)
            if len(msgs) >= n:
                return msgs
            time.sleep(0.05)
        raise AssertionError(f"{address}: {len(self.messages_with(address, token))} messages "
                             f"with {token!r}, wanted {n}; log:\n{self.log()[-4000:]}")

    def wait_removed(self, qid, timeout=20.0):
        """Wait until message qid has left the queue (every recipient final): the log
        has its event=removed, or `queue list` no longer shows it."""
        deadline = time.monotonic() + timeout
        next_cli = 0.0
        while time.monotonic() < deadline:
            if self.events("removed", qid=qid):
                return
            if time.monotonic() >= next_cli:
                if qid not in self.queue_ids():
                    return
                next_cli = time.monotonic() + 0.5
            time.sleep(0.05)
        raise AssertionError(f"{qid} still queued after {timeout}s:\n{self.log()[-4000:]}")

    def queue_ids(self):
        """Queue ids that `queue list` shows."""
        out = self.run_cli("queue", "list").stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    def pids(self):
        """Process ids of this instance's mailroom processes (supervisor and roles)."""
        out = subprocess.run(["pgrep", "-f", self.conf], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def ssl_context(self):
        """A client context that trusts this instance's self-signed certificate."""
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        return ctx

    def cleanup(self):
        if self.proc is not None:
            self.kill9()
        shutil.rmtree(self.dir, ignore_errors=True)


def _instances():
    """Generator behind the instance factories: make, then stop and check every one."""
    made = []

    def make(settings=None, start=True):
        inst = Instance(settings)
        made.append(inst)
        if start:
            inst.start()
        return inst

    yield make
    problems = []
    for inst in made:
        if inst.proc is not None:
            rc = inst.stop()
            if rc != 0:
                problems.append(f"serve exited {rc}")
        bad = log_format_problems(inst.log())
        if bad:
            problems.append("log lines not in the format of docs/logs.md:\n" + "\n".join(bad[:20]))
        reports = inst.sanitizer_reports()
        if reports:
            problems.append("sanitizer reports:\n" + "\n".join(reports[:20]) +
                            "\n" + inst.log()[-6000:])
        inst.cleanup()
    assert not problems, "\n".join(problems)


@pytest.fixture
def make_instance():
    """Factory: make_instance(settings) -> a started Instance, stopped and checked after."""
    yield from _instances()


@pytest.fixture(scope="module")
def make_module_instance():
    """As make_instance, for instances that several tests of a module share."""
    yield from _instances()


@pytest.fixture(scope="module")
def pg():
    """A private PostgreSQL 15 server for the module's tests (pgserver.py), stopped after."""
    import pgserver
    if not pgserver.available():
        pytest.fail("PostgreSQL 15 is not installed (make deps installs postgresql-15)")
    server = pgserver.Postgres().start()
    yield server
    server.close()


@pytest.fixture
def instance(make_instance):
    """A started instance with the default test settings."""
    return make_instance()


@pytest.fixture
def sinks():
    """Factory: sinks(**kw) -> a peers.Sink, stopped at the end of the test."""
    made = []

    def make(**kw):
        s = peers.Sink(**kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()
