"""test_cli.py - the admin command line, per INTERFACE.md "Command line" and "Config file":
exit status 0 success, 1 failure with one line "mailroom: ..." on stderr, 2 usage.
"""
import os
import re
import shutil
import smtplib
import subprocess

import pytest

from conftest import BIN, DEMO, DEMO_PASSWORD, DOMAIN, deferring_settings, set_key
from smtpraw import Raw, queue_id


def run(*args, input=None, env=None):
    return subprocess.run([BIN] + list(args), input=input, capture_output=True, text=True,
                          timeout=60, env=env)


def ok(p):
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr}"
    return p.stdout


def failed(p):
    """Exit 1 with exactly one line "mailroom: ..." on stderr; returns that line."""
    assert p.returncode == 1, f"exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr!r}"
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and p.stderr.endswith("\n"), p.stderr
    assert lines[0].startswith("mailroom: ") and len(lines[0]) > len("mailroom: "), lines
    return lines[0]


def usage(p):
    assert p.returncode == 2, f"exit {p.returncode}: {p.stderr}"
    assert "usage" in p.stderr.lower(), p.stderr


@pytest.fixture(scope="module")
def stopped(make_module_instance):
    """An instance that is not running: the CLI works on its files alone."""
    return make_module_instance(start=False)


@pytest.fixture
def conf(stopped, tmp_path):
    """A copy of the instance's config to break, and a helper to set a key in it."""
    path = tmp_path / "mailroom.conf"
    shutil.copy(stopped.conf, path)

    def setter(section, key, value):
        path.write_text(set_key(path.read_text(), section, key, value) + "\n")
        return str(path)

    setter.path = str(path)
    return setter


def line_of(path, pattern):
    for n, line in enumerate(open(path).read().split("\n"), 1):
        if re.match(pattern, line):
            return n
    raise AssertionError(f"{pattern} not in {path}")


# ---- global behaviour ----

def test_version_and_usage(stopped):
    out = ok(run("version"))
    assert re.match(r"^mailroom \S+\n$", out), out
    usage(run())
    usage(run("no-such-command"))
    usage(run("-c", stopped.conf, "domain"))
    usage(run("-c", stopped.conf, "domain", "frob"))
    usage(run("-c", stopped.conf, "user", "add"))
    usage(run("-c", stopped.conf, "alias", "add", "a@example.test"))
    usage(run("-c", stopped.conf, "queue"))
    usage(run("-c", stopped.conf, "config"))


def test_config_location(stopped):
    # -c, --config and $MAILROOM_CONFIG all name the file.
    assert DOMAIN in ok(run("-c", stopped.conf, "domain", "list")).split()
    assert DOMAIN in ok(run(f"--config={stopped.conf}", "domain", "list")).split()
    env = dict(os.environ, MAILROOM_CONFIG=stopped.conf)
    assert DOMAIN in ok(run("domain", "list", env=env)).split()
    line = failed(run("-c", "/nonexistent/mailroom.conf", "domain", "list"))
    assert "/nonexistent/mailroom.conf" in line


def test_init(tmp_path):
    d = tmp_path / "new"
    ok(run("init", str(d), "--domain", "init.test", "--hostname", "mx.init.test"))
    conf = d / "mailroom.conf"
    assert conf.exists() and (d / "data").is_dir()
    text = conf.read_text()
    assert "mx.init.test" in text
    assert "init.test" in ok(run("-c", str(conf), "domain", "list")).split()
    ok(run("-c", str(conf), "config", "check"))
    # Refuses to overwrite: exit 1, and the files are untouched.
    before = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}
    line = failed(run("init", str(d), "--domain", "other.test"))
    assert "mailroom.conf" in line or str(d) in line
    assert {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()} == before
    usage(run("init"))


def test_init_data_dir(tmp_path):
    # --data-dir puts the data dir elsewhere (the Debian package: /var/lib/mailroom).
    d, data = tmp_path / "etc", tmp_path / "var" / "lib" / "mr"
    ok(run("init", str(d), "--data-dir", str(data), "--hostname", "mx.init.test"))
    conf = d / "mailroom.conf"
    assert re.search(rf"^data_dir = {re.escape(str(data))}\s", conf.read_text(), re.M)
    assert (data / "accounts.db").is_file() and not (d / "data").exists()
    ok(run("-c", str(conf), "config", "check"))
    # An account store there already is not overwritten; nothing is made in the new DIR.
    line = failed(run("init", str(tmp_path / "other"), f"--data-dir={data}"))
    assert str(data / "accounts.db") in line and not (tmp_path / "other").exists()
    line = failed(run("init", str(tmp_path / "other"), "--data-dir", "relative/dir"))
    assert "absolute" in line and not (tmp_path / "other").exists()
    usage(run("init", str(tmp_path / "other"), "--data-dir"))


