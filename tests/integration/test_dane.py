"""test_dane.py - DANE for SMTP (RFC 7672, RFC 7671) with [delivery] dane = yes.

The remote side is on loopback: DNSSEC-signed zones made at test time (ldns-signzone,
dnssec.py) served by nsd, which is the instance's [delivery] resolver; the instance
validates the answers itself against the zones' keys ([delivery]
dnssec_trust_anchor). The MX hosts are aiosmtpd sinks (peers.py) with certificates
made here: a key whose SPKI digest is published as DANE-EE "3 1 1" records, a CA
published as DANE-TA "2 0 1", and others that match nothing.

What is checked: a matching certificate delivers over TLS (also an expired one, and
whatever names it has: DANE-EE authenticates the key); a mismatch, a sink without
STARTTLS, a DANE-TA chain for another name, a bogus TLSA or MX answer all defer
with a 4.7.x reason and nothing reaches the sink in clear or at all; the next MX host
is tried when one fails; an unsigned zone, a secure host without TLSA records and an
MX host in an unsigned zone are delivered as without DANE; a host whose TLSA records
are all unusable (PKIX usages) still needs TLS; the relayhost is checked by
relayhost_tls = verify against [delivery] tls_ca_file, not by DANE; with
tls_reports = yes, each DANE session is noted for the TLS reports under its tlsa policy.
"""
import datetime
import hashlib
import json
import os
import re
import ssl
import tempfile
import time
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import DEMO, delivery_line
from dnssec import SignedDns
from peers import make_message, submit, wait_until

PRIMARY = "127.0.0.1"
SECOND = "127.0.0.3"


# ---------------------------------------------------------------- certificates

