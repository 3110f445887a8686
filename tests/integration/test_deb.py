"""test_deb.py - the Debian package that `make deb` builds (MAILROOM_DEB, else the one
build/ holds): lintian finds no error in it; dpkg -i installs the stripped program,
gzipped man pages, docs and the systemd unit, and postinst makes the service users
and a first config (which a second install keeps); the installed program serves
SMTP on loopback ports with a test config, plainly and again inside the unit's walls
as far as they go without systemd (read-only system but the data dir, /proc of
processes only, no_new_privs, the unit's capability bounding set, SIGTERM to serve
alone; not its system call filter or address families, which systemd alone sets up);
dpkg -r removes the program and keeps config, data and users; dpkg --purge
removes config and data and keeps the system users.

It installs a package on this machine, as root, and purges it in the end: it refuses
to start where a mailroom package, /etc/mailroom or /var/lib/mailroom is already
there, so that it never removes what someone else installed.
"""
import glob
import grp
import os
import pwd
import re
import shutil
import signal
import smtplib
import subprocess
import time

import pytest

import conftest
from conftest import DEMO, Instance, wait_port

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SBIN = "/usr/sbin/mailroom"
UNIT = "/lib/systemd/system/mailroom.service"
CONF_DIR = "/etc/mailroom"
CONF = CONF_DIR + "/mailroom.conf"
DATA = "/var/lib/mailroom"
DOC = "/usr/share/doc/mailroom"
USERS = ("mailroom", "mailroom-lookup", "mailroom-smtpd", "mailroom-pop3d", "mailroom-httpd",
         "mailroom-acme")
SYSTEMD_LEFTOVERS = ("/etc/systemd/system/multi-user.target.wants/mailroom.service",
                     "/etc/systemd/system/mailroom.service",
                     "/var/lib/systemd/deb-systemd-helper-enabled/mailroom.service",
                     "/var/lib/systemd/deb-systemd-helper-masked/mailroom.service")
# linux/capability.h numbers of the capabilities a unit of ours may name.
CAP_NUMBERS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2,
               "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6,
               "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10}
# systemd-analyze security's figure for the unit (0 best, 10 worst): 2.7 when written.
EXPOSURE_MAX = 3.0


def deb_path():
    path = os.environ.get("MAILROOM_DEB")
    if path:
        return path
    found = sorted(glob.glob(os.path.join(TOP, "build", "mailroom_*.deb")))
    return found[-1] if found else None


DEB = deb_path()
pytestmark = pytest.mark.skipif(DEB is None or not os.path.exists(DEB),
                                reason="no package: make deb builds it (make check does)")


def run(*cmd, check=True, timeout=120, **kw):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=env, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def dpkg_status():
    """dpkg's status of mailroom ("install ok installed", ...), or None when unknown."""
    p = run("dpkg-query", "-W", "-f=${Status}", "mailroom", check=False)
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None


def user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def group(name):
    try:
        return grp.getgrnam(name)
    except KeyError:
        return None


def unit_setting(key):
    """The value of key= in the installed unit (the last one, as systemd reads it)."""
    values = re.findall(rf"^{re.escape(key)}=(.*)$", open(UNIT).read(), re.M)
    assert values, f"{UNIT} has no {key}="
    return values[-1].strip()


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


