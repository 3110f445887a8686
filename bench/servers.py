"""bench/servers.py - private instances of the servers measured: mailroom, Postfix,
OpenSMTPD, Dovecot; each is made in a work dir, started and stopped with bounded waits."""
import glob
import os
import pwd
import re
import shlex
import signal
import sqlite3
import subprocess
import time

import benchlib
from benchlib import (DOMAIN, MAIL_USER, PASSWORD, RCPT, chown_tree, cpu_seconds, free_port, make_maildir,
                      process_tree, pid_alive, read_pidfile, say, set_key, sh, wait_port,
                      wait_until)
from peers import OpenDKIM


class Server:
    name = "?"
    smtp_port = None
    pop3_port = None
    maildir = None           # the Maildir that RCPT's mail lands in
    version = "?"

    def roots(self):
        return []

    def tree(self):
        return process_tree(self.roots())

    def queue_empty(self):
        return True


class Mailroom(Server):
    """mailroom from build/mailroom: init, loopback ports, demo user, serve."""
    name = "mailroom"

    def __init__(self, work, with_pop3=True, prefix=None, label="mailroom", settings=None,
                 name="mailroom"):
        """label names the instance's directory and log (several may run at once);
        settings: {(section, key): value} written into its mailroom.conf; name is
        what the results call it."""
        self.name = name
        self.dir = os.path.join(work, label)
        self.conf = os.path.join(self.dir, "mailroom.conf")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(work, label + ".log")
        self.proc = None
        self.prefix = prefix or []
        self.smtp_port = free_port()
        self.pop3_port = free_port() if with_pop3 else None
        sh([benchlib.MAILROOM, "init", self.dir, "--domain", DOMAIN, "--hostname", "mx.example.test"])
        text = open(self.conf).read()
        for key, val in (("smtp", f"127.0.0.1:{self.smtp_port}"), ("submission", ""),
                         ("submissions", ""), ("pop3s", ""),
                         ("pop3", f"127.0.0.1:{self.pop3_port}" if with_pop3 else "")):
            text = set_key(text, "listen", key, val)
        # The benchmark opens 1,000 connections from 127.0.0.1.
        text = set_key(text, "limits", "max_connections", "5000")
        text = set_key(text, "limits", "max_connections_per_ip", "5000")
        for (section, key), val in (settings or {}).items():
            text = set_key(text, section, key, val)
        with open(self.conf, "w") as f:
            f.write(text + "\n")
        sh([benchlib.MAILROOM, "-c", self.conf, "config", "check"])
        self.add_user(RCPT)
        self.maildir = os.path.join(self.data, "mail", DOMAIN, "demo")
        self.version = sh([benchlib.MAILROOM, "version"], check=False).stdout.strip()

    def add_user(self, address):
        sh([benchlib.MAILROOM, "-c", self.conf, "user", "add", address], input=PASSWORD + "\n")

    def user_hash(self, address):
        db = sqlite3.connect(f"file:{self.data}/accounts.db?mode=ro", uri=True)
        try:
            return db.execute("SELECT hash FROM users WHERE address = ?", (address,)).fetchone()[0]
        finally:
            db.close()

    def mailbox(self, local):
        return os.path.join(self.data, "mail", DOMAIN, local)

    def start(self, timeout=30):
        with open(self.log, "ab") as log:
            offset = log.tell()
            self.proc = subprocess.Popen(self.prefix + [benchlib.MAILROOM, "-c", self.conf, "serve"],
                                         stdout=log, stderr=log, start_new_session=True)

        def started():
            with open(self.log, errors="replace") as f:
                f.seek(offset)
                return "queued: event=started" in f.read()
        wait_port(self.smtp_port, timeout)
        if self.pop3_port:
            wait_port(self.pop3_port, timeout)
        wait_until(started, timeout, what="mailroom queued")

    def stop(self, timeout=30):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                say(f"  mailroom did not stop within {timeout}s: SIGKILL")
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self.proc = None

    def roots(self):
        return [self.proc.pid] if self.proc else []

    def role_pids(self):
        """{role: pid} of the roles' processes of the latest start (from the log)."""
        pids = {}
        with open(self.log, errors="replace") as f:
            for line in f:
                m = re.search(r"serve: event=role-start role=(\w+) pid=(\d+)", line)
                if m:
                    pids[m.group(1)] = int(m.group(2))
        return pids

    def role_pid(self, role):
        return self.role_pids().get(role)

    def role_cpu(self):
        """{role: CPU seconds} of the roles' processes of the latest start."""
        return {role: cpu_seconds([pid]) for role, pid in self.role_pids().items()}

    def queue_empty(self):
        p = sh([benchlib.MAILROOM, "-c", self.conf, "queue", "list"], check=False)
        return p.returncode == 0 and p.stdout.strip() == ""


