"""bench/part_outbound.py - the parts of bench/run.py that send mail away: outbound
(trusted clients submit mail for remote domains; end to end until the sink has it
all) and backlog (the same mail deferred while the sink is down, then drained).

Both servers relay to one smtp-sink on 127.0.0.2, found through the MX records of
d1.test ... dN.test on the benchmark's DNS server: mailroom by [delivery] resolver
and remote_port, Postfix by its resolv.conf (in a mount namespace) and a transport
map that keeps the MX lookup but names the sink's port (smtp:dN.test:PORT).
"""
import os
import shutil
import statistics
import subprocess
import time

from benchlib import (LogCount, children_cpu, cpu_seconds, interleave, pss_kib, rate_rows,
                      roles_text, rss_kib, say, sh, stats, wait_until)
import benchlib
from peers import Capture, Dnsmasq, Sink
from servers import Mailroom, Postfix, PostfixDKIM
from zones import Zones, message, remote_domain

SINK_ADDR = "127.0.0.2"
CHECK_DOMAIN = "check.test"         # Postfix+OpenDKIM's one message to the capture
OUT_SENDER = "demo@example.test"    # a hosted domain: mailroom signs it (Ed25519 and RSA)


class OutboundParts:
    # -- what the parts share: the DNS server, the sink, the load generator --
    def bench_dns(self):
        if getattr(self, "_dns", None) is None:
            self.zones = Zones(self.cfg["out_domains"], SINK_ADDR)
            self._dns = Dnsmasq(self.work, **self.zones.records())
            self.helpers.append(self._dns)
            say(f"  dnsmasq on {self._dns.resolver}: {self.cfg['out_domains']} remote domains,"
                " client.test's SPF, DKIM and DMARC records")
        return self._dns

    def sink(self):
        if getattr(self, "_sink", None) is None:
            self._sink = Sink(self.work, SINK_ADDR)
            self.helpers.append(self._sink)
        return self._sink

    def smtpload(self, port, n, sessions, files, sender, rcpt, domains=1, timeout=None):
        """Run bench/smtpload; (seconds, client CPU seconds) or an error string."""
        cmd = [os.path.join(self.bin, "smtpload"), "-s", str(sessions), "-m", str(n),
               "-f", sender, "-t", rcpt, "-D", str(domains), "-M", "client.test",
               "127.0.0.1", str(port)] + list(files)
        timeout = timeout or 300 + n / 20
        c0 = children_cpu()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"smtpload did not finish in {timeout:.0f}s"
        if p.returncode != 0:
            return f"smtpload exited {p.returncode}: {p.stderr.strip()[-300:]}"
        kv = dict(x.split("=") for x in p.stdout.split())
        return float(kv["total_s"]), children_cpu() - c0

    def out_message(self):
        path = os.path.join(self.work, "outbound.eml")
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(message(OUT_SENDER, "someone@remote.test", "outbound", self.cfg["small_size"]))
        return path

    def relay_servers(self, label, unsigned=False, dkim=False):
        """A mailroom and a Postfix that relay to the sink (fresh instances); with
        unsigned, also a mailroom with [dkim] sign = no, between the two; with dkim,
        also Postfix+OpenDKIM, after Postfix (CHECK_DOMAIN goes to self.capture)."""
        dns, sink = self.bench_dns(), self.sink()
        relay = {("delivery", "resolver"): dns.resolver,
                 ("delivery", "remote_port"): str(sink.port)}
        out = [self.start(Mailroom(self.work, with_pop3=False, label=f"mailroom-{label}",
                                   settings=relay))]
        if unsigned:
            out.append(self.start(Mailroom(self.work, with_pop3=False, label=f"mailroom-{label}-unsigned",
                                           name="mailroom sign=no",
                                           settings={**relay, ("dkim", "sign"): "no"})))
        pf_transport = [f"{remote_domain(i)} smtp:{remote_domain(i)}:{sink.port}"
                        for i in range(1, self.cfg["out_domains"] + 1)]
        pf = Postfix(self.work, max_smtpd=200, label=f"postfix-{label}", resolv=dns.resolv_conf(),
                     transport=pf_transport)
        out.append(self.start(pf))
        if dkim and shutil.which("opendkim") is None:
            say("  no opendkim (make deps-bench installs it): no Postfix+OpenDKIM in this run")
        elif dkim:
            if getattr(self, "capture", None) is None:
                self.capture = Capture()
                self.capture.start()
                self.helpers.append(self.capture)
            transport = pf_transport + [f"{CHECK_DOMAIN} smtp:[{self.capture.addr}]:{self.capture.port}"]
            out.append(self.start(PostfixDKIM(self.work, max_smtpd=200, label=f"postfix-dkim-{label}",
                                              resolv=dns.resolv_conf(), transport=transport)))
        say(f"  {label}: " + ", ".join(f"{s.name} on 127.0.0.1:{s.smtp_port}" for s in out)
            + f", relaying to smtp-sink on {sink.addr}:{sink.port}")
        return out

    # -- outbound --
    def signature_check(self, server):
        """One message through server to CHECK_DOMAIN (the capture): its DKIM signatures
        checked by dkimpy against the milter's key records. A line saying what was found."""
        import re
        import smtplib

        import dkim

        before = len(self.capture.messages)
        with open(self.out_message(), "rb") as f:
            msg = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as s:
            s.sendmail(OUT_SENDER, [f"user@{CHECK_DOMAIN}"], msg)
        got = self.capture.wait(before + 1, 60)
        if not got:
            return f"{server.name}: the check message did not arrive"
        raw = got[-1]
        recs = server.records()
        algs = re.findall(rb"(?i)DKIM-Signature:.*?a=([a-z0-9-]+);", raw, re.S)

        def dnsfunc(name, timeout=5):
            return recs.get(name.decode().rstrip(".").lower(), "").encode()

        ok = [dkim.DKIM(raw).verify(idx=i, dnsfunc=dnsfunc) for i in range(len(algs))]
        return (f"{server.name}: a check message carried {len(algs)} DKIM signature(s)"
                f" ({', '.join(a.decode() for a in algs)}), {sum(ok)} verified by dkimpy")

    def outbound_run(self, server, n):
        c = self.cfg
        sink = self.sink()
        try:
            wait_until(server.queue_empty, 120, 0.5, f"{server.name}'s queue to empty")
        except RuntimeError as e:
            return {"error": str(e)}
        os.sync()
        time.sleep(0.3)
        base = sink.count()
        cpu0, scpu0 = cpu_seconds(server.tree()), cpu_seconds(sink.roots())
        roles0 = server.role_cpu() if isinstance(server, Mailroom) else {}
        t0_wall, t0 = time.time(), time.monotonic()
        r = self.smtpload(server.smtp_port, n, c["out_sessions"], [self.out_message()], OUT_SENDER,
                          "user@d%d.test", c["out_domains"])
        if isinstance(r, str):
            return {"error": r}
        t_accept, client_cpu = r
        deadline = time.monotonic() + 120 + n / 50
        while sink.count() < base + n and time.monotonic() < deadline:
            time.sleep(0.05)
        got = sink.count() - base
        if got < n:
            return {"error": f"the sink had {got} of {n} messages {time.monotonic() - t0:.0f}s"
                    " after the start"}
        t_e2e = max(sink.last_write() - t0_wall, t_accept)
        roles = {}
        if roles0:
            roles = {k: 1000 * (v - roles0.get(k, 0)) / n for k, v in server.role_cpu().items()}
        return {"accept": n / t_accept, "e2e": n / t_e2e, "t_e2e": t_e2e, "roles_ms": roles,
                "cpu_ms": 1000 * (cpu_seconds(server.tree()) - cpu0) / n,
                "client_cpu_ms": 1000 * client_cpu / n,
                "sink_cpu_ms": 1000 * (cpu_seconds(sink.roots()) - scpu0) / n,
                "extra": got - n}

    def part_outbound(self):
        c = self.cfg
        n = c["out_n"]
        say(f"== outbound: {n} x 10 KiB from a trusted client to {c['out_domains']} remote"
            f" domains, {c['out_sessions']} sessions, end to end to smtp-sink")
        self.sink().start()
        servers = self.relay_servers("out", unsigned=True, dkim=True)
        checks = []
        for s in servers:
            r = self.outbound_run(s, 100)
            if "error" in r:
                say(f"  warm-up {s.name}: {r['error']}")
            if isinstance(s, PostfixDKIM):
                try:
                    checks.append(self.signature_check(s))
                except Exception as e:  # the figures still count; the report says so
                    checks.append(f"{s.name}: the signature check failed: {e}")
                say("  " + checks[-1])
        runs, failed = interleave(
            servers, c["reps"], lambda s: self.outbound_run(s, n),
            lambda r: f"accept {r['accept']:7.1f} msg/s  end-to-end {r['e2e']:7.1f} msg/s  server CPU"
            f" {r['cpu_ms']:.2f} ms/msg  client CPU {r['client_cpu_ms']:.2f}  sink CPU"
            f" {r['sink_cpu_ms']:.2f} ms/msg" + roles_text(r), width=16)
        mr = servers[0]
        signed = LogCount(mr.log, r"event=dkim-sign ", from_end=False).count()
        sent = 100 + n * len(runs.get("mailroom", []))
        say(f"  mailroom logged {signed} signatures (event=dkim-sign) for {sent} messages")
        self.results["outbound"] = {"n": n, "runs": runs, "failed": failed, "signatures": signed,
                                    "mailroom_sent": sent, "checks": checks}
        for s in servers:
            self.stop_server(s)

    def report_outbound(self):
        o = self.results["outbound"]
        c = self.cfg
        L = ["## Outbound: trusted clients to remote domains, end to end\n",
             f"`bench/smtpload.c`: {c['out_sessions']} sessions submit {o['n']} messages of 10 KiB"
             f" from {OUT_SENDER} (a hosted domain: mailroom signs each with its Ed25519 and its"
             f" RSA-2048 key, the default) to user@d1.test ... user@d{c['out_domains']}.test in"
             " turn, one recipient each, from 127.0.0.1 (a trusted network: relaying without"
             " AUTH). Each domain's MX is on 127.0.0.2, where one smtp-sink takes everything."
             " End-to-end: messages / time from the first connection until the sink has had the"
             " last one. mailroom delivers with its defaults (concurrency 20 connections);"
             " Postfix with its defaults (20 per destination, 100 smtp processes at most), relaying"
             " to the same sink, **without DKIM signing** (Postfix has none of its own);"
             " **Postfix+OpenDKIM** is the same Postfix with Debian's OpenDKIM as its milter"
             " (smtpd_milters), signing each message with an Ed25519 and an RSA-2048 key"
             " (relaxed/relaxed), as mailroom does: how Postfix is set up to sign; its CPU"
             " includes OpenDKIM's. **mailroom sign=no** is mailroom with `[dkim] sign = no`,"
             " for the cost of signing. Runs interleaved.\n",
             "| server | end-to-end msg/s (min-max) | acceptance msg/s (min-max) | server CPU ms/msg |"
             " client CPU ms/msg | sink CPU ms/msg |", "|---|---|---|---|---|---|"]
        L.extend(rate_rows(o["runs"], o["failed"], ("cpu_ms", "client_cpu_ms", "sink_cpu_ms")))
        L.append("")
        for name, runs in o["runs"].items():
            if runs:
                L.append(f"- {name}, each run (end-to-end / acceptance msg/s): "
                         + ", ".join(f"{r['e2e']:.1f} / {r['accept']:.1f}" for r in runs))
        for name, runs in o["runs"].items():
            if runs and runs[0]["roles_ms"]:
                roles = sorted(runs[0]["roles_ms"])
                L.append(f"- {name}: CPU by role, ms per message (median): " + ", ".join(
                    f"{k} {statistics.median(r['roles_ms'].get(k, 0) for r in runs):.2f}" for k in roles))
        mr, nosign = o["runs"].get("mailroom"), o["runs"].get("mailroom sign=no")
        if mr and nosign:
            L.append("- mailroom signing / not signing: end-to-end "
                     f"{statistics.median(r['e2e'] for r in mr) / statistics.median(r['e2e'] for r in nosign):.2f}x")
        L.append(f"- mailroom logged {o['signatures']} DKIM signatures (event=dkim-sign) for the"
                 f" {o['mailroom_sent']} messages it was given (warm-up included)")
        for line in o.get("checks", []):
            L.append(f"- {line}")
        r = self.outbound_ratio()
        if r:
            L.append(f"- mailroom/Postfix: end-to-end **{r:.2f}x** (mailroom signs, Postfix does not)")
        r = self.outbound_ratio("Postfix+OpenDKIM")
        if r:
            L.append(f"- mailroom/Postfix+OpenDKIM: end-to-end **{r:.2f}x** (both sign with both keys)")
        L.append("")
        return L

    def outbound_ratio(self, other="Postfix"):
        runs = self.results.get("outbound", {}).get("runs", {})
        if runs.get("mailroom") and runs.get(other):
            return (statistics.median(r["e2e"] for r in runs["mailroom"])
                    / statistics.median(r["e2e"] for r in runs[other]))
        return None

    # -- backlog --
    def deferred_count(self, server, counter):
        if isinstance(server, Mailroom):
            return counter.count()
        d = os.path.join(server.queue, "deferred")
        return sum(len(files) for _, _, files in os.walk(d))

    def queue_list_time(self, server):
        """Seconds that listing the whole queue takes, and the lines it printed."""
        if isinstance(server, Mailroom):
            cmd = [benchlib.MAILROOM, "-c", server.conf, "queue", "list"]
        else:
            cmd = ["postqueue", "-c", server.etc, "-p"]
        t = time.monotonic()
        p = sh(cmd, timeout=600, check=False)
        return time.monotonic() - t, len(p.stdout.splitlines())

    def queue_procs(self, server):
        """The process that holds the queue's state: mailroom's queued, Postfix's qmgr."""
        if isinstance(server, Mailroom):
            return [server.role_pid("queued")]
        out = []
        for pid in server.tree():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "qmgr":
                        out.append(pid)
            except OSError:
                pass
        return out

    def backlog_run(self, server, n):
        c = self.cfg
        sink = self.sink()
        sink.stop()
        res = {}
        qp = self.queue_procs(server)
        res["rss_empty_kib"] = sum(rss_kib(p) for p in qp)
        res["pss_empty_kib"] = pss_kib(server.tree())
        # Each message once: after retry_min, the first ones are tried (and deferred) again.
        counter = LogCount(getattr(server, "log", "/dev/null"),
                           r"event=delivery qid=(\w+) .*status=deferred", distinct=True)
        t0 = time.monotonic()
        r = self.smtpload(server.smtp_port, n, c["out_sessions"], [self.out_message()], OUT_SENDER,
                          "user@d%d.test", c["out_domains"], timeout=600 + n / 20)
        if isinstance(r, str):
            return {"error": "injecting: " + r}
        res["inject_s"] = r[0]
        try:
            wait_until(lambda: self.deferred_count(server, counter) >= n, 300 + n / 100, 0.5,
                       f"{n} messages deferred by {server.name}")
        except RuntimeError as e:
            return {"error": f"{e} (have {self.deferred_count(server, counter)})"}
        res["deferred_s"] = time.monotonic() - t0
        time.sleep(2)
        qp = self.queue_procs(server)
        res["rss_backlog_kib"] = sum(rss_kib(p) for p in qp)
        res["pss_backlog_kib"] = pss_kib(server.tree())
        res["list_s"], res["list_lines"] = self.queue_list_time(server)
        # A restart with the backlog: how long until it is up, and what the queue's
        # state costs when read from the spool (no garbage of delivery attempts).
        server.stop()
        t = time.monotonic()
        server.start(timeout=300 + n / 100)
        res["restart_s"] = time.monotonic() - t
        time.sleep(1)
        qp = self.queue_procs(server)
        res["rss_restart_kib"] = sum(rss_kib(p) for p in qp)
        say(f"  {server.name:9}: {n} deferred (injected in {res['inject_s']:.0f} s, all deferred"
            f" after {res['deferred_s']:.0f} s); queue-state RSS {res['rss_empty_kib']} ->"
            f" {res['rss_backlog_kib']} KiB, {res['rss_restart_kib']} KiB after a restart"
            f" ({res['restart_s']:.1f} s); queue list {res['list_s']:.2f} s"
            f" ({res['list_lines']} lines)")
        # The sink comes up; each server is told to retry everything now.
        base = sink.count()
        sink.start()
        cpu_q0 = cpu_seconds(qp)
        cpu0 = cpu_seconds(server.tree())
        t0_wall, t0 = time.time(), time.monotonic()
        if isinstance(server, Mailroom):
            sh([benchlib.MAILROOM, "-c", server.conf, "queue", "flush"], timeout=120)
        else:
            sh(["postqueue", "-c", server.etc, "-f"], timeout=120)
        peak, cpu_q, last_sample = 0, cpu_q0, 0
        deadline = time.monotonic() + 300 + n / 20
        while sink.count() < base + n and time.monotonic() < deadline:
            if time.monotonic() - last_sample > 1:
                # Postfix may start a new qmgr; the queue's state is then in it.
                qp_now = self.queue_procs(server)
                peak = max(peak, sum(rss_kib(p) for p in qp_now))
                cpu_q = max(cpu_q, cpu_seconds(qp_now))
                last_sample = time.monotonic()
            time.sleep(0.1)
        got = sink.count() - base
        if got < n:
            return {"error": f"the sink had {got} of {n} messages {time.monotonic() - t0:.0f}s"
                    " after the flush"}
        res["drain_s"] = max(sink.last_write() - t0_wall, 0.001)
        qp_now = self.queue_procs(server)
        cpu_q = max(cpu_q, cpu_seconds(qp_now))
        res["rss_peak_kib"] = max(peak, sum(rss_kib(p) for p in qp_now))
        res["queue_cpu_s"] = cpu_q - cpu_q0
        res["cpu_s"] = cpu_seconds(server.tree()) - cpu0
        res["rate"] = n / res["drain_s"]
        res["per_msg_bytes"] = 1024 * (res["rss_backlog_kib"] - res["rss_empty_kib"]) / n
        res["per_msg_restart_bytes"] = 1024 * (res["rss_restart_kib"] - res["rss_empty_kib"]) / n
        say(f"  {server.name:9}: drained in {res['drain_s']:.1f} s ({res['rate']:.0f} msg/s),"
            f" queue-state CPU {res['queue_cpu_s']:.1f} s, all CPU {res['cpu_s']:.1f} s,"
            f" peak RSS {res['rss_peak_kib']} KiB; {res['per_msg_bytes']:.0f} bytes RSS per"
            " queued message")
        try:
            wait_until(server.queue_empty, 120, 0.5, f"{server.name}'s queue to empty")
        except RuntimeError as e:
            res["warning"] = str(e)
        return res

    def part_backlog(self):
        n, reps = self.cfg["backlog_n"], self.cfg["backlog_reps"]
        say(f"== backlog: {n} x 10 KiB deferred (sink down), then the sink comes up and"
            f" each queue is flushed; {reps} run(s), fresh instances each")
        out = self.results["backlog"] = {"n": n, "runs": {}, "failed": {}}
        for rep in range(reps):
            for s in self.relay_servers(f"backlog{rep + 1}"):
                if s.name not in out["failed"]:
                    r = self.backlog_run(s, n)
                    if "error" in r:
                        out["failed"][s.name] = r["error"]
                        say(f"  {s.name:9}: FAILED: {r['error']}")
                    else:
                        out["runs"].setdefault(s.name, []).append(r)
                self.stop_server(s)
        self.sink().start()

    def report_backlog(self):
        b = self.results["backlog"]
        c = self.cfg
        L = ["## The queue under a backlog\n",
             f"{b['n']} messages of 10 KiB (as in the outbound part, {c['out_domains']} domains)"
             " submitted while the sink is down (connection refused), until every one is deferred;"
             " then the sink comes up and the queue is flushed (`mailroom queue flush`,"
             " `postqueue -f`): drain = time from the flush until the sink has the last one."
             " Queue-state process: mailroom's queued, Postfix's qmgr; RSS (VmRSS) with the"
             " queue empty (freshly started) and with the backlog, and the peak during the"
             " drain; also after a restart with the backlog (the state as read from the spool,"
             " without what the delivery attempts left on the heap), and how long the restart"
             " took until the server was up. Queue list: `mailroom queue list`, `postqueue -p`,"
             " with the backlog. Fresh instances for each run, one server after the other;"
             " medians (min-max) when there were several runs."
             " Bytes per queued message: (RSS with the backlog - RSS empty) / messages; Postfix's"
             " qmgr keeps deferred mail on disk only, and at most 20,000 messages in its active"
             " queue.\n",
             "| server | drain s | msg/s | queue-state CPU s | all CPU s | queue-state RSS empty ->"
             " backlog -> peak KiB | RSS bytes per queued message (after a restart) |"
             " restart s | PSS all KiB empty -> backlog | queue list s (lines) | inject s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
        def cell(runs, key, fmt="{:.1f}"):
            st = stats([r[key] for r in runs])
            if st["n"] == 1:
                return fmt.format(st["med"])
            return f"{fmt.format(st['med'])} ({fmt.format(st['min'])}-{fmt.format(st['max'])})"

        for name, runs in b["runs"].items():
            L.append(f"| {name} | {cell(runs, 'drain_s')} | {cell(runs, 'rate', '{:.0f}')} |"
                     f" {cell(runs, 'queue_cpu_s')} | {cell(runs, 'cpu_s')} |"
                     f" {cell(runs, 'rss_empty_kib', '{:.0f}')} -> {cell(runs, 'rss_backlog_kib', '{:.0f}')}"
                     f" -> {cell(runs, 'rss_peak_kib', '{:.0f}')} | {cell(runs, 'per_msg_bytes', '{:.0f}')}"
                     f" ({cell(runs, 'per_msg_restart_bytes', '{:.0f}')}) | {cell(runs, 'restart_s')} |"
                     f" {cell(runs, 'pss_empty_kib', '{:.0f}')} -> {cell(runs, 'pss_backlog_kib', '{:.0f}')} |"
                     f" {cell(runs, 'list_s', '{:.2f}')} ({runs[0]['list_lines']}) |"
                     f" {cell(runs, 'inject_s', '{:.0f}')} |")
        for name, err in b["failed"].items():
            L.append(f"| {name} | failed: {err} | | | | | | | | | |")
        L.append("")
        r = self.backlog_ratio()
        if r:
            L.append(f"- drain, mailroom/Postfix: **{r:.2f}x** (ratio of the median rates)")
        L.append("")
        return L

    def backlog_ratio(self):
        runs = self.results.get("backlog", {}).get("runs", {})
        a, b = runs.get("mailroom"), runs.get("Postfix")
        if a and b:
            return statistics.median(r["rate"] for r in a) / statistics.median(r["rate"] for r in b)
        return None

    def backlog_bytes(self):
        a = self.results.get("backlog", {}).get("runs", {}).get("mailroom")
        return statistics.median(r["per_msg_bytes"] for r in a) if a else None
