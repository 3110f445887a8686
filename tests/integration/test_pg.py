"""test_pg.py - the account store in PostgreSQL ([accounts] backend = postgresql, dsn):
the schema made and versioned by mailroom, the CLI and a server on it, `accounts
migrate|export|import` moving a store from SQLite to PostgreSQL and back unchanged,
and the bad cases: a schema of a newer mailroom refused with one clear line, the
server down when serve starts (serve starts, and mail and logins get temporary
failures until it answers) and going down while mail is under way (nothing
acknowledged is lost; it is delivered once the server is back).

The PostgreSQL 15 server is a private one (pgserver.py), a database per test.
"""
import json
import os
import poplib
import re
import smtplib
import subprocess
import time

from conftest import BIN, DEMO, DEMO_PASSWORD, DOMAIN
from smtpraw import Raw, dot_stuff, queue_id


def pg_settings(pg, db=None):
    return {("accounts", "backend"): "postgresql",
            ("accounts", "dsn"): pg.dsn(db or pg.new_database())}


def cli(conf, *args, input=None, check=True):
    p = subprocess.run([BIN, "-c", conf] + list(args), input=input, capture_output=True,
                       text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}: {p.stderr}")
    return p


def pop3_login(inst, user, password):
    """A POP3 session logged in (the caller quits it), or the error's text."""
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=20)
    p.user(user)
    try:
        p.pass_(password)
    except poplib.error_proto as e:
        p.close()
        return e.args[0].decode()
    return p


def deliver(inst, to, token, sender="someone@remote.test"):
    """A message over SMTP from outside; the final reply's code."""
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo("client.test")
        s.sendmail(sender, [to], f"Subject: {token}\r\n\r\n{token}\r\n")


def rcpt_code(inst, to):
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("someone@remote.test")[0] == 250
        code, text = s.rcpt(to)
        return code, text.decode()


def auth_code(inst, user, password):
    """SMTP AUTH PLAIN on submission (from loopback, trusted: no TLS needed)."""
    with smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30) as s:
        s.ehlo("client.test")
        try:
            s.login(user, password)
            return 235
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code
        except smtplib.SMTPResponseException as e:
            return e.smtp_code


