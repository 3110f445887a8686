"""test_dkim_sign.py - outbound DKIM signatures and ARC seals (RFC 6376, RFC 8463,
RFC 8617), checked by an independent verifier: dkimpy (python3-dkim) with the key
records that `mailroom dns records` prints, never with keys read from the store.

Messages go out to a loopback sink (the MX of remote.test in a dnsmasq). Signed:
mail sent by a logged-in user through submission (587, STARTTLS), mail relayed for a
trusted network, and mailroom's own bounces; not signed: mail from outside that an
alias forwards (that gets an ARC set instead, which dkimpy's arc_verify checks).
"""
import os
import re
import smtplib
import uuid

import dkim
import pytest

from conftest import DEMO, DEMO_PASSWORD, HOSTNAME
from peers import Dns, Sink, make_message, submit, wait_until

RECORDS = dict(
    mx=[("remote.test", "mx.remote.test", 10), ("other.test", "mx.remote.test", 10)],
    hosts={"mx.remote.test": "127.0.0.1", HOSTNAME: "127.0.0.1"},
)


@pytest.fixture(scope="module")
def dns():
    d = Dns(**RECORDS)
    yield d
    d.stop()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.stop()


def settings(dns, sink, **extra):
    s = {("delivery", "resolver"): dns.resolver, ("delivery", "remote_port"): str(sink.port)}
    for k, v in extra.items():
        section, key = k.split("__")
        s[(section, key)] = v
    return s


def token():
    return uuid.uuid4().hex[:16]


def key_records(inst, domain):
    """{name: TXT value} of the DKIM records `dns records` prints for domain."""
    out = inst.run_cli("dns", "records", domain).stdout
    recs = {}
    for line in out.splitlines():
        if line.startswith(";") or "._domainkey." not in line:
            continue
        name = line.split()[0].rstrip(".").lower()
        recs[name] = "".join(re.findall(r'"([^"]*)"', line))
    assert recs, out
    return recs


def verify_all(raw, recs):
    """Every DKIM-Signature of raw verifies (dkimpy checks one signature per call)."""
    def dnsfunc(name, timeout=5):
        return recs.get(name.decode().rstrip(".").lower(), "").encode()

    n = len(re.findall(rb"(?im)^DKIM-Signature:", raw))
    results = [dkim.DKIM(raw).verify(idx=i, dnsfunc=dnsfunc) for i in range(n)]
    return n, results


def algorithms(raw):
    return sorted(re.findall(rb"(?i)DKIM-Signature:.*?a=([a-z0-9-]+);", raw, re.S))


def submit_login(inst, rcpts, msg, sender=DEMO):
    with smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30) as s:
        s.ehlo("client.example.test")
        s.starttls(context=inst.ssl_context())
        s.ehlo("client.example.test")
        s.login(DEMO, DEMO_PASSWORD)
        s.sendmail(sender, rcpts, msg)


MESSAGES = {
    "plain": None,
    "long_line": ("Subject: long {tok}\n\n" + "x" * 20000 + "\ntoken {tok}\n"),
    "eight_bit": ("Subject: caf\u00e9 {tok}\nMIME-Version: 1.0\n"
                  "Content-Type: text/plain; charset=utf-8\n"
                  "Content-Transfer-Encoding: 8bit\n\n"
                  "gr\u00fc\u00dfe, na\u00efve\ntoken {tok}\n"),
    "folded": ("Subject: a subject that is\n  folded\tover   lines {tok}\n"
               "To: a@remote.test,\n\tb@remote.test\n\nbody {tok}\n"),
    "trailing_ws": ("Subject: ws {tok}   \n\nline with trailing  \t\n\n\n  indented\n"
                    "token {tok}\n\n\n"),
}


