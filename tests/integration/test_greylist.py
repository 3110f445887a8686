"""test_greylist.py - greylisting on the smtp listener ([inbound] greylist,
greylist_delay): a new (client /24, sender, recipient) triplet gets 451 4.7.1 at
RCPT, and so does a retry before the delay; after it the RCPT is accepted and the
message delivered. A client network is let through at once after 5 passed
deliveries. Trusted clients and submission are never greylisted; greylist = no
changes nothing. [relay] trusted_networks is "" so that 127.0.0.1 is untrusted.
"""
import smtplib
import time

from conftest import DEMO, DEMO_PASSWORD

DELAY = 2


def instance(make_instance, greylist="yes", trusted=""):
    return make_instance({("relay", "trusted_networks"): trusted,
                          ("inbound", "greylist"): greylist,
                          ("inbound", "greylist_delay"): f"{DELAY}s"})


def rcpt(inst, sender, to=DEMO):
    """MAIL and RCPT on the smtp listener: the RCPT reply (code, text)."""
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20) as s:
        s.ehlo("client.test")
        code, _ = s.mail(sender)
        assert code == 250
        code, text = s.rcpt(to)
        return code, text.decode()


def send(inst, sender, token, to=DEMO, port="smtp"):
    """A whole message on the smtp listener (raises on a refused RCPT)."""
    msg = (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {token}\r\n\r\n{token}\r\n")
    with smtplib.SMTP("127.0.0.1", inst.ports[port], timeout=20) as s:
        s.ehlo("client.test")
        s.sendmail(sender, [to], msg)


def test_new_triplet_greylisted_then_passes(make_instance):
    inst = instance(make_instance)
    code, text = rcpt(inst, "bob@sender.test")
    assert code == 451 and text.startswith("4.7.1 ") and "greylisted" in text, (code, text)
    assert f"<{DEMO}>" in text
    inst.wait_event("reject", client="127.0.0.1", stage="rcpt", to="<demo@example.test>",
                    reason="greylisted", **{"from": "<bob@sender.test>"})
    first = time.monotonic()
    # at once again: still greylisted, the delay counts from the first attempt
    code, text = rcpt(inst, "Bob@Sender.test")
    assert code == 451, "retried before the delay"
    # after the delay: accepted, and the message is delivered
    time.sleep(max(0.0, first + DELAY + 0.5 - time.monotonic()))
    send(inst, "bob@sender.test", "grey-passed-1")
    inst.wait_token(DEMO, "grey-passed-1")
    # known from then on; another sender is not
    code, _ = rcpt(inst, "bob@sender.test")
    assert code == 250
    code, _ = rcpt(inst, "other@sender.test")
    assert code == 451


def test_null_sender_greylisted_too(make_instance):
    inst = instance(make_instance)
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20) as s:
        s.ehlo("client.test")
        assert s.mail("<>")[0] == 250
        code, text = s.rcpt(DEMO)
    assert code == 451 and b"4.7.1" in text


def test_client_allowed_after_five_passes(make_instance):
    inst = instance(make_instance)
    assert rcpt(inst, "a@sender.test")[0] == 451
    time.sleep(DELAY + 0.5)
    for i in range(5):
        assert rcpt(inst, "a@sender.test")[0] == 250, f"pass {i + 1}"
    # five passed deliveries: the client network is allowed, a new sender passes at once
    code, text = rcpt(inst, "new@elsewhere.test")
    assert code == 250, text


def test_four_passes_not_enough(make_instance):
    inst = instance(make_instance)
    assert rcpt(inst, "a@sender.test")[0] == 451
    time.sleep(DELAY + 0.5)
    for _ in range(4):
        assert rcpt(inst, "a@sender.test")[0] == 250
    assert rcpt(inst, "new@elsewhere.test")[0] == 451


def test_trusted_client_not_greylisted(make_instance):
    inst = instance(make_instance, trusted="127.0.0.0/8")
    send(inst, "bob@sender.test", "grey-trusted")
    inst.wait_token(DEMO, "grey-trusted")
    assert inst.events("reject", reason="greylisted") == []


def test_submission_not_greylisted(make_instance):
    inst = instance(make_instance)
    with smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=20) as s:
        s.starttls(context=inst.ssl_context())
        s.login(DEMO, DEMO_PASSWORD)
        s.sendmail(DEMO, [DEMO], f"From: <{DEMO}>\r\nSubject: x\r\n\r\ngrey-submission\r\n")
    inst.wait_token(DEMO, "grey-submission")
    assert inst.events("reject", reason="greylisted") == []


def test_greylist_off(make_instance):
    inst = instance(make_instance, greylist="no")
    send(inst, "bob@sender.test", "grey-off")
    inst.wait_token(DEMO, "grey-off")
    assert inst.events("reject", reason="greylisted") == []