@pytest.fixture
def host():
    """A machine this test may install on and purge; purged again whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("installs a package: run as root")
    status = dpkg_status()
    if status is not None and "not-installed" not in status:
        pytest.fail(f"a mailroom package is on this machine already (dpkg: {status}): this "
                    "test installs and purges its own and leaves that one alone; remove it "
                    "with `dpkg --purge mailroom`, or run the test elsewhere")
    for path in (CONF_DIR, DATA):
        if os.path.lexists(path):
            pytest.fail(f"{path} exists: this test would remove it with the package; move it "
                        "away, or run the test elsewhere")
    try:
        yield
    finally:
        if dpkg_status() not in (None, "unknown ok not-installed"):
            run("dpkg", "--purge", "mailroom", check=False)


def test_lintian_finds_no_errors():
    p = run("lintian", "--pedantic", "--fail-on", "error", DEB, check=False, timeout=300)
    errors = [line for line in p.stdout.splitlines() if line.startswith("E:")]
    assert not errors, p.stdout
    assert p.returncode == 0, p.stdout + p.stderr  # 1: errors, 2: lintian could not run


def test_package_metadata():
    fields = {k: run("dpkg-deb", "-f", DEB, k).stdout.strip()
              for k in ("Package", "Version", "Architecture", "Depends", "Recommends",
                        "Maintainer")}
    # DANE's default trust anchor (the root key) comes from dns-root-data.
    assert fields["Recommends"] == "dns-root-data"
    assert fields["Package"] == "mailroom"
    assert fields["Architecture"] == run("dpkg", "--print-architecture").stdout.strip()
    # The version has one source, src/version.h, and the file name carries it.
    upstream = re.search(r'#define MAILROOM_VERSION "([^"]+)"',
                         open(os.path.join(TOP, "src", "version.h")).read()).group(1)
    assert fields["Version"].split("-")[0] == upstream
    assert os.path.basename(DEB) == f"mailroom_{fields['Version']}_{fields['Architecture']}.deb"
    for page in ("mailroom.8", "mailroom.conf.5"):
        head = open(os.path.join(TOP, "docs", page)).readline()
        assert f'"mailroom {upstream}"' in head, f"docs/{page} names another version: {head}"
    # Computed from the libraries the program links, and adduser for postinst.
    for dep in ("adduser", "libc6", "libssl3", "libevent-2.1-7", "libsqlite3-0", "libseccomp2"):
        assert re.search(rf"(^|, ){re.escape(dep)}( |,|$)", fields["Depends"]), fields["Depends"]
    # No file under /etc: the config is written by postinst, so dpkg has no conffiles.
    listing = run("dpkg-deb", "-c", DEB).stdout
    assert "./etc/" not in listing and " ./var/" not in listing, listing
    control = run("dpkg-deb", "-I", DEB).stdout
    assert "conffiles" not in control, control


def check_installed_files():
    assert os.access(SBIN, os.X_OK)
    sections = run("readelf", "-S", "-W", SBIN).stdout
    assert ".symtab" not in sections and ".debug_info" not in sections, "not stripped"
    assert run(SBIN, "version").stdout.strip().startswith("mailroom ")
    for page in ("/usr/share/man/man8/mailroom.8.gz", "/usr/share/man/man5/mailroom.conf.5.gz",
                 DOC + "/changelog.Debian.gz"):
        head = open(page, "rb").read(10)
        # gzip -9n: no name and no time stored (bytes 4-7 zero), best compression (XFL 2).
        assert head[:2] == b"\x1f\x8b" and head[4:8] == b"\0\0\0\0" and head[8] == 2, page
    copyright = open(DOC + "/copyright").read()
    assert copyright.startswith(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
    assert os.path.isfile(DOC + "/examples/mailroom.conf.example")
    unit = open(UNIT).read()
    assert f"ExecStart={SBIN} -c {CONF} serve" in unit
    assert "ReadWritePaths=" + DATA in unit
    # Without a running systemd: the unit's syntax, and how much of the system it exposes.
    assert shutil.which("systemd-analyze"), "no systemd-analyze: make deps installs systemd"
    p = run("systemd-analyze", "verify", "--man=no", UNIT, check=False)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr
    out = run("systemd-analyze", "security", "--offline=yes", UNIT, check=False).stdout
    m = re.search(r"Overall exposure level for mailroom.service: ([0-9.]+)", out)
    assert m and float(m.group(1)) <= EXPOSURE_MAX, out[-3000:]


def check_users_and_config():
    ids = {}
    for name in USERS:
        pw = user(name)
        assert pw is not None, f"postinst did not make user {name}"
        assert pw.pw_uid < 1000 and pw.pw_uid != 0, pw
        assert pw.pw_shell.endswith("nologin"), pw
        ids[name] = pw
    mail_gid = group("mailroom").gr_gid
    for role in ("smtpd", "pop3d", "httpd"):
        assert ids["mailroom-" + role].pw_gid == mail_gid
    assert ids["mailroom"].pw_gid == mail_gid
    assert ids["mailroom-lookup"].pw_gid == group("mailroom-lookup").gr_gid != mail_gid
    assert ids["mailroom-acme"].pw_gid == group("mailroom-acme").gr_gid != mail_gid
    text = open(CONF).read()
    assert re.search(rf"^data_dir = {re.escape(DATA)}\s", text, re.M), text
    assert os.stat(CONF_DIR + "/key.pem").st_mode & 0o077 == 0
    assert os.stat(CONF_DIR + "/key.pem").st_uid == 0
    assert os.path.isfile(DATA + "/accounts.db")
    assert "ok" in run(SBIN, "-c", CONF, "config", "check").stdout.lower()


def serve_and_mail(walled):
    """A test instance of the installed program (its own config on free loopback ports,
    its own data dir) receives a message over SMTP and stops on SIGTERM to serve alone,
    as systemd's KillMode=mixed sends it. walled: inside what the unit's walls can be
    without systemd."""
    conftest_bin = conftest.BIN
    conftest.BIN = SBIN  # Instance's init and admin commands: the installed program
    try:
        inst = Instance(conftest.deferring_settings())
    finally:
        conftest.BIN = conftest_bin
    cmd = [SBIN, "-c", inst.conf, "serve"]
    bounding = None
    if walled:
        names = unit_setting("CapabilityBoundingSet").split()
        unknown = [n for n in names if n not in CAP_NUMBERS]
        assert not unknown, f"add {unknown} to CAP_NUMBERS"
        bounding = sum(1 << CAP_NUMBERS[n] for n in names)
        caps = ",".join("+" + n[4:].lower() for n in names)
        assert unit_setting("ReadWritePaths") == DATA and unit_setting("ProtectSystem") == "strict"
        # ProtectSystem=strict with ReadWritePaths: all read-only but the data dir;
        # ProtectProc=invisible and ProcSubset=pid: a /proc of that kind.
        walls = (f"mount --bind {inst.data} {inst.data} && mount -o remount,bind,ro / && "
                 "mount -t proc -o hidepid=invisible,subset=pid proc /proc && "
                 f"exec setpriv --no-new-privs --bounding-set=-all,{caps} \"$@\"")
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", walls, "sh"] + cmd
    log = open(inst.logpath, "ab")
    inst.proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    log.close()
    try:
        wait_port(inst.ports["smtp"])
        inst.wait_event("started", _role="queued", timeout=20)
        token = f"deb-{'walled' if walled else 'plain'}-{time.monotonic_ns()}"
        with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20) as s:
            s.sendmail("someone@elsewhere.example", [DEMO],
                       f"Subject: {token}\r\n\r\nfrom the package\r\n")
        assert inst.wait_token(DEMO, token)
        # The roles run as the users postinst made, each under its own uid.
        uids = {proc_status(pid)["Uid"].split()[0] for pid in inst.pids() if pid != inst.proc.pid}
        for name in ("mailroom-smtpd", "mailroom-lookup", "mailroom"):
            assert str(user(name).pw_uid) in uids, (name, uids)
        # The unit's second ExecReload: the installed `status` answers after a SIGHUP.
        assert f"ExecReload={SBIN} -c {CONF} status" in open(UNIT).read()
        mark = inst.log_mark()
        inst.proc.send_signal(signal.SIGHUP)
        inst.wait_event("reload", _role="serve", since=mark)
        p = run(SBIN, "-c", inst.conf, "status", check=False)
        assert p.returncode == 0 and "smtpd" in p.stdout, (p.stdout, p.stderr)
        if walled:
            st = proc_status(inst.proc.pid)  # serve itself (unshare and setpriv exec'd it)
            assert st["NoNewPrivs"] == "1", st
            assert int(st["CapBnd"], 16) == bounding, st["CapBnd"]
        inst.proc.send_signal(signal.SIGTERM)
        try:
            rc = inst.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise AssertionError("serve did not stop within 15 s of SIGTERM (walled: "
                                 f"{walled}; can it signal its roles?):\n{inst.log()[-3000:]}")
        inst.proc = None
        assert rc == 0, inst.log()[-3000:]
    finally:
        inst.cleanup()


def test_install_serve_remove_purge(host):
    # -- install --
    out = run("dpkg", "-i", DEB).stdout
    assert dpkg_status() == "install ok installed", out
    check_installed_files()
    check_users_and_config()
    assert not run("dpkg-query", "-W", "-f=${Conffiles}", "mailroom").stdout.strip()
    # -- a second install keeps the config, the key and the data --
    with open(CONF, "a") as f:
        f.write("; kept by the reinstall\n")
    before = {p: open(p, "rb").read() for p in (CONF, CONF_DIR + "/key.pem")}
    run("dpkg", "-i", DEB)
    assert {p: open(p, "rb").read() for p in before} == before
    check_users_and_config()
    # -- the installed program serves, plainly and walled in as the unit would --
    serve_and_mail(walled=False)
    serve_and_mail(walled=True)
    # -- remove: the program goes; config, data and users stay (Debian policy) --
    p = run("dpkg", "-r", "mailroom")
    assert "warning" not in (p.stdout + p.stderr).lower(), p.stdout + p.stderr
    assert dpkg_status() == "deinstall ok config-files"
    assert not os.path.exists(SBIN) and not os.path.exists(UNIT)
    assert not os.path.exists("/usr/share/man/man8/mailroom.8.gz")
    assert open(CONF, "rb").read() == before[CONF]
    assert os.path.isfile(DATA + "/accounts.db")
    assert all(user(name) for name in USERS)
    # -- purge: everything else goes too --
    p = run("dpkg", "--purge", "mailroom")
    assert "warning" not in (p.stdout + p.stderr).lower(), p.stdout + p.stderr
    assert dpkg_status() in (None, "unknown ok not-installed")
    for path in (CONF_DIR, DATA, DOC) + SYSTEMD_LEFTOVERS:
        assert not os.path.lexists(path), f"{path} left after purge"
    # The system users stay (their uids may still own files somewhere).
    assert all(user(name) for name in USERS)