class Postfix(Server):
    """A private Postfix instance: own config, queue and data directories, a loopback
    smtpd, the Debian daemons, virtual(8) delivery into a Maildir; default durability."""
    name = "Postfix"

    def __init__(self, work, max_smtpd, label="postfix", resolv=None, transport=None,
                 milter=None):
        """label names the instance's directory. resolv: a resolv.conf text; the
        instance then runs in a private mount namespace where it is bound over
        /etc/resolv.conf (Postfix asks the DNS server named there, on port 53).
        transport: transport(5) lines (texthash), e.g. relaying to a sink's port.
        milter: a milter's address for every message (smtpd_milters and
        non_smtpd_milters); a message it cannot take is deferred (tempfail)."""
        self.label = label
        self.resolv = None
        self.dir = os.path.join(work, label)
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.datad = os.path.join(self.dir, "data")
        self.base = os.path.join(self.dir, "mail")
        for d in (self.etc, self.queue, self.datad, self.base):
            os.makedirs(d, exist_ok=True)
        self.smtp_port = free_port()
        pw = pwd.getpwnam(MAIL_USER)
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            f.write(f"{RCPT} {DOMAIN}/demo/\n")
        main_cf = f"""# private benchmark instance (bench/run.py)
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.datad}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx-postfix.example.test
mydomain = example.test
myorigin = $myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
message_size_limit = 52428800
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {self.base}
virtual_mailbox_maps = texthash:{self.etc}/vmailbox
virtual_uid_maps = static:{pw.pw_uid}
virtual_gid_maps = static:{pw.pw_gid}
virtual_minimum_uid = 1
virtual_mailbox_limit = 0
maillog_file = {self.dir}/postfix.log
maillog_file_prefixes = {self.dir}
smtpd_banner = $myhostname ESMTP
"""
        if transport:
            with open(os.path.join(self.etc, "transport"), "w") as f:
                f.write("".join(line + "\n" for line in transport))
            main_cf += f"transport_maps = texthash:{self.etc}/transport\n"
        if milter:
            main_cf += (f"smtpd_milters = {milter}\nnon_smtpd_milters = {milter}\n"
                        "milter_default_action = tempfail\n")
        if resolv:
            self.resolv = os.path.join(self.dir, "resolv.conf")
            with open(self.resolv, "w") as f:
                f.write(resolv)
        # The Debian master.cf services, chroot off (a private instance has no chroot
        # tree), the smtpd on our port with room for the idle-connection test.
        master_cf = f"""127.0.0.1:{self.smtp_port} inet n - n - {max_smtpd} smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(main_cf)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(master_cf)
        pf = pwd.getpwnam("postfix")
        os.chown(self.datad, pf.pw_uid, pf.pw_gid)
        os.chmod(self.datad, 0o700)
        self.maildir = os.path.join(self.base, DOMAIN, "demo")
        make_maildir(self.maildir, pw.pw_uid, pw.pw_gid)
        chown_tree(self.base, pw.pw_uid, pw.pw_gid)
        self.version = sh(["postconf", "-c", self.etc, "-h", "mail_version"]).stdout.strip()

    def start(self, timeout=30):
        sh(["postfix", "-c", self.etc, "check"], check=False)
        cmd = ["postfix", "-c", self.etc, "start"]
        if self.resolv:
            # The master and every daemon it forks stay in the namespace.
            cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   f"mount --bind {self.resolv} /etc/resolv.conf && exec postfix -c {self.etc} start"]
        p = sh(cmd, timeout=60, check=False)
        if p.returncode != 0:
            # postfix(1) writes its fatal errors to stderr only when it is a terminal.
            why = sh(["script", "-qc", shlex.join(cmd), "/dev/null"], check=False, timeout=60).stdout.strip()
            raise RuntimeError(f"postfix start failed: {why[-500:]}")
        wait_port(self.smtp_port, timeout)

    def master_pid(self):
        return read_pidfile(os.path.join(self.queue, "pid", "master.pid"))

    def stop(self, timeout=30):
        pid = self.master_pid()
        sh(["postfix", "-c", self.etc, "stop"], check=False, timeout=60)
        if pid:
            try:
                wait_until(lambda: not pid_alive(pid), timeout, what="postfix master exit")
            except RuntimeError:
                os.kill(pid, signal.SIGKILL)
        # Children of a stopped master exit on their own; wait for them briefly.
        time.sleep(0.5)

    def roots(self):
        return [self.master_pid()]

    def queue_empty(self):
        for sub in ("incoming", "active", "deferred", "maildrop"):
            d = os.path.join(self.queue, sub)
            for _, _, files in os.walk(d):
                if files:
                    return False
        return True


class PostfixDKIM(Postfix):
    """Postfix with OpenDKIM (bench/peers.py) signing every message with an Ed25519
    and an RSA-2048 key, as mailroom does: two OpenDKIM milters, one after the other
    (OpenDKIM signs with one algorithm an instance). Its CPU counts theirs."""
    name = "Postfix+OpenDKIM"

    def __init__(self, work, max_smtpd, label="postfix-dkim", resolv=None, transport=None):
        self.milters = [OpenDKIM(work, DOMAIN, f"{label}-opendkim-{alg}", sel, alg)
                        for sel, alg in (("ed", "ed25519"), ("rsa", "rsa"))]
        super().__init__(work, max_smtpd, label=label, resolv=resolv, transport=transport,
                         milter=", ".join(m.milter() for m in self.milters))

    def records(self):
        return {k: v for m in self.milters for k, v in m.records().items()}

    def start(self, timeout=30):
        for m in self.milters:
            m.start(timeout)
        super().start(timeout)

    def stop(self, timeout=30):
        super().stop(timeout)
        for m in self.milters:
            m.stop()

    def roots(self):
        return super().roots() + [p for m in self.milters for p in m.roots()]


class OpenSMTPD(Server):
    """OpenSMTPD from Debian's package, unpacked (it conflicts with postfix) and run in
    the foreground in a private mount namespace, where its compiled-in paths
    (/var/spool/smtpd, /usr/libexec/opensmtpd, /var/lib/opensmtpd/empty, /run) are
    directories of the work dir bound over the system ones."""
    name = "OpenSMTPD"

    def __init__(self, work):
        self.dir = os.path.join(work, "opensmtpd")
        os.makedirs(self.dir, exist_ok=True)
        debs = glob.glob(os.path.join(self.dir, "opensmtpd_*.deb"))
        if not debs:
            sh(["apt-get", "download", "opensmtpd"], cwd=self.dir, timeout=300)
            debs = glob.glob(os.path.join(self.dir, "opensmtpd_*.deb"))
        self.deb = debs[0]
        self.version = os.path.basename(self.deb).split("_")[1]
        self.x = os.path.join(self.dir, "x")
        sh(["dpkg", "-x", self.deb, self.x])
        missing = [l for l in sh(["ldd", os.path.join(self.x, "usr/sbin/smtpd")]).stdout.splitlines()
                   if "not found" in l]
        if missing:
            raise RuntimeError("OpenSMTPD needs libraries: " + "; ".join(missing))
        # The package's users, made as its postinst makes them.
        for user in ("opensmtpd", "opensmtpq"):
            try:
                pwd.getpwnam(user)
            except KeyError:
                sh(["addgroup", "--system", user], check=False)
                sh(["adduser", "--system", "--home", "/var/lib/opensmtpd/empty",
                    "--no-create-home", "--disabled-password", "--ingroup", user, user])
        self.spool = os.path.join(self.dir, "ns", "spool")       # -> /var/spool
        self.varlib = os.path.join(self.dir, "ns", "varlib")     # -> /var/lib
        self.run = os.path.join(self.dir, "ns", "run")           # -> /run
        os.makedirs(os.path.join(self.spool, "smtpd"), exist_ok=True)
        os.makedirs(os.path.join(self.varlib, "opensmtpd", "empty"), exist_ok=True)
        os.makedirs(self.run, exist_ok=True)
        os.chmod(os.path.join(self.spool, "smtpd"), 0o711)
        self.smtp_port = free_port()
        pw = pwd.getpwnam(MAIL_USER)
        self.maildir = os.path.join(self.dir, "mail", DOMAIN, "demo")
        make_maildir(self.maildir, pw.pw_uid, pw.pw_gid)
        chown_tree(os.path.join(self.dir, "mail"), pw.pw_uid, pw.pw_gid)
        self.conf = os.path.join(self.dir, "smtpd.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# private benchmark instance (bench/run.py)
table vusers {{ "{RCPT}" = "{MAIL_USER}" }}
smtp limit max-mails 1000000
smtp max-message-size 50M
listen on 127.0.0.1 port {self.smtp_port} hostname mx-opensmtpd.example.test
action "local" maildir "{self.maildir}" virtual <vusers>
match from any for domain "{DOMAIN}" action "local"
""")
        os.chmod(self.conf, 0o644)
        # Its resolver (libasr) asks DNS before /etc/hosts unless told otherwise; the
        # reverse lookup of 127.0.0.1 then waits on the network before each greeting.
        # Postfix and mailroom go through nsswitch ("files dns"): the same order here.
        self.resolv = os.path.join(self.dir, "resolv.conf")
        with open("/etc/resolv.conf") as f, open(self.resolv, "w") as g:
            g.write(f.read() + "\nlookup file bind\n")
        self.log = os.path.join(work, "opensmtpd.log")
        self.proc = None

    def start(self, timeout=30):
        smtpd = os.path.join(self.x, "usr/sbin/smtpd")
        script = (f"set -e; mount --bind {self.x}/usr/libexec /usr/libexec; "
                  f"mount --bind {self.spool} /var/spool; mount --bind {self.varlib} /var/lib; "
                  f"mount --bind {self.run} /run; mount --bind {self.resolv} /etc/resolv.conf; "
                  f"exec {smtpd} -d -f {self.conf}")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private",
                                          "sh", "-c", script], stdout=log, stderr=log,
                                         start_new_session=True)
        wait_port(self.smtp_port, timeout)

    def stop(self, timeout=30):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)   # stray mda children, if any
        except ProcessLookupError:
            pass
        self.proc = None

    def roots(self):
        return [self.proc.pid] if self.proc else []

    def queue_empty(self):
        for sub in ("incoming", "queue"):
            for _, _, files in os.walk(os.path.join(self.spool, "smtpd", sub)):
                if files:
                    return False
        return True


