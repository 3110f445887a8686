"""test_inbound_auth.py - SPF, DKIM and DMARC on the smtp listener (RFC 7208, RFC
6376/8463, RFC 9989) and the Authentication-Results field (RFC 8601).

The sending domains live in a dnsmasq on loopback: SPF TXT records, DKIM key records
of keys made here with python3-cryptography, DMARC records with p=reject,
quarantine and none. Messages are signed by dkimpy (an independent signer) and
sent from 127.0.0.1 with trusted_networks empty, so the instance treats the client as
the Internet. The instance's own hostname is mx.example.test.
"""
import base64
import os
import re
import smtplib
import uuid

import dkim
import poplib
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from conftest import DEMO, DEMO_PASSWORD, HOSTNAME
from peers import Dns, ServfailDns

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED_KEY = ed25519.Ed25519PrivateKey.generate()
NEW_ED_KEY = ed25519.Ed25519PrivateKey.generate()


def pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def rsa_record():
    der = RSA_KEY.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def ed_record_of(key):
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode()


def ed_record():
    return ed_record_of(ED_KEY)


def strings(text, n=250):
    return [text[i:i + n] for i in range(0, len(text), n)]


TXT = [
    ("good.test", ["v=spf1 ip4:127.0.0.1 -all"]),
    ("_dmarc.good.test", ["v=DMARC1; p=reject"]),
    ("rsa._domainkey.good.test", strings(rsa_record())),
    ("ed._domainkey.good.test", [ed_record()]),
    ("bank.test", ["v=spf1 ip4:192.0.2.1 -all"]),
    ("_dmarc.bank.test", ["v=DMARC1; p=reject"]),
    ("q.test", ["v=spf1 -all"]),
    ("_dmarc.q.test", ["v=DMARC1; p=quarantine"]),
    ("nopolicy.test", ["v=spf1 -all"]),
    ("evil.test", ["v=spf1 ?all"]),
]


@pytest.fixture(scope="module")
def dns():
    d = Dns(hosts={HOSTNAME: "127.0.0.1", "good.test": "192.0.2.10", "bank.test": "192.0.2.11",
                   "q.test": "192.0.2.12", "nopolicy.test": "192.0.2.13",
                   "evil.test": "192.0.2.14"}, txt=TXT)
    yield d
    d.stop()


@pytest.fixture(scope="module")
def inst(dns, make_module_instance):
    return make_module_instance({("delivery", "resolver"): dns.resolver,
                                 ("relay", "trusted_networks"): "",
                                 ("inbound", "verify"): "yes"})


@pytest.fixture(scope="module")
def strict(dns, make_module_instance):
    return make_module_instance({("delivery", "resolver"): dns.resolver,
                                 ("relay", "trusted_networks"): "",
                                 ("inbound", "verify"): "yes",
                                 ("inbound", "spf_reject"): "yes"})


def token():
    return uuid.uuid4().hex[:16]


def message(frm, tok, extra=""):
    return (f"From: {frm}\r\nTo: {DEMO}\r\nSubject: auth {tok}\r\n"
            f"Message-ID: <{tok}@test>\r\nDate: Wed, 02 Dec 2026 05:00:00 +0000\r\n{extra}"
            f"\r\nbody {tok}\r\n").encode()


def sign(msg, selector, domain, key, algo=False):
    # dkimpy takes an RSA key as PEM, an Ed25519 one as the base64 of its 32 octets.
    secret = base64.b64encode(key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())) if algo else pem(key)
    return dkim.sign(msg, selector.encode(), domain.encode(), secret,
                     include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                     signature_algorithm=b"ed25519-sha256" if algo else b"rsa-sha256") + msg


def send(inst, mailfrom, msg, helo="client.good.test"):
    """The DATA reply: (code, text)."""
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo(helo)
        code, resp = s.mail(mailfrom)
        assert code == 250, (code, resp)
        code, resp = s.rcpt(DEMO)
        assert code == 250, (code, resp)
        code, resp = s.data(msg)
        return code, resp.decode(errors="replace")


def ar_fields(raw):
    head = raw.split(b"\n\n", 1)[0].replace(b"\r\n", b"\n")
    out = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += b" " + line.strip()
        else:
            out.append(line)
    return [h.decode() for h in out if h.lower().startswith(b"authentication-results:")]


