"""test_long_lines.py - no line over 998 octets leaves mailroom (RFC 5322 2.1.1,
RFC 5321 4.5.3.1.6), and the content survives: messages with a 20,000-character
body line, a 5,000-character Subject and an 8-bit text part with long lines are
relayed from a trusted network to a sink; the raw bytes it receives have no line
over 998 octets, the email package decodes them to what was sent, and SIZE= is
the size received.
"""
import email
import email.policy
import re
import uuid

import pytest

from conftest import DEMO
from peers import Dns, Sink, submit, wait_dsn

LIMIT = 998


@pytest.fixture(scope="module")
def dns():
    d = Dns(mx=[("remote.test", "mx.remote.test", 10)], hosts={"mx.remote.test": "127.0.0.1"})
    yield d
    d.stop()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.stop()


@pytest.fixture
def inst(dns, sink, make_instance):
    return make_instance({("delivery", "resolver"): dns.resolver,
                          ("delivery", "remote_port"): str(sink.port)})


def relay(inst, sink, raw):
    """raw (bytes, CRLF) from the trusted loopback to the sink; the transaction it saw."""
    tok = uuid.uuid4().hex[:16]
    raw = raw.replace(b"TOKEN", tok.encode())
    qid = submit(inst.ports["smtp"], DEMO, ["alice@remote.test"], raw)
    t = sink.wait_token(tok, timeout=30)[0]
    inst.wait_removed(qid)
    return qid, t


def check_wire(t):
    """No line over the limit (CRLF excluded); SIZE= is what arrived (with CRLF)."""
    lines = t.data.split(b"\r\n")
    longest = max(len(line) for line in lines)
    assert longest <= LIMIT, longest
    assert b"\n" not in t.data.replace(b"\r\n", b"")
    sizes = [o for o in t.mail_options if o.upper().startswith("SIZE=")]
    assert sizes, t.mail_options
    assert int(sizes[0][5:]) == len(t.data), (sizes, len(t.data))


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def decoded(part):
    """A part's content as octets, line ends as LF (the wire's CRLF is not content)."""
    return part.get_payload(decode=True).replace(b"\r\n", b"\n")


def test_long_body_line(inst, sink):
    line = ("long line of words " * 1100)[:20000]
    assert len(line) == 20000
    body = "first\r\n" + line + "\r\nlast\r\n"
    raw = ("From: <demo@example.test>\r\nTo: <alice@remote.test>\r\nSubject: body TOKEN\r\n"
           "\r\n" + body).encode()
    qid, t = relay(inst, sink, raw)
    check_wire(t)
    m = parse(t.data)
    assert m["MIME-Version"] == "1.0"
    assert m["Content-Transfer-Encoding"] == "quoted-printable"
    assert decoded(m) == body.replace("\r\n", "\n").encode()
    assert inst.events("long-lines", qid=qid, relay=re.compile(r"^mx\.remote\.test\["),
                       action="folded or encoded"), inst.log()[-2000:]


def test_long_subject(inst, sink):
    words = " ".join(f"w{i:04d}" for i in range(840))  # 5,039 characters
    subject = ("TOKEN " + words)[:5000]
    raw = ("From: <demo@example.test>\r\nTo: <alice@remote.test>\r\nSubject: " + subject +
           "\r\n\r\nshort body\r\n").encode()
    qid, t = relay(inst, sink, raw)
    check_wire(t)
    m = parse(t.data)
    got = str(m["Subject"])
    tok = re.search(r"[0-9a-f]{16}", got).group(0)
    assert got == subject.replace("TOKEN", tok)
    assert decoded(m) == b"short body\n"
    assert m["Content-Transfer-Encoding"] is None, "only the header was folded"


def test_8bit_part(inst, sink):
    text = ("Grüße aus Köln, = ein Gleichheitszeichen  " * 300 + "\n") * 3 + "kurz  \n"
    head = ("From: <demo@example.test>\r\nTo: <alice@remote.test>\r\nSubject: part TOKEN\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n")
    first = "--XX\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nthe short part\r\n"
    raw = (head + first + "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n" + text.replace("\n", "\r\n") +
           "--XX--\r\n").encode()
    qid, t = relay(inst, sink, raw)
    check_wire(t)
    # The untouched part went out octet for octet.
    assert first.encode() in t.data
    m = parse(t.data)
    parts = list(m.iter_parts())
    assert len(parts) == 2
    assert decoded(parts[0]) == b"the short part"
    assert parts[1]["Content-Transfer-Encoding"] == "quoted-printable"
    # The part's last line end belongs to the boundary (RFC 2046 5.1.1).
    assert decoded(parts[1]).decode("utf-8") + "\n" == text


def test_compliant_unchanged(inst, sink):
    raw = ("From: <demo@example.test>\r\nTo: <alice@remote.test>\r\nSubject: same TOKEN\r\n"
           "\r\n" + "x" * LIMIT + "\r\n.dot\r\n").encode()
    qid, t = relay(inst, sink, raw)
    check_wire(t)
    assert t.data.endswith(b"\r\n\r\n" + b"x" * LIMIT + b"\r\n.dot\r\n")
    assert inst.events("long-lines") == []


def test_bounce_quotes_long_headers(inst, sink):
    """A bounce quotes the original's header section: its long lines are folded too."""
    sink.rcpt_replies["nobody@remote.test"] = "550 5.1.1 no such user here"
    tok = uuid.uuid4().hex[:16]
    subject = tok + " " + " ".join(["word"] * 800)
    raw = ("From: <demo@example.test>\r\nTo: <nobody@remote.test>\r\nSubject: " + subject +
           "\r\nX-Solid: " + "z" * 3000 + "\r\n\r\nbody\r\n").encode()
    qid = submit(inst.ports["smtp"], DEMO, ["nobody@remote.test"], raw)
    inst.wait_removed(qid)
    d = wait_dsn(inst, DEMO, tok)
    longest = max(len(line.rstrip(b"\r")) for line in d.raw.split(b"\n"))
    assert longest <= LIMIT, longest
    assert str(d.original["Subject"]) == subject
    assert str(d.original["X-Solid"]).replace(" ", "") == "z" * 3000
