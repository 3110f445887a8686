"""test_cluster.py - two mailroom hosts sharing one account store (PostgreSQL) and one
mail tree, as docs/cluster.md describes: each `serve` has its own data_dir and queue;
their mail/ is one directory bind-mounted into both (as an NFS export would be).

- a user added with host A's CLI logs in on host B at once;
- a message received on A is retrieved over POP3 on B;
- the POP3 lock holds across the hosts: a second session on the other host gets
  -ERR [IN-USE] (the dot lock in the Maildir, not only flock);
- greylisting passes on B after the triplet was seen on A;
- sends_per_day counts the messages of both hosts;
- deleting a user moves its mailbox aside within the shared tree;
- each queue is its host's own: a message deferred on A is not B's, survives A's
  kill -9, and is delivered when A is back, while B serves on.
"""
import os
import poplib
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import DEMO, DEMO_PASSWORD, DOMAIN, HOSTNAME, free_port
from peers import Dns, Sink, make_message, submit

GREY_DELAY = 2


@pytest.fixture(scope="module")
def dns():
    d = Dns(mx=[("remote.test", "mx.remote.test", 10)],
            hosts={"mx.remote.test": "127.0.0.1", HOSTNAME: "127.0.0.1"})
    yield d
    d.stop()


@pytest.fixture
def cluster(pg, make_instance):
    """Factory: cluster(settings) -> hosts A and B (started), one database, one mail tree.
    The mounts are lazily detached at the end (the servers may still hold them)."""
    shared = tempfile.mkdtemp(prefix="mrshared-", dir="/tmp")
    os.chmod(shared, 0o755)
    mounts = []

    def make(settings=None):
        db = pg.new_database()
        s = dict(settings or {})
        s[("accounts", "backend")] = "postgresql"
        s[("accounts", "dsn")] = pg.dsn(db)
        hosts = []
        for _ in range(2):
            inst = make_instance(s, start=False)
            mail = os.path.join(inst.data, "mail")
            os.makedirs(mail, exist_ok=True)
            p = subprocess.run(["mount", "--bind", shared, mail], capture_output=True, text=True)
            if p.returncode != 0:
                pytest.fail(f"cannot bind-mount the shared mail tree: {p.stderr.strip()}")
            mounts.append(mail)
            inst.start()
            hosts.append(inst)
        return hosts

    yield make
    for m in mounts:
        subprocess.run(["umount", "-l", m], capture_output=True)
    shutil.rmtree(shared, ignore_errors=True)


def pop3(inst, user, password, tls=False):
    """(session, None) logged in, or (None, the error's text)."""
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=20)
    if tls:
        p.stls(context=inst.ssl_context())
    p.user(user)
    try:
        p.pass_(password)
    except poplib.error_proto as e:
        p.close()
        return None, e.args[0].decode()
    return p, None


def deliver(inst, to, token, sender="someone@remote.test"):
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo("client.test")
        s.sendmail(sender, [to], f"Subject: {token}\r\n\r\n{token}\r\n")


def rcpt(inst, sender, to):
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail(sender)[0] == 250
        code, text = s.rcpt(to)
        return code, text.decode()


def wait_unlocked(dotlock, timeout=10):
    """A session ends just after its +OK to QUIT: its lock goes a moment later."""
    deadline = time.monotonic() + timeout
    while os.path.exists(dotlock) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(dotlock), "the POP3 lock outlived its session"


def token():
    return uuid.uuid4().hex[:16]


