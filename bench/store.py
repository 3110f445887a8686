#!/usr/bin/python3
"""store.py - the account store's cost: SQLite (the default) against PostgreSQL.

For each backend, with a small store (10 domains, 100 users) and a large one (10,000
domains, 100,000 users, loaded with `mailroom accounts import`):

- the import's time and the store's size on disk;
- RCPT lookups a second: `rcptload rcpt` (bench/rcptload.c), 10 and 100 SMTP sessions
  each sending RCPT TO an existing user after another, for a few seconds, medians of
  runs; every RCPT is a resolution in lookupd (domain, alias, user, +tag, vacation);
- login latency: `rcptload login`, 10 and 100 sessions making logins (EHLO, AUTH
  PLAIN, QUIT on submission) until a total is reached: median, 95th percentile and
  maximum of the time from AUTH to its reply.

mailroom is the release build (build/mailroom), started and stopped here on loopback
ports; PostgreSQL 15 a private cluster (tests/integration/pgserver.py), durable (fsync
on, as SQLite is), on the same machine. Run as root:

    make bench-store                     # writes bench/RESULTS-store.md
    make bench-store BENCH_ARGS=--quick  # shorter runs, bench/RESULTS-store-quick.md

Benchmarks print figures; nothing asserts on time.
"""
import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import pgserver  # noqa: E402
from run import free_port, say, set_key, sh, wait_port, wait_until  # noqa: E402

MAILROOM = os.path.join(ROOT, "build", "mailroom")
LOGIN = "login@d0.test"
PASSWORD = "bench-password-1"
KEY_PEM = ("-----BEGIN PRIVATE KEY-----\n"
           "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
           "-----END PRIVATE KEY-----\n")
KEY_PUB = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="
# Any yescrypt hash: the bulk users never log in.
BULK_HASH = "$y$j9T$F5Jx5fExrKuJdjF8DQVUx1$Mp1mVZp3OsVBtSo10MNUw7w4nxmx7z.J.Wqj1Sj0xn0"


def dump(ndomains, nusers):
    """An export (accounts_dump.h) of ndomains domains and nusers users, and the users."""
    domains = [f"d{i}.test" for i in range(ndomains)]
    users = [f"u{i}@{domains[i % ndomains]}" for i in range(nusers)]
    doc = {"format": "mailroom-accounts", "version": 1, "schema": 2, "tables": {
        "domains": [{"name": d} for d in domains],
        "users": [{"address": u, "domain": u.split("@")[1], "hash": BULK_HASH, "quota": 0}
                  for u in users],
        # an alias in every tenth domain, so that lookups meet some
        "aliases": [{"source": f"info@{d}", "target": users[i], "seq": 1}
                    for i, d in enumerate(domains[::10])],
        # a signing key per domain (of a real key's size; they sign nothing here), so
        # that serve has none to make at its start
        "dkim_keys": [{"domain": d, "selector": "bench", "algorithm": "ed25519",
                       "private_pem": KEY_PEM, "public_b64": KEY_PUB, "created": 0,
                       "sign_from": 0} for d in domains],
    }}
    return json.dumps(doc), users


class Host:
    """One mailroom serve on loopback, its store SQLite or the dsn given."""

    def __init__(self, work, name, dsn=None):
        self.dir = os.path.join(work, name)
        self.conf = os.path.join(self.dir, "mailroom.conf")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(work, f"{name}.log")
        self.smtp_port, self.sub_port = free_port(), free_port()
        self.proc = None
        sh([MAILROOM, "init", self.dir, "--domain", "d0.test", "--hostname", "mx.bench.test"])
        # init's own store goes: the import fills an empty one
        for f in ("accounts.db", "accounts.db-wal", "accounts.db-shm"):
            if os.path.exists(os.path.join(self.data, f)):
                os.unlink(os.path.join(self.data, f))
        text = open(self.conf).read()
        for key, val in (("smtp", f"127.0.0.1:{self.smtp_port}"),
                         ("submission", f"127.0.0.1:{self.sub_port}"), ("submissions", ""),
                         ("pop3", ""), ("pop3s", "")):
            text = set_key(text, "listen", key, val)
        for key, val in (("max_recipients", "100000"), ("max_connections", "10000"),
                         ("max_connections_per_ip", "10000"), ("login_queue", "100000"),
                         ("login_failures_per_client", "1000000"),
                         ("login_failures_per_account", "1000000")):
            text = set_key(text, "limits", key, val)
        text = set_key(text, "inbound", "verify", "no")
        text = set_key(text, "dkim", "algorithms", "ed25519")  # the keys the dump holds
        if dsn is not None:
            text = set_key(text, "accounts", "backend", "postgresql")
            text = set_key(text, "accounts", "dsn", dsn)
        with open(self.conf, "w") as f:
            f.write(text + "\n")

    def cli(self, *args, input=None, timeout=600):
        return sh([MAILROOM, "-c", self.conf] + list(args), input=input, timeout=timeout)

    def start(self, timeout=60):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([MAILROOM, "-c", self.conf, "serve"], stdout=log,
                                         stderr=log, start_new_session=True)
        wait_port(self.smtp_port, timeout)
        wait_port(self.sub_port, timeout)

        def started():
            with open(self.log, errors="replace") as f:
                return "queued: started" in f.read()
        wait_until(started, timeout, what="queued")

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


