#!/usr/bin/python3
"""bench/run.py - mailroom against Postfix, OpenSMTPD and Dovecot, one machine, one run.

    /usr/bin/python3 bench/run.py [--quick] [--only PARTS] [--out FILE] [--keep] [--fs image|plain]

(`make bench` builds build/mailroom and build/bench/dkimrate and runs this.) It must
run as root: it starts private instances of every server on free loopback ports,
under a work directory in /tmp (on a fresh ext4 image of its own: bench/workfs.py),
and stops them at the end, whatever happens.

Parts, in order (--only takes a comma-separated subset):
  fsync      the disk's limit: write+fsync+rename+directory-fsync, 1 and 8 writers
  smtp       5,000 x 10 KiB at 1, 10, 50 sessions and 1,000 x 1 MiB at 10 sessions,
             into one Maildir, from a trusted client; acceptance and end-to-end
             rates, medians of 3, runs of the three servers interleaved
  inbound    5,000 x 10 KiB DKIM-signed messages at 1, 10, 50 sessions from an
             untrusted client, mailroom's checks on (SPF, DKIM, DMARC against the
             benchmark's DNS server), against Postfix as a plain MX
  outbound   10,000 x 10 KiB from a trusted client to 100 remote domains whose MX is
             a loopback smtp-sink, end to end; mailroom signs, Postfix relays, and
             Postfix+OpenDKIM signs as mailroom does
  backlog    100,000 messages deferred while the sink is down, then drained: time,
             RSS and CPU of the queue's process, queue list time
  memory     PSS per idle SMTP connection (1,000 open) and per POP3 session (100)
  idle       10,000 idle SMTP connections to mailroom (1,000 to Postfix): PSS each
  pop3       login + LIST + RETR of 5,000 messages, mailroom pop3d against Dovecot
  dkim       DKIM signatures and verifications a second on one core (dkimrate.c)
  callgrind  instructions per message in mailroom (valgrind): plain, with the
             checks on, and outbound with signing; the top costs of each

Figures are printed as they come and written to bench/RESULTS.md (or --out).
Nothing here asserts on time: the targets are reported, not enforced.
"""
import argparse
import datetime
import os
import platform
import pwd
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import (BENCH, DOMAIN, MAILROOM, MAIL_USER, PASSWORD, RCPT, ROOT, SMTP_SOURCE,
                      children_cpu, chown_tree, clear_maildir, copy_messages, count_new,
                      cpu_seconds, interleave, pss_kib, say, sh, stats, wait_until)
from part_callgrind import CallgrindPart
from part_dkim import DkimPart
from part_idle import IdlePart
from part_inbound import InboundParts
from part_outbound import OutboundParts
from servers import Dovecot, Mailroom, OpenSMTPD, Postfix
from workfs import WorkFS


FULL = dict(small_n=5000, small_size=10240, sessions=(1, 10, 50), big_n=1000,
            big_size=1 << 20, big_sessions=10, reps=3, fsync_ops=5000,
            pop_msgs=5000, idle_smtp=1000, idle_pop=100, pop_box_msgs=10,
            cg_small=50, cg_large=250, out_n=10000, out_domains=100, out_sessions=10,
            backlog_n=100000, backlog_reps=1, dkim_seconds=2, idle_many=10000, idle_postfix=1000)
QUICK = dict(small_n=500, small_size=10240, sessions=(1, 10, 50), big_n=50,
             big_size=1 << 20, big_sessions=10, reps=3, fsync_ops=500,
             pop_msgs=1000, idle_smtp=200, idle_pop=20, pop_box_msgs=10,
             cg_small=20, cg_large=60, out_n=1000, out_domains=100, out_sessions=10,
             backlog_n=5000, backlog_reps=3, dkim_seconds=0.3, idle_many=3000, idle_postfix=200)
PARTS = ("fsync", "smtp", "inbound", "outbound", "backlog", "memory", "idle", "pop3", "dkim",
         "callgrind")


# ---------------------------------------------------------------- the bench

