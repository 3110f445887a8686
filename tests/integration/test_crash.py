"""test_crash.py - "after the final 250 of DATA or BDAT LAST the message is on stable
storage: a kill -9 of every mailroom process at any moment after it loses nothing;
the message is delivered after the next start" (INTERFACE.md, SMTP behaviour).

Several clients send messages, each with a unique token in its Message-ID, while
every mailroom process is killed at a random moment. After a restart every
acknowledged message must be delivered exactly once, and no message twice.
Half the messages go to a mailbox with a quota, which mailroom delivers through
its queue; the others may take any path. The seed is printed for reproduction.
"""
import os
import random
import re
import signal
import threading
import time
import uuid

import pytest

from conftest import DEMO
from smtpraw import Raw

QUOTA_USER = "quota@example.test"   # a quota makes delivery go through the queue
CLIENTS = 4
ROUNDS = 3
PER_ROUND = 200
SPILLED_LINES = 4000
SPILLED = "spilled filler line\r\n" * SPILLED_LINES  # 84 KB


def client(port, tokens, acked, lock, use_bdat):
    """Send one message per token on one connection; record tokens that got the final 250.
    Ends at the first error (the server was killed)."""
    try:
        with Raw(port, timeout=15) as c:
            c.ehlo()
            for i, (tok, rcpt) in enumerate(tokens):
                # Every tenth is over 64 KiB: held in a spill file, not in memory.
                filler = SPILLED if i % 10 == 9 else "filler line\r\n" * (i % 20)
                body = (f"Message-ID: <{tok}@crash.test>\r\nSubject: crash {tok}\r\n\r\n"
                        f"{tok}\r\n" + filler).encode()
                if c.cmd("MAIL FROM:<crash@remote.test>").code != 250:
                    return
                if c.cmd(f"RCPT TO:<{rcpt}>").code != 250:
                    return
                if use_bdat:
                    c.send(f"BDAT {len(body)} LAST\r\n".encode() + body)
                else:
                    if c.cmd("DATA").code != 354:
                        return
                    c.send(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
                r = c.reply()
                if r.code == 250:
                    with lock:
                        acked.add(tok)
                else:
                    return
    except Exception:  # the server was killed: connection reset, closed, half a reply
        return


def mailbox_counts(inst):
    """token -> number of messages carrying it, over both mailboxes."""
    counts = {}
    for addr in (DEMO, QUOTA_USER):
        for msg in inst.messages(addr):
            m = re.search(rb"Message-ID: <([0-9a-f]{32})@crash\.test>", msg)
            if m:
                if b"spilled filler line" in msg:  # never half a message
                    assert msg.count(b"spilled filler line\n") == SPILLED_LINES, m.group(1)
                tok = m.group(1).decode()
                counts[tok] = counts.get(tok, 0) + 1
    return counts


def wait_settled(inst, acked, timeout=90):
    """Wait until every acknowledged token is in a mailbox and the queue is empty."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = mailbox_counts(inst)
        if all(t in counts for t in acked) and inst.queue_ids() == []:
            # One more look after a pause: a late duplicate would show now.
            time.sleep(0.5)
            return mailbox_counts(inst)
        time.sleep(0.2)
    counts = mailbox_counts(inst)
    missing = [t for t in acked if t not in counts]
    raise AssertionError(f"{len(missing)} acknowledged messages missing, queue "
                         f"{inst.queue_ids()}; log:\n{inst.log()[-5000:]}")


def burst(inst, ntokens, kill_after, kill, rnd):
    """Send ntokens messages from CLIENTS clients; call kill() once kill_after are acked."""
    tokens = [(uuid.uuid4().hex, DEMO if i % 2 else QUOTA_USER) for i in range(ntokens)]
    acked, lock = set(), threading.Lock()
    threads = []
    for k in range(CLIENTS):
        share = tokens[k::CLIENTS]
        th = threading.Thread(target=client,
                              args=(inst.ports["smtp"], share, acked, lock, k == CLIENTS - 1),
                              daemon=True)
        threads.append(th)
        th.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= kill_after:
                break
        if not any(th.is_alive() for th in threads):
            break
        time.sleep(0.001)
    time.sleep(rnd.random() * 0.01)  # not always right after an acknowledgement
    kill()
    for th in threads:
        th.join(timeout=30)
        assert not th.is_alive(), "a client did not finish"
    with lock:
        return tokens, set(acked)


@pytest.fixture
def crash_instance(make_instance):
    i = make_instance()
    i.add_user(QUOTA_USER, "quota-password-1")
    i.run_cli("user", "del", QUOTA_USER)
    i.run_cli("user", "add", QUOTA_USER, "--quota", "1G", input="quota-password-1\n")
    return i


def test_kill9_everything_loses_no_acknowledged_message(crash_instance):
    inst = crash_instance
    seed = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))
    print(f"CRASH_SEED={seed}")
    rnd = random.Random(seed)
    all_acked, all_sent = set(), set()
    for rnd_no in range(ROUNDS):
        # Early, middle and late kill points, each at a random count of acknowledgements.
        lo, hi = [(1, PER_ROUND // 4), (PER_ROUND // 4, 3 * PER_ROUND // 4),
                  (3 * PER_ROUND // 4, PER_ROUND - 1)][rnd_no % 3]
        kill_after = rnd.randint(lo, hi)
        tokens, acked = burst(inst, PER_ROUND, kill_after, inst.kill9, rnd)
        print(f"round {rnd_no}: kill after {kill_after}, {len(acked)} of {PER_ROUND} acked")
        assert acked, "nothing was acknowledged before the kill"
        all_acked |= acked
        all_sent |= {t for t, _ in tokens}
        inst.start()
        counts = wait_settled(inst, all_acked)
        lost = [t for t in all_acked if counts.get(t, 0) == 0]
        dup = {t: n for t, n in counts.items() if n > 1}
        assert not lost, f"round {rnd_no} (seed {seed}): {len(lost)} acknowledged lost"
        assert not dup, f"round {rnd_no} (seed {seed}): delivered more than once: {dup}"
        assert set(counts) <= all_sent
    # The server still works normally after all that.
    t = uuid.uuid4().hex
    with Raw(inst.ports["smtp"]) as c:
        c.ehlo()
        assert c.mail_rcpt_data("a@remote.test", [DEMO], f"Subject: {t}\r\n\r\nok\r\n").code == 250
    inst.wait_token(DEMO, t)


def queued_pid(inst):
    pids = [e["pid"] for e in inst.events("role-start", role="queued")]
    assert pids, inst.log()
    return int(pids[-1])


def test_kill9_queued_during_delivery(crash_instance):
    """Only queued dies (SIGKILL) in the middle of a burst: the supervisor restarts it,
    and everything acknowledged is delivered exactly once."""
    inst = crash_instance
    seed = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))
    print(f"CRASH_SEED={seed}")
    rnd = random.Random(seed)
    for _ in range(2):
        pid = queued_pid(inst)
        mark = inst.log_mark()
        tokens, acked = burst(inst, 120, rnd.randint(10, 100),
                              lambda: os.kill(pid, signal.SIGKILL), rnd)
        # smtpd was not touched: every message was acknowledged.
        assert len(acked) == len(tokens)
        inst.wait_event("role-start", role="queued", since=mark, timeout=30)
        counts = wait_settled(inst, acked)
        assert all(counts.get(t) == 1 for t in acked), \
            {t: counts.get(t) for t in acked if counts.get(t) != 1}


def test_message_accepted_while_queued_is_stopped(crash_instance):
    inst = crash_instance
    pid = queued_pid(inst)
    mark = inst.log_mark()
    os.kill(pid, signal.SIGSTOP)
    try:
        t = uuid.uuid4().hex
        with Raw(inst.ports["smtp"]) as c:
            c.ehlo()
            r = c.mail_rcpt_data("a@remote.test", [QUOTA_USER], f"Subject: {t}\r\n\r\nwait\r\n")
            assert r.code == 250, r
        time.sleep(0.3)
        assert inst.messages_with(QUOTA_USER, t) == []  # nobody delivers it meanwhile
    finally:
        os.kill(pid, signal.SIGKILL)  # a stopped process dies of SIGKILL too
    inst.wait_event("role-start", role="queued", since=mark, timeout=30)
    (msg,) = inst.wait_token(QUOTA_USER, t, timeout=30)
    assert msg.startswith(b"Return-Path: <a@remote.test>\nDelivered-To: quota@example.test\n")
    # smtpd kept working all along.
    with Raw(inst.ports["smtp"]) as c:
        assert c.ehlo().code == 250
