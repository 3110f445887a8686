"""test_vacation.py - vacation auto-replies (RFC 3834, RFC 5230 rules): `user vacation`
sets one, a message from outside is delivered and the sender's server (a loopback sink,
the MX of remote.test in a dnsmasq) gets one reply from <>, with the headers RFC 3834
asks for, DKIM-signed as the user's own mail (checked by dkimpy). A second message
within vacation_interval, list, bulk and auto-submitted mail, the null sender, a
message not addressed to the user, a vacation turned off or ended get none; each
decision is one log line. And the command line's refusals.
"""
import email
import email.policy
import os
import re
import sqlite3
import time
import uuid

import dkim
import pytest

from conftest import DEMO, HOSTNAME
from peers import Dns, Sink, submit, wait_until

RECORDS = dict(
    mx=[("remote.test", "mx.remote.test", 10)],
    hosts={"mx.remote.test": "127.0.0.1", HOSTNAME: "127.0.0.1"},
)
SUBJECT = "Au\u00dfer Haus bis M\u00e4rz \u2013 away until March"
BODY = "Hello,\n\nI am away until March and read no mail.\nGr\u00fc\u00dfe, Demo\n"


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
    # No trusted network: the test client is a stranger on the Internet.
    s = {("delivery", "resolver"): dns.resolver, ("delivery", "remote_port"): str(sink.port),
         ("relay", "trusted_networks"): ""}
    for k, v in extra.items():
        section, key = k.split("__")
        s[(section, key)] = v
    return s


def token():
    return uuid.uuid4().hex[:16]


def set_vacation(inst, subject=SUBJECT, body=BODY, *extra):
    inst.run_cli("user", "vacation", DEMO, "--subject", subject, *extra, input=body)


def message(tok, sender="alice@remote.test", to=DEMO, headers=()):
    lines = [f"From: Alice <{sender}>", f"To: Demo <{to}>", f"Subject: question {tok}",
             f"Message-ID: <{tok}@remote.test>", "Date: Wed, 02 Dec 2026 05:00:00 +0000"]
    lines += list(headers)
    return ("\r\n".join(lines) + f"\r\n\r\nhello {tok}\r\n").encode()


def send(inst, tok, sender="alice@remote.test", to=DEMO, headers=(), mail_from=None):
    return submit(inst.ports["smtp"], sender if mail_from is None else mail_from, [DEMO],
                  message(tok, sender, to, headers))


def replies(sink, tok):
    """Null-sender transactions at the sink that answer the message with token tok."""
    return [t for t in sink.accepted()
            if t.mail_from in ("", "<>") and f"<{tok}@remote.test>".encode() in t.data]


def wait_reply(sink, tok):
    return wait_until(lambda: replies(sink, tok), 30, f"the vacation reply to {tok}")[0]


def key_records(inst, domain):
    out = inst.run_cli("dns", "records", domain).stdout
    recs = {}
    for line in out.splitlines():
        if line.startswith(";") or "._domainkey." not in line:
            continue
        recs[line.split()[0].rstrip(".").lower()] = "".join(re.findall(r'"([^"]*)"', line))
    return recs


def test_reply_reaches_sender(dns, sink, make_instance):
    inst = make_instance(settings(dns, sink))
    set_vacation(inst)
    tok = token()
    qid = send(inst, tok)
    inst.wait_token(DEMO, tok)  # the original is delivered as ever
    # Through queued (which replies), not smtpd's direct delivery of mailboxes without quota.
    inst.wait_event("delivery", _role="queued", qid=qid, to=f"<{DEMO}>", relay="local", status="sent")
    t = wait_reply(sink, tok)
    assert t.rcpt_tos == ["alice@remote.test"]
    msg = email.message_from_bytes(t.data, policy=email.policy.default)
    assert msg["From"].addresses[0].addr_spec == DEMO
    assert msg["To"].addresses[0].addr_spec == "alice@remote.test"
    assert str(msg["Subject"]) == SUBJECT
    assert re.search(rb"(?m)^Subject: =\?UTF-8\?B\?", t.data)  # RFC 2047, not raw UTF-8
    assert msg["In-Reply-To"] == f"<{tok}@remote.test>"
    assert msg["References"] == f"<{tok}@remote.test>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Date"] and msg["Message-ID"].endswith(f"@{HOSTNAME}>")
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.get_content().replace("\r\n", "\n") == BODY
    assert all(b < 0x80 for b in t.data)  # 7-bit: any server takes it
    # Signed as the user's own mail: dkimpy checks it with the published records.
    recs = key_records(inst, "example.test")
    n = len(re.findall(rb"(?im)^DKIM-Signature:", t.data))
    assert n == 2, t.data[:1500]
    for i in range(n):
        assert dkim.DKIM(t.data).verify(
            idx=i, dnsfunc=lambda name, timeout=5: recs.get(
                name.decode().rstrip(".").lower(), "").encode())
    inst.wait_event("vacation", qid=qid, user=DEMO, to="<alice@remote.test>", action="reply",
                    reply_qid=re.compile(r"^[0-9A-F]{16}$"))


