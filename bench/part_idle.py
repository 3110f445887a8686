"""bench/part_idle.py - the idle part of bench/run.py: many concurrent idle SMTP
connections (10,000 in a full run) to mailroom, each open after reading the
greeting, and the PSS they cost; Postfix beside it with fewer (each of its
connections is an smtpd process of its own: 10,000 would be some 12 GiB on a
shared machine), the cost per connection being what is compared."""
from benchlib import say
from servers import Mailroom, Postfix


def nofile_limit(pid):
    """The soft RLIMIT_NOFILE of a process, from /proc/PID/limits."""
    try:
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    return line.split()[3]
    except OSError:
        pass
    return "?"


class IdlePart:
    def part_idle(self):
        n, npf = self.cfg["idle_many"], self.cfg["idle_postfix"]
        say(f"== idle: {n} idle SMTP connections to mailroom, {npf} to Postfix; PSS per connection")
        mr = self.start(Mailroom(self.work, with_pop3=False, label="mailroom-idle",
                                 settings={("limits", "max_connections"): str(2 * n),
                                           ("limits", "max_connections_per_ip"): str(2 * n)}))
        pf = self.start(Postfix(self.work, max_smtpd=npf + 100, label="postfix-idle"))
        out = self.results["idle"] = {"runs": {}}
        smtpd = mr.role_pid("smtpd")
        out["smtpd_nofile"] = nofile_limit(smtpd)
        for s, count in ((mr, n), (pf, npf)):
            r = self.measure_idle(s, s.smtp_port, count)
            out["runs"][s.name] = r
            say(f"  {s.name:9}: {r['n']} idle connections, PSS {r['before_kib']} -> {r['after_kib']}"
                f" KiB ({r['procs_before']} -> {r['procs_after']} processes):"
                f" {r.get('per_conn_kib', float('nan')):.2f} KiB per connection"
                f" (opened in {r['open_s']:.0f} s)" + (f"  ERROR {r['error']}" if "error" in r else ""))
        say(f"  mailroom's smtpd: RLIMIT_NOFILE {out['smtpd_nofile']}")
        for s in (mr, pf):
            self.stop_server(s)

    def report_idle(self):
        d = self.results["idle"]
        L = ["## Many idle SMTP connections\n",
             "Connections opened one after the other from 127.0.0.1, each left idle after"
             " reading the greeting; PSS (`/proc/PID/smaps_rollup`) summed over the server's"
             " processes before and 2 s after, divided by the connections. mailroom with"
             " `max_connections` and `max_connections_per_ip` raised to twice the count; its"
             f" smtpd ran with RLIMIT_NOFILE {d['smtpd_nofile']} (inherited from bench/run.py,"
             " which raises its own to 20,000: serve does not set it). Postfix gets fewer"
             " connections, each one an smtpd process of its own; what is compared is the cost"
             " per connection. Kernel socket memory is in neither figure.\n",
             "| server | connections | PSS before KiB | after KiB | processes before -> after |"
             " per connection KiB |", "|---|---|---|---|---|---|"]
        for name, r in d["runs"].items():
            per = f"{r['per_conn_kib']:.2f}" if "per_conn_kib" in r else "-"
            err = f" ({r['error']})" if "error" in r else ""
            L.append(f"| {name} | {r['n']}{err} | {r['before_kib']} | {r['after_kib']} |"
                     f" {r['procs_before']} -> {r['procs_after']} | {per} |")
        a = d["runs"].get("mailroom", {}).get("per_conn_kib")
        b = d["runs"].get("Postfix", {}).get("per_conn_kib")
        if a and b:
            L.append(f"\n- Postfix/mailroom, memory per idle connection: {b / a:.0f}x")
        L.append("")
        return L

    def idle_per_conn(self):
        return self.results.get("idle", {}).get("runs", {}).get("mailroom", {}).get("per_conn_kib")
