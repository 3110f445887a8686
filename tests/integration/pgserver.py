"""pgserver.py - a private PostgreSQL 15 server for the tests of the shared account store.

The server is Debian's (/usr/lib/postgresql/15/bin), its cluster made by initdb in a
directory of its own under /tmp, run as the unprivileged user the package created
(postgres), listening on a loopback port and a socket in that directory, with trust
authentication for the loopback (nothing else can reach it). It is stopped (fast
shutdown, then SIGKILL) and its directory removed at the end. Every wait is bounded.
"""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import peers

BINDIR = "/usr/lib/postgresql/15/bin"
RUN_AS = "postgres"
SUPERUSER = "mailroom"


def available():
    """Whether PostgreSQL 15 and its user are there (scripts/deps.sh installs them)."""
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        return False
    return os.access(os.path.join(BINDIR, "postgres"), os.X_OK)


class Postgres:
    """One cluster: start(), stop(), query(), a database per test (new_database)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mrpg-", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        self.logpath = os.path.join(self.dir, "postgres.log")
        pw = pwd.getpwnam(RUN_AS)
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)
        self.port = peers.free_port()
        self.proc = None
        self.ndb = 0
        self._as_postgres([os.path.join(BINDIR, "initdb"), "-D", self.data, "-A", "trust",
                           "-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--no-sync"],
                          timeout=120)

    def _as_postgres(self, argv, timeout=60, check=True):
        p = subprocess.run(["runuser", "-u", RUN_AS, "--"] + argv, capture_output=True,
                           text=True, timeout=timeout, cwd=self.dir)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {p.returncode}: {p.stderr}")
        return p

    def start(self, timeout=30, durable=False):
        """Start the server and wait (bounded) until it answers a query. Durability of
        the test cluster is not what the tests test: no fsync unless durable (bench/)."""
        assert self.proc is None
        log = open(self.logpath, "ab")
        fast = [] if durable else ["-c", "fsync=off", "-c", "synchronous_commit=off",
                                   "-c", "full_page_writes=off"]
        self.proc = subprocess.Popen(
            ["runuser", "-u", RUN_AS, "--", os.path.join(BINDIR, "postgres"), "-D", self.data,
             "-p", str(self.port), "-k", self.dir, "-c", "listen_addresses=127.0.0.1",
             "-c", "max_connections=200"] + fast,
            stdout=log, stderr=log, start_new_session=True, cwd=self.dir)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"postgres exited {self.proc.returncode}:\n{self.log()}")
            p = subprocess.run([os.path.join(BINDIR, "pg_isready"), "-q", "-h", "127.0.0.1",
                                "-p", str(self.port)], capture_output=True, timeout=10)
            if p.returncode == 0:
                return self
            time.sleep(0.1)
        raise AssertionError(f"postgres did not answer within {timeout}s:\n{self.log()}")

    def stop(self, timeout=20):
        """Fast shutdown (SIGINT to the postmaster): sessions are cut, as in a failover."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()[-4000:]
        except FileNotFoundError:
            return ""

    def dsn(self, db):
        return f"host=127.0.0.1 port={self.port} dbname={db} user={SUPERUSER}"

    def query(self, sql, db="postgres", check=True):
        """sql run by psql; the rows as lists of strings."""
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                            "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", db,
                            "-c", sql], capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise AssertionError(f"psql {sql!r}: {p.stderr}")
        return [line.split("\t") for line in p.stdout.splitlines() if line != ""]

    def new_database(self):
        """An empty database of its own for a test; its name."""
        self.ndb += 1
        name = f"mr{self.ndb}"
        self.query(f"CREATE DATABASE {name}")
        return name