def test_ascii_vacation_is_7bit(dns, sink, make_instance):
    inst = make_instance(settings(dns, sink))
    set_vacation(inst, "Out of office", "Back on Monday.\n", "--until", "2099-12-31")
    tok = token()
    send(inst, tok)
    t = wait_reply(sink, tok)
    assert b"\r\nSubject: Out of office\r\n" in t.data
    assert b"Content-Transfer-Encoding: 7bit\r\n" in t.data
    assert t.data.endswith(b"\r\n\r\nBack on Monday.\r\n")


def test_once_per_interval(dns, sink, make_instance):
    inst = make_instance(settings(dns, sink))
    set_vacation(inst)
    first, again, other = token(), token(), token()
    send(inst, first)
    wait_reply(sink, first)
    mark = inst.log_mark()
    send(inst, again, sender="Alice@Remote.test")  # the same sender, in other case
    inst.wait_event("vacation", since=mark, user=DEMO, to=re.compile(r"(?i)^<alice@remote\.test>$"),
                    action="none", reason="answered within vacation_interval")
    send(inst, other, sender="bob@remote.test")  # another sender is answered
    wait_reply(sink, other)
    assert replies(sink, again) == []
    assert len([t for t in sink.accepted() if t.mail_from in ("", "<>")]) == 2


def test_interval_passes(dns, sink, make_instance):
    inst = make_instance(settings(dns, sink, limits__vacation_interval="2s"))
    set_vacation(inst)
    first, later = token(), token()
    send(inst, first)
    wait_reply(sink, first)
    time.sleep(2.5)
    send(inst, later)
    wait_reply(sink, later)


SUPPRESSED = {
    "precedence_bulk": (dict(headers=["Precedence: bulk"]), "bulk, list or junk Precedence"),
    "precedence_list": (dict(headers=["Precedence: List"]), "bulk, list or junk Precedence"),
    "list_id": (dict(headers=["List-Id: Talk <talk.lists.remote.test>"]), "mailing list mail"),
    "list_unsubscribe": (dict(headers=["List-Unsubscribe: <mailto:leave@remote.test>"]),
                         "mailing list mail"),
    "auto_generated": (dict(headers=["Auto-Submitted: auto-generated"]), "Auto-Submitted mail"),
    "auto_replied": (dict(headers=["Auto-Submitted: auto-replied (vacation)"]),
                     "Auto-Submitted mail"),
    "null_sender": (dict(mail_from=""), "null sender"),
    "mailer_daemon": (dict(sender="MAILER-DAEMON@remote.test"),
                      "sender is a mailer daemon or list address"),
    "list_request": (dict(sender="talk-request@remote.test"),
                     "sender is a mailer daemon or list address"),
    "not_addressed": (dict(to="everyone@remote.test"), "user not in To, Cc or Bcc"),
    "own_address": (dict(sender=DEMO), "sender is the user itself"),
}


@pytest.mark.parametrize("case", sorted(SUPPRESSED))
def test_suppressed(dns, sink, make_instance, case):
    kwargs, reason = SUPPRESSED[case]
    inst = make_instance(settings(dns, sink))
    set_vacation(inst)
    tok, control = token(), token()
    mark = inst.log_mark()
    send(inst, tok, **kwargs)
    inst.wait_event("vacation", since=mark, user=DEMO, action="none", reason=reason)
    inst.wait_token(DEMO, tok)  # delivered all the same
    # A plain message after it is answered; the suppressed one never was.
    send(inst, control, sender="carol@remote.test")
    wait_reply(sink, control)
    assert replies(sink, tok) == []


def test_auto_submitted_no_is_answered(dns, sink, make_instance):
    inst = make_instance(settings(dns, sink))
    set_vacation(inst)
    tok = token()
    send(inst, tok, headers=["Auto-Submitted: no", "Cc: <demo+work@example.test>"])
    wait_reply(sink, tok)


def quiet_delivery(inst, sink, tok):
    """Send tok, wait until it has left the queue, and give a reply time to show."""
    qid = send(inst, tok)
    inst.wait_token(DEMO, tok)
    inst.wait_removed(qid)
    time.sleep(1.5)
    return qid


