"""test_milter.py - the milter client of the smtp listener ([inbound] milters,
submission_milters, milter_default_action, the milter_*_timeout keys; mailroom.conf.5).

Three kinds of milter, all on loopback: Debian's rspamd (its proxy worker in milter
mode, started here from a private configuration), a milter written with
python3-milter (pymilter on libmilter: an independent implementation of the
protocol) whose behaviour a word in the Subject chooses, and a raw one written here
that stalls or answers garbage. The client is 127.0.0.1 on the smtp listener.
"""
import re
import smtplib
import threading
import uuid

import pytest

from conftest import DEMO, DEMO_PASSWORD, free_port
from milterpeers import PyMilter, RawMilter, Rspamd
from peers import QUEUE_ID
from smtpraw import Raw

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def token():
    return uuid.uuid4().hex[:16]


def message(subject, tok, body="hello\n", headers=()):
    lines = ["From: Sender <sender@client.example>", f"To: <{DEMO}>",
             f"Subject: {subject} {tok}", f"Message-ID: <{tok}@client.example>",
             "Date: Mon, 01 Jan 2024 00:00:00 +0000"] + list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n") +
            f"token {tok}\r\n").encode()


def send(port, msg, rcpts=(DEMO,), login=None, ctx=None, sender="sender@client.example"):
    """One transaction; (code, reply text) of the end of DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
        s.ehlo("client.example")
        if ctx is not None:
            s.starttls(context=ctx)
            s.ehlo("client.example")
        if login is not None:
            s.login(*login)
        code, resp = s.mail(sender)
        assert code == 250, (code, resp)
        for r in rcpts:
            code, resp = s.rcpt(r)
            assert code == 250, (code, resp)
        try:
            code, resp = s.data(msg)
        except smtplib.SMTPDataError as e:
            code, resp = e.smtp_code, e.smtp_error
        return code, resp.decode(errors="replace")


def qid_of(reply):
    m = QUEUE_ID.search(reply)
    assert m, reply
    return m.group(1)


def header_block(msg):
    return msg.split(b"\n\n", 1)[0].replace(b"\r\n", b"\n")


# ---- rspamd ----

@pytest.fixture(scope="module")
def rspamd():
    r = Rspamd()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def rspamd_inst(rspamd, make_module_instance):
    return make_module_instance({("inbound", "milters"): f"inet:127.0.0.1:{rspamd.port}"})


def test_rspamd_rejects_gtube(rspamd, rspamd_inst):
    tok = token()
    code, text = send(rspamd_inst.ports["smtp"], message("gtube", tok, body=GTUBE + "\n"))
    assert 500 <= code < 600, (code, text, rspamd.log()[-3000:])
    rspamd_inst.wait_event("milter", milter=f"inet:127.0.0.1:{rspamd.port}", action="reject",
                           client="127.0.0.1", stage="eom", reason=re.compile(r"^5\d\d "))
    assert not rspamd_inst.messages_with(DEMO, tok)


def test_rspamd_clean_message_gets_its_headers(rspamd, rspamd_inst):
    tok = token()
    code, text = send(rspamd_inst.ports["smtp"], message("clean", tok))
    assert code == 250, (code, text, rspamd.log()[-3000:])
    qid = qid_of(text)
    msg = rspamd_inst.wait_token(DEMO, tok)[0]
    head = header_block(msg)
    assert re.search(rb"^X-Spamd-Result: default: ", head, re.M), head
    assert re.search(rb"^X-Rspamd-Server: ", head, re.M), head
    # the queue id went to rspamd as macro i
    assert re.search(rb"^X-Rspamd-Queue-Id: " + qid.encode() + rb"$", head, re.M), head
    assert msg.endswith(f"token {tok}\n".encode()) or msg.endswith(f"token {tok}\r\n".encode())
    rspamd_inst.wait_event("milter", qid=qid, milter=f"inet:127.0.0.1:{rspamd.port}",
                           action=re.compile(r"^(continue|accept)$"), client="127.0.0.1",
                           stage="eom", changes=re.compile(r"^\d+$"))


# ---- pymilter ----

@pytest.fixture(scope="module")
def pym():
    m = PyMilter()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def pym_inst(pym, make_module_instance):
    return make_module_instance({("inbound", "milters"): pym.spec})


def test_continue_sees_the_envelope_and_adds(pym, pym_inst):
    tok = token()
    code, text = send(pym_inst.ports["smtp"], message("plain", tok, body="one\ntwo\n"))
    assert code == 250, (code, text)
    qid = qid_of(text)
    msg = pym_inst.wait_token(DEMO, tok)[0]
    assert re.search(rb"^X-Milter-Seen: yes$", header_block(msg), re.M), msg
    rec = pym.record_with(tok)
    assert rec["from"] == "<sender@client.example>"
    assert rec["rcpts"] == [f"<{DEMO}>"]
    assert rec["helo"] == "client.example"
    assert rec["queue_id"] == qid
    assert rec["auth"] is None
    assert ["Subject", f"plain {tok}"] in rec["headers"]
    # the body as on the wire: CR LF line ends, no header, no dot
    assert rec["body"] == f"one\r\ntwo\r\ntoken {tok}\r\n".encode()
    pym_inst.wait_event("milter", qid=qid, milter=pym.spec, action="continue", client="127.0.0.1",
                        stage="eom", changes=1)


def test_header_changes(pym, pym_inst):
    tok = token()
    msg = message("mt-headers", tok, headers=["X-Change-Me: old", "X-Delete-Me: gone",
                                              "X-Keep: kept\r\n\tfolded"])
    code, text = send(pym_inst.ports["smtp"], msg)
    assert code == 250, (code, text)
    got = pym_inst.wait_token(DEMO, tok)[0]
    head = header_block(got).decode()
    lines = head.split("\n")
    assert "X-Change-Me: changed" in lines and "X-Change-Me: old" not in lines, head
    assert not any(x.startswith("X-Delete-Me") for x in lines), head
    assert "X-Milter-Added: added" in lines, head
    assert "X-Keep: kept\n\tfolded" in head, head  # untouched fields stay as they came
    # inserted at the top of the client's fields (below our own Received)
    top = lines.index("X-Milter-Top: inserted")
    assert top < lines.index("From: Sender <sender@client.example>"), head
    ours = [i for i, x in enumerate(lines) if x.startswith("Received: ")]
    assert ours and ours[0] < top, head
    assert "X-Milter-Folded: first\n\tsecond" in head, head
    # a line break in a milter's value never starts a field of its own
    assert not any(x.startswith("Bcc:") for x in lines), head
    assert re.search(r"^X-Milter-Inject: a\n[ \t]+Bcc: evil@example.test$", head, re.M), head
    assert got.replace(b"\r\n", b"\n").endswith(f"\n\nhello\ntoken {tok}\n".encode())


def test_discard(pym, pym_inst):
    tok, after = token(), token()
    code, text = send(pym_inst.ports["smtp"], message("mt-discard", tok))
    assert code == 250, (code, text)
    qid = qid_of(text)
    pym_inst.wait_event("discarded", qid=qid, client="127.0.0.1", milter=pym.spec)
    pym_inst.wait_event("milter", qid=qid, milter=pym.spec, action="discard")
    # the next message arrives; the discarded one never did
    assert send(pym_inst.ports["smtp"], message("plain", after))[0] == 250
    pym_inst.wait_token(DEMO, after)
    assert not pym_inst.messages_with(DEMO, tok)
    assert qid not in pym_inst.queue_ids()


@pytest.mark.parametrize("word,code,reply", [
    ("mt-tempfail", 451, r"4\.7\.1 Service unavailable - try again later"),
    ("mt-reject", 550, r"5\.7\.0 Refused by the test milter second line"),
    ("mt-tempreply", 451, r"4\.7\.0 The test milter asks you to wait"),
])
def test_refusals(pym, pym_inst, word, code, reply):
    tok = token()
    got, text = send(pym_inst.ports["smtp"], message(word, tok))
    assert got == code and re.fullmatch(reply, text), (got, text)
    pym_inst.wait_event("reject", client="127.0.0.1", stage="data", reason="milter", milter=pym.spec,
                        detail=re.compile(rf"^{code} {reply}"))
    assert not pym_inst.messages_with(DEMO, tok)


def check_changed(got, tok, body):
    head = header_block(got).decode()
    lines = head.split("\n")
    assert "X-Change-Me: changed" in lines and "X-Milter-Added: added" in lines, head
    assert not any(x.startswith("X-Delete-Me") for x in lines), head
    text = got.replace(b"\r\n", b"\n")
    assert text.endswith(b"\n\n" + body.encode() + f"token {tok}\n".encode()), text[-200:]


BIG = "".join(f"line {i} of a long body, to be spilled to a file as it comes\n"
              for i in range(6000))


def test_header_changes_of_a_spilled_message(pym, pym_inst):
    """Over 64 KB the text is in the spill file: the changed header block replaces its top."""
    tok = token()
    msg = message("mt-headers", tok, body=BIG, headers=["X-Change-Me: old", "X-Delete-Me: x"])
    code, text = send(pym_inst.ports["smtp"], msg)
    assert code == 250, (code, text)
    check_changed(pym_inst.wait_token(DEMO, tok)[0], tok, BIG)
    assert len(pym.record_with(tok)["body"]) == len(BIG.replace("\n", "\r\n")) + len(
        f"token {tok}\r\n")


def test_header_changes_through_the_queue(pym, pym_inst):
    """Held (quarantine): the queue file gets the changed header block, spilled or not."""
    for body in ("short\n", BIG):
        tok = token()
        msg = message("mt-headers mt-quarantine", tok, body=body,
                      headers=["X-Change-Me: old", "X-Delete-Me: x"])
        code, text = send(pym_inst.ports["smtp"], msg)
        assert code == 250, (code, text)
        qid = qid_of(text)
        pym_inst.wait_event("held", _role="smtpd", qid=qid)
        pym_inst.run_cli("queue", "release", qid)
        check_changed(pym_inst.wait_token(DEMO, tok)[0], tok, body)


def test_bdat(pym, pym_inst):
    tok = token()
    msg = message("mt-headers", tok, headers=["X-Change-Me: old", "X-Delete-Me: x"])
    with Raw(pym_inst.ports["smtp"], timeout=30) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<sender@client.example>").code == 250
        assert c.cmd(f"RCPT TO:<{DEMO}>").code == 250
        half = len(msg) // 2
        c.send(f"BDAT {half}\r\n".encode() + msg[:half])
        assert c.reply().code == 250
        c.send(f"BDAT {len(msg) - half} LAST\r\n".encode() + msg[half:])
        r = c.reply()
        assert r.code == 250, r
    check_changed(pym_inst.wait_token(DEMO, tok)[0], tok, "hello\n")


def test_quarantine_holds_the_message(pym, pym_inst):
    tok = token()
    code, text = send(pym_inst.ports["smtp"], message("mt-quarantine", tok))
    assert code == 250, (code, text)
    qid = qid_of(text)
    reason = f"milter {pym.spec}: held by the test milter"
    pym_inst.wait_event("held", _role="smtpd", qid=qid, reason=reason, _level="warning")
    line = [x for x in pym_inst.run_cli("queue", "list").stdout.splitlines() if x.startswith(qid)]
    assert line and "held: " + reason in line[0], line
    # held: a later message arrives, this one does not until it is released
    later = token()
    assert send(pym_inst.ports["smtp"], message("plain", later))[0] == 250
    pym_inst.wait_token(DEMO, later)
    assert not pym_inst.messages_with(DEMO, tok)
    out = pym_inst.run_cli("queue", "release", qid).stdout
    assert f"released {qid}" in out, out
    pym_inst.wait_token(DEMO, tok)


def test_unix_socket_and_submission_milters(make_instance):
    """milters on a unix socket; submission_milters for the submission listener only."""
    unix, inet = PyMilter(unix=True), PyMilter()
    try:
        inst = make_instance({("inbound", "milters"): unix.spec,
                              ("inbound", "submission_milters"): inet.spec})
        smtp_tok, sub_tok = token(), token()
        assert send(inst.ports["smtp"], message("plain", smtp_tok))[0] == 250
        code, text = send(inst.ports["submission"], message("plain", sub_tok), sender=DEMO,
                          login=(DEMO, DEMO_PASSWORD), ctx=inst.ssl_context())
        assert code == 250, (code, text)
        assert unix.record_with(smtp_tok)["rcpts"] == [f"<{DEMO}>"]
        rec = inet.record_with(sub_tok)
        assert rec["auth"] == DEMO  # the login, as macro {auth_authen}
        assert not [r for r in unix.records() if sub_tok in str(r["headers"])]
        assert not [r for r in inet.records() if smtp_tok in str(r["headers"])]
        for tok in (smtp_tok, sub_tok):
            assert b"X-Milter-Seen: yes" in inst.wait_token(DEMO, tok)[0]
    finally:
        unix.stop()
        inet.stop()


# ---- milters that fail ----

@pytest.mark.parametrize("kind", ["inet", "unix"])
def test_down_with_default_tempfail(make_instance, kind):
    dead = f"inet:127.0.0.1:{free_port()}" if kind == "inet" else \
        f"unix:/tmp/mailroom-no-milter-{token()}.sock"
    inst = make_instance({("inbound", "milters"): dead})
    tok = token()
    code, text = send(inst.ports["smtp"], message("plain", tok))
    assert code == 451 and text.startswith("4.7.1 "), (code, text)
    inst.wait_event("milter", milter=dead, action="tempfail", client="127.0.0.1", stage="connecting",
                    default="yes", reason=re.compile(r"^cannot connect: "), _level="warning")


def test_down_with_default_accept_asks_the_next(pym, make_instance):
    """milter_default_action = accept: one that is down is skipped, the next is asked."""
    dead = f"inet:127.0.0.1:{free_port()}"
    inst = make_instance({("inbound", "milters"): f"{dead}, {pym.spec}",
                          ("inbound", "milter_default_action"): "accept"})
    tok = token()
    code, text = send(inst.ports["smtp"], message("plain", tok))
    assert code == 250, (code, text)
    assert b"X-Milter-Seen: yes" in inst.wait_token(DEMO, tok)[0]
    inst.wait_event("milter", milter=dead, action="accept", default="yes",
                    reason=re.compile(r"^cannot connect"))


@pytest.fixture(scope="module")
def raw():
    m = RawMilter()
    yield m
    m.stop()


def test_stall_past_the_timeout(raw, make_instance):
    inst = make_instance({("inbound", "milters"): raw.spec,
                          ("inbound", "milter_content_timeout"): "2s"})
    tok = token()
    code, text = send(inst.ports["smtp"], message("mt-stall", tok))
    assert code == 451 and text.startswith("4.7.1 "), (code, text)
    inst.wait_event("milter", milter=raw.spec, action="tempfail", client="127.0.0.1", stage="eom",
                    default="yes", reason="no reply in 2 s at eom")


def wait_seen(raw, tok, client):
    """Until the raw milter has the end of the message with tok (bounded: 20 s)."""
    for _ in range(400):
        with raw.lock:
            if any(tok in s for s in raw.seen):
                return
        client.join(timeout=0.05)
    raise AssertionError(f"the milter never got to the end of the message with {tok}")


def test_a_stalled_milter_holds_only_its_message(raw, make_instance):
    inst = make_instance({("inbound", "milters"): raw.spec})
    slow, quick = token(), token()
    result = {}

    def slow_client():
        result["slow"] = send(inst.ports["smtp"], message("mt-stall", slow))

    t = threading.Thread(target=slow_client)
    t.start()
    try:
        # the milter holds the first message at its end; the second goes through meanwhile
        wait_seen(raw, slow, t)
        code, text = send(inst.ports["smtp"], message("plain", quick))
        assert code == 250, (code, text)
        inst.wait_token(DEMO, quick)
        assert t.is_alive() and "slow" not in result
    finally:
        raw.release(slow)
        t.join(timeout=60)
    assert result["slow"][0] == 250, result
    inst.wait_token(DEMO, slow)


def test_stop_while_a_milter_stalls(raw, make_instance):
    """SIGTERM with a message held by a milter: serve exits 0, nothing leaks."""
    inst = make_instance({("inbound", "milters"): raw.spec})
    tok = token()
    result = {}

    def client():
        try:
            result["reply"] = send(inst.ports["smtp"], message("mt-stall", tok))
        except (smtplib.SMTPException, OSError) as e:
            result["error"] = e

    t = threading.Thread(target=client)
    t.start()
    try:
        wait_seen(raw, tok, t)
        assert inst.stop() == 0
    finally:
        raw.release(tok)
        t.join(timeout=60)
    # never acknowledged: the client saw the connection end, not a 250
    assert "error" in result or result["reply"][0] != 250, result


@pytest.fixture(scope="module")
def raw_replies():
    m = RawMilter(replies=True)
    yield m
    m.stop()


@pytest.mark.parametrize("word,why,replies", [
    ("mt-garbage", r"protocol error at eom: a packet length of 4294967295", False),
    ("mt-unknown", r"protocol error at eom: unknown reply \(0x5a\)", False),
    ("mt-early", r"header change 'h' before the end of the message", True),
])
def test_garbage_then_the_next_message(raw, raw_replies, make_instance, word, why, replies):
    milter = raw_replies if replies else raw
    inst = make_instance({("inbound", "milters"): milter.spec})
    tok, after = token(), token()
    code, text = send(inst.ports["smtp"], message(word, tok))
    assert code == 451, (code, text)
    inst.wait_event("milter", milter=milter.spec, action="tempfail", default="yes",
                    reason=re.compile(why))
    assert send(inst.ports["smtp"], message("plain", after))[0] == 250
    inst.wait_token(DEMO, after)
    assert not inst.messages_with(DEMO, tok)