def test_two_hosts_share_users_mailboxes_and_locks(cluster):
    a, b = cluster()
    alice, pw = f"alice@{DOMAIN}", "alice-password-1"
    # a user added on A logs in on B at once
    a.add_user(alice, pw)
    s, err = pop3(b, alice, pw)
    assert err is None, err
    assert s.stat()[0] == 0
    s.quit()
    # mail received on A is retrieved on B
    tok = token()
    deliver(a, alice, tok)
    a.wait_token(alice, tok)
    s, err = pop3(b, alice, pw)
    assert err is None, err
    assert s.stat()[0] == 1
    assert tok.encode() in b"\r\n".join(s.retr(1)[1])
    # the lock: while B's session is open, A's is refused, and the other way round
    other, err = pop3(a, alice, pw)
    assert other is None and err.startswith("-ERR [IN-USE]"), err
    dotlock = os.path.join(b.maildir(alice), "mailroom-pop3.dotlock")
    s.quit()
    wait_unlocked(dotlock)
    held, err = pop3(a, alice, pw)
    assert err is None, err
    assert os.path.exists(dotlock)  # what a host that does not share A's kernel sees
    other, err = pop3(b, alice, pw)
    assert other is None and err.startswith("-ERR [IN-USE]"), err
    held.dele(1)
    held.quit()
    wait_unlocked(dotlock)
    s, err = pop3(b, alice, pw)
    assert err is None, err
    assert s.stat()[0] == 0  # A's QUIT deleted it, for both
    s.quit()
    # a password changed on B is the one A checks
    b.run_cli("user", "passwd", alice, input="alice-password-2\n")
    assert pop3(a, alice, pw)[1].startswith("-ERR [AUTH]")
    s, err = pop3(a, alice, "alice-password-2")
    assert err is None, err
    s.quit()
    assert a.events("mailbox-in-use", user=alice) and b.events("mailbox-in-use", user=alice)
    # deleted on B: the mailbox moves aside within the shared tree (rename cannot
    # leave a mount), and is gone for A too
    out = b.run_cli("user", "del", alice).stdout
    assert re.search(r"moved the mailbox of alice@example\.test to \S+/mail/\.deleted/"
                     r"example\.test/alice\.", out), out
    assert not os.path.exists(a.maildir(alice))
    assert pop3(a, alice, "alice-password-2")[1].startswith("-ERR [AUTH]")


def test_greylisting_and_limits_across_hosts(cluster, dns):
    sink = Sink()
    try:
        a, b = cluster({("relay", "trusted_networks"): "",
                        ("inbound", "greylist"): "yes",
                        ("inbound", "greylist_delay"): f"{GREY_DELAY}s",
                        ("limits", "sends_per_day"): "2",
                        ("delivery", "resolver"): dns.resolver,
                        ("delivery", "remote_port"): str(sink.port)})
        # the triplet seen on A passes on B once the delay is over
        code, text = rcpt(a, "bob@sender.test", DEMO)
        assert code == 451 and "4.7.1" in text, (code, text)
        first = time.monotonic()
        code, _ = rcpt(b, "bob@sender.test", DEMO)
        assert code == 451  # before the delay, on the other host too
        time.sleep(max(0.0, first + GREY_DELAY + 0.5 - time.monotonic()))
        code, text = rcpt(b, "bob@sender.test", DEMO)
        assert code == 250, (code, text)
        # one message sent through each host, then a third through A: over the day's 2
        toks = [token() for _ in range(3)]
        ids = []
        for inst, tok in ((a, toks[0]), (b, toks[1]), (a, toks[2])):
            ids.append(submit(inst.ports["submission"], DEMO, ["carol@remote.test"],
                              make_message("limits", tok), login=(DEMO, DEMO_PASSWORD),
                              starttls_ctx=inst.ssl_context()))
            if tok != toks[2]:
                sink.wait_token(tok)
        a.wait_event("held", qid=ids[2], user=DEMO, reason="sends_per_day", limit=2)
        assert not sink.with_token(toks[2])
        shown = b.run_cli("user", "limit", DEMO).stdout
        assert "counted 2" in shown, shown
    finally:
        sink.stop()


def test_each_host_keeps_its_queue(cluster, dns):
    port = free_port()
    a, b = cluster({("delivery", "resolver"): dns.resolver,
                    ("delivery", "remote_port"): str(port)})
    tok = token()
    qid = submit(a.ports["submission"], DEMO, ["dave@remote.test"], make_message("queued", tok),
                 login=(DEMO, DEMO_PASSWORD))
    a.wait_event("delivery", qid=qid, to="<dave@remote.test>", status="deferred")
    assert qid in a.queue_ids() and qid not in b.queue_ids()
    a.kill9()
    # B serves on while A is down
    tok_b = token()
    deliver(b, DEMO, tok_b)
    s, err = pop3(b, DEMO, DEMO_PASSWORD)
    assert err is None, err
    assert s.stat()[0] >= 1
    s.quit()
    # A comes back: its queue is delivered, now that the remote side answers
    sink = Sink(port=port)
    try:
        a.start()
        sink.wait_token(tok, timeout=60)
        a.wait_removed(qid, timeout=30)
    finally:
        sink.stop()