class Bench(InboundParts, OutboundParts, IdlePart, DkimPart, CallgrindPart):
    def __init__(self, args):
        self.args = args
        self.cfg = QUICK if args.quick else FULL
        self.parts = args.only.split(",") if args.only else list(PARTS)
        for p in self.parts:
            if p not in PARTS:
                sys.exit(f"bench: unknown part {p!r} (parts: {', '.join(PARTS)})")
        self.work = tempfile.mkdtemp(prefix="mailroom-bench-", dir="/tmp")
        os.chmod(self.work, 0o755)
        self.workfs = WorkFS(self.work)
        if getattr(args, "fs", "image") == "image" and not self.workfs.mount():
            say(f"bench: the work dir stays on its own file system: {self.workfs.why_not}")
        self.bin = os.path.join(self.work, "bin")
        os.makedirs(self.bin)
        benchlib.SPENT_DIR = os.path.join(self.work, "spent")
        self.servers = []
        self.helpers = []          # DNS server, sink: stopped after the servers
        self.results = {}
        self.notes = []
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.load_start = " ".join(open("/proc/loadavg").read().split()[:3])
        self.t0 = time.monotonic()

    # -- set-up and tear-down --
    def snapshot_mailroom(self):
        """Copy build/mailroom into the work dir and use the copy throughout: others
        may rebuild build/mailroom while the benchmark runs."""
        dst = os.path.join(self.bin, "mailroom")
        for attempt in range(30):
            try:
                shutil.copy2(benchlib.MAILROOM, dst)
                if sh([dst, "version"], check=False).returncode == 0:
                    break
            except OSError:
                pass
            time.sleep(1)
        else:
            raise RuntimeError(f"cannot take a working copy of {benchlib.MAILROOM}")
        self.mailroom_sha = sh(["sha256sum", dst]).stdout.split()[0][:16]
        commit = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
        dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "src"],
                   check=False).stdout.strip()
        self.mailroom_rev = commit + (" + uncommitted changes in src/" if dirty else "")
        benchlib.MAILROOM = dst

    def compile_tools(self):
        for tool in ("fsyncbench", "pop3load", "smtpload"):
            sh(["cc", "-std=c17", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-o",
                os.path.join(self.bin, tool), os.path.join(BENCH, tool + ".c"), "-lpthread"])

    def stop_all(self):
        for s in reversed(self.servers):
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                say(f"  stopping {s.name}: {e}")
        self.servers = []
        for h in reversed(self.helpers):
            try:
                h.stop()
            except Exception as e:
                say(f"  stopping {type(h).__name__}: {e}")
        self.helpers = []

    def remove_work(self):
        self.workfs.remove()

    def stop_server(self, server):
        server.stop()
        if server in self.servers:
            self.servers.remove(server)

    def start(self, server):
        self.servers.append(server)
        server.start()
        return server

    # -- machine facts --
    def facts(self):
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        fs = sh(["findmnt", "-n", "-o", "FSTYPE,SOURCE,OPTIONS", "-T", self.work],
                check=False).stdout.strip()
        mem = "?"
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = f"{int(line.split()[1]) // 1024} MiB"

        def pkg(name):
            p = sh(["dpkg-query", "-W", "-f=${Version}", name], check=False)
            return p.stdout.strip() if p.returncode == 0 else "not installed"

        osrel = "?"
        try:
            with open("/etc/os-release") as f:
                osrel = re.search(r'PRETTY_NAME="([^"]+)"', f.read()).group(1)
        except (OSError, AttributeError):
            pass
        return {
            "date": self.started.strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu, "cores": os.cpu_count(), "memory": mem,
            "kernel": platform.release(), "os": osrel,
            "filesystem": fs, "work dir": f"{self.work}, on {self.workfs.describe()}",
            "loadavg at start": self.load_start,
            "mailroom": f"{getattr(self, 'mailroom_rev', '?')} (build/mailroom, sha256"
                        f" {getattr(self, 'mailroom_sha', '?')}...)",
            "postfix": pkg("postfix"), "opendkim": pkg("opendkim"), "opensmtpd": getattr(self, "osd_version", "?"),
            "dovecot-pop3d": pkg("dovecot-pop3d"), "valgrind": pkg("valgrind"),
            "libevent": pkg("libevent-2.1-7"), "cc": sh(["cc", "--version"]).stdout.splitlines()[0],
        }

    # -- fsync --
    def part_fsync(self):
        say("== fsync: write+fsync+rename+fsync(new/), 10 KiB files")
        d = os.path.join(self.work, "fsync")
        os.makedirs(d)
        res = {}
        for writers in (1, 8):
            runs = []
            for rep in range(self.cfg["reps"]):
                os.sync()
                out = sh([os.path.join(self.bin, "fsyncbench"), d, str(writers),
                          str(self.cfg["fsync_ops"]), "10240"], timeout=600).stdout
                rate = float(re.search(r"ops_per_s=([\d.]+)", out).group(1))
                runs.append(rate)
                say(f"  {writers} writer(s), run {rep + 1}: {rate:.0f} ops/s")
            res[writers] = stats(runs)
        self.results["fsync"] = res

    # -- SMTP --
    def smtp_servers(self):
        if getattr(self, "_smtp_servers", None) is None:
            idle = self.cfg["idle_smtp"]
            mr = self.mailroom()
            pf = self.start(Postfix(self.work, max_smtpd=idle + 100))
            say(f"  Postfix {pf.version} on 127.0.0.1:{pf.smtp_port}")
            try:
                osd = OpenSMTPD(self.work)
                self.osd_version = osd.version
                self.start(osd)
                say(f"  OpenSMTPD {osd.version} on 127.0.0.1:{osd.smtp_port}")
            except Exception as e:
                self.notes.append(f"OpenSMTPD could not be run: {e}")
                say(f"  OpenSMTPD could not be run: {e}")
                osd = None
            self._smtp_servers = [s for s in (mr, pf, osd) if s]
        return self._smtp_servers

    def mailroom(self):
        if getattr(self, "_mailroom", None) is None:
            self._mailroom = self.start(Mailroom(self.work))
            say(f"  mailroom ({self._mailroom.version}) on 127.0.0.1:{self._mailroom.smtp_port},"
                f" pop3 {self._mailroom.pop3_port}")
        return self._mailroom

    def smtp_run(self, server, n, size, sessions):
        """One run: smtp-source sends n messages over `sessions` connections; returns
        the acceptance and end-to-end rates and the CPU time spent."""
        md = server.maildir
        clear_maildir(md)
        try:
            wait_until(server.queue_empty, 120, 0.5, f"{server.name}'s queue to empty")
        except RuntimeError as e:
            return {"error": str(e)}
        os.sync()
        time.sleep(0.3)
        cpu0 = cpu_seconds(server.tree())
        ccpu0 = children_cpu()
        timeout = 300 + n * size / 1e6
        cmd = [SMTP_SOURCE, "-d", "-s", str(sessions), "-m", str(n), "-l", str(size),
               "-f", "bench@client.test", "-t", RCPT, "-M", "client.test",
               f"127.0.0.1:{server.smtp_port}"]
        t0_wall = time.time()
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"smtp-source did not finish in {timeout:.0f}s"}
        t_accept = time.monotonic() - t0
        client_cpu = children_cpu() - ccpu0
        if p.returncode != 0:
            return {"error": f"smtp-source exited {p.returncode}: {p.stderr.strip()[-300:]}"}
        deadline = time.monotonic() + timeout
        while count_new(md) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        got = count_new(md)
        if got < n:
            return {"error": f"only {got} of {n} messages in the Maildir after {timeout:.0f}s"}
        # The last arrival is new/'s mtime; the run ends when smtp-source has also quit.
        t_e2e = max(os.stat(os.path.join(md, "new")).st_mtime - t0_wall, t_accept)
        server_cpu = cpu_seconds(server.tree()) - cpu0
        res = {"accept": n / t_accept, "e2e": n / t_e2e, "t_accept": t_accept, "t_e2e": t_e2e,
               "cpu_ms": 1000 * server_cpu / n, "client_cpu_ms": 1000 * client_cpu / n}
        if got != n:
            res["warning"] = f"{got} messages delivered for {n} sent"
        return res

    def part_smtp(self):
        say("== SMTP: smtp-source -d into one Maildir")
        servers = self.smtp_servers()
        c = self.cfg
        workloads = [(f"{c['small_n']} x 10 KiB, {s} session{'s' if s > 1 else ''}",
                      c["small_n"], c["small_size"], s) for s in c["sessions"]]
        workloads.append((f"{c['big_n']} x 1 MiB, {c['big_sessions']} sessions",
                          c["big_n"], c["big_size"], c["big_sessions"]))
        # A short warm-up per server (page cache, lazily started daemons).
        for s in servers:
            r = self.smtp_run(s, 50, c["small_size"], 2)
            if "error" in r:
                say(f"  warm-up {s.name}: {r['error']}")
        out = self.results["smtp"] = {}
        for title, n, size, sessions in workloads:
            say(f"-- {title}")
            runs, failed = interleave(
                servers, c["reps"], lambda s: self.smtp_run(s, n, size, sessions),
                lambda r: f"accept {r['accept']:7.1f} msg/s  end-to-end {r['e2e']:7.1f} msg/s"
                f"  server CPU {r['cpu_ms']:.2f} ms/msg  client CPU {r['client_cpu_ms']:.2f} ms/msg")
            out[title] = {"n": n, "size": size, "sessions": sessions, "runs": runs,
                          "failed": failed}

    # -- memory --
    def hold_connections(self, port, n, login=None, timeout=20):
        """Open n connections that read the greeting (and log in with login(i)),
        then stay idle. Returns the sockets (fewer than n on failure) and an error."""
        socks = []
        try:
            for i in range(n):
                s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                socks.append(s)
                f = s.makefile("rb")
                greet = f.readline()
                if not greet or greet[:1] not in (b"2", b"+"):
                    return socks, f"connection {i + 1}: greeting {greet!r}"
                if login:
                    user = login(i)
                    s.sendall(f"USER {user}\r\n".encode())
                    if not f.readline().startswith(b"+OK"):
                        return socks, f"connection {i + 1}: USER refused"
                    s.sendall(f"PASS {PASSWORD}\r\n".encode())
                    r = f.readline()
                    if not r.startswith(b"+OK"):
                        return socks, f"connection {i + 1}: PASS: {r!r}"
        except OSError as e:
            return socks, f"connection {len(socks) + 1}: {e}"
        return socks, None

    def measure_idle(self, server, port, n, login=None):
        time.sleep(1)
        before_pids = server.tree()
        before = pss_kib(before_pids)
        t0 = time.monotonic()
        socks, err = self.hold_connections(port, n, login)
        t_open = time.monotonic() - t0
        time.sleep(2)
        after_pids = server.tree()
        after = pss_kib(after_pids)
        opened = len(socks) if err is None else len(socks) - 1
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        res = {"before_kib": before, "after_kib": after, "n": opened, "procs_before":
               len(before_pids), "procs_after": len(after_pids), "open_s": t_open}
        if opened > 0:
            res["per_conn_kib"] = (after - before) / opened
        if err:
            res["error"] = err
        # Let the servers notice the closes before the next measurement.
        time.sleep(3)
        return res

    def part_memory(self):
        say("== memory: PSS of the server's processes, before and after")
        out = {"smtp": {}, "pop3": {}}
        n = self.cfg["idle_smtp"]
        servers = self.smtp_servers()
        # Fresh processes: no heap left free by earlier runs, no idle Postfix smtpds.
        t = time.monotonic()
        for s in self.servers:
            s.stop()
            s.start()
        say(f"  servers restarted in {time.monotonic() - t:.0f} s")
        for s in servers:
            r = self.measure_idle(s, s.smtp_port, n)
            out["smtp"][s.name] = r
            say(f"  SMTP {s.name:9}: {r['n']} idle connections, PSS {r['before_kib']} -> "
                f"{r['after_kib']} KiB ({r['procs_before']} -> {r['procs_after']} processes): "
                f"{r.get('per_conn_kib', float('nan')):.1f} KiB per connection"
                f" (opened in {r['open_s']:.0f} s)"
                + (f"  ERROR {r['error']}" if "error" in r else ""))
        npop = self.cfg["idle_pop"]
        for s in self.pop3_servers():
            r = self.measure_idle(s, s.pop3_port, npop,
                                  login=lambda i: f"pop{i + 1}@{DOMAIN}")
            out["pop3"][s.name] = r
            say(f"  POP3 {s.name:9}: {r['n']} sessions logged in, PSS {r['before_kib']} -> "
                f"{r['after_kib']} KiB ({r['procs_before']} -> {r['procs_after']} processes): "
                f"{r.get('per_conn_kib', float('nan')):.1f} KiB per session"
                f" (opened in {r['open_s']:.0f} s)"
                + (f"  ERROR {r['error']}" if "error" in r else ""))
        self.results["memory"] = out

    # -- POP3 --
    def pop3_servers(self):
        """mailroom and Dovecot with the same mailboxes: popbench (pop_msgs x 10 KiB)
        and pop1..popN (pop_box_msgs each) for the session-memory test."""
        if getattr(self, "_pop3_servers", None) is not None:
            return self._pop3_servers
        if getattr(self, "_pop3_failed", None):
            raise RuntimeError(f"POP3 set-up failed before: {self._pop3_failed}")
        self._pop3_failed = "interrupted"
        say("  preparing POP3 mailboxes")
        t = time.monotonic()
        mr = self.mailroom()
        dc = Dovecot(self.work)
        pw = pwd.getpwnam(MAIL_USER)
        locals_ = ["popbench"] + [f"pop{i + 1}" for i in range(self.cfg["idle_pop"])]
        for local in locals_:
            addr = f"{local}@{DOMAIN}"
            mr.add_user(addr)
            dc.add_user(addr, mr.user_hash(addr))
        # The mail is delivered by mailroom itself (its file names carry S= and W=,
        # which both pop3ds use), then the same files are copied for Dovecot and for
        # the small mailboxes of the session-memory test.
        n = self.cfg["pop_msgs"]
        box = mr.mailbox("popbench")
        sh([SMTP_SOURCE, "-d", "-s", "10", "-m", str(n), "-l", "10240", "-f",
            "bench@client.test", "-t", f"popbench@{DOMAIN}", "-M", "client.test",
            f"127.0.0.1:{mr.smtp_port}"], timeout=600)
        wait_until(lambda: count_new(box) >= n, 300, 0.2, "POP3 mailbox delivery")
        src = os.path.join(box, "new")
        names = sorted(os.listdir(src))
        copy_messages(src, names, dc.mailbox("popbench"), pw.pw_uid, pw.pw_gid)
        for local in locals_[1:]:
            few = names[:self.cfg["pop_box_msgs"]]
            copy_messages(src, few, mr.mailbox(local), pw.pw_uid, pw.pw_gid, like=True)
            copy_messages(src, few, dc.mailbox(local), pw.pw_uid, pw.pw_gid)
        chown_tree(dc.mail, pw.pw_uid, pw.pw_gid)
        self.start(dc)
        say(f"  Dovecot {dc.version} on 127.0.0.1:{dc.pop3_port}"
            f" (mailboxes ready in {time.monotonic() - t:.0f} s)")
        self._pop3_servers = [mr, dc]
        self._pop3_failed = None
        return self._pop3_servers

    def pop3_run(self, server):
        cmd = [os.path.join(self.bin, "pop3load"), "127.0.0.1", str(server.pop3_port),
               f"popbench@{DOMAIN}", PASSWORD]
        cpu0 = cpu_seconds(server.tree())
        ccpu0 = children_cpu()
        p = sh(cmd, check=False, timeout=600)
        if p.returncode != 0:
            return {"error": p.stderr.strip()[-300:] or f"exit {p.returncode}"}
        kv = dict(x.split("=") for x in p.stdout.split())
        n = int(kv["msgs"])
        if n != self.cfg["pop_msgs"]:
            return {"error": f"LIST gave {n} messages, not {self.cfg['pop_msgs']}"}
        total = float(kv["total_s"])
        return {"rate": n / total, "mbps": int(kv["bytes"]) / total / 1e6,
                "login_ms": 1000 * float(kv["login_s"]), "list_ms": 1000 * float(kv["list_s"]),
                "cpu_ms": 1000 * (cpu_seconds(server.tree()) - cpu0) / n,
                "client_cpu_ms": 1000 * (children_cpu() - ccpu0) / n}

    def part_pop3(self):
        say(f"== POP3: login, LIST, RETR x {self.cfg['pop_msgs']} (10 KiB), pipelined, "
            "one session (bench/pop3load.c)")
        servers = self.pop3_servers()
        for s in servers:   # warm-up: new/ -> cur/, indexes, page cache
            r = self.pop3_run(s)
            say(f"  warm-up {s.name}: " + (r["error"] if "error" in r else f"{r['rate']:.0f} msg/s"))
        runs, failed = interleave(
            servers, self.cfg["reps"], self.pop3_run,
            lambda r: f"{r['rate']:7.0f} msg/s {r['mbps']:6.1f} MB/s  login {r['login_ms']:.1f} ms"
            f"  LIST {r['list_ms']:.1f} ms  server CPU {r['cpu_ms'] * 1000:.0f} us/msg"
            f"  client CPU {r['client_cpu_ms'] * 1000:.0f} us/msg")
        self.results["pop3"] = {"runs": runs, "failed": failed}

    # -- the report --
    def report(self, path):
        facts = self.facts()
        facts["loadavg at end"] = " ".join(open("/proc/loadavg").read().split()[:3])
        facts["duration"] = f"{(time.monotonic() - self.t0) / 60:.1f} min"
        L = []
        L.append("# mailroom benchmark results\n")
        L.append("Written by `make bench` (bench/run.py"
                 + (" --quick" if self.args.quick else "")
                 + (f" --only {self.args.only}" if self.args.only else "")
                 + "): every figure below comes from one run on one machine, the servers"
                 " measured side by side. Rates are medians of "
                 f"{self.cfg['reps']} runs with (min-max); ratios are ratios of medians.\n")
        if self.args.quick:
            L.append("**A quick run (`--quick`): fewer messages and shorter runs than a full"
                     " one, on a machine shared with other work: the figures are noisy, good"
                     " for spotting a large change during development, not for the record.**\n")
        if self.notes:
            L.append("**Parts of this run failed; see the notes at the end.**\n")
        L.append("## Machine\n")
        L.append("| | |\n|---|---|")
        for k, v in facts.items():
            L.append(f"| {k} | {v} |")
        L.append("")
        L.extend(self.report_targets())
        if "fsync" in self.results:
            L.append("## Disk: the fsync limit\n")
            L.append("10 KiB files: create in tmp/, write, fsync, close, rename into new/, fsync"
                     " new/ (`bench/fsyncbench.c`), "
                     f"{self.cfg['fsync_ops']} operations a run.\n")
            L.append("| writers | ops/s median | min | max |\n|---|---|---|---|")
            for w, st in self.results["fsync"].items():
                L.append(f"| {w} | {st['med']:.0f} | {st['min']:.0f} | {st['max']:.0f} |")
            L.append("")
        if "smtp" in self.results:
            L.extend(self.report_smtp())
        if "pop3" in self.results:
            L.extend(self.report_pop3())
        if "memory" in self.results:
            L.extend(self.report_memory())
        if "inbound" in self.results:
            L.extend(self.report_inbound())
        if "outbound" in self.results:
            L.extend(self.report_outbound())
        if "backlog" in self.results:
            L.extend(self.report_backlog())
        if "idle" in self.results:
            L.extend(self.report_idle())
        if "dkim" in self.results:
            L.extend(self.report_dkim())
        if "callgrind" in self.results:
            L.extend(self.report_callgrind())
        L.append("## How the servers were set up\n")
        L.append(SETUP_TEXT)
        if self.notes:
            L.append("## Notes from this run\n")
            for n in self.notes:
                L.append(f"- {n}")
            L.append("")
        with open(path, "w") as f:
            f.write("\n".join(L) + "\n")
        say(f"results written to {path}")

    def smtp_med(self, title, name, key):
        w = self.results.get("smtp", {}).get(title)
        if not w or not w["runs"].get(name):
            return None
        return statistics.median(r[key] for r in w["runs"][name])

    def report_targets(self):
        L = ["## Targets (issue 6), as ratios from this run\n",
             "| target | figure | met |", "|---|---|---|"]

        def row(what, val, goal, fmt, higher=True):
            if val is None:
                L.append(f"| {what} | not measured | |")
                return
            ok = val >= goal if higher else val <= goal
            L.append(f"| {what} | {fmt.format(val)} | {'yes' if ok else 'no'} |")

        c = self.cfg
        for s, goal in ((10, 3.0), (50, 3.0), (1, 2.0)):
            title = f"{c['small_n']} x 10 KiB, {s} session{'s' if s > 1 else ''}"
            a, b = self.smtp_med(title, "mailroom", "e2e"), self.smtp_med(title, "Postfix", "e2e")
            row(f"end-to-end, {s} session(s): mailroom/Postfix >= {goal:g}",
                a / b if a and b else None, goal, "{:.2f}x")
        p = self.results.get("pop3", {}).get("runs", {})
        if p.get("mailroom") and p.get("Dovecot"):
            ratio = (statistics.median(r["rate"] for r in p["mailroom"])
                     / statistics.median(r["rate"] for r in p["Dovecot"]))
        else:
            ratio = None
        row("POP3 retrieval: mailroom/Dovecot >= 1.5", ratio, 1.5, "{:.2f}x")
        m = self.results.get("memory", {}).get("smtp", {})
        row("idle SMTP connection <= 32 KiB (PSS)", m.get("mailroom", {}).get("per_conn_kib"),
            32, "{:.1f} KiB", higher=False)
        L.append("")
        L.extend(["## Targets (issue 17), as ratios from this run\n",
                  "| target | figure | met |", "|---|---|---|"])
        for sessions, goal in ((10, 4.0), (50, 4.0), (1, 2.5)):
            row(f"inbound end to end with the checks on, {sessions} session(s): mailroom/Postfix"
                f" >= {goal:g}", self.inbound_ratio(sessions), goal, "{:.2f}x")
        row("outbound end to end, signing on: mailroom/Postfix >= 3", self.outbound_ratio(), 3.0,
            "{:.2f}x")
        r = self.outbound_ratio("Postfix+OpenDKIM")
        L.append("| outbound end to end, both signing: mailroom/Postfix+OpenDKIM (recorded) |"
                 f" {f'{r:.2f}x' if r else 'not measured'} | |")
        row("backlog drain: mailroom/Postfix >= 2", self.backlog_ratio(), 2.0, "{:.2f}x")
        row(f"{self.cfg['idle_many']} idle SMTP connections <= 4 KiB each (PSS)", self.idle_per_conn(),
            4.0, "{:.2f} KiB", higher=False)
        row("queued's RSS per queued message < 200 bytes", self.backlog_bytes(), 200,
            "{:.0f} bytes", higher=False)
        for variant, what in (("verify", "received message, checks on"),
                              ("plain", "received message, trusted client, no checks"),
                              ("outbound", "relayed message, signed")):
            ir = self.callgrind_total(variant)
            L.append(f"| callgrind instructions per {what} (recorded) |"
                     f" {f'{ir:,.0f}' if ir else 'not measured'} | |")
        L.append("")
        return L

    def report_smtp(self):
        L = ["## SMTP: acceptance and end-to-end\n",
             "`smtp-source -d -s SESSIONS -m N -l SIZE -f bench@client.test -t demo@example.test`"
             " (Postfix's load generator; one connection per session, many messages per"
             " connection, no pipelining) to one local mailbox. Acceptance: messages / time"
             " until smtp-source has had its last 250 and has quit. End-to-end: messages / time"
             " until, in addition, the last message is in the Maildir's new/ (taken from the"
             " directory's mtime once every message has arrived). Server CPU: user+system"
             " time of the server's processes (children included) per message; client CPU: smtp-source's. The servers' runs"
             " are interleaved (mailroom, Postfix, OpenSMTPD, mailroom, ...) so that a noisy"
             " neighbour hurts all of them alike.\n"]
        for title, w in self.results["smtp"].items():
            L.append(f"### {title}\n")
            L.append("| server | end-to-end msg/s (min-max) | acceptance msg/s (min-max) |"
                     " server CPU ms/msg | client CPU ms/msg |")
            L.append("|---|---|---|---|---|")
            for name, runs in w["runs"].items():
                if not runs:
                    L.append(f"| {name} | failed: {w['failed'].get(name, '?')} | | | |")
                    continue
                e, a = stats([r["e2e"] for r in runs]), stats([r["accept"] for r in runs])
                cpu = statistics.median(r["cpu_ms"] for r in runs)
                ccpu = statistics.median(r["client_cpu_ms"] for r in runs)
                extra = ""
                if w["size"] >= 1 << 20:
                    extra = f" = {e['med'] * w['size'] / 1e6:.0f} MB/s"
                fail = f" ({len(runs)} runs; then failed: {w['failed'][name]})" if name in w["failed"] else ""
                L.append(f"| {name} | {e['med']:.1f} ({e['min']:.1f}-{e['max']:.1f}){extra}{fail} |"
                         f" {a['med']:.1f} ({a['min']:.1f}-{a['max']:.1f}) | {cpu:.2f} | {ccpu:.2f} |")
            L.append("")
            for name, runs in w["runs"].items():
                if runs:
                    L.append(f"- {name}, each run (end-to-end / acceptance msg/s): "
                             + ", ".join(f"{r['e2e']:.1f} / {r['accept']:.1f}" for r in runs))
            mr = w["runs"].get("mailroom")
            for other in ("Postfix", "OpenSMTPD"):
                o = w["runs"].get(other)
                if mr and o:
                    re_ = statistics.median(r["e2e"] for r in mr) / statistics.median(r["e2e"] for r in o)
                    ra = statistics.median(r["accept"] for r in mr) / statistics.median(r["accept"] for r in o)
                    L.append(f"- mailroom/{other}: end-to-end **{re_:.2f}x**, acceptance {ra:.2f}x")
            L.append("")
        return L

    def report_pop3(self):
        p = self.results["pop3"]
        L = ["## POP3 retrieval\n",
             f"One session: USER/PASS (the same yescrypt hash in both: mailroom's accounts.db,"
             f" Dovecot's passwd-file with `{{CRYPT}}`), LIST, RETR of all {self.cfg['pop_msgs']}"
             " messages of 10 KiB (LF line ends on disk), 32 RETR commands in flight, QUIT;"
             " nothing deleted. The client is `bench/pop3load.c`. Each server has its own copy"
             " of the same Maildir; one warm-up run each first (new/ -> cur/, Dovecot's"
             " index).\n",
             "| server | msg/s (min-max) | MB/s | login ms | LIST ms | server CPU us/msg |"
             " client CPU us/msg |", "|---|---|---|---|---|---|---|"]
        for name, runs in p["runs"].items():
            if not runs:
                L.append(f"| {name} | failed: {p['failed'].get(name, '?')} | | | | | |")
                continue
            r = stats([x["rate"] for x in runs])
            med = lambda k: statistics.median(x[k] for x in runs)
            L.append(f"| {name} | {r['med']:.0f} ({r['min']:.0f}-{r['max']:.0f}) | {med('mbps'):.1f} |"
                     f" {med('login_ms'):.1f} | {med('list_ms'):.1f} | {med('cpu_ms') * 1000:.0f} |"
                     f" {med('client_cpu_ms') * 1000:.0f} |")
        L.append("")
        if p["runs"].get("mailroom") and p["runs"].get("Dovecot"):
            ratio = (statistics.median(x["rate"] for x in p["runs"]["mailroom"])
                     / statistics.median(x["rate"] for x in p["runs"]["Dovecot"]))
            L.append(f"- mailroom/Dovecot: **{ratio:.2f}x**\n")
        return L

    def report_memory(self):
        m = self.results["memory"]
        L = ["## Memory\n",
             "PSS (`/proc/PID/smaps_rollup`) summed over the server's processes, before and"
             f" after opening the connections, divided by their number. SMTP: {self.cfg['idle_smtp']}"
             " connections, each idle after reading the greeting. POP3: "
             f"{self.cfg['idle_pop']} sessions, each logged in to its own mailbox of"
             f" {self.cfg['pop_box_msgs']} messages (mailroom refuses a second session on one"
             " mailbox).\n",
             "| protocol | server | connections | PSS before KiB | after KiB | processes before -> after |"
             " per connection KiB |", "|---|---|---|---|---|---|---|"]
        for proto in ("smtp", "pop3"):
            for name, r in m[proto].items():
                per = f"{r['per_conn_kib']:.1f}" if "per_conn_kib" in r else "-"
                err = f" ({r['error']})" if "error" in r else ""
                L.append(f"| {proto.upper()} | {name} | {r['n']}{err} | {r['before_kib']} |"
                         f" {r['after_kib']} | {r['procs_before']} -> {r['procs_after']} | {per} |")
        L.append("")
        s = m["smtp"]
        if "per_conn_kib" in s.get("mailroom", {}):
            for other in ("Postfix", "OpenSMTPD"):
                if "per_conn_kib" in s.get(other, {}) and s["mailroom"]["per_conn_kib"] > 0:
                    L.append(f"- idle SMTP connections per MiB: mailroom"
                             f" {1024 / s['mailroom']['per_conn_kib']:.0f}, {other}"
                             f" {1024 / s[other]['per_conn_kib']:.1f}"
                             f" ({s[other]['per_conn_kib'] / s['mailroom']['per_conn_kib']:.1f}x)")
        L.append("")
        return L

    def run(self):
        say(f"bench: work dir {self.work}; parts: {', '.join(self.parts)}"
            + ("; QUICK mode" if self.args.quick else ""))
        self.snapshot_mailroom()
        self.compile_tools()
        for part in PARTS:
            if part not in self.parts:
                continue
            t = time.monotonic()
            try:
                getattr(self, "part_" + part)()
            except Exception as e:
                self.notes.append(f"part {part} failed: {e}")
                say(f"== {part} FAILED: {e}")
            say(f"   ({part}: {time.monotonic() - t:.0f} s)")


