"""bench/part_callgrind.py - the callgrind part of bench/run.py: instructions per
message in mailroom, a figure that a noisy machine does not move.

mailroom (the optimised build) runs under valgrind's callgrind twice per variant,
with a small and then a larger count of 10 KiB messages over one session; the
difference in instructions (Ir) divided by the difference in messages is the cost
of one message, start-up and shutdown cancelling out. The same difference taken
function by function (callgrind_annotate of both runs) gives the top costs.

Variants:
  plain     as in earlier runs: smtp-source from 127.0.0.1 (trusted: no checks)
            to one local mailbox
  verify    the inbound part's corpus (DKIM-signed by client.test) from an untrusted
            client, [inbound] verify = yes, the benchmark's DNS server
  outbound  the outbound part's message from a trusted client to user@dN.test,
            signed (Ed25519 and RSA) and relayed to the sink
"""
import glob
import os
import re
import time

from benchlib import RCPT, SMTP_SOURCE, LogCount, count_new, say, sh, wait_until
from part_outbound import OUT_SENDER
from servers import Mailroom
from zones import SENDER

VARIANTS = ("plain", "verify", "outbound")
TOP = 15


# The chain every role's work runs under: not worth a line in the top costs.
FRAME = {"main", "serve", "serve_main", "start_role", "role_run", "smtpd_main", "queued_main",
         "lookupd_main", "worker", "start_thread", "store_work", "dispatch", "event_base_loop",
         "event_base_dispatch", "bufferevent_run_readcb_", "(below main)", "ub_process",
         "__libc_start_main@@GLIBC_2.34", "clone3", "event_process_active_single_queue"}


def annotate(path, inclusive):
    """{function: Ir} of one callgrind output file (its function table only). With
    inclusive, only functions with a name (mailroom's and the libraries' entry points),
    less the frame every role runs under."""
    # From /: run where the sources are, it lists some functions twice (by their
    # absolute and their relative path).
    p = sh(["callgrind_annotate", "--threshold=100", "--auto=no",
            f"--inclusive={'yes' if inclusive else 'no'}", path], timeout=300, check=False, cwd="/")
    out = {}
    for line in p.stdout.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*?)(?:\s+\[([^\]]*)\])?\s*$", line)
        if not m or "PROGRAM TOTALS" in line or ":" not in m.group(2):
            continue
        file, fn = m.group(2).split(":", 1)
        if inclusive and (fn.startswith("0x") or fn in FRAME):
            continue
        if file == "???" and fn.startswith("0x"):
            # No symbols (libcrypto, libunbound): the library and the address.
            fn = f"{os.path.basename(m.group(3) or '?')}:{fn}"
        out[fn] = out.get(fn, 0) + int(m.group(1).replace(",", ""))
    return out