class Dovecot(Server):
    """A private Dovecot (pop3 only): own base_dir, passwd-file with the same crypt(3)
    hashes as mailroom's accounts, Maildirs owned by the mail user, no TLS."""
    name = "Dovecot"

    def __init__(self, work):
        self.dir = os.path.join(work, "dovecot")
        self.base = os.path.join(self.dir, "run")
        self.mail = os.path.join(self.dir, "mail")
        for d in (self.base, self.mail, os.path.join(self.dir, "state")):
            os.makedirs(d, exist_ok=True)
        self.pop3_port = free_port()
        self.users = os.path.join(self.dir, "users")
        open(self.users, "w").close()
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# private benchmark instance (bench/run.py)
base_dir = {self.base}
state_dir = {self.dir}/state
instance_name = mailroom-bench-dovecot
log_path = {self.dir}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:~
default_process_limit = 1000
passdb {{
  driver = passwd-file
  args = scheme=CRYPT {self.users}
}}
userdb {{
  driver = passwd-file
  args = {self.users}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  process_limit = 1000
}}
service pop3 {{
  process_limit = 1000
}}
""")
        self.version = sh(["dovecot", "--version"]).stdout.strip()

    def add_user(self, address, crypt_hash):
        pw = pwd.getpwnam(MAIL_USER)
        home = self.mailbox(address.split("@")[0])
        with open(self.users, "a") as f:
            f.write(f"{address}:{{CRYPT}}{crypt_hash}:{pw.pw_uid}:{pw.pw_gid}::{home}::\n")
        return home

    def mailbox(self, local):
        return os.path.join(self.mail, local)

    def start(self, timeout=30):
        # Output to a file: the daemon keeps the descriptors it was given open.
        with open(os.path.join(self.dir, "dovecot.out"), "ab") as out:
            rc = subprocess.run(["dovecot", "-c", self.conf], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out, timeout=60).returncode
        if rc != 0:
            raise RuntimeError(f"dovecot exited {rc}: see {self.dir}/dovecot.out")
        wait_port(self.pop3_port, timeout)

    def stop(self, timeout=30):
        pid = read_pidfile(os.path.join(self.base, "master.pid"))
        with open(os.path.join(self.dir, "dovecot.out"), "ab") as out:
            subprocess.run(["doveadm", "-c", self.conf, "stop"], stdin=subprocess.DEVNULL,
                           stdout=out, stderr=out, timeout=60)
        if pid:
            try:
                wait_until(lambda: not pid_alive(pid), timeout, what="dovecot exit")
            except RuntimeError:
                os.kill(pid, signal.SIGKILL)

    def roots(self):
        return [read_pidfile(os.path.join(self.base, "master.pid"))]