def wait_until(fn, timeout, what):
    """fn() until it is truthy (bounded); its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError(f"{what} not within {timeout}s")


def test_store_made_and_used_on_postgresql(pg, make_instance):
    db = pg.new_database()
    inst = make_instance(pg_settings(pg, db), start=False)
    assert pg.query("SELECT version FROM schema_version", db=db) == [["2"]]
    assert pg.query("SELECT address FROM users", db=db) == [[DEMO]]
    out = inst.run_cli("accounts", "migrate").stdout
    assert "accounts store (PostgreSQL): schema version 2, the newest" in out, out
    # nothing of the accounts in the SQLite file init made, once the config says postgresql
    inst.run_cli("alias", "add", f"list@{DOMAIN}", "z@remote.test", "b@remote.test", DEMO)
    assert inst.run_cli("alias", "list").stdout == f"list@{DOMAIN} z@remote.test,b@remote.test,{DEMO}\n"
    assert pg.query("SELECT target FROM aliases ORDER BY seq", db=db) == [
        ["z@remote.test"], ["b@remote.test"], [DEMO]]
    inst.start()
    inst.wait_event("started", _role="lookupd")
    deliver(inst, DEMO, "pg-token-1")
    inst.wait_token(DEMO, "pg-token-1")
    p = pop3_login(inst, DEMO, DEMO_PASSWORD)
    assert not isinstance(p, str), p
    assert p.stat()[0] == 1
    assert b"pg-token-1" in b"\r\n".join(p.retr(1)[1])
    p.quit()
    assert rcpt_code(inst, f"nobody@{DOMAIN}")[0] == 550
    assert auth_code(inst, DEMO, "wrong-password") == 535
    assert auth_code(inst, DEMO, DEMO_PASSWORD) == 235


def fill(inst):
    """Rows in most tables of a store, through the CLI."""
    inst.run_cli("user", "add", f"capped@{DOMAIN}", "--quota", "5M", input="capped-pw-1\n")
    inst.run_cli("alias", "add", f"x@{DOMAIN}", "z@remote.test", "b@remote.test", "a@remote.test")
    inst.run_cli("alias", "add", f"@{DOMAIN}", DEMO)
    inst.run_cli("user", "suspend", f"capped@{DOMAIN}")
    inst.run_cli("user", "app-password", "add", DEMO, "phone")
    inst.run_cli("user", "limit", DEMO, "--per-day", "7")
    inst.run_cli("user", "vacation", DEMO, "--subject", "Away, \u00e9t\u00e9",
                 input="Back soon.\nR\u00e9mi\n")
    inst.run_cli("admin", "add", "boss", input="boss-password-1\n")
    inst.run_cli("admin", "token", "add", "boss")


def test_export_import_round_trip(pg, make_instance):
    src = make_instance(start=False)  # SQLite, as init makes it
    fill(src)
    dumped = src.run_cli("accounts", "export").stdout
    doc = json.loads(dumped)
    assert doc["format"] == "mailroom-accounts" and doc["schema"] == 2
    assert len(doc["tables"]["users"]) == 2 and len(doc["tables"]["dkim_keys"]) == 2
    assert len(doc["tables"]["srs_secret"]) == 1
    # into PostgreSQL with the same config but for [accounts]
    pgconf = os.path.join(src.dir, "pg.conf")
    with open(src.conf) as f:
        text = f.read()
    with open(pgconf, "w") as f:
        f.write(text + f"\n[accounts]\nbackend = postgresql\ndsn = {pg.dsn(pg.new_database())}\n")
    out = cli(pgconf, "accounts", "import", input=dumped).stdout
    assert re.match(r"imported \d+ rows", out), out
    again = cli(pgconf, "accounts", "export").stdout
    assert json.loads(again) == doc
    # and it works there: the same lists, passwords and SRS secret
    for args in (("user", "list"), ("alias", "list"), ("admin", "list"), ("dkim", "list")):
        assert cli(pgconf, *args).stdout == src.run_cli(*args).stdout, args
    assert "suspended" in cli(pgconf, "user", "list").stdout
    # a second import is refused: the store is not empty
    p = cli(pgconf, "accounts", "import", input=dumped, check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "not empty" in p.stderr, p.stderr
    # and back into a new SQLite store: the same document once more
    back = os.path.join(src.dir, "back.conf")
    with open(back, "w") as f:
        f.write(text.replace(src.data, os.path.join(src.dir, "data2")))
    cli(back, "accounts", "import", input=again)
    assert json.loads(cli(back, "accounts", "export").stdout) == doc
    # malformed input: one line, nothing changed
    for bad, why in (("{", "line"), ('{"format": "other"}', "not an export"),
                     (json.dumps(dict(doc, schema=99)), "newer than this mailroom")):
        p = cli(back, "accounts", "import", input=bad, check=False)
        assert p.returncode == 1 and why in p.stderr and p.stderr.count("\n") == 1, p.stderr


def test_newer_schema_refused(pg, make_instance):
    db = pg.new_database()
    inst = make_instance(pg_settings(pg, db), start=False)
    pg.query("UPDATE schema_version SET version = 99", db=db)
    p = inst.run_cli("domain", "list", check=False)
    assert p.returncode == 1, p
    assert p.stderr.count("\n") == 1, p.stderr
    assert "schema version 99 is newer than this mailroom knows (2)" in p.stderr, p.stderr
    # serve refuses to start on it, with the same line
    inst.start(wait=False)
    rc = inst.proc.wait(timeout=30)
    inst.proc = None
    assert rc == 1
    assert "schema version 99 is newer than this mailroom knows (2)" in inst.log()
    # the store was left as it was
    assert pg.query("SELECT version FROM schema_version", db=db) == [["99"]]


def test_down_at_start(pg, make_instance):
    inst = make_instance(pg_settings(pg), start=False)
    pg.stop()
    try:
        inst.start()  # serve starts, its listeners answer
        assert "serving anyway" in inst.log()
        code, text = rcpt_code(inst, DEMO)
        assert 400 <= code < 500, (code, text)
        assert auth_code(inst, DEMO, DEMO_PASSWORD) == 454
        err = pop3_login(inst, DEMO, DEMO_PASSWORD)
        assert isinstance(err, str) and err.startswith("-ERR [SYS/TEMP]"), err
        p = inst.run_cli("user", "list", check=False)
        assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    finally:
        pg.start()
    # retried with backoff: the store answers again without a restart
    wait_until(lambda: rcpt_code(inst, DEMO)[0] == 250, 90, "RCPT accepted again")
    deliver(inst, DEMO, "after-the-outage")
    inst.wait_token(DEMO, "after-the-outage")
    assert auth_code(inst, DEMO, DEMO_PASSWORD) == 235
    assert inst.events("store-connected", _role="lookupd"), inst.log()[-3000:]


def test_down_in_the_middle(pg, make_instance):
    inst = make_instance(pg_settings(pg))
    capped = f"capped@{DOMAIN}"  # a quota: its mail goes through the queue and lookupd
    inst.run_cli("user", "add", capped, "--quota", "1G", input="capped-password-1\n")
    token = "survives-a-postgresql-outage"
    try:
        with Raw(inst.ports["smtp"], timeout=60) as s:
            s.ehlo()
            assert s.cmd("MAIL FROM:<sender@remote.test>").code == 250
            assert s.cmd(f"RCPT TO:<{capped}>").code == 250
            pg.stop()
            assert s.cmd("DATA").code == 354
            s.send(dot_stuff(f"Subject: {token}\r\n\r\n{token}\r\n") + b".\r\n")
            r = s.reply()
            assert r.code == 250, r
            qid = queue_id(r)
        inst.wait_event("delivery", qid=qid, to=f"<{capped}>", status="deferred", timeout=60)
        assert not inst.events("delivery", qid=qid, status="bounced")
        # while it is down: new mail and logins get temporary failures
        assert 400 <= rcpt_code(inst, DEMO)[0] < 500
        assert auth_code(inst, DEMO, DEMO_PASSWORD) == 454
        err = pop3_login(inst, DEMO, DEMO_PASSWORD)
        assert isinstance(err, str) and err.startswith("-ERR [SYS/TEMP]"), err
    finally:
        pg.start()
    inst.wait_token(capped, token, timeout=120)
    inst.wait_removed(qid, timeout=60)
    assert auth_code(inst, DEMO, DEMO_PASSWORD) == 235
    assert inst.events("store-connection-lost", _role="lookupd"), inst.log()[-3000:]
