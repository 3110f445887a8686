"""bench/zones.py - what the DNS server of the benchmarks serves, and the messages
sent through it: the remote domains of the outbound test (d1.test ... dN.test, each
with an MX on the sink's address), and client.test, the sender of the inbound
test, with SPF, DKIM (an RSA-2048 and an Ed25519 key) and DMARC records; the DKIM-
signed corpus is signed here with dkimpy (python3-dkim)."""
import base64
import os

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

SENDER_DOMAIN = "client.test"
SENDER = "bench@" + SENDER_DOMAIN


def remote_domain(i):
    return f"d{i}.test"


class Zones:
    def __init__(self, remote_domains, sink_addr):
        self.remote_domains = remote_domains
        self.sink_addr = sink_addr
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ed = ed25519.Ed25519PrivateKey.generate()

    def _rsa_record(self):
        der = self.rsa.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()

    def _ed_record(self):
        raw = self.ed.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode()

    def records(self):
        """Keyword arguments of peers.Dnsmasq."""
        mx, hosts = [], {}
        for i in range(1, self.remote_domains + 1):
            d = remote_domain(i)
            mx.append((d, "mx." + d, 10))
            hosts["mx." + d] = self.sink_addr
        rsa_rec = self._rsa_record()
        txt = [
            (SENDER_DOMAIN, ["v=spf1 ip4:127.0.0.1 -all"]),
            ("_dmarc." + SENDER_DOMAIN, [f"v=DMARC1; p=reject; rua=mailto:dmarc@{SENDER_DOMAIN}"]),
            ("rsa._domainkey." + SENDER_DOMAIN, [rsa_rec[i:i + 250] for i in range(0, len(rsa_rec), 250)]),
            ("ed._domainkey." + SENDER_DOMAIN, [self._ed_record()]),
        ]
        hosts[SENDER_DOMAIN] = "192.0.2.10"
        return {"mx": mx, "hosts": hosts, "txt": txt}

    def _sign(self, msg, alg):
        if alg == "ed25519":
            secret = base64.b64encode(self.ed.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                serialization.NoEncryption()))
            selector, algo = b"ed", b"ed25519-sha256"
        else:
            secret = self.rsa.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
            selector, algo = b"rsa", b"rsa-sha256"
        sig = dkim.sign(msg, selector, SENDER_DOMAIN.encode(), secret,
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                        signature_algorithm=algo)
        return sig + msg

    def signed_corpus(self, directory, size, rcpt):
        """Three messages of about size octets from SENDER to rcpt: signed with the RSA
        key, with the Ed25519 key, and with both (the Ed25519 signature on top).
        Written with LF line ends; the signatures are over the CRLF form that goes on
        the wire. Returns the paths."""
        os.makedirs(directory, exist_ok=True)
        paths = []
        for n, algs in enumerate((["rsa"], ["ed25519"], ["rsa", "ed25519"])):
            msg = message(SENDER, rcpt, f"signed {'+'.join(algs)}", size, n).replace(b"\n", b"\r\n")
            for alg in algs:
                msg = self._sign(msg, alg)
            path = os.path.join(directory, f"signed-{'-'.join(algs)}.eml")
            with open(path, "wb") as f:
                f.write(msg.replace(b"\r\n", b"\n"))
            paths.append(path)
        return paths


def message(frm, to, subject, size, seq=0):
    """A plain text message of about size octets (LF line ends), lines of 76."""
    head = (f"From: <{frm}>\nTo: <{to}>\nSubject: {subject}\n"
            f"Message-ID: <bench-{seq}-{os.getpid()}@{frm.split('@')[1]}>\n"
            "Date: Wed, 02 Dec 2026 05:00:00 +0000\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=us-ascii\n\n").encode()
    line = (b"abcdefghijklmnopqrstuvwxyz0123456789" * 3)[:76] + b"\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body