# ---- config check ----

def test_config_check_ok(stopped):
    out = ok(run("-c", stopped.conf, "config", "check"))
    assert stopped.conf in out or "ok" in out.lower()


def test_config_check_unknown_key(conf):
    path = conf("limits", "max_bananas", "3")
    line = failed(run("-c", path, "config", "check"))
    n = line_of(path, r"max_bananas\s*=")
    assert f"{path}:{n}" in line or (path in line and str(n) in line), line
    assert "max_bananas" in line


def test_config_check_unknown_section(conf):
    path = conf("nonsense", "key", "1")
    line = failed(run("-c", path, "config", "check"))
    assert path in line and "nonsense" in line, line


@pytest.mark.parametrize("section,key,value", [
    ("limits", "max_message_size", "25X"),
    ("limits", "max_message_size", "1.5M"),
    ("limits", "max_message_size", "-1"),
    ("limits", "max_message_size", "M"),
    ("limits", "max_recipients", "many"),
    ("limits", "command_timeout", "5w"),
    ("limits", "command_timeout", "1.5h"),
    ("delivery", "retry_min", "soon"),
    ("delivery", "max_queue_lifetime", "5y"),
    ("listen", "smtp", "127.0.0.1:99999"),
    ("relay", "trusted_networks", "10.0.0.0/33"),
])
def test_config_check_bad_value(conf, section, key, value):
    path = conf(section, key, value)
    line = failed(run("-c", path, "config", "check"))
    n = line_of(path, rf"{key}\s*=")
    assert path in line and str(n) in line and key in line, line


@pytest.mark.parametrize("section,key,value", [
    ("limits", "max_message_size", "25M"),
    ("limits", "max_message_size", "512K"),
    ("limits", "max_message_size", "1G"),
    ("limits", "max_message_size", "10485760"),
    ("limits", "command_timeout", "30s"),
    ("limits", "command_timeout", "5m"),
    ("limits", "command_timeout", "4h"),
    ("delivery", "retry_min", "30s"),
    ("delivery", "retry_max", "4h"),
    ("delivery", "max_queue_lifetime", "5d"),
])
def test_config_check_suffixes(conf, section, key, value):
    conf("delivery", "retry_max", "1d")  # the instance's 2 s would be below a retry_min
    ok(run("-c", conf(section, key, value), "config", "check"))


def test_size_suffix_is_powers_of_1024(make_instance):
    i = make_instance({("limits", "max_message_size"): "25M"})
    with smtplib.SMTP("127.0.0.1", i.ports["smtp"], timeout=10) as s:
        s.ehlo()
        assert s.esmtp_features["size"] == "26214400"


# ---- domains, users, aliases ----

def test_domains(stopped):
    c = ("-c", stopped.conf)
    ok(run(*c, "domain", "add", "Dom-One.Test"))
    assert "dom-one.test" in ok(run(*c, "domain", "list")).split()
    failed(run(*c, "domain", "add", "dom-one.test"))
    failed(run(*c, "domain", "add", "not a domain"))
    failed(run(*c, "domain", "add", "-dash.test"))
    ok(run(*c, "domain", "del", "dom-one.test"))
    assert "dom-one.test" not in ok(run(*c, "domain", "list")).split()
    failed(run(*c, "domain", "del", "dom-one.test"))
    failed(run(*c, "domain", "del", "not a domain"))
    failed(run(*c, "user", "list", "not a domain"))


def test_users(stopped):
    c = ("-c", stopped.conf)
    ok(run(*c, "user", "add", "Alice@Example.Test", input="alice-pw-1\n"))
    ok(run(*c, "user", "add", "bob@example.test", "--quota", "25M", input="bob-pw-1\n"))
    out = ok(run(*c, "user", "list"))
    lines = out.splitlines()
    assert any(line.split()[0] == "alice@example.test" for line in lines), out
    bob = [line for line in lines if line.split()[0] == "bob@example.test"]
    assert bob and "26214400" in bob[0].split(), out
    # user list DOMAIN
    ok(run(*c, "domain", "add", "elsewhere.test"))
    ok(run(*c, "user", "add", "carol@elsewhere.test", input="carol-pw-1\n"))
    only = [line.split()[0] for line in ok(run(*c, "user", "list", "elsewhere.test")).splitlines()]
    assert only == ["carol@elsewhere.test"]
    # Failures: exit 1, one line.
    failed(run(*c, "user", "add", "alice@example.test", input="x-pw-1\n"))      # exists
    failed(run(*c, "user", "add", "dave@nolocal.test", input="x-pw-1\n"))       # no domain
    for bad in ("not-an-address", "a b@example.test", "@example.test", "a@", "a@@b.test",
                "<a@example.test>"):
        failed(run(*c, "user", "add", bad, input="x-pw-1\n"))
    failed(run(*c, "user", "add", "erin@example.test", input="\n"))             # empty
    failed(run(*c, "user", "add", "erin@example.test", input=""))               # none
    failed(run(*c, "user", "add", "erin@example.test", "--quota", "25X", input="pw-1\n"))
    assert "erin@example.test" not in ok(run(*c, "user", "list"))
    # passwd
    ok(run(*c, "user", "passwd", "alice@example.test", input="alice-pw-2\n"))
    failed(run(*c, "user", "passwd", "alice@example.test", input="\n"))
    failed(run(*c, "user", "passwd", "nobody@example.test", input="pw-1\n"))
    failed(run(*c, "user", "passwd", "not-an-address", input="pw-1\n"))
    # del
    ok(run(*c, "user", "del", "ALICE@example.test"))
    assert "alice@example.test" not in ok(run(*c, "user", "list"))
    failed(run(*c, "user", "del", "alice@example.test"))
    failed(run(*c, "user", "del", "not-an-address"))
    ok(run(*c, "user", "del", "carol@elsewhere.test"))
    ok(run(*c, "user", "del", "bob@example.test"))
    # Passwords are never stored as they were typed.
    db = open(os.path.join(stopped.data, "accounts.db"), "rb").read()
    assert b"alice-pw-1" not in db and b"bob-pw-1" not in db


