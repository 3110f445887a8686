#!/usr/bin/python3
"""make_dkimpy.py - the interop test data of test_dkim_verify.c, made once with dkimpy
(python3-dkim) and committed: a message signed with each algorithm and each c=
combination (and one with l=), stored as the queue keeps mail (LF line ends), and
the key records to publish at rsa._domainkey.dkimpy.test and ed._domainkey.dkimpy.test.

The keys are test-only and were made with
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key
    python3 -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())' > ed25519.key
Run from this directory: /usr/bin/python3 make_dkimpy.py (each output is checked with
dkim.verify before it is written)."""
import base64
import subprocess

import dkim
import nacl.signing

DOMAIN = b"dkimpy.test"
MESSAGE = (b"From: Alice Example <alice@dkimpy.test>\r\n"
           b"To: bob@example.test\r\n"
           b"Subject:   Interop  \t test\r\n"
           b"Date: Tue, 02 Dec 2025 10:00:00 +0000\r\n"
           b"Message-ID: <interop-1@dkimpy.test>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"\r\n"
           b"Hello Bob,  \r\n"
           b"\r\n"
           b"a line\twith  spaces \r\n"
           b"\r\n"
           b"\r\n")
HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
           b"content-type"]

rsa_pem = open("rsa.key", "rb").read()
ed_seed = open("ed25519.key", "rb").read().strip()
rsa_pub = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=rsa_pem,
                         capture_output=True, check=True).stdout
ed_pub = nacl.signing.SigningKey(base64.b64decode(ed_seed)).verify_key.encode()
records = {
    b"rsa._domainkey.dkimpy.test.": b"v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_pub),
    b"ed._domainkey.dkimpy.test.": b"v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_pub),
}
with open("dkimpy_keys.txt", "wb") as f:
    for name, rec in records.items():
        f.write(name.rstrip(b".") + b" " + rec + b"\n")


def dns(name, timeout=5):
    return records.get(name)


for alg, sel, key in ((b"rsa-sha256", b"rsa", rsa_pem), (b"ed25519-sha256", b"ed", ed_seed)):
    for ch in (b"simple", b"relaxed"):
        for cb in (b"simple", b"relaxed"):
            for length in ((False, True) if (ch, cb) == (b"relaxed", b"relaxed") else (False,)):
                sig = dkim.sign(MESSAGE, sel, DOMAIN, key, canonicalize=(ch, cb),
                                signature_algorithm=alg, include_headers=HEADERS,
                                length=length)
                signed = sig + MESSAGE
                assert dkim.verify(signed, dnsfunc=dns), (alg, ch, cb)
                name = "dkimpy_%s_%s_%s%s.eml" % (sel.decode(), ch.decode(), cb.decode(),
                                                  "_l" if length else "")
                with open(name, "wb") as f:
                    f.write(signed.replace(b"\r\n", b"\n"))
