"""test_quota.py - mailbox quotas, and which mail may skip the queue.

Mail whose recipients are all local mailboxes without a quota is written straight
into the Maildirs ("delivered at once"); a recipient with a quota sends the whole
message through the queue, where the quota is checked: a full mailbox defers with
452 4.2.2 (README "What is not done yet": quotas are checked at delivery).
"""
import smtplib

from conftest import DEMO


def send(inst, rcpts, token, size=0):
    body = f"Subject: {token}\r\n\r\n{token}\r\n" + ("x" * 70 + "\r\n") * (size // 72)
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail("sender@remote.test", rcpts, body.encode())


def test_unlimited_mailbox_skips_the_queue(instance):
    send(instance, [DEMO], "direct-one")
    instance.wait_token(DEMO, "direct-one")
    instance.wait_log(r"removed \(delivered at once\)")


def test_quota_mailbox_goes_through_the_queue_and_defers_when_full(instance):
    instance.run_cli("user", "add", "small@example.test", "--quota", "2K",
                     input="small-password-1\n")
    send(instance, ["small@example.test", DEMO], "too-big", size=4096)
    # The mailbox without a quota gets it; the full one is deferred, not bounced.
    instance.wait_token(DEMO, "too-big")
    instance.wait_log(r"to=<small@example\.test> .*status=deferred .*4\.2\.2")
    assert "delivered at once" not in instance.log()
    assert instance.messages("small@example.test") == []
    assert len(instance.queue_ids()) == 1