SETUP_TEXT = """- **mailroom**: `build/mailroom init DIR --domain example.test`, listeners moved to
  free loopback ports (smtp, pop3; the others off), `max_connections` and
  `max_connections_per_ip` raised to 5000 for the idle-connection test, otherwise the
  defaults (`serve` as root, dropping to the `mailroom` user; logs to a file).
- **Postfix** (Debian `postfix`): a private instance (`postfix -c DIR start`) with its
  own config, queue and data directories; master.cf holds the Debian services with
  chroot off and one smtpd on a loopback port (process limit raised for the
  idle-connection test); delivery by virtual(8) into a Maildir
  (`virtual_mailbox_maps` demo@example.test -> example.test/demo/, static uid/gid);
  default durability (cleanup fsyncs the queue file before the 250, virtual fsyncs the
  Maildir file); logs to a file through postlogd.
- **OpenSMTPD** (Debian `opensmtpd`, which conflicts with postfix as a package):
  `apt-get download` + `dpkg -x` into the work dir, run in the foreground (`smtpd -d
  -f FILE`) in a private mount namespace (`unshare --mount`) where the work dir's
  directories are bound over its compiled-in paths (/var/spool, /usr/libexec, /var/lib,
  /run); `listen on 127.0.0.1 port N`, `action maildir PATH virtual <table>` mapping
  demo@example.test to the `mailroom` user, `smtp limit max-mails 1000000` (the default
  100 per session would cut smtp-source's sessions short), and a resolv.conf with
  `lookup file bind` so that, like Postfix and mailroom, it finds 127.0.0.1 in
  /etc/hosts before asking DNS (otherwise a slow DNS server delays each greeting). Its
  queue commits a message without fsync before the 250; its Maildir delivery
  (mail.maildir) fsyncs. smtp-source does not pipeline, so OpenSMTPD (which refuses
  pipelining) needs no other client.
- **Dovecot** (Debian `dovecot-pop3d`): a private instance (`dovecot -c FILE`, stopped
  with `doveadm -c FILE stop`), pop3 only on a loopback port, `ssl = no`,
  `disable_plaintext_auth = no`, passwd-file with the users' yescrypt hashes copied
  from mailroom's accounts.db, `mail_location = maildir:~`; otherwise the defaults.
- **The inbound, outbound, backlog, idle and callgrind parts** start instances of their
  own (fresh data dirs): mailroom with `trusted_networks` empty and `[delivery] resolver`
  set for the checks, `[delivery] resolver` and `remote_port` for relaying; Postfix as a
  plain MX, or relaying with a transport map `dN.test smtp:dN.test:PORT` (MX lookups
  kept, the sink's port) in a mount namespace whose /etc/resolv.conf names the
  benchmark's DNS server.
- **OpenDKIM** (Debian `opendkim`, outbound part only): `opendkim -f` on a loopback
  port, `Mode s`, an Ed25519 and an RSA-2048 key (made with openssl) in its KeyTable,
  both in its SigningTable for example.test with `MultipleSignatures yes`,
  `Canonicalization relaxed/relaxed`; Postfix+OpenDKIM is the relaying Postfix with
  `smtpd_milters` and `non_smtpd_milters` naming it (`milter_default_action =
  tempfail`). One message to check.test, routed to a capturing SMTP server
  (aiosmtpd), has its signatures verified by dkimpy before the runs.
- **The DNS server**: dnsmasq (`dnsmasq-base`) on port 53 of an address of its own in
  127.0.0.150-249, authoritative for .test from its configuration alone (TTL 300 s), no
  forwarding. **The remote MX**: Postfix's `smtp-sink` on 127.0.0.2, counting the
  messages it takes (`-c`).
- All on 127.0.0.1 and one file system: a fresh ext4 image with a journal, loop-mounted
  on the work dir (bench/workfs.py; the machine's own file system keeps the history of
  what earlier runs deleted, which slows new files on ext4 without a journal). The load
  generators run on the same two cores as the servers.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer messages, for development")
    ap.add_argument("--only", help="comma-separated parts: " + ",".join(PARTS))
    ap.add_argument("--out", default=None, help="results file [bench/RESULTS.md, "
                    "or bench/RESULTS-quick.md with --quick]")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--fs", choices=("image", "plain"), default="image",
                    help="the work dir on a fresh journaled ext4 image (default), or plainly in /tmp")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it starts private Postfix, OpenSMTPD and Dovecot instances)")
    if not os.access(MAILROOM, os.X_OK):
        sys.exit(f"bench: {MAILROOM} is missing; run `make bench` (or `make` first)")
    for tool in (SMTP_SOURCE, "/usr/sbin/postfix", "/usr/sbin/dovecot", "/usr/bin/valgrind"):
        if not os.access(tool, os.X_OK):
            sys.exit(f"bench: {tool} is missing; run `make deps`")
    # 1,000 idle connections: the client and the servers (which inherit it) need fds.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 20000 if hard == resource.RLIM_INFINITY else max(soft, min(hard, 20000))
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, 20000), max(want, 20000)))
    except ValueError:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    out = args.out or os.path.join(BENCH, "RESULTS-quick.md" if args.quick else "RESULTS.md")
    b = Bench(args)

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        b.run()
    except KeyboardInterrupt:
        say("bench: interrupted")
        b.stop_all()
        if not args.keep:
            b.remove_work()
        sys.exit(130)
    finally:
        b.stop_all()
    b.report(out)
    if not args.keep:
        b.remove_work()
    else:
        say(f"work dir kept: {b.work}" + (f" (mounted from {b.workfs.image})" if b.workfs.mounted else ""))


if __name__ == "__main__":
    main()
