"""bench/benchlib.py - what the parts of bench/run.py share: paths, small helpers,
the /proc readings (process trees, PSS, CPU time) and Maildir handling."""
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
MAILROOM = os.path.join(ROOT, "build", "mailroom")
SMTP_SOURCE = "/usr/sbin/smtp-source"
DOMAIN = "example.test"
RCPT = "demo@" + DOMAIN
PASSWORD = "bench-password-1"
MAIL_USER = "mailroom"          # mailroom drops to it; the other servers deliver as it too
CLK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- small helpers

def say(*args):
    print(*args, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def wait_until(pred, timeout, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


def sh(cmd, timeout=120, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-800:]}")
    return p


def set_key(text, section, key, value):
    """Set key in [section] of an INI text, replacing the line or adding one."""
    out, cur, done = [], None, False
    for line in text.split("\n"):
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


def stats(values):
    v = sorted(values)
    return {"med": statistics.median(v), "min": v[0], "max": v[-1], "n": len(v)}


def interleave(servers, reps, run, show, width=9):
    """reps rounds of run(server) for each server in turn (a noisy neighbour then
    hurts them alike); a server whose run fails is left out of the rounds after.
    show(result) is the line printed for a run. Returns ({name: [result]}, {name: error})."""
    runs, failed = {s.name: [] for s in servers}, {}
    for rep in range(reps):
        for s in servers:
            if s.name in failed:
                continue
            r = run(s)
            if "error" in r:
                failed[s.name] = r["error"]
                say(f"  {s.name:{width}} run {rep + 1}: FAILED: {r['error']}")
                continue
            runs[s.name].append(r)
            say(f"  {s.name:{width}} run {rep + 1}: {show(r)}")
    return runs, failed


def roles_text(r):
    """ (smtpd 0.30, queued 0.10): a run's CPU per message by role, when it has one."""
    if not r.get("roles_ms"):
        return ""
    return " (" + ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["roles_ms"].items())) + ")"


def rate_rows(runs, failed, med_keys):
    """Table rows: server | end-to-end msg/s (min-max) | acceptance (min-max) | the
    median of each of med_keys."""
    L = []
    for name, rs in runs.items():
        if not rs:
            L.append(f"| {name} | failed: {failed.get(name, '?')} |" + " |" * (len(med_keys) + 1))
            continue
        e, a = stats([r["e2e"] for r in rs]), stats([r["accept"] for r in rs])
        fail = f" (then failed: {failed[name]})" if name in failed else ""
        L.append(f"| {name} | {e['med']:.1f} ({e['min']:.1f}-{e['max']:.1f}){fail} |"
                 f" {a['med']:.1f} ({a['min']:.1f}-{a['max']:.1f}) |"
                 + "".join(f" {statistics.median(r[k] for r in rs):.2f} |" for k in med_keys))
    return L


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def read_pidfile(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------- /proc

def process_tree(roots):
    """Every live pid under the given roots (the roots included)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [r for r in roots if r and pid_alive(r)]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def cpu_seconds(pids):
    """utime+stime of the processes plus what they reaped of their children."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])
    return total / CLK


def rss_kib(pid):
    """VmRSS of one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class LogCount:
    """Counts the lines of a growing file that match a regex, reading on from where
    the last call stopped (a line not yet ended waits for the next call)."""

    def __init__(self, path, pattern, from_end=True, distinct=False):
        """distinct: count the distinct values of the pattern's first group instead."""
        self.path, self.re, self.n = path, re.compile(pattern), 0
        self.seen = set() if distinct else None
        try:
            self.offset = os.path.getsize(path) if from_end else 0
        except OSError:
            self.offset = 0

    def count(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return self.n
        cut = data.rfind(b"\n") + 1
        self.offset += cut
        for line in data[:cut].decode(errors="replace").splitlines():
            m = self.re.search(line)
            if m and self.seen is not None:
                self.seen.add(m.group(1))
                self.n = len(self.seen)
            elif m:
                self.n += 1
        return self.n


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# ---------------------------------------------------------------- Maildirs

def copy_messages(src_new, names, dst, uid, gid, like=False):
    """Copy the named files of a new/ directory into the Maildir dst (its new/).
    With like, the copies get the owner, group and modes of the source Maildir
    (mailroom's roles reach a mailbox through its group: pop3d writes a lock file)."""
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(dst, sub), exist_ok=True)
    for n in names:
        shutil.copyfile(os.path.join(src_new, n), os.path.join(dst, "new", n))
    if not like:
        chown_tree(dst, uid, gid)
        return
    src = os.path.dirname(src_new.rstrip("/"))
    for rel in ("", "tmp", "new", "cur"):
        st = os.stat(os.path.join(src, rel))
        os.chown(os.path.join(dst, rel), st.st_uid, st.st_gid)
        os.chmod(os.path.join(dst, rel), st.st_mode & 0o7777)
    for n in names:
        st = os.stat(os.path.join(src_new, n))
        os.chown(os.path.join(dst, "new", n), st.st_uid, st.st_gid)
        os.chmod(os.path.join(dst, "new", n), st.st_mode & 0o7777)


def chown_tree(path, uid, gid):
    os.chown(path, uid, gid)
    for dirpath, dirs, files in os.walk(path):
        for n in dirs + files:
            os.lchown(os.path.join(dirpath, n), uid, gid)


def make_maildir(path, uid, gid):
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    chown_tree(path, uid, gid)


def count_new(path):
    try:
        return len(os.listdir(os.path.join(path, "new")))
    except FileNotFoundError:
        return 0


SPENT_DIR = None   # set by run.py: where clear_maildir moves what it takes out


def clear_maildir(path):
    """Empty the Maildir for the next run by moving its files aside (into
    SPENT_DIR, in the work dir: removed with it at the end), not by deleting them: ext4
    without a journal (as on the machines this runs on) makes every new file walk
    past each inode freed in the last minutes, so deleting one run's files would
    slow the next run's deliveries by how many the last run left, whichever server
    it measures."""
    spent = SPENT_DIR
    if spent is not None:
        os.makedirs(spent, exist_ok=True)
    for sub in ("new", "cur", "tmp"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            for n in os.listdir(d):
                if spent is None:
                    try:
                        os.unlink(os.path.join(d, n))
                    except OSError:
                        pass
                    continue
                dst = os.path.join(spent, n)
                k = 0
                while os.path.exists(dst):
                    k += 1
                    dst = os.path.join(spent, f"{n}.{k}")
                try:
                    os.rename(os.path.join(d, n), dst)
                except OSError:
                    pass