"""test_logs.py - the log lines of docs/logs.md.

A representative session (SMTP accept with local delivery, a remote delivery that
is deferred, POP3 logins that fail and one that works, a stop) writes only lines of
the one format, each event with its required keys; text from the network cannot
add a key to a line; docs/logs.md lists every event the source writes; and
[server] log = journal sends the events with their keys as journal fields (to a
journal socket of the test's own, in a mount namespace of serve's own), or says
once that there is no journal and goes on on stderr.
"""
import os
import poplib
import re
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import (DEMO, DEMO_PASSWORD, HOSTNAME, LOG_KV, LOG_LINE, ROOT, deferring_settings,
                      log_format_problems, parse_log_line)

# The keys each event of the session has every time (docs/logs.md): these events
# must all be there; EXTRA, the others it may write (a first start, the relayhost).
REQUIRED = {
    "start": {"hostname", "data_dir", "listeners"},
    "role-start": {"role", "pid"},
    "sandbox": {"walls", "landlock_abi"},
    "started": set(),
    "mta-sts-on": {"dir", "ca_file"},  # on by default
    "connect": {"client", "service"},
    "disconnect": {"client", "reason", "state"},
    "tls": {"client", "version", "cipher"},
    "login": {"user", "client", "service", "tls"},
    "login-failed": {"user", "client", "service", "reason"},
    "accept": {"qid", "client", "helo", "from", "size", "nrcpt", "to"},
    "delivery": {"qid", "to", "orig_to", "relay", "status", "delay", "reason"},
    "removed": {"qid"},
    "update": {"user", "client", "deleted", "left"},
    "stopping": set(),
    "stop": set(),
}
EXTRA = {
    "regrouped": set(),
    "user-created": {"user", "role"},
    "queue-recovered": {"removed"},
    "dkim-key-made": {"d", "s", "a"},
    "attempt": {"qid", "relay", "domain", "reason"},
    "address-lookup-failed": {"qid", "host", "domain", "reason"},
    "dkim-sign": {"qid", "d", "s", "a"},
    "dkim-kept": {"qid"},
}
QID = re.compile(r"^[0-9A-F]{16}$")
ADDR = re.compile(r"^<[^<>]*>$")
NUM = re.compile(r"^-?\d+$")


def check_values(ev):
    """The values whose form docs/logs.md fixes."""
    for k in ("qid", "bounce_qid", "reply_qid"):
        if k in ev:
            assert QID.match(ev[k]), ev
    for k in ("from", "orig_to", "sent_as"):
        if k in ev:
            assert ADDR.match(ev[k]), ev
    if "to" in ev:
        assert all(ADDR.match(a) for a in ev["to"].split(",")), ev
    for k in ("size", "nrcpt", "pid", "delay", "messages", "listeners", "deleted", "left"):
        if k in ev:
            assert NUM.match(ev[k]), ev
    if "client" in ev:
        assert re.match(r"^[0-9a-f.:]+$", ev["client"]), ev
    if ev["event"] == "delivery":
        assert ev["status"] in ("sent", "deferred", "bounced"), ev


def test_a_session_writes_one_format(make_instance):
    inst = make_instance(deferring_settings())
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo("client.example")
        s.sendmail("alice@remote.test", [DEMO], "Subject: in\r\n\r\nlocal\r\n")
    with smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30) as s:
        s.starttls(context=inst.ssl_context())
        s.login(DEMO, DEMO_PASSWORD)
        s.sendmail(DEMO, ["friend@remote.test"], f"From: <{DEMO}>\r\nSubject: out\r\n\r\nx\r\n")
    (out,) = inst.wait_event("delivery", to="<friend@remote.test>", status="deferred")
    inst.wait_messages(DEMO, 1)
    for password in ("wrong-1", "wrong-2"):
        p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
        p.user(DEMO)
        with pytest.raises(poplib.error_proto):
            p.pass_(password)
        p.quit()
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=30)
    p.user(DEMO)
    p.pass_(DEMO_PASSWORD)
    p.dele(1)
    p.quit()
    inst.wait_event("update", user=DEMO, deleted=1)
    assert inst.stop() == 0
    inst.wait_event("stop", _role="serve")

    text = inst.log()
    assert log_format_problems(text) == [], text[-3000:]
    events = []
    for line in text.splitlines():
        assert LOG_LINE.match(line), line
        ev = parse_log_line(line)
        assert ev is not None, line
        events.append(ev)
    seen = {e["event"] for e in events}
    assert seen <= set(REQUIRED) | set(EXTRA), seen - set(REQUIRED) - set(EXTRA)
    assert seen >= set(REQUIRED), set(REQUIRED) - seen
    for ev in events:
        missing = {**REQUIRED, **EXTRA}[ev["event"]] - set(ev)
        assert not missing, (ev, missing)
        check_values(ev)
    # What each step must have said, and never a password.
    assert "wrong-1" not in text and DEMO_PASSWORD not in text
    (local,) = [e for e in events if e["event"] == "accept" and e["from"] == "<alice@remote.test>"]
    assert local["client"] == "127.0.0.1" and local["helo"] == "client.example"
    assert local["to"] == f"<{DEMO}>" and local["nrcpt"] == "1" and "user" not in local
    assert inst.events("delivery", qid=local["qid"], relay="local", status="sent")
    (sub,) = [e for e in events if e["event"] == "accept" and e["qid"] == out["qid"]]
    assert sub["user"] == DEMO and sub["from"] == f"<{DEMO}>"
    assert out["relay"] and out["reason"]
    fails = [e for e in events if e["event"] == "login-failed"]
    assert [(e["user"], e["service"], e["reason"]) for e in fails] == [(DEMO, "pop3", "credentials")] * 2
    assert inst.events("login", user=DEMO, service="submission", tls="yes")
    assert inst.events("login", user=DEMO, service="pop3", method="USER", messages=1)
    assert {e["role"] for e in events if e["event"] == "role-start"} == {
        "lookupd", "smtpd", "queued", "pop3d"}


def test_text_from_the_network_stays_in_its_value(make_instance):
    """A quoted local part with a space and key=value text, a HELO with quotes and
    more: each quoted in the line, each key once, the values whole."""
    inst = make_instance()
    sender = '"x status=sent"@remote.test'
    helo = 'ev"il client=10.9.8.7 status=sent'
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo(helo)
        assert s.mail(sender)[0] == 250
        assert s.rcpt(DEMO)[0] == 250
        assert s.data(b"Subject: q\r\n\r\nq\r\n")[0] == 250
    (acc,) = inst.wait_event("accept", **{"from": f"<{sender}>"})
    assert acc["helo"] == helo and acc["client"] == "127.0.0.1" and acc["to"] == f"<{DEMO}>"
    (line,) = [l for l in inst.log().splitlines() if "event=accept" in l]
    keys = [k for k, _ in LOG_KV.findall(LOG_LINE.match(line).group("body"))]
    assert sorted(keys) == sorted(set(keys)) and "status" not in keys, line
    assert ' helo="ev\\"il client=10.9.8.7 status=sent" ' in line, line
    assert ' from="<\\"x status=sent\\"@remote.test>" ' in line, line


def event_names_in_source():
    names = {}
    pat = re.compile(r'\b(?:ev_(?:info|warn|err)\(|log_event\([^,()]+,|EV_NAME\()\s*"([a-z0-9-]+)"')
    for top, _, files in os.walk(os.path.join(ROOT, "src")):
        for f in files:
            if f.endswith(".c"):
                path = os.path.join(top, f)
                for name in pat.findall(open(path).read()):
                    names.setdefault(name, path)
    return names


def test_docs_list_every_event():
    doc = open(os.path.join(ROOT, "docs", "logs.md")).read()
    documented = set(re.findall(r"^### `([a-z0-9-]+)`", doc, re.M))
    names = event_names_in_source()
    assert len(names) > 80, names
    missing = {n: p for n, p in names.items() if n not in documented}
    assert not missing, f"events not in docs/logs.md: {missing}"
    stale = documented - set(names) - {"message"}
    assert not stale, f"docs/logs.md lists events no code writes: {stale}"


def test_no_line_outside_the_event_api():
    """log_info, log_warn and log_err are left for code in flight only."""
    pat = re.compile(r"\blog_(?:info|warn|err)\(")
    found = []
    for top, _, files in os.walk(os.path.join(ROOT, "src")):
        for f in files:
            path = os.path.join(top, f)
            if f.endswith(".c") and not path.endswith(os.path.join("util", "log.c")):
                found += [f"{path}: {l.strip()}" for l in open(path) if pat.search(l)]
    assert found == [], "\n".join(found)


