"""test_pop3_clients.py - real POP3 clients and a real POP3 server on the same mail.

fetchmail and getmail6 download (and delete) mail that arrived through mailroom's
SMTP listener, in the clear from a trusted network, with STLS and over pop3s with
the certificate checked. A private Dovecot instance reads the same Maildirs and
must see the same messages, sizes and (with pop3_uidl_format = %f) the same
UIDLs, and mailroom must keep working after Dovecot has renamed files.
"""
import os
import poplib
import pwd
import shutil
import signal
import smtplib
import subprocess
import tempfile

import pytest

from conftest import DEMO, DEMO_PASSWORD, free_port, wait_port

FETCHMAIL = shutil.which("fetchmail")
GETMAIL = shutil.which("getmail")
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def send(inst, subjects, to=DEMO):
    """One message per subject over SMTP; returns their bodies' marker lines."""
    before = len(inst.messages(to))
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20) as s:
        for subj in subjects:
            msg = (f"From: sender@remote.test\r\nTo: {to}\r\nSubject: {subj}\r\n\r\n"
                   f"body of {subj}\r\n.a line with a leading dot\r\n").encode()
            s.sendmail("sender@remote.test", [to], msg)
    inst.wait_messages(to, before + len(subjects))


def scratch(prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)
    return d


def pop_uidls(port, user, password):
    p = poplib.POP3("127.0.0.1", port, timeout=20)
    p.user(user)
    p.pass_(password)
    _, lines, _ = p.uidl()
    _, sizes, _ = p.list()
    bodies = [b"\r\n".join(p.retr(i + 1)[1]) for i in range(len(lines))]
    p.quit()
    return ([line.split()[1] for line in lines], [line.split()[1] for line in sizes], bodies)


# ---- fetchmail ----

