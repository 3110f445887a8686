"""test_arc.py - ARC chains (RFC 8617) through mailroom: validated when a message
arrives from outside (arc= in the Authentication-Results on top) and continued
when an alias forwards it (the next set, i=2, with cv= from that result).

The first set is made by dkimpy's sealer (dkim.arc_sign) with an RSA key made here
and published in a dnsmasq on loopback; the message goes to an alias of the
instance that forwards to a loopback sink; dkimpy's arc_verify then checks the
whole chain as the sink got it, with the key records `mailroom dns records` prints.
"""
import base64
import re
import uuid

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import HOSTNAME
from peers import Dns, Sink, submit

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
KEY_RECORD = "v=DKIM1; k=rsa; p=" + base64.b64encode(KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


@pytest.fixture(scope="module")
def dns():
    rec = KEY_RECORD
    d = Dns(mx=[("remote.test", "mx.remote.test", 10)],
            hosts={"mx.remote.test": "127.0.0.1", HOSTNAME: "127.0.0.1"},
            txt=[("arc._domainkey.list.test", [rec[i:i + 250] for i in range(0, len(rec), 250)])])
    yield d
    d.stop()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.stop()


@pytest.fixture
def inst(dns, sink, make_instance):
    i = make_instance({("delivery", "resolver"): dns.resolver,
                       ("delivery", "remote_port"): str(sink.port),
                       ("relay", "trusted_networks"): "",
                       ("inbound", "verify"): "yes"})
    i.run_cli("alias", "add", "fwd@example.test", "alice@remote.test")
    return i


def sealed_message(tok):
    """A message as a mailing list at list.test passes it on: its results, then its seal."""
    msg = (f"Authentication-Results: mx.list.test; spf=pass smtp.mailfrom=bob@origin.test\r\n"
           f"From: Bob <bob@origin.test>\r\nTo: list@list.test\r\nSubject: arc {tok}\r\n"
           f"Date: Wed, 02 Dec 2026 05:00:00 +0000\r\nMessage-ID: <{tok}@origin.test>\r\n"
           f"\r\nposted to the list {tok}\r\n").encode()
    fields = dkim.arc_sign(msg, b"arc", b"list.test", KEY_PEM, b"mx.list.test",
                           include_headers=[b"from", b"to", b"subject", b"date",
                                            b"message-id"])
    return b"".join(fields) + msg


def our_ar(raw):
    """The Authentication-Results field of ours (unfolded) on top of raw."""
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b" " + line.strip()
        else:
            fields.append(line)
    ours = [f.decode() for f in fields
            if f.lower().startswith(f"authentication-results: {HOSTNAME};".encode())]
    assert len(ours) == 1, head.decode(errors="replace")
    return ours[0]


def arc_check(inst, raw):
    recs = {"arc._domainkey.list.test": KEY_RECORD}
    out = inst.run_cli("dns", "records", "example.test").stdout
    for line in out.splitlines():
        if "._domainkey." in line and not line.startswith(";"):
            recs[line.split()[0].rstrip(".").lower()] = "".join(re.findall(r'"([^"]*)"', line))

    def dnsfunc(name, timeout=5):
        return recs.get(name.decode().rstrip(".").lower(), "").encode()

    return dkim.arc_verify(raw, dnsfunc=dnsfunc)


def test_chain_validated_and_continued(inst, sink):
    tok = uuid.uuid4().hex[:16]
    msg = sealed_message(tok)
    submit(inst.ports["smtp"], "bob@origin.test", ["fwd@example.test"], msg)
    t = sink.wait_token(tok)[0]
    ar = our_ar(t.data)
    assert re.search(r"arc=pass \(i=1\) smtp\.remote-ip=127\.0\.0\.1", ar), ar
    assert re.search(rb"(?m)^ARC-Seal: i=2; a=rsa-sha256; cv=pass;", t.data), t.data[:3000]
    assert f"ARC-Authentication-Results: i=2; {HOSTNAME};".encode() in t.data
    cv, results, why = arc_check(inst, t.data)
    assert cv == b"pass", (cv, results, why, t.data[:4000])
    assert [r["instance"] for r in results] == [2, 1], results
    assert results[0]["as-domain"] == b"example.test"


def test_tampered_chain_fails_and_is_sealed_fail(inst, sink):
    tok = uuid.uuid4().hex[:16]
    msg = sealed_message(tok).replace(b"posted to the list", b"changed on the way")
    submit(inst.ports["smtp"], "bob@origin.test", ["fwd@example.test"], msg)
    t = sink.wait_token(tok)[0]
    ar = our_ar(t.data)
    assert re.search(r"arc=fail \(ARC-Message-Signature i=1: body hash mismatch\)", ar), ar
    assert re.search(rb"(?m)^ARC-Seal: i=2; a=rsa-sha256; cv=fail;", t.data), t.data[:3000]
    # dkimpy stops at a seal that says cv=fail (no cv of its own then, and the reason).
    cv, results, why = arc_check(inst, t.data)
    assert cv != b"pass" and "ARC-Seal[2] reported failure" in why, (cv, results, why)


def test_no_chain_is_none(inst, sink):
    """Without ARC fields: arc=none, and the forward gets a first set."""
    tok = uuid.uuid4().hex[:16]
    msg = (f"From: bob@origin.test\r\nTo: fwd@example.test\r\nSubject: plain {tok}\r\n"
           f"Message-ID: <{tok}@origin.test>\r\n\r\nplain {tok}\r\n").encode()
    submit(inst.ports["smtp"], "bob@origin.test", ["fwd@example.test"], msg)
    t = sink.wait_token(tok)[0]
    assert re.search(r"arc=none smtp\.remote-ip=", our_ar(t.data))
    assert re.search(rb"(?m)^ARC-Seal: i=1; a=rsa-sha256; cv=none;", t.data)
    cv, _, why = arc_check(inst, t.data)
    assert cv == b"pass", why