def rcpt_rate(tool, host, sessions, seconds, addrfile, runs):
    rates = []
    for _ in range(runs):
        out = sh([tool, "rcpt", "127.0.0.1", str(host.smtp_port), str(sessions), str(seconds),
                  addrfile], timeout=seconds + 120).stdout
        f = dict(kv.split("=") for kv in out.split())
        if int(f["refused"]) != 0:
            raise RuntimeError(f"RCPT refused during the run: {out}")
        rates.append(float(f["rate"]))
    return statistics.median(rates), min(rates), max(rates)


def login_latency(tool, host, sessions, total):
    out = sh([tool, "login", "127.0.0.1", str(host.sub_port), str(sessions), str(total), LOGIN,
              PASSWORD], timeout=1200).stdout
    f = dict(kv.split("=") for kv in out.split())
    if int(f["failed"]) != 0:
        raise RuntimeError(f"logins failed during the run: {out}")
    return float(f["p50_ms"]), float(f["p95_ms"]), float(f["max_ms"]), \
        int(f["logins"]) / float(f["seconds"])


def store_size(host, pg, db):
    if pg is None:
        return sum(os.path.getsize(os.path.join(host.data, f)) for f in
                   ("accounts.db", "accounts.db-wal") if os.path.exists(os.path.join(host.data, f)))
    return int(pg.query(f"SELECT pg_database_size('{db}')")[0][0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs")
    ap.add_argument("--out", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("store.py: run as root (mailroom drops to its users; PostgreSQL runs as postgres)")
    if not pgserver.available():
        sys.exit("store.py: PostgreSQL 15 is missing (make deps)")
    seconds, runs, logins = (3, 1, 60) if args.quick else (8, 3, 400)
    out = args.out or os.path.join(ROOT, "bench", "RESULTS-store-quick.md" if args.quick
                                   else "RESULTS-store.md")
    work = tempfile.mkdtemp(prefix="mailroom-bench-store-", dir="/tmp")
    os.chmod(work, 0o755)
    tool = os.path.join(work, "rcptload")
    sh(["cc", "-O2", "-std=c17", "-D_GNU_SOURCE", "-o", tool,
        os.path.join(ROOT, "bench", "rcptload.c"), "-lpthread"])
    pg = pgserver.Postgres().start(durable=True)
    rows = []
    try:
        for ndomains, nusers in ((10, 100), (10000, 100000)):
            text, users = dump(ndomains, nusers)
            addrfile = os.path.join(work, f"addresses-{nusers}")
            rnd = random.Random(1)
            with open(addrfile, "w") as f:
                f.write("\n".join(rnd.sample(users, min(len(users), 10000))) + "\n")
            for backend in ("sqlite", "postgresql"):
                db = pg.new_database() if backend == "postgresql" else None
                host = Host(work, f"{backend}-{nusers}", pg.dsn(db) if db else None)
                say(f"== {backend}, {ndomains} domains, {nusers} users")
                t0 = time.monotonic()
                host.cli("accounts", "import", input=text)
                load_s = time.monotonic() - t0
                host.cli("user", "add", LOGIN, input=PASSWORD + "\n")
                size = store_size(host, pg if db else None, db)
                try:
                    host.start()
                    row = {"backend": backend, "domains": ndomains, "users": nusers,
                           "load_s": load_s, "size": size}
                    for s in (10, 100):
                        row[f"rcpt{s}"] = rcpt_rate(tool, host, s, seconds, addrfile, runs)
                        say(f"   RCPT, {s} sessions: {row[f'rcpt{s}'][0]:.0f}/s")
                    for s in (10, 100):
                        row[f"login{s}"] = login_latency(tool, host, s, logins)
                        say(f"   login, {s} sessions: p50 {row[f'login{s}'][0]:.0f} ms")
                finally:
                    host.stop()
                rows.append(row)
    finally:
        pg.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    write(out, rows, seconds, runs, logins)
    say(f"wrote {out}")


def write(path, rows, seconds, runs, logins):
    commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    lines = [
        "# The account store: SQLite and PostgreSQL",
        "",
        f"`bench/store.py` at {commit}; {cpu}, {os.cpu_count()} cores, Linux "
        f"{platform.release()}, load average {os.getloadavg()[0]:.1f} at the end. RCPT: "
        f"{seconds} s runs, median of {runs} (min-max); logins: {logins} a row. PostgreSQL 15 "
        "on the same machine, durable (fsync on), over TCP on loopback.",
        "",
        "| backend | domains | users | import | size | RCPT/s, 10 sessions | RCPT/s, 100 sessions "
        "| login p50 / p95 ms, 10 | login p50 / p95 ms, 100 | logins/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        r10, r100 = r["rcpt10"], r["rcpt100"]
        l10, l100 = r["login10"], r["login100"]
        lines.append(
            f"| {r['backend']} | {r['domains']:,} | {r['users']:,} | {r['load_s']:.1f} s "
            f"| {r['size'] / 1048576:.1f} MiB | {r10[0]:,.0f} ({r10[1]:,.0f}-{r10[2]:,.0f}) "
            f"| {r100[0]:,.0f} ({r100[1]:,.0f}-{r100[2]:,.0f}) | {l10[0]:.0f} / {l10[1]:.0f} "
            f"| {l100[0]:.0f} / {l100[1]:.0f} | {l100[3]:.0f} |")
    lines += [
        "",
        "Reading it: a RCPT is answered by lookupd, which smtpd asks and waits for (one",
        "question at a time per smtpd), so more sessions queue behind one another rather",
        "than adding throughput; with PostgreSQL each RCPT is several round trips (domain,",
        "alias, user, vacation) to the server. A login is one yescrypt hash on one of",
        "lookupd's two password threads, whichever the store: its latency grows with the",
        "sessions waiting, not with the backend.",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
