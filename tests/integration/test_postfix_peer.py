"""test_postfix_peer.py - a real Postfix as the receiving MX (its own smtpd).

A private Postfix instance (its own main.cf, master.cf and queue directory, started
with `postfix -c DIR start`) listens on a loopback port that the instance uses as
remote_port; dnsmasq says remote.test's MX is mx.remote.test at 127.0.0.1. Postfix
offers PIPELINING, SIZE, STARTTLS, SMTPUTF8 and CHUNKING, delivers into a Maildir,
and refuses bad@remote.test at RCPT.
"""
import re
import uuid

import pytest

from conftest import DEMO, DEMO_PASSWORD, HOSTNAME
from peers import Dns, Postfix, make_message, submit, wait_dsn, wait_until


@pytest.fixture(scope="module")
def dns():
    d = Dns(mx=[("remote.test", "mx.remote.test", 10)], hosts={"mx.remote.test": "127.0.0.1"})
    yield d
    d.stop()


@pytest.fixture(scope="module")
def postfix():
    p = Postfix(reject=["bad@remote.test"])
    yield p
    p.stop()


def instance_for(make_instance, dns, postfix):
    return make_instance({("delivery", "resolver"): dns.resolver,
                          ("delivery", "remote_port"): str(postfix.port)})


def test_postfix_receives_over_tls_in_one_transaction(dns, postfix, make_instance):
    inst = instance_for(make_instance, dns, postfix)
    tok = uuid.uuid4().hex[:16]
    qid = submit(inst.ports["submission"], DEMO,
                 ["good1@remote.test", "good2@remote.test", "bad@remote.test"],
                 make_message("to postfix", tok), login=(DEMO, DEMO_PASSWORD),
                 starttls_ctx=inst.ssl_context())
    msgs = wait_until(lambda: len(postfix.with_token(tok)) >= 2 and postfix.with_token(tok), 30,
                      "two deliveries in Postfix's Maildir")
    delivered_to = sorted(re.search(rb"^Delivered-To: (\S+)$", m, re.M).group(1) for m in msgs)
    assert delivered_to == [b"good1@remote.test", b"good2@remote.test"]
    for m in msgs:
        assert m.startswith(f"Return-Path: <{DEMO}>\n".encode())
        assert f"Subject: to postfix {tok}\n".encode() in m
        assert m.endswith(f"\n\nhello\ntoken {tok}\n".encode())

    # The refused recipient comes back in a DSN with Postfix's words.
    d = wait_dsn(inst, DEMO, tok)
    assert d.final_recipients() == ["bad@remote.test"]
    b = d.recipient("bad@remote.test")
    assert str(b["Status"]).strip() == "5.7.1"
    assert re.search(r"smtp;\s*554 5\.7\.1 <bad@remote\.test>: Recipient address rejected: "
                     r"no such user here", str(b["Diagnostic-Code"])), str(b["Diagnostic-Code"])

    inst.wait_removed(qid)
    relay = f"mx.remote.test[127.0.0.1]:{postfix.port}"
    assert inst.events("delivery-tls", qid=qid, relay=relay, version=re.compile(r"^TLSv1\.[23]$"))
    assert len(inst.events("delivery", qid=qid, to=re.compile(r"^<good[12]@remote\.test>$"),
                           relay=relay, status="sent", reason=re.compile(r"^250 2\.0\.0 Ok"))) == 2
    assert inst.events("delivery", qid=qid, to="<bad@remote.test>", relay=relay, status="bounced")

    # Postfix saw one TLS session and one message with both good recipients.
    pflog = wait_until(lambda: "status=sent" in postfix.log() and postfix.log(), 10, "Postfix log")
    pid = re.search(r"(\w+): message-id=<" + tok + "@example.test>", pflog).group(1)
    assert re.search(rf"{pid}: from=<{re.escape(DEMO)}>, size=\d+, nrcpt=2 ", pflog), pflog[-3000:]
    assert re.search(r"Anonymous TLS connection established from localhost\[127.0.0.1\]", pflog)
    assert re.search(rf"helo=<{re.escape(HOSTNAME)}>", pflog)


def test_postfix_gets_the_text_byte_for_byte(dns, postfix, make_instance):
    """Dot-stuffing, long bodies and 8-bit text through Postfix's smtpd into its Maildir."""
    inst = instance_for(make_instance, dns, postfix)
    tok = uuid.uuid4().hex[:16]
    lines = [".", "..", ".dot", "caf\u00e9 \u00fcber", "x" * 990, ""]
    lines += [f"{i:06d} " + "z" * (i % 120) for i in range(8000)]
    body = "\n".join(lines) + "\n"
    msg = make_message("bytes", tok, body=body,
                       headers=["MIME-Version: 1.0",
                                "Content-Type: text/plain; charset=utf-8",
                                "Content-Transfer-Encoding: 8bit"])
    qid = submit(inst.ports["smtp"], DEMO, ["bytes@remote.test"], msg,
                 mail_options=["BODY=8BITMIME"])
    m = wait_until(lambda: postfix.with_token(tok), 60, "the message in Postfix's Maildir")[0]
    want = msg.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n")
    assert m.split(b"\n\n", 1)[1] == want
    inst.wait_removed(qid)