def test_aliases(stopped):
    c = ("-c", stopped.conf)
    ok(run(*c, "alias", "add", "team@example.test", DEMO, "friend@remote.test"))
    ok(run(*c, "alias", "add", "@example.test", DEMO))
    out = ok(run(*c, "alias", "list"))
    lines = {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines()}
    assert set(lines["team@example.test"].replace(",", " ").split()) == \
        {DEMO, "friend@remote.test"}, out
    assert lines["@example.test"].strip() == DEMO
    failed(run(*c, "alias", "add", "x@nolocal.test", DEMO))        # source not hosted
    failed(run(*c, "alias", "add", "x@example.test", "not an address"))
    failed(run(*c, "alias", "add", "not-an-address", DEMO))
    ok(run(*c, "alias", "del", "team@example.test"))
    ok(run(*c, "alias", "del", "@example.test"))
    assert ok(run(*c, "alias", "list")).strip() == ""
    failed(run(*c, "alias", "del", "team@example.test"))


def test_password_change_applies_to_a_running_server(make_instance):
    i = make_instance()
    ok(run("-c", i.conf, "user", "passwd", DEMO, input="brand-new-password\n"))
    with smtplib.SMTP("127.0.0.1", i.ports["submission"], timeout=10) as s:
        s.starttls(context=i.ssl_context())
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login(DEMO, DEMO_PASSWORD)
    with smtplib.SMTP("127.0.0.1", i.ports["submission"], timeout=10) as s:
        s.starttls(context=i.ssl_context())
        s.login(DEMO, "brand-new-password")


# ---- the queue ----

def test_queue_commands(make_instance):
    i = make_instance(deferring_settings())
    c = ("-c", i.conf)
    assert ok(run(*c, "queue", "list")) == ""
    with Raw(i.ports["smtp"]) as s:
        s.ehlo()
        r = s.mail_rcpt_data("sender@remote.test", ["friend@remote.test", "pal@far.test"],
                             "Subject: queued\r\n\r\nwaiting in the queue\r\n")
        assert r.code == 250, r
    qid = queue_id(r)
    out = ok(run(*c, "queue", "list"))
    (line,) = out.splitlines()
    assert line.split()[0] == qid
    assert "<sender@remote.test>" in line and "friend@remote.test" in line and \
        "pal@far.test" in line, line
    shown = ok(run(*c, "queue", "show", qid))
    assert qid in shown and "sender@remote.test" in shown and "friend@remote.test" in shown
    assert "waiting in the queue" in shown
    assert ok(run(*c, "queue", "flush")) is not None
    ok(run(*c, "queue", "delete", qid))
    assert ok(run(*c, "queue", "list")) == ""
    failed(run(*c, "queue", "show", qid))
    failed(run(*c, "queue", "delete", qid))
    failed(run(*c, "queue", "show", "../../etc/passwd"))
    failed(run(*c, "queue", "delete", "not-an-id"))
    usage(run(*c, "queue", "show"))
    usage(run(*c, "queue", "frob"))
    # The server goes on after a delete under its feet.
    with Raw(i.ports["smtp"]) as s:
        s.ehlo()
        r = s.mail_rcpt_data("a@remote.test", [DEMO], "Subject: after\r\n\r\nok\r\n")
        assert r.code == 250
    i.wait_messages(DEMO, 1)


def test_queue_without_server(stopped):
    assert ok(run("-c", stopped.conf, "queue", "list")) == ""
    ok(run("-c", stopped.conf, "queue", "flush"))
