"""bench/part_inbound.py - the inbound part of bench/run.py: mail from outside (not a
trusted network) with mailroom's checks on, as a public MX gets it.

The corpus is DKIM-signed by client.test (bench/zones.py); the benchmark's DNS
server has client.test's SPF (ip4:127.0.0.1), DKIM and DMARC records, so each
message passes SPF, every signature and DMARC, and gets an Authentication-Results
field. mailroom with [inbound] verify = yes (the default) and, for the cost of
the checks, a second instance with verify = no; both with trusted_networks empty
(by default 127.0.0.0/8 is trusted and never checked). Postfix as a plain MX, with
no checks at all: it verifies nothing by default.
"""
import os
import statistics
import time

from benchlib import (LogCount, RCPT, clear_maildir, count_new, cpu_seconds, interleave, rate_rows,
                      roles_text, say, wait_until)
from servers import Mailroom, Postfix
from zones import SENDER


class InboundParts:
    def inbound_servers(self):
        dns = self.bench_dns()
        out = []
        for label, verify, name in (("verify", "yes", "mailroom"),
                                    ("noverify", "no", "mailroom verify=no")):
            mr = Mailroom(self.work, with_pop3=False, label=f"mailroom-{label}", name=name,
                          settings={("delivery", "resolver"): dns.resolver,
                                    ("relay", "trusted_networks"): "",
                                    ("inbound", "verify"): verify})
            out.append(self.start(mr))
        out.append(self.start(Postfix(self.work, max_smtpd=200, label="postfix-in")))
        say(f"  inbound: mailroom (verify) on 127.0.0.1:{out[0].smtp_port}, mailroom (verify=no) on"
            f" 127.0.0.1:{out[1].smtp_port}, Postfix on 127.0.0.1:{out[2].smtp_port}")
        return out

    def inbound_run(self, server, n, sessions):
        md = server.maildir
        clear_maildir(md)
        try:
            wait_until(server.queue_empty, 120, 0.5, f"{server.name}'s queue to empty")
        except RuntimeError as e:
            return {"error": str(e)}
        os.sync()
        time.sleep(0.3)
        cpu0 = cpu_seconds(server.tree())
        roles0 = server.role_cpu() if isinstance(server, Mailroom) else {}
        t0_wall = time.time()
        r = self.smtpload(server.smtp_port, n, sessions, self.corpus, SENDER, RCPT)
        if isinstance(r, str):
            return {"error": r}
        t_accept, client_cpu = r
        deadline = time.monotonic() + 120 + n / 50
        while count_new(md) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        got = count_new(md)
        if got < n:
            return {"error": f"only {got} of {n} messages in the Maildir"}
        t_e2e = max(os.stat(os.path.join(md, "new")).st_mtime - t0_wall, t_accept)
        roles = {}
        if roles0:
            roles = {k: 1000 * (v - roles0.get(k, 0)) / n for k, v in server.role_cpu().items()}
        return {"accept": n / t_accept, "e2e": n / t_e2e, "roles_ms": roles,
                "cpu_ms": 1000 * (cpu_seconds(server.tree()) - cpu0) / n,
                "client_cpu_ms": 1000 * client_cpu / n}

    def part_inbound(self):
        c = self.cfg
        say(f"== inbound: {c['small_n']} x 10 KiB, DKIM-signed by client.test, from an untrusted"
            " client, checks on (SPF, DKIM, DMARC, Authentication-Results)")
        self.corpus_files()
        servers = self.inbound_servers()
        checks = LogCount(servers[0].log, r"event=checks ")
        passed = LogCount(servers[0].log, r'event=checks .*spf=pass .*dkim="pass[^"]*".*dmarc=pass')
        skipped = LogCount(servers[0].log, r"event=checks-skipped")
        for s in servers:
            r = self.inbound_run(s, 60, 2)
            if "error" in r:
                say(f"  warm-up {s.name}: {r['error']}")
        out = self.results["inbound"] = {"workloads": {}}
        for sessions in c["sessions"]:
            title = f"{c['small_n']} x 10 KiB, {sessions} session{'s' if sessions > 1 else ''}"
            say(f"-- {title}")
            runs, failed = interleave(
                servers, c["reps"], lambda s: self.inbound_run(s, c["small_n"], sessions),
                lambda r: f"accept {r['accept']:7.1f} msg/s  end-to-end {r['e2e']:7.1f} msg/s"
                f"  server CPU {r['cpu_ms']:.2f} ms/msg" + roles_text(r), width=18)
            out["workloads"][title] = {"sessions": sessions, "runs": runs, "failed": failed}
        out["checks"], out["passed"], out["skipped"] = checks.count(), passed.count(), skipped.count()
        say(f"  mailroom (verify): {out['checks']} checks events, {out['passed']} with SPF, DKIM"
            f" and DMARC pass, {out['skipped']} checks-skipped")
        for s in servers:
            self.stop_server(s)

    def inbound_ratio(self, sessions):
        c = self.cfg
        title = f"{c['small_n']} x 10 KiB, {sessions} session{'s' if sessions > 1 else ''}"
        w = self.results.get("inbound", {}).get("workloads", {}).get(title)
        if not w or not w["runs"].get("mailroom") or not w["runs"].get("Postfix"):
            return None
        return (statistics.median(r["e2e"] for r in w["runs"]["mailroom"])
                / statistics.median(r["e2e"] for r in w["runs"]["Postfix"]))

    def report_inbound(self):
        b = self.results["inbound"]
        L = ["## Inbound with the checks on\n",
             "`bench/smtpload.c` (many messages per connection, no pipelining) from 127.0.0.1,"
             " which is not a trusted network here (`trusted_networks` empty), to"
             f" {RCPT}: a corpus of three messages of 10 KiB from {SENDER}, signed with dkimpy"
             " by client.test's RSA-2048 key, its Ed25519 key, and both, sent in turn. The"
             " benchmark's DNS server (dnsmasq on loopback, mailroom's `[delivery] resolver`)"
             " has client.test's SPF record (ip4:127.0.0.1), both DKIM keys and a DMARC"
             " record (p=reject, with a rua), so every message passes SPF, DKIM and DMARC and"
             " gets an Authentication-Results field. **mailroom** runs with `[inbound] verify ="
             " yes` (the default); **mailroom verify=no** is the same without the checks;"
             " **Postfix** is a plain MX that checks nothing (its default: no SPF, DKIM or DMARC"
             " without a policy service or milter). End-to-end as in the SMTP part: until the"
             " last message is in the Maildir's new/. Runs interleaved.\n"]
        for title, w in b["workloads"].items():
            L.append(f"### {title}\n")
            L.append("| server | end-to-end msg/s (min-max) | acceptance msg/s (min-max) |"
                     " server CPU ms/msg | client CPU ms/msg |")
            L.append("|---|---|---|---|---|")
            L.extend(rate_rows(w["runs"], w["failed"], ("cpu_ms", "client_cpu_ms")))
            L.append("")
            for name, runs in w["runs"].items():
                if runs and runs[0]["roles_ms"]:
                    roles = sorted(runs[0]["roles_ms"])
                    L.append(f"- {name}: CPU by role, ms per message (median): " + ", ".join(
                        f"{k} {statistics.median(r['roles_ms'].get(k, 0) for r in runs):.2f}"
                        for k in roles))
            mr, pf = w["runs"].get("mailroom"), w["runs"].get("Postfix")
            nv = w["runs"].get("mailroom verify=no")
            if mr and pf:
                L.append("- mailroom/Postfix: end-to-end **"
                         f"{statistics.median(r['e2e'] for r in mr) / statistics.median(r['e2e'] for r in pf):.2f}x**")
            if mr and nv:
                L.append("- mailroom verify=yes / verify=no: end-to-end "
                         f"{statistics.median(r['e2e'] for r in mr) / statistics.median(r['e2e'] for r in nv):.2f}x")
            L.append("")
        L.append(f"- mailroom (verify): {b['checks']} `event=checks` lines, {b['passed']} with SPF,"
                 f" DKIM and DMARC pass, {b['skipped']} `checks-skipped`\n")
        return L
