"""test_quota.py - mailbox quotas, and which mail may skip the queue.

Mail whose recipients are all local mailboxes without a quota is written straight
into the Maildirs ("delivered at once"); a recipient with a quota sends the whole
message through the queue, where the quota is checked: a full mailbox defers with
452 4.2.2; a mailbox already full is refused at RCPT with 452 4.2.2.
"""
import os
import re
import smtplib

from conftest import DEMO


def send(inst, rcpts, token, size=0):
    body = f"Subject: {token}\r\n\r\n{token}\r\n" + ("x" * 70 + "\r\n") * (size // 72)
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail("sender@remote.test", rcpts, body.encode())


def test_unlimited_mailbox_skips_the_queue(instance):
    send(instance, [DEMO], "direct-one")
    instance.wait_token(DEMO, "direct-one")
    (ev,) = instance.wait_event("removed", _role="smtpd", direct="yes")
    assert instance.events("delivery", qid=ev["qid"], to=f"<{DEMO}>", relay="local", status="sent")


def test_quota_mailbox_goes_through_the_queue_and_defers_when_full(instance):
    instance.run_cli("user", "add", "small@example.test", "--quota", "2K",
                     input="small-password-1\n")
    send(instance, ["small@example.test", DEMO], "too-big", size=4096)
    # The mailbox without a quota gets it; the full one is deferred, not bounced.
    instance.wait_token(DEMO, "too-big")
    instance.wait_event("delivery", to="<small@example.test>", relay="local", status="deferred",
                        reason=re.compile(r"4\.2\.2"))
    assert instance.events("removed", direct="yes") == []
    assert instance.messages("small@example.test") == []
    assert len(instance.queue_ids()) == 1


def test_full_mailbox_refused_at_rcpt(instance):
    """A mailbox whose quota is used up already: 452 4.2.2 at RCPT (the client keeps
    the message); other recipients of the same transaction are taken."""
    import os
    from smtpraw import Raw
    instance.run_cli("user", "add", "full@example.test", "--quota", "1K",
                     input="full-password-1\n")
    # Mail another program put there (Dovecot, an import): 2 KiB, over the quota.
    md = instance.maildir("full@example.test")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    with open(os.path.join(md, "new", "1.imported,S=2048:2,"), "wb") as f:
        f.write(b"x" * 2048)
    with Raw(instance.ports["smtp"]) as c:
        assert c.cmd("EHLO client.example").code == 250
        assert c.cmd("MAIL FROM:<sender@remote.test>").code == 250
        r = c.cmd("RCPT TO:<full@example.test>")
        assert r.code == 452 and r.text.startswith("4.2.2"), r
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
    instance.wait_event("reject", client="127.0.0.1", stage="rcpt", to="<full@example.test>",
                        reason="mailbox-full", **{"from": "<sender@remote.test>"})
    # Room again: taken.
    os.unlink(os.path.join(md, "new", "1.imported,S=2048:2,"))
    with Raw(instance.ports["smtp"]) as c:
        assert c.cmd("EHLO client.example").code == 250
        assert c.cmd("MAIL FROM:<sender@remote.test>").code == 250
        assert c.cmd("RCPT TO:<full@example.test>").code == 250


def test_mailbox_smtpd_cannot_write_goes_through_the_queue(instance):
    """The Maildir files of mail delivered at once are written on smtpd's commit
    thread; one that cannot be written there (new/ not writable by smtpd's user, its
    owner, but by the group, through which queued writes) leaves nothing
    behind and the message goes through the queue instead: still one 250, one copy."""
    send(instance, [DEMO], "direct-first")
    instance.wait_token(DEMO, "direct-first")
    new = os.path.join(instance.maildir(DEMO), "new")
    st = os.stat(new)
    # smtpd made the Maildir (its owner); queued writes through the group.
    os.chmod(new, 0o570)
    try:
        send(instance, [DEMO], "through-the-queue")
        (warn,) = instance.wait_event("direct-failed", _role="smtpd", to=f"<{DEMO}>",
                                      error="Permission denied")
        instance.wait_event("delivery", qid=warn["qid"], to=f"<{DEMO}>", relay="local",
                            status="sent", _role="queued")
        instance.wait_token(DEMO, "through-the-queue")
        assert instance.events("removed", qid=warn["qid"], direct="yes") == []
        bodies = [m for m in instance.messages(DEMO) if b"through-the-queue" in m]
        assert len(bodies) == 1
        assert os.listdir(os.path.join(instance.maildir(DEMO), "tmp")) == []
    finally:
        os.chmod(new, st.st_mode & 0o7777)
