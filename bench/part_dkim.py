"""bench/part_dkim.py - the dkim part of bench/run.py: DKIM signatures and
verifications a second on one core (bench/dkimrate.c, linked with mailroom's own
src/dkim code), Ed25519 and RSA-2048, 10 KiB messages. Postfix has no DKIM of its
own (it takes a milter such as OpenDKIM), so there is nothing to set beside it."""
import os
import shutil

from benchlib import ROOT, say, sh, stats

OPS = (("sign", "a whole signature as queued and lookupd make it, less IPC and store:"
        " body hash, fields, DKIM-Signature built, dkim_key_sign, b= folded in"),
       ("keysign", "dkim_key_sign alone: the key read from its PEM, then signed with"),
       ("pemread", "reading the PEM into an OpenSSL key alone"),
       ("keyop", "the private-key operation alone, with a key read once"),
       ("verify", "a verification of one signature: dkim_verify_new/_body/_finish, the key"
        " record answered at once (no DNS), the parsed key kept as smtpd keeps it"),
       ("verifycold", "the same with the key read from its record each time (a key not"
        " seen lately)"))


class DkimPart:
    def dkimrate_bin(self):
        src = os.path.join(ROOT, "build", "bench", "dkimrate")
        if not os.access(src, os.X_OK):
            sh(["make", "-C", ROOT, "build/bench/dkimrate"], timeout=1800)
        dst = os.path.join(self.bin, "dkimrate")
        shutil.copy2(src, dst)
        return dst

    def part_dkim(self):
        secs = self.cfg["dkim_seconds"]
        say(f"== dkim: signatures and verifications a second on one core ({secs} s of CPU each)")
        tool = self.dkimrate_bin()
        runs = {}
        for rep in range(self.cfg["reps"]):
            out = sh([tool, "-t", str(secs), "-s", str(self.cfg["small_size"])], timeout=600).stdout
            for line in out.splitlines():
                kv = dict(x.split("=", 1) for x in line.split())
                runs.setdefault((kv["op"], kv["alg"]), []).append(float(kv["per_s"]))
            say(f"  run {rep + 1}: " + ", ".join(f"{op}/{alg} {v[-1]:.0f}" for (op, alg), v in runs.items()))
        self.results["dkim"] = {"runs": runs, "seconds": secs}

    def report_dkim(self):
        d = self.results["dkim"]
        L = ["## DKIM signatures and verifications per second, one core\n",
             "`bench/dkimrate.c`, linked with mailroom's release objects (src/dkim), one thread;"
             f" each figure is operations / CPU seconds over at least {d['seconds']} s of CPU, for a"
             " 10 KiB message; medians of 3 runs (min-max). Postfix signs and verifies nothing"
             " itself (it would take a milter such as OpenDKIM): there is no figure beside it.\n",
             "| operation | Ed25519 /s (min-max) | RSA-2048 /s (min-max) | what |", "|---|---|---|---|"]
        for op, what in OPS:
            cells = []
            for alg in ("ed25519", "rsa"):
                v = d["runs"].get((op, alg))
                if v:
                    st = stats(v)
                    cells.append(f"{st['med']:.0f} ({st['min']:.0f}-{st['max']:.0f})")
                else:
                    cells.append("-")
            L.append(f"| {op} | {cells[0]} | {cells[1]} | {what} |")
        v = d["runs"].get(("verify2", "both"))
        if v:
            st = stats(v)
            L.append(f"\nA message signed with both keys (the same c=), both signatures verified"
                     f" as smtpd does: {st['med']:.0f}/s ({st['min']:.0f}-{st['max']:.0f}).")
        L.append("")
        return L