def test_signed_aligned_message_passes(inst):
    tok = token()
    msg = sign(sign(message("A <a@good.test>", tok), "rsa", "good.test", RSA_KEY),
               "ed", "good.test", ED_KEY, algo=True)
    code, resp = send(inst, "a@good.test", msg)
    assert code == 250, resp
    (raw,) = inst.wait_token(DEMO, tok)
    (ar,) = ar_fields(raw)
    assert ar.startswith(f"Authentication-Results: {HOSTNAME};"), ar
    assert "spf=pass smtp.mailfrom=a@good.test" in ar, ar
    assert re.search(r"dkim=pass header\.d=good\.test header\.s=rsa", ar), ar
    assert re.search(r"dkim=pass header\.d=good\.test header\.s=ed", ar), ar
    assert re.search(r"dmarc=pass( \([^)]*\))? header\.from=good\.test", ar), ar
    # Our field is on top, above our Received.
    assert raw.split(b"\n", 1)[0].startswith(b"Authentication-Results:") or \
        raw.startswith(b"Return-Path:")


def test_kept_keys(make_instance):
    """Answers with a TTL, so that libunbound keeps them and smtpd its parsed keys
    (dnsmasq's default TTL of 0 keeps nothing): the same keys pass message after
    message, a tampered message among them still fails, and a signature by another
    key fails under the kept key's selector and passes under its own."""
    d = Dns(hosts={HOSTNAME: "127.0.0.1", "good.test": "192.0.2.10"}, ttl=300,
            txt=TXT + [("new._domainkey.good.test", [ed_record_of(NEW_ED_KEY)])])
    try:
        i = make_instance({("delivery", "resolver"): d.resolver,
                           ("relay", "trusted_networks"): "", ("inbound", "verify"): "yes"})
        for n in range(4):
            tok = token()
            msg = sign(sign(message("A <a@good.test>", tok), "rsa", "good.test", RSA_KEY),
                       "ed", "good.test", ED_KEY, algo=True)
            if n == 2:
                msg = msg.replace(f"body {tok}".encode(), f"BODY {tok}".encode())
            code, resp = send(i, "a@good.test", msg)
            assert code == 250, resp
            (raw,) = i.wait_token(DEMO, tok)
            (ar,) = ar_fields(raw)
            want = "fail" if n == 2 else "pass"
            assert re.search(rf"dkim={want} [^;]*header\.d=good\.test header\.s=rsa", ar), ar
            assert re.search(rf"dkim={want} [^;]*header\.d=good\.test header\.s=ed", ar), ar
        # The old selector's key does not verify what the new key signed.
        for sel, want in (("new", "pass"), ("ed", "fail")):
            tok = token()
            msg = sign(message("A <a@good.test>", tok), sel, "good.test", NEW_ED_KEY, algo=True)
            code, resp = send(i, "a@good.test", msg)
            assert code == 250, resp
            (raw,) = i.wait_token(DEMO, tok)
            (ar,) = ar_fields(raw)
            assert re.search(rf"dkim={want} [^;]*header\.s={sel}", ar), ar
    finally:
        d.stop()


def test_spoofed_reject_policy_refused(inst):
    tok = token()
    code, resp = send(inst, "x@evil.test", message("CEO <ceo@bank.test>", tok))
    assert code == 550, resp
    assert "5.7.1" in resp and "bank.test" in resp, resp
    assert not inst.messages_with(DEMO, tok)


def test_tampered_signature_fails_dmarc(inst):
    tok = token()
    msg = sign(message("A <a@good.test>", tok), "rsa", "good.test", RSA_KEY)
    msg = msg.replace(f"body {tok}".encode(), f"BODY {tok}".encode())
    # SPF fails too (the MAIL FROM domain does not list us), so nothing aligns.
    code, resp = send(inst, "a@bank.test", msg)
    assert code == 550, resp


def test_quarantine_goes_to_junk(inst):
    tok = token()
    code, resp = send(inst, "x@q.test", message("<x@q.test>", tok))
    assert code == 250, resp
    junk = os.path.join(inst.maildir(DEMO), ".Junk", "new")
    import time
    deadline = time.monotonic() + 20
    found = []
    while time.monotonic() < deadline and not found:
        if os.path.isdir(junk):
            found = [n for n in os.listdir(junk) if tok.encode() in open(os.path.join(junk, n), "rb").read()]
        time.sleep(0.05)
    assert found, "not in .Junk"
    assert not inst.messages_with(DEMO, tok), "a quarantined message is not in the inbox"
    # POP3 shows the inbox only.
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=10)
    try:
        p.stls(context=inst.ssl_context())
        p.user(DEMO)
        p.pass_(DEMO_PASSWORD)
        for i in range(1, len(p.list()[1]) + 1):
            assert tok.encode() not in b"\n".join(p.retr(i)[1])
    finally:
        p.quit()


def test_forged_results_removed(inst):
    tok = token()
    forged = f"Authentication-Results: {HOSTNAME}; dkim=pass header.d=bank.test\r\n" \
             f"Authentication-Results: other.example; spf=pass\r\n"
    code, resp = send(inst, "a@good.test", message("A <a@good.test>", tok, forged))
    assert code == 250, resp
    (raw,) = inst.wait_token(DEMO, tok)
    fields = ar_fields(raw)
    ours = [f for f in fields if f.startswith(f"Authentication-Results: {HOSTNAME}")]
    assert len(ours) == 1 and "bank.test" not in ours[0], fields
    assert any("other.example" in f for f in fields), fields