class Certs:
    """Keys and certificates for the sinks, written as PEM files in one directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="danecerts-", dir="/tmp")
        self.ee_key = ec.generate_private_key(ec.SECP256R1())
        self.other_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)
        self.ca = self._cert("DANE test CA", self.ca_key, None, None, now - day, now + day,
                             ca=True)
        # DANE-EE: the names and dates of the certificate do not matter, its key does.
        self.ee = self._pem("ee", self._cert("unrelated.name.test", self.ee_key, None, None,
                                             now - day, now + day), self.ee_key)
        self.ee_expired = self._pem("ee-expired", self._cert(
            "unrelated.name.test", self.ee_key, None, None, now - 10 * day, now - 5 * day),
            self.ee_key)
        self.other = self._pem("other", self._cert("mx.ee.dane.test", self.other_key, None,
                                                   None, now - day, now + day), self.other_key)
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        self.ta_leaf = self._pem("ta-leaf", self._cert("mx.ta.dane.test", leaf_key, self.ca,
                                                       self.ca_key, now - day, now + day),
                                 leaf_key, chain=[self.ca])
        self.ca_file = os.path.join(self.dir, "ca.pem")
        with open(self.ca_file, "wb") as f:
            f.write(self.ca.public_bytes(serialization.Encoding.PEM))
        os.chmod(self.dir, 0o755)
        os.chmod(self.ca_file, 0o644)  # read by the instance's unprivileged queued
        self.ta_wrong_name = self._pem("ta-wrong", self._cert(
            "elsewhere.name.test", leaf_key, self.ca, self.ca_key, now - day, now + day),
            leaf_key, chain=[self.ca])

    @staticmethod
    def _cert(cn, key, issuer, issuer_key, not_before, not_after, ca=False):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        b = (x509.CertificateBuilder()
             .subject_name(name)
             .issuer_name(issuer.subject if issuer else name)
             .public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(not_before)
             .not_valid_after(not_after)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        return b.sign(issuer_key or key, hashes.SHA256())

    def _pem(self, name, cert, key, chain=()):
        path = os.path.join(self.dir, name + ".pem")
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
            for c in [cert] + list(chain):
                f.write(c.public_bytes(serialization.Encoding.PEM))
        return path

    @staticmethod
    def spki_sha256(key):
        der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(der).hexdigest()

    def ca_sha256(self):
        return hashlib.sha256(self.ca.public_bytes(serialization.Encoding.DER)).hexdigest()

    @staticmethod
    def context(path):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(path)
        return ctx


def zones(certs):
    ee = certs.spki_sha256(certs.ee_key)
    other = certs.spki_sha256(certs.other_key)
    ca = certs.ca_sha256()

    def mx(domain, host, tlsa=(), addr=PRIMARY, pref=10):
        lines = [f"{domain} IN MX {pref} {host}.dane.test.", f"{host} IN A {addr}"]
        lines += [f"_25._tcp.{host} IN TLSA {t}" for t in tlsa]
        return lines

    dane = (mx("ee", "mx.ee", [f"3 1 1 {ee}"])
            + mx("ta", "mx.ta", [f"2 0 1 {ca}"])
            + mx("wrongkey", "mx.wrongkey", [f"3 1 1 {other}"])
            + mx("notlsa", "mx.notlsa")
            + mx("unusable", "mx.unusable", [f"1 1 1 {ee}", f"0 0 1 {ca}"])
            + mx("bogus", "mx.bogus", [f"3 1 1 {ee}"])
            + mx("bogusmx", "mx.bogusmx", [f"3 1 1 {ee}"])
            # Two MX hosts: the better one's TLSA records match nothing there.
            + mx("fallback", "mx1.fallback", [f"3 1 1 {other}"], addr=SECOND, pref=10)
            + mx("fallback", "mx2.fallback", [f"3 1 1 {ee}"], pref=20)
            # Secure MX records naming a host in the unsigned zone.
            + ["toplain IN MX 10 mx.plain.test."]
            # No MX: the domain's own address, its own TLSA records (RFC 7672 2.2.1).
            + ["nomx IN A 127.0.0.1", f"_25._tcp.nomx IN TLSA 3 1 1 {ee}"]
            # CNAMEs (RFC 7671 7): the records where the chain ends, or else at the
            # name itself; without MX, the domain's own name is the alias.
            + ["cname IN CNAME mx.ee.dane.test.",
               "cname2 IN CNAME mx.notlsa.dane.test.", f"_25._tcp.cname2 IN TLSA 3 1 1 {ee}",
               "cname3 IN CNAME mx.wrongkey.dane.test."])
    plain = ["@ IN MX 10 mx.plain.test.", "mx IN A 127.0.0.1",
             # Unsigned: not to be believed, so not enforced.
             f"_25._tcp.mx IN TLSA 3 1 1 {other}"]
    return {"dane.test": dane, "plain.test": plain}


@pytest.fixture(scope="module")
def certs():
    return Certs()


@pytest.fixture(scope="module")
def dns(certs):
    d = SignedDns(zones(certs), unsigned={"plain.test"},
                  tamper=[("_25._tcp.mx.bogus.dane.test", "TLSA",
                           f"3 1 1 {certs.spki_sha256(certs.other_key)}"),
                          ("bogusmx.dane.test", "MX", "10 mx.ee.dane.test.")])
    yield d
    d.stop()


def dane_instance(make_instance, dns, port, **extra):
    s = {("delivery", "resolver"): dns.resolver, ("delivery", "remote_port"): str(port),
         ("delivery", "dane"): "yes", ("delivery", "dnssec_trust_anchor"): dns.trust_anchor}
    for k, v in extra.items():
        section, key = k.split("__")
        s[(section, key)] = v
    return make_instance(s)


def send(inst, rcpt):
    tok = uuid.uuid4().hex[:16]
    qid = submit(inst.ports["smtp"], DEMO, [rcpt], make_message("dane", tok))
    return tok, qid


def assert_delivered(inst, sink, rcpt, dane):
    tok, qid = send(inst, rcpt)
    t = sink.wait_token(tok)[0]
    assert t.tls
    line = delivery_line(inst, qid, rcpt, "sent")
    assert f"dane={dane}" in line, line
    return t


def assert_deferred(inst, sinks_seen, rcpt, reason):
    """rcpt is deferred with a 4.7.x reason matching reason; no sink saw a MAIL."""
    tok, qid = send(inst, rcpt)
    line = delivery_line(inst, qid, rcpt, "deferred")
    assert re.search(r"451 4\.7\.[45] ", line) and re.search(reason, line), line
    assert "dane=failed" in line, line
    time.sleep(0.5)
    for s in sinks_seen:
        assert s.mails == [] and s.transactions == [], s.transactions
    assert qid in inst.queue_ids()
    return line


# ---------------------------------------------------------------- DANE-EE and DANE-TA

@pytest.mark.parametrize("cert,rcpt,match", [
    ("ee", "alice@ee.dane.test", r"DANE-EE\(3\) 1 1 at depth 0"),
    # RFC 7672 3.1.1: with DANE-EE the key is authenticated, not the dates.
    ("ee_expired", "bob@ee.dane.test", r"DANE-EE\(3\) 1 1 at depth 0"),
    # No MX: the domain's own address and TLSA records (RFC 7672 2.2.1).
    ("ee", "ivan@nomx.dane.test", r"DANE-EE\(3\) 1 1 at depth 0"),
    ("ta_leaf", "erin@ta.dane.test", r"DANE-TA\(2\) 0 1 at depth 1"),
    ("ee", "kate@cname.dane.test", r"DANE-EE\(3\) 1 1 at depth 0"),
    ("ee", "liam@cname2.dane.test", r"DANE-EE\(3\) 1 1 at depth 0"),
])
def test_matching_certificate_delivers(dns, certs, sinks, make_instance, cert, rcpt, match):
    sink = sinks(tls=certs.context(getattr(certs, cert)))
    inst = dane_instance(make_instance, dns, sink.port)
    assert_delivered(inst, sink, rcpt, "verified")
    assert inst.events("delivery-tls", dane_tlsa=re.compile("^" + match),
                       relay=re.compile(r"\[127\.0\.0\.\d\]:")), inst.log()[-3000:]


@pytest.mark.parametrize("cert,rcpt", [
    ("other", "carol@ee.dane.test"),        # the MX host's name, but another key
    ("ta_wrong_name", "frank@ta.dane.test"),  # DANE-TA: the chain must name the MX host
    ("ta_leaf", "grace@wrongkey.dane.test"),  # a chain whose keys the records do not name
    ("ee", "mike@cname3.dane.test"),        # the CNAME target's records, not matched
])
def test_mismatch_defers(dns, certs, sinks, make_instance, cert, rcpt):
    sink = sinks(tls=certs.context(getattr(certs, cert)))
    inst = dane_instance(make_instance, dns, sink.port)
    assert_deferred(inst, [sink], rcpt, r"DANE authentication failed")


def test_stripped_starttls_defers(dns, certs, sinks, make_instance):
    """The MX host has TLSA records but does not offer STARTTLS: never in clear."""
    sink = sinks()
    inst = dane_instance(make_instance, dns, sink.port)
    assert_deferred(inst, [sink], "dave@ee.dane.test", r"does not offer STARTTLS")
    assert sink.connections >= 1  # reached: the missing STARTTLS is what stops the mail


def test_next_mx_host_after_a_dane_failure(dns, certs, sinks, make_instance):
    first = sinks(host=SECOND, tls=certs.context(certs.ee))
    second = sinks(host=PRIMARY, port=first.port, tls=certs.context(certs.ee))
    inst = dane_instance(make_instance, dns, first.port)
    assert_delivered(inst, second, "heidi@fallback.dane.test", "verified")
    assert first.mails == []
    assert inst.events("attempt", relay=re.compile(r"^mx1\.fallback\.dane\.test\[127\.0\.0\.3\]:"),
                       reason=re.compile("DANE authentication failed"))


def test_tls_reports_note_dane_sessions(dns, certs, sinks, make_instance):
    """With tls_reports = yes, each DANE session is noted under its policy (tlsa, the
    records, the MX host) for the day's TLS report (RFC 8460): a match as a success,
    a mismatch as a validation-failure with the host and its address."""
    good = sinks(tls=certs.context(certs.ee))
    inst = dane_instance(make_instance, dns, good.port, delivery__tls_reports="yes")
    assert_delivered(inst, good, "olga@ee.dane.test", "verified")
    good.stop()
    bad = sinks(port=good.port, tls=certs.context(certs.other))
    assert_deferred(inst, [bad], "pete@ee.dane.test", r"DANE authentication failed")

    def noted():
        d = os.path.join(inst.data, "queue", "tlsrpt")
        lines = []
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, name)) as f:
                lines += [json.loads(x) for x in f if x.strip()]
        return lines if any(x.get("result") for x in lines) else None
    lines = wait_until(noted, 20, "the TLS results of the sessions")
    tlsa = [x for x in lines if x["domain"] == "ee.dane.test"]
    assert all(x["type"] == "tlsa" and x["mx"] == "mx.ee.dane.test" for x in tlsa), tlsa
    assert all(x["policy"].startswith("3 1 1 ") for x in tlsa), tlsa
    ok = [x for x in tlsa if "result" not in x]
    fail = [x for x in tlsa if "result" in x]
    assert len(ok) == 1, tlsa
    assert fail and fail[0]["result"] == "validation-failure", tlsa
    assert fail[0]["host"] == "mx.ee.dane.test" and fail[0]["ip"] == PRIMARY, fail


# ---------------------------------------------------------------- bogus answers

def test_bogus_tlsa_defers_without_connecting(dns, certs, sinks, make_instance):
    sink = sinks(tls=certs.context(certs.ee))
    inst = dane_instance(make_instance, dns, sink.port)
    line = assert_deferred(inst, [sink], "judy@bogus.dane.test", r"TLSA records")
    assert "DNSSEC validation failed" in line, line
    assert sink.connections == 0


def test_bogus_mx_defers(dns, certs, sinks, make_instance):
    sink = sinks(tls=certs.context(certs.ee))
    inst = dane_instance(make_instance, dns, sink.port)
    tok, qid = send(inst, "mallory@bogusmx.dane.test")
    line = delivery_line(inst, qid, "mallory@bogusmx.dane.test", "deferred")
    assert re.search(r"451 4\.4\.3 .*DNSSEC validation failed", line), line
    time.sleep(0.5)
    assert sink.connections == 0


# ---------------------------------------------------------------- where DANE does not apply

def test_unsigned_zone_is_opportunistic(dns, certs, sinks, make_instance):
    """Insecure: its TLSA record (of another key) is not believed; TLS unverified."""
    sink = sinks(tls=True)
    inst = dane_instance(make_instance, dns, sink.port)
    assert_delivered(inst, sink, "oscar@plain.test", "none")


def test_unsigned_zone_without_starttls_is_plain(dns, certs, sinks, make_instance):
    sink = sinks()
    inst = dane_instance(make_instance, dns, sink.port)
    tok, qid = send(inst, "peggy@plain.test")
    t = sink.wait_token(tok)[0]
    assert not t.tls
    assert "dane=none" in delivery_line(inst, qid, "peggy@plain.test", "sent")


def test_secure_host_without_tlsa_is_opportunistic(dns, certs, sinks, make_instance):
    sink = sinks(tls=True)
    inst = dane_instance(make_instance, dns, sink.port)
    assert_delivered(inst, sink, "rupert@notlsa.dane.test", "none")


def test_mx_host_in_an_unsigned_zone(dns, certs, sinks, make_instance):
    sink = sinks(tls=True)
    inst = dane_instance(make_instance, dns, sink.port)
    assert_delivered(inst, sink, "sybil@toplain.dane.test", "none")


def test_unusable_tlsa_records_still_require_tls(dns, certs, sinks, make_instance):
    """Only PKIX-EE(1) and PKIX-TA(0) records: unusable for SMTP (RFC 7672 3.1.3), but
    their presence says the server does TLS: encrypted, unauthenticated."""
    sink = sinks(tls=True)
    inst = dane_instance(make_instance, dns, sink.port)
    assert_delivered(inst, sink, "trent@unusable.dane.test", "none")
    assert inst.events("dane", policy="tls-only", usable=0, unusable=2, tlsa="mx.unusable.dane.test")


def test_unusable_tlsa_records_without_starttls_defer(dns, certs, sinks, make_instance):
    sink = sinks()
    inst = dane_instance(make_instance, dns, sink.port)
    tok, qid = send(inst, "victor@unusable.dane.test")
    line = delivery_line(inst, qid, "victor@unusable.dane.test", "deferred")
    assert re.search(r"451 4\.7\.4 .*does not offer STARTTLS", line), line
    assert sink.mails == []


def test_dane_off_ignores_the_records(dns, certs, sinks, make_instance):
    """dane = no (the default): a mismatching TLSA record is not looked up."""
    sink = sinks(tls=certs.context(certs.other))
    inst = dane_instance(make_instance, dns, sink.port, delivery__dane="no")
    tok, qid = send(inst, "walter@ee.dane.test")
    sink.wait_token(tok)
    assert "dane=" not in delivery_line(inst, qid, "walter@ee.dane.test", "sent")


def test_unreadable_trust_anchor_stops_queued(dns, make_instance):
    inst = make_instance({("delivery", "resolver"): dns.resolver, ("delivery", "dane"): "yes",
                          ("delivery", "dnssec_trust_anchor"): "/nonexistent/root.key"},
                         start=False)
    inst.start(wait=False)
    inst.wait_event("start-failed", _role="queued", _level="error",
                    error=re.compile(r"cannot read the DNSSEC trust anchor /nonexistent/root\.key"))


# ---------------------------------------------------------------- the relayhost

@pytest.mark.parametrize("relayhost,status", [
    ("[mx.ta.dane.test]", "sent"),    # the certificate names it, from the CA of ca_file
    ("[127.0.0.1]", "deferred"),      # it names no address
])
def test_relayhost_is_verified_by_relayhost_tls(dns, certs, sinks, make_instance,
                                                relayhost, status):
    """DANE is not for the relayhost: relayhost_tls = verify checks it against ca_file."""
    sink = sinks(tls=certs.context(certs.ta_leaf))
    inst = dane_instance(make_instance, dns, sink.port,
                         relay__relayhost=f"{relayhost}:{sink.port}",
                         delivery__tls_ca_file=certs.ca_file)
    tok, qid = send(inst, "nina@ee.dane.test")
    line = delivery_line(inst, qid, "nina@ee.dane.test", status)
    assert "dane=" not in line, line
    if status == "sent":
        assert sink.wait_token(tok)[0].tls
    else:
        assert re.search(r"451 4\.7\.5 .*certificate not verified", line), line
        assert sink.mails == []
