#!/usr/bin/python3
"""make_arc.py - the interop test data of test_arc_verify.c, made once with dkimpy's
ARC sealer (python3-dkim: dkim.arc_sign) and committed: a message sealed once
(i=1, cv=none) and the same sealed again by a second handler (i=2, cv=pass), with
RSA (dkimpy's ARC sealer takes RSA keys only); stored as the queue keeps mail (LF line ends),
with the key records to publish (arc_keys.txt). Each output is checked with
dkim.arc_verify before it is written.

The key is the test-only RSA key of ../dkim (../dkim/rsa.key; see make_dkimpy.py).
Run from this directory: /usr/bin/python3 make_arc.py"""
import base64
import subprocess

import dkim

MESSAGE = (b"Authentication-Results: mx.first.test; spf=pass smtp.mailfrom=alice@origin.test;"
           b" dkim=none; dmarc=pass header.from=origin.test\r\n"
           b"From: Alice Example <alice@origin.test>\r\n"
           b"To: list@first.test\r\n"
           b"Subject: ARC  \t interop\r\n"
           b"Date: Tue, 02 Dec 2025 10:00:00 +0000\r\n"
           b"Message-ID: <arc-1@origin.test>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"\r\n"
           b"Hello list,  \r\n"
           b"\r\n"
           b"a line\twith  spaces \r\n"
           b"\r\n")
HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
           b"content-type"]

rsa_pem = open("../dkim/rsa.key", "rb").read()
rsa_pub = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=rsa_pem,
                         capture_output=True, check=True).stdout
rsa_rec = b"v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_pub)
records = {
    b"arc._domainkey.first.test.": rsa_rec,
    b"arc._domainkey.second.test.": rsa_rec,
}
with open("arc_keys.txt", "wb") as f:
    for name, rec in records.items():
        f.write(name.rstrip(b".") + b" " + rec + b"\n")


def dns(name, timeout=5):
    return records.get(name)


def seal(msg, selector, domain, key, srv_id):
    fields = dkim.arc_sign(msg, selector, domain, key, srv_id, include_headers=HEADERS,
                           timestamp=1764669600)
    return b"".join(fields) + msg


def write(name, msg):
    cv, results, why = dkim.arc_verify(msg, dnsfunc=dns)
    assert cv == b"pass", (name, cv, why)
    with open(name, "wb") as f:
        f.write(msg.replace(b"\r\n", b"\n"))


one = seal(MESSAGE, b"arc", b"first.test", rsa_pem, b"mx.first.test")
write("arc_rsa_1.eml", one)
# The second handler adds its own Authentication-Results, then seals.
two = seal(b"Authentication-Results: mx.second.test; arc=pass; dkim=none\r\n" + one,
           b"arc", b"second.test", rsa_pem, b"mx.second.test")
write("arc_rsa_2.eml", two)