class CallgrindPart:
    def callgrind_run(self, variant, n):
        w = os.path.join(self.work, f"cg-{variant}-{n}")
        os.makedirs(w)
        os.chmod(w, 0o755)
        odir = os.path.join(w, "out")
        os.makedirs(odir)
        os.chmod(odir, 0o1777)
        prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={odir}/callgrind.out.%p"]
        settings = {}
        if variant in ("verify", "outbound"):
            dns = self.bench_dns()
            settings[("delivery", "resolver")] = dns.resolver
        if variant == "verify":
            settings[("relay", "trusted_networks")] = ""
            settings[("inbound", "verify")] = "yes"
        if variant == "outbound":
            sink = self.sink()
            if sink.proc is None:
                sink.start()
            settings[("delivery", "remote_port")] = str(sink.port)
        mr = Mailroom(w, with_pop3=False, prefix=prefix, settings=settings)
        self.servers.append(mr)
        mr.start(timeout=180)
        if variant == "plain":
            cmd = [SMTP_SOURCE, "-d", "-s", "1", "-m", str(n), "-l", "10240",
                   "-f", "bench@client.test", "-t", RCPT, "-M", "client.test",
                   f"127.0.0.1:{mr.smtp_port}"]
            load = " ".join(cmd[:-1]) + " 127.0.0.1:PORT"
            sh(cmd, timeout=900)
        elif variant == "verify":
            r = self.smtpload(mr.smtp_port, n, 1, self.corpus_files(), SENDER, RCPT, timeout=900)
            load = f"bench/smtpload -s 1 -m {n} -f {SENDER} -t {RCPT} (the signed corpus)"
        else:
            base = self.sink().count()
            r = self.smtpload(mr.smtp_port, n, 1, [self.out_message()], OUT_SENDER, "user@d%d.test",
                              self.cfg["out_domains"], timeout=900)
            load = f"bench/smtpload -s 1 -m {n} -f {OUT_SENDER} -t user@d%d.test -D {self.cfg['out_domains']}"
        if variant != "plain" and isinstance(r, str):
            raise RuntimeError(f"callgrind {variant}: {r}")
        if variant == "outbound":
            wait_until(lambda: self.sink().count() >= base + n, 900, 0.2, "callgrind deliveries")
        else:
            wait_until(lambda: count_new(mr.maildir) >= n, 600, 0.2, "callgrind deliveries")
        wait_until(mr.queue_empty, 300, 0.5, "callgrind queue to empty")
        time.sleep(1)
        mr.stop(timeout=180)
        self.servers.remove(mr)
        roles = {}
        for line in open(mr.log, errors="replace"):
            m = re.search(r"serve: event=role-start role=(\w+) pid=(\d+)", line)
            if m:
                roles[int(m.group(2))] = m.group(1)
        per_role, files = {}, {}
        for fn in glob.glob(os.path.join(odir, "callgrind.out.*")):
            pid = int(fn.rsplit(".", 1)[1])
            ir = None
            for line in open(fn, errors="replace"):
                if line.startswith(("summary:", "totals:")):
                    ir = int(line.split()[1])
            role = roles.get(pid, "serve")
            per_role[role] = per_role.get(role, 0) + (ir or 0)
            files.setdefault(role, []).append(fn)
        if variant == "outbound":
            # Under valgrind, a signature that lookupd makes too slowly would be left off.
            signed = LogCount(mr.log, r"event=dkim-sign ", from_end=False).count()
            load += f"  # {signed} signatures logged for {n} messages"
        say(f"  {variant}, {n} messages: " + ", ".join(f"{k} {v:,} Ir" for k, v in sorted(per_role.items())))
        return per_role, files, load

    def corpus_files(self):
        if not getattr(self, "corpus", None):
            self.bench_dns()
            self.corpus = self.zones.signed_corpus(os.path.join(self.work, "corpus"),
                                                   self.cfg["small_size"], RCPT)
        return self.corpus

    def part_callgrind(self):
        n1, n2 = self.cfg["cg_small"], self.cfg["cg_large"]
        say(f"== callgrind: mailroom under valgrind, {n1} and {n2} messages of 10 KiB, 1 session;"
            f" variants {', '.join(VARIANTS)}")
        res = self.results["callgrind"] = {"n1": n1, "n2": n2, "command":
                                           "valgrind --tool=callgrind --callgrind-out-file="
                                           "OUT/callgrind.out.%p build/mailroom -c CONF serve",
                                           "variants": {}}
        for variant in VARIANTS:
            try:
                (a, fa, _), (b, fb, load) = self.callgrind_run(variant, n1), self.callgrind_run(variant, n2)
            except Exception as e:
                res["variants"][variant] = {"error": str(e)}
                say(f"  {variant}: FAILED: {e}")
                continue
            roles = sorted(set(a) | set(b))
            per_msg = {r: (b.get(r, 0) - a.get(r, 0)) / (n2 - n1) for r in roles}
            v = {"runs": {n1: a, n2: b}, "per_msg": per_msg, "load": load,
                 "per_msg_total": sum(per_msg.values()), "top": {}}
            for role in roles:
                if per_msg[role] < 1000 or role not in fa or role not in fb:
                    continue
                for inclusive in (False, True):
                    fa_ = {}
                    for f in fa[role]:
                        for k, x in annotate(f, inclusive).items():
                            fa_[k] = fa_.get(k, 0) + x
                    fb_ = {}
                    for f in fb[role]:
                        for k, x in annotate(f, inclusive).items():
                            fb_[k] = fb_.get(k, 0) + x
                    diff = {k: (fb_.get(k, 0) - fa_.get(k, 0)) / (n2 - n1) for k in set(fa_) | set(fb_)}
                    top = sorted(diff.items(), key=lambda kv: -kv[1])[:TOP]
                    v["top"][(role, inclusive)] = top
            res["variants"][variant] = v
            say(f"  {variant}: per message " + ", ".join(f"{r} {x:,.0f}" for r, x in per_msg.items())
                + f"; total {v['per_msg_total']:,.0f} instructions")

    def callgrind_total(self, variant):
        v = self.results.get("callgrind", {}).get("variants", {}).get(variant, {})
        return v.get("per_msg_total")

    def report_callgrind(self):
        c = self.results["callgrind"]
        n1, n2 = c["n1"], c["n2"]
        L = ["## Instructions per message (callgrind)\n",
             "mailroom (build/mailroom, the optimised build) runs under callgrind twice per"
             f" variant, with {n1} and then {n2} messages of 10 KiB sent over one session; the"
             " figure is the difference in instructions (Ir) divided by the difference in"
             " messages, so that start-up and shutdown cancel out. It counts instructions, not"
             " time, and so shows regressions on a noisy machine. **plain**: from a trusted"
             " client, no checks, into the Maildir (the figure of earlier runs); **verify**: the"
             " inbound part's signed corpus from an untrusted client with `[inbound] verify ="
             " yes`, into the Maildir; **outbound**: the outbound part's message from a trusted"
             " client to remote domains, signed with both keys, until the sink has it.\n",
             f"    {c['command']}\n"]
        for variant, v in c["variants"].items():
            L.append(f"### {variant}\n")
            if "error" in v:
                L.append(f"failed: {v['error']}\n")
                continue
            L.append(f"    {v['load']}\n")
            L.append(f"| process | Ir per message | Ir total, {n1} msgs | Ir total, {n2} msgs |")
            L.append("|---|---|---|---|")
            for role, x in v["per_msg"].items():
                L.append(f"| {role} | {x:,.0f} | {v['runs'][n1].get(role, 0):,} |"
                         f" {v['runs'][n2].get(role, 0):,} |")
            L.append(f"| **all** | **{v['per_msg_total']:,.0f}** | | |")
            L.append("")
            for (role, inclusive), top in v["top"].items():
                if variant == "plain":
                    continue
                kind = ("inclusive Ir (the function and all it calls), named functions"
                        if inclusive else "self Ir, any function (libraries without symbols as"
                        " library:address)")
                L.append(f"{role}, the top costs by {kind}, per message (the difference of the two"
                         " runs):\n")
                L.append("| function | Ir per message |\n|---|---|")
                for fn, x in top:
                    L.append(f"| `{fn}` | {x:,.0f} |")
                L.append("")
        return L