def test_off(dns, sink, make_instance):
    inst = make_instance(settings(dns, sink))
    set_vacation(inst)
    inst.run_cli("user", "vacation", DEMO, "--off")
    assert "vacation: off" in inst.run_cli("user", "vacation", DEMO).stdout
    tok = token()
    qid = quiet_delivery(inst, sink, tok)
    assert replies(sink, tok) == [] and inst.events("vacation") == []
    assert inst.events("removed", _role="smtpd", qid=qid, direct="yes")


def test_until_past(dns, sink, make_instance):
    inst = make_instance(settings(dns, sink))
    set_vacation(inst, SUBJECT, BODY, "--until", "2099-12-31")
    # The command line refuses past dates; the store is set back directly.
    db = sqlite3.connect(f"{inst.data}/accounts.db")
    with db:
        db.execute("UPDATE vacations SET until = ? WHERE address = ?", (int(time.time()) - 60, DEMO))
    db.close()
    assert "vacation: ended" in inst.run_cli("user", "vacation", DEMO).stdout
    tok = token()
    qid = quiet_delivery(inst, sink, tok)
    assert replies(sink, tok) == [] and inst.events("vacation") == []
    assert inst.events("removed", _role="smtpd", qid=qid, direct="yes")


def test_show_and_user_del(make_instance):
    inst = make_instance(start=False)
    set_vacation(inst, SUBJECT, "line one\r\nline two\r\n", "--until", "2099-12-31")
    out = inst.run_cli("user", "vacation", DEMO).stdout
    assert out.startswith(f"user: {DEMO}\nvacation: on\nsubject: {SUBJECT}\n"
                          "until: 2099-12-31\nset: "), out
    assert out.endswith("\n\nline one\nline two\n"), out
    inst.run_cli("user", "del", DEMO)
    inst.add_user(DEMO, "another-password-1")
    assert "vacation: off" in inst.run_cli("user", "vacation", DEMO).stdout


CLI_ERRORS = [
    (["--subject", "x", "--until", "2001-01-01"], "x\n", 1, "is in the past"),
    (["--subject", "x", "--until", "2099-02-30"], "x\n", 1, "bad date for --until"),
    (["--subject", "x", "--until", "tomorrow"], "x\n", 1, "bad date for --until"),
    (["--subject", "two\nlines"], "x\n", 1, "one line"),
    (["--subject", "s" * 201], "x\n", 1, "at most 200"),
    (["--subject", "x"], "", 1, "body is empty"),
    (["--subject", "x"], "y" * (16 * 1024 + 1), 1, "longer than 16384"),
    (["--subject", "x"], "bad \x01 control\n", 1, "not UTF-8 text"),
    (["--off", "--subject", "x"], "", 2, "usage:"),
    (["--until", "2099-01-01"], "", 2, "usage:"),
    (["--bogus"], "", 2, "usage:"),
]


@pytest.mark.parametrize("args,stdin,rc,text", CLI_ERRORS)
def test_cli_errors(make_instance, args, stdin, rc, text):
    inst = make_instance(start=False)
    p = inst.run_cli("user", "vacation", DEMO, *args, input=stdin, check=False)
    assert p.returncode == rc, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], p.stderr
    assert "vacation: off" in inst.run_cli("user", "vacation", DEMO).stdout


def test_cli_no_such_user(make_instance):
    inst = make_instance(start=False)
    p = inst.run_cli("user", "vacation", "nobody@example.test", "--subject", "x", input="y\n",
                     check=False)
    assert p.returncode == 1 and p.stderr == "mailroom: no such user: nobody@example.test\n"


def test_config_check_interval(make_instance):
    inst = make_instance(start=False)
    inst.set("limits", "vacation_interval", "soon")
    p = inst.run_cli("config", "check", check=False)
    assert p.returncode == 1
    assert re.match(rf"mailroom: {re.escape(inst.conf)}:\d+: .*vacation_interval", p.stderr), p.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the roles need their own users (serve as root)")
def test_lookupd_answers_the_mail_user_only(make_instance):
    """The wall probe of the test build asks for a vacation from every role: queued is
    answered, smtpd and pop3d are refused (lookupd logs their uids)."""
    inst = make_instance(start=False)
    inst.extra_env["MAILROOM_WALL_PROBE"] = "1"
    inst.start()
    inst.wait_event("wall-probe", _role="queued", check="vacation", result="answered",
                    get="answered", reply="answered", timeout=30)
    for role in ("smtpd", "pop3d"):
        (ev,) = inst.wait_event("wall-probe", _role=role, check="vacation", timeout=30)
        assert ev["result"] == "refused", inst.log()[-3000:]
        (start,) = inst.events("wall-probe-start", _role=role)
        for req in ("LK_VACATION_GET", "LK_VACATION_REPLY"):
            assert inst.events("lookup-refused", _role="lookupd", request=req, uid=start["uid"],
                               _level="warning"), inst.log()[-3000:]