def build(kind, tok):
    if MESSAGES[kind] is None:
        return make_message("signed", tok)
    text = MESSAGES[kind].format(tok=tok)
    head = f"From: Demo <{DEMO}>\nDate: Wed, 02 Dec 2026 05:00:00 +0000\nMessage-ID: <{tok}@example.test>\n"
    return (head + text).replace("\n", "\r\n").encode("utf-8")


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_submission_signed_both(dns, sink, make_instance, kind):
    inst = make_instance(settings(dns, sink))
    tok = token()
    submit_login(inst, ["alice@remote.test"], build(kind, tok))
    t = sink.wait_token(tok)[0]
    assert algorithms(t.data) == [b"ed25519-sha256", b"rsa-sha256"], t.data[:1500]
    assert re.search(rb"(?i)DKIM-Signature:[^:]*d=example\.test;", t.data)
    n, results = verify_all(t.data, key_records(inst, "example.test"))
    assert n == 2 and all(results), (results, t.data[:2000])
    for line in t.data.split(b"\r\n"):
        assert len(line) <= 998


def test_trusted_network_signed(dns, sink, make_instance):
    inst = make_instance(settings(dns, sink))
    tok = token()
    submit(inst.ports["smtp"], DEMO, ["alice@remote.test"], make_message("trusted", tok))
    t = sink.wait_token(tok)[0]
    n, results = verify_all(t.data, key_records(inst, "example.test"))
    assert n == 2 and all(results), results


def test_signature_fails_when_altered(dns, sink, make_instance):
    """The check can fail: a changed body or From no longer verifies."""
    inst = make_instance(settings(dns, sink))
    tok = token()
    submit(inst.ports["smtp"], DEMO, ["alice@remote.test"], make_message("alter", tok))
    t = sink.wait_token(tok)[0]
    recs = key_records(inst, "example.test")
    assert all(verify_all(t.data, recs)[1])
    body_changed = t.data.replace(tok.encode(), b"tampered-token!!", 1)
    assert not any(verify_all(body_changed, recs)[1])
    # An added From (oversigning) breaks it too.
    added_from = b"From: evil@remote.test\r\n" + t.data
    assert not any(verify_all(added_from, recs)[1])


def test_bounce_signed(dns, sink, make_instance):
    """A bounce to a remote sender: From MAILER-DAEMON@<hostname>, signed as example.test."""
    sink.rcpt_replies["nobody@other.test"] = "550 5.1.1 no such user"
    inst = make_instance(settings(dns, sink))
    tok = token()
    # A trusted client relays for a remote sender; the failure bounces to that sender.
    submit(inst.ports["smtp"], "sender@remote.test", ["nobody@other.test"],
           make_message("to-bounce", tok))
    bounces = wait_until(lambda: [t for t in sink.accepted() if t.mail_from in ("", "<>")
                                  and tok.encode() in t.data], what="the bounce")
    raw = bounces[0].data
    assert re.search(rb"(?im)^From:.*MAILER-DAEMON@" + HOSTNAME.encode(), raw)
    n, results = verify_all(raw, key_records(inst, "example.test"))
    assert n == 2 and all(results), (results, raw[:1500])


def test_forwarded_sealed_not_signed(dns, sink, make_instance):
    """Mail from outside forwarded by an alias: no DKIM signature of ours, an ARC set."""
    inst = make_instance(settings(dns, sink, relay__trusted_networks=""))
    inst.run_cli("alias", "add", "fwd@example.test", "alice@remote.test")
    tok = token()
    msg = (f"From: someone@other.test\r\nTo: fwd@example.test\r\nSubject: fwd {tok}\r\n"
           f"Message-ID: <{tok}@other.test>\r\n\r\nforwarded {tok}\r\n").encode()
    submit(inst.ports["smtp"], "someone@other.test", ["fwd@example.test"], msg)
    t = sink.wait_token(tok)[0]
    assert not re.search(rb"(?im)^DKIM-Signature:", t.data)
    recs = key_records(inst, "example.test")

    def dnsfunc(name, timeout=5):
        return recs.get(name.decode().rstrip(".").lower(), "").encode()

    cv, results, why = dkim.arc_verify(t.data, dnsfunc=dnsfunc)
    assert cv == b"pass", (cv, results, why, t.data[:2000])
    assert results[0]["as-domain"] == b"example.test"
    assert f"i=1; {HOSTNAME};".encode() in t.data