# ---------------------------------------------------------------- the journal

JOURNAL = "/run/systemd/journal/socket"


def test_journal_missing_said_once_then_stderr(make_instance):
    if os.path.exists(JOURNAL):
        pytest.skip("a journal runs here: its absence cannot be shown")
    inst = make_instance({("server", "log"): "journal"})
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail("a@remote.test", [DEMO], "Subject: j\r\n\r\nj\r\n")
    inst.wait_event("accept", _role="smtpd")
    missing = inst.events("journal-missing")
    assert len(missing) == 1, missing
    assert missing[0]["_role"] == "serve" and missing[0]["_level"] == "warning"
    assert missing[0]["path"] == JOURNAL and missing[0]["fallback"] == "stderr"
    assert inst.events("started", _role="queued")


def parse_datagram(data):
    """The fields of one native-protocol datagram (KEY=value lines; a value with a
    newline comes as KEY, newline, 64-bit length, value, newline)."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            fields[k.decode()] = v.decode()
            i = nl + 1
        else:
            n = int.from_bytes(data[nl + 1:nl + 9], "little")
            fields[line.decode()] = data[nl + 9:nl + 9 + n].decode()
            i = nl + 9 + n + 1
    return fields


@pytest.fixture
def fake_journal(tmp_path):
    """A datagram socket standing for the journal's; serve sees it at the journal's
    path in a mount namespace of its own (a tmpfs on /run there)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a mount namespace")
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           capture_output=True, timeout=20)
    if probe.returncode != 0:
        pytest.skip(f"no mount namespace here: {probe.stderr!r}")
    d = tmp_path / "journal"
    d.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(d, 0o755)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(d / "socket"))
    os.chmod(d / "socket", 0o666)
    s.settimeout(0.2)
    script = ("mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/systemd/journal && "
              f"mount --bind {d} /run/systemd/journal && exec \"$@\"")
    yield s, ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"]
    s.close()


def test_journal_fields(make_instance, fake_journal):
    sock, launcher = fake_journal
    inst = make_instance({("server", "log"): "journal"}, start=False)
    inst.launcher = launcher
    inst.start(wait=False)
    got = []

    def wait_for(pred, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for f in got:
                if pred(f):
                    return f
            try:
                got.append(parse_datagram(sock.recv(65536)))
            except socket.timeout:
                pass
        raise AssertionError(f"no journal entry for {what}; got {got[-20:]}")

    # queued's start, past its sandbox: the walls let the datagrams out.
    wait_for(lambda f: f.get("EVENT") == "started" and f.get("ROLE") == "queued", "queued")
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.sendmail("a@remote.test", [DEMO], "Subject: j\r\n\r\nj\r\n")
    acc = wait_for(lambda f: f.get("EVENT") == "accept", "accept")
    assert acc["ROLE"] == "smtpd" and acc["SYSLOG_IDENTIFIER"] == "mailroom"
    assert acc["PRIORITY"] == "6" and acc["SYSLOG_FACILITY"] == "2"
    assert QID.match(acc["QID"]) and acc["CLIENT"] == "127.0.0.1"
    assert acc["FROM"] == "<a@remote.test>" and acc["TO"] == f"<{DEMO}>" and acc["NRCPT"] == "1"
    assert acc["MESSAGE"].startswith(f"smtpd: event=accept qid={acc['QID']} client=127.0.0.1 ")
    assert parse_log_line(f"2026-01-01T00:00:00.000Z mailroom[1] {acc['MESSAGE']}")["qid"] == acc["QID"]
    delivered = wait_for(lambda f: f.get("EVENT") == "delivery" and f.get("QID") == acc["QID"],
                         "the delivery")
    assert delivered["STATUS"] == "sent" and delivered["RELAY"] == "local"
    # Nothing went to stderr, and nothing said the journal was missing.
    assert inst.stop() == 0
    wait_for(lambda f: f.get("EVENT") == "stop" and f.get("ROLE") == "serve", "the stop")
    assert not [f for f in got if f.get("EVENT") == "journal-missing"]
    assert [l for l in inst.log().splitlines() if "event=" in l] == [], inst.log()[-2000:]
    assert HOSTNAME in wait_for(lambda f: f.get("EVENT") == "start", "the start")["HOSTNAME"]