def run_fetchmail(inst, d, port, tls_lines):
    out = os.path.join(d, "out")
    os.makedirs(out, exist_ok=True)
    rc = os.path.join(d, "fetchmailrc")
    with open(rc, "w") as f:
        f.write(f"""set no syslog
poll 127.0.0.1 protocol POP3 port {port} auth password
  user "{DEMO}" there with password "{DEMO_PASSWORD}" is root here
  {tls_lines} fetchall nokeep
  mda "/bin/sh -c 'cat > {out}/msg.$$'"
""")
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=d, FETCHMAILHOME=d)
    p = subprocess.run([FETCHMAIL, "-v", "-f", rc, "--idfile", os.path.join(d, "ids"),
                        "--pidfile", os.path.join(d, "pid")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    got = []
    for name in sorted(os.listdir(out)):
        with open(os.path.join(out, name), "rb") as fh:
            got.append(fh.read())
    return got, p.stdout


@pytest.mark.skipif(FETCHMAIL is None, reason="fetchmail is not installed")
@pytest.mark.parametrize("mode", ["plain", "stls", "pop3s"])
def test_fetchmail_downloads_and_deletes(make_instance, mode):
    inst = make_instance()
    subjects = [f"fetchmail {mode} {i}" for i in range(3)]
    send(inst, subjects)
    d = scratch("fetchmail-")
    try:
        # fetchmail checks the certificate's common name, not the IP address.
        check = f'sslcertck sslcertfile "{inst.cert}" sslcommonname mx.example.test'
        if mode == "plain":
            got, log = run_fetchmail(inst, d, inst.ports["pop3"], 'sslproto ""')
            assert "POP3> STLS" not in log
        elif mode == "stls":
            got, log = run_fetchmail(inst, d, inst.ports["pop3"], "sslproto tls1.2+ " + check)
            assert "POP3> STLS" in log
        else:
            got, log = run_fetchmail(inst, d, inst.ports["pop3s"], "ssl " + check)
        assert len(got) == 3
        for subj in subjects:
            [m] = [g for g in got if f"Subject: {subj}\n".encode() in g]
            assert f"\nbody of {subj}\n.a line with a leading dot\n".encode() in m
            assert b"Delivered-To: demo@example.test\n" in m
        assert "POP3> DELE 3" in log and "POP3> QUIT" in log
        assert inst.messages(DEMO) == []
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- getmail6 ----

def run_getmail(inst, d, ssl, delete):
    """getmail6 as nobody (it refuses to deliver into a Maildir as root)."""
    nobody = pwd.getpwnam("nobody")
    md = os.path.join(d, "Maildir")
    gdir = os.path.join(d, "getmail")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    os.makedirs(gdir, exist_ok=True)
    ca = os.path.join(d, "ca.pem")
    shutil.copy(inst.cert, ca)
    rc = os.path.join(gdir, "getmailrc")
    with open(rc, "w") as f:
        f.write(f"""[retriever]
type = {"SimplePOP3SSLRetriever" if ssl else "SimplePOP3Retriever"}
server = 127.0.0.1
port = {inst.ports["pop3s" if ssl else "pop3"]}
username = {DEMO}
password = {DEMO_PASSWORD}
""" + (f"ca_certs = {ca}\nssl_cert_hostname = mx.example.test\n" if ssl else "") + f"""
[destination]
type = Maildir
path = {md}/

[options]
delete = {"true" if delete else "false"}
read_all = false
verbose = 2
""")
    for root, dirs, fs in os.walk(d):
        for x in dirs + fs:
            os.chown(os.path.join(root, x), nobody.pw_uid, nobody.pw_gid)
    p = subprocess.run(["runuser", "-u", "nobody", "--", GETMAIL, "--rcfile", rc,
                        "--getmaildir", gdir], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    got = []
    for name in sorted(os.listdir(os.path.join(md, "new"))):
        with open(os.path.join(md, "new", name), "rb") as fh:
            got.append(fh.read())
    return got, p.stdout


@pytest.mark.skipif(GETMAIL is None, reason="getmail6 is not installed")
@pytest.mark.parametrize("ssl", [False, True], ids=["pop3", "pop3s"])
def test_getmail_downloads_and_deletes(make_instance, ssl):
    inst = make_instance()
    subjects = [f"getmail {ssl} {i}" for i in range(3)]
    send(inst, subjects)
    d = scratch("getmail-")
    try:
        got, log = run_getmail(inst, d, ssl, delete=True)
        assert len(got) == 3, log
        for subj in subjects:
            [m] = [g for g in got if f"Subject: {subj}\n".encode() in g]
            assert f"\nbody of {subj}\n.a line with a leading dot\n".encode() in m
        assert inst.messages(DEMO) == []
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(GETMAIL is None, reason="getmail6 is not installed")
def test_getmail_remembers_uidls(make_instance):
    """Without delete, getmail6 fetches only UIDLs it has not seen: they must be stable."""
    inst = make_instance()
    send(inst, ["kept 1", "kept 2"])
    d = scratch("getmail-")
    try:
        got, log = run_getmail(inst, d, False, delete=False)
        assert len(got) == 2, log
        got, log = run_getmail(inst, d, False, delete=False)
        assert len(got) == 2, log  # nothing new
        send(inst, ["kept 3"])
        got, log = run_getmail(inst, d, False, delete=False)
        assert len(got) == 3, log
        assert sum(b"Subject: kept 3\n" in g for g in got) == 1
        assert len(inst.messages(DEMO)) == 3
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- Dovecot on the same Maildirs ----

@pytest.fixture
def dovecot(make_instance):
    """A mailroom instance and a private Dovecot POP3 server over its mailboxes."""
    if not os.path.exists(DOVECOT):
        pytest.skip("dovecot is not installed")
    inst = make_instance()
    d = scratch("dovecot-")
    port = free_port()
    st = os.stat(inst.data)
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = static
  args = password=dovecot-password
}}
userdb {{
  driver = static
  args = uid={st.st_uid} gid={st.st_gid} home={inst.data}/mail/%d/%n
}}
mail_location = maildir:{inst.data}/mail/%d/%n
# The Maildir base name, as mailroom's UIDL.
pop3_uidl_format = %f
service pop3-login {{
  inet_listener pop3 {{
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
    proc = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_port(port)
        yield inst, port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


def test_dovecot_sees_the_same_messages(dovecot):
    inst, dport = dovecot
    send(inst, ["seen by both 1", "seen by both 2", "seen by both 3"])
    # mailroom first: it moves new/ to cur/ as Dovecot would.
    ours = pop_uidls(inst.ports["pop3"], DEMO, DEMO_PASSWORD)
    theirs = pop_uidls(dport, DEMO, "dovecot-password")
    assert len(ours[0]) == 3
    assert ours == theirs
    # Dovecot's RETR set \Seen: the files now end in ":2,S". Nothing changes for us.
    cur = os.listdir(os.path.join(inst.maildir(DEMO), "cur"))
    assert any(name.endswith(":2,S") for name in cur), cur
    assert pop_uidls(inst.ports["pop3"], DEMO, DEMO_PASSWORD) == ours


def test_dovecot_first_then_mailroom(dovecot):
    inst, dport = dovecot
    send(inst, ["dovecot first 1", "dovecot first 2"])
    theirs = pop_uidls(dport, DEMO, "dovecot-password")
    ours = pop_uidls(inst.ports["pop3"], DEMO, DEMO_PASSWORD)
    assert len(ours[0]) == 2
    assert ours == theirs


def test_deletions_are_seen_by_the_other_server(dovecot):
    inst, dport = dovecot
    send(inst, ["del 1", "del 2", "del 3", "del 4"])
    uidls = pop_uidls(dport, DEMO, "dovecot-password")[0]
    # mailroom deletes message 1 (renamed by Dovecot meanwhile: its flags changed).
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=20)
    p.user(DEMO)
    p.pass_(DEMO_PASSWORD)
    p.dele(1)
    p.quit()
    assert pop_uidls(dport, DEMO, "dovecot-password")[0] == uidls[1:]
    # Dovecot deletes the (now) first one; mailroom sees the rest.
    q = poplib.POP3("127.0.0.1", dport, timeout=20)
    q.user(DEMO)
    q.pass_("dovecot-password")
    q.dele(1)
    q.quit()
    assert pop_uidls(inst.ports["pop3"], DEMO, DEMO_PASSWORD)[0] == uidls[2:]
    assert len(inst.messages(DEMO)) == 2