def test_sign_off(dns, sink, make_instance):
    inst = make_instance(settings(dns, sink, dkim__sign="no"))
    tok = token()
    submit(inst.ports["smtp"], DEMO, ["alice@remote.test"], make_message("unsigned", tok))
    t = sink.wait_token(tok)[0]
    assert not re.search(rb"(?im)^DKIM-Signature:", t.data)


def test_retry_uses_the_kept_signatures(dns, sink, make_instance):
    """A deferred message is signed once: its retry sends the same fields, and
    sig/<id> goes with the message."""
    sink.data_replies = ["451 4.3.0 try again later"]
    inst = make_instance(settings(dns, sink))
    tok = token()
    submit(inst.ports["smtp"], DEMO, ["alice@remote.test"], make_message("kept", tok))
    t = sink.wait_token(tok)[0]
    tried = [x for x in sink.transactions if tok.encode() in x.data]
    assert len(tried) == 2 and tried[0].reply.startswith("451"), tried

    def fields(raw):
        head = raw.split(b"\r\n\r\n", 1)[0]
        return re.findall(rb"(?ims)^DKIM-Signature:.*?(?=^\S)", head + b"\r\nX")

    assert len(fields(t.data)) == 2 and fields(tried[0].data) == fields(t.data)
    n, results = verify_all(t.data, key_records(inst, "example.test"))
    assert n == 2 and all(results), results
    qid = inst.events("delivery", status="sent")[-1]["qid"]
    assert len(inst.events("dkim-sign", qid=qid)) == 2
    assert len(inst.events("dkim-kept", qid=qid)) == 1
    inst.wait_removed(qid)
    assert not os.path.exists(os.path.join(inst.data, "queue", "sig", qid))


def signing_selectors(inst, domain="example.test"):
    """The selectors `dkim list` shows as signing for domain."""
    out = inst.run_cli("dkim", "list", domain).stdout
    return sorted(line.split()[1] for line in out.splitlines() if " signing " in line)


def selectors(raw):
    return sorted(s.decode() for s in re.findall(rb"(?i)DKIM-Signature:.*?\bs=([A-Za-z0-9-]+);",
                                                   raw, re.S))


def test_rotation_while_serving_signs_with_the_new_keys(dns, sink, make_instance):
    """queued's sign threads keep a domain's selectors for a minute; a rotation in
    that minute makes lookupd refuse the old ones, and the message is signed again
    at once with the new ones: never unsigned, never by a retired key."""
    inst = make_instance(settings(dns, sink, dkim__rotate_after="1s"))
    old = signing_selectors(inst)
    tok = token()
    submit(inst.ports["smtp"], DEMO, ["alice@remote.test"], make_message("before", tok))
    assert selectors(sink.wait_token(tok)[0].data) == old
    new = inst.run_cli("dkim", "rotate", "example.test").stdout.split()
    wait_until(lambda: signing_selectors(inst) == sorted(new), 20, "the new keys to sign")
    tok = token()
    submit(inst.ports["smtp"], DEMO, ["alice@remote.test"], make_message("after", tok))
    t = sink.wait_token(tok)[0]
    assert selectors(t.data) == sorted(new), t.data[:1500]
    n, results = verify_all(t.data, key_records(inst, "example.test"))
    assert n == 2 and all(results), results
    # the kept selectors were tried, refused, and forgotten (one sign thread took both)
    assert inst.events("dkim-no-key", _role="lookupd"), inst.log()[-3000:]
    assert not inst.events("dkim-sign-failed"), inst.log()[-3000:]
