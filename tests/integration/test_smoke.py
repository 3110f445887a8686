"""test_smoke.py - the first tour: a message sent over SMTP lands in the Maildir."""
import smtplib

from conftest import DEMO


def test_message_reaches_maildir(instance):
    with smtplib.SMTP("127.0.0.1", instance.ports["smtp"], timeout=10) as s:
        s.sendmail("someone@remote.test", [DEMO], b"Subject: hi\r\n\r\nhello\r\n")
    msgs = instance.wait_messages(DEMO, 1)
    assert msgs[0].startswith(b"Return-Path: <someone@remote.test>\nDelivered-To: demo@example.test\nReceived: ")
    assert msgs[0].endswith(b"\nhello\n")