def test_null_sender_uses_helo(inst):
    tok = token()
    code, resp = send(inst, "", message("A <a@good.test>", tok), helo="good.test")
    assert code == 250, resp
    (raw,) = inst.wait_token(DEMO, tok)
    (ar,) = ar_fields(raw)
    assert "spf=pass smtp.helo=good.test" in ar, ar


def test_spf_reject_without_dmarc(strict):
    tok = token()
    code, resp = send(strict, "x@nopolicy.test", message("<x@nopolicy.test>", tok))
    assert code == 550 and "5.7.23" in resp, resp
    tok = token()
    code, resp = send(strict, "x@evil.test", message("<x@evil.test>", tok))
    assert code == 250, resp  # neutral is no fail


def test_submission_not_checked(inst):
    tok = token()
    with smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30) as s:
        s.ehlo("client")
        s.starttls(context=inst.ssl_context())
        s.ehlo("client")
        s.login(DEMO, DEMO_PASSWORD)
        s.sendmail(DEMO, [DEMO], message(f"<{DEMO}>", tok))
    (raw,) = inst.wait_token(DEMO, tok)
    assert not ar_fields(raw)


def test_failing_resolver_gives_temperror(make_instance):
    """A resolver that answers SERVFAIL: the message is taken, the results say temperror."""
    bad = ServfailDns()
    try:
        i = make_instance({("delivery", "resolver"): bad.resolver,
                           ("relay", "trusted_networks"): "", ("inbound", "verify"): "yes"})
        tok = token()
        code, resp = send(i, "a@good.test", message("A <a@good.test>", tok))
        assert code == 250, resp
        (raw,) = i.wait_token(DEMO, tok)
        (ar,) = ar_fields(raw)
        assert "spf=temperror" in ar and "dmarc=temperror" in ar, ar
    finally:
        bad.stop()


def test_verify_off(make_instance, dns):
    i = make_instance({("delivery", "resolver"): dns.resolver,
                       ("relay", "trusted_networks"): "", ("inbound", "verify"): "no"})
    tok = token()
    code, resp = send(i, "x@evil.test", message("CEO <ceo@bank.test>", tok))
    assert code == 250, resp
    (raw,) = i.wait_token(DEMO, tok)
    assert not ar_fields(raw)


def test_check_message_cli(inst):
    tok = token()
    msg = sign(message("A <a@good.test>", tok), "rsa", "good.test", RSA_KEY)
    out = inst.run_cli("check", "message", "--ip", "127.0.0.1", "--helo", "client.good.test",
                       "--mailfrom", "a@good.test", input=msg.decode()).stdout
    assert out.startswith(f"Authentication-Results: {HOSTNAME};"), out
    assert "spf=pass" in out and "dkim=pass header.d=good.test" in out and "dmarc=pass" in out, out
    out = inst.run_cli("check", "message", input=message("CEO <ceo@bank.test>", tok).decode()).stdout
    assert "dkim=none" in out and "dmarc=fail" in out, out


def test_authenticated_sender_lifts_greylisting(dns, make_instance):
    """A message that passes SPF and DMARC through an aligned DKIM signature lets its
    client network past greylisting from then on (a new triplet passes at once)."""
    import time
    i = make_instance({("delivery", "resolver"): dns.resolver,
                       ("relay", "trusted_networks"): "", ("inbound", "verify"): "yes",
                       ("inbound", "greylist"): "yes", ("inbound", "greylist_delay"): "1s"})

    def rcpt_code(mailfrom, rcpt):
        with smtplib.SMTP("127.0.0.1", i.ports["smtp"], timeout=30) as s:
            s.ehlo("client.good.test")
            s.mail(mailfrom)
            return s.rcpt(rcpt)[0]

    i.add_user("other@example.test", "other-password-1")
    # Unsigned mail from a new triplet: greylisted, and another triplet is too.
    assert rcpt_code("x@evil.test", DEMO) == 451
    assert rcpt_code("y@evil.test", "other@example.test") == 451
    # A signed, aligned message gets through after the delay...
    tok = token()
    msg = sign(message("A <a@good.test>", tok), "rsa", "good.test", RSA_KEY)
    assert rcpt_code("a@good.test", DEMO) == 451
    time.sleep(1.5)
    code, resp = send(i, "a@good.test", msg)
    assert code == 250, resp
    i.wait_event("greylist-trust", client="127.0.0.1", qid=re.compile(r"^[0-9A-F]{16}$"))
    # ...and from then on the client's new triplets pass at once.
    assert rcpt_code("z@evil.test", "other@example.test") == 250
