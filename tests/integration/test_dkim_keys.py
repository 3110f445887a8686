"""test_dkim_keys.py - DKIM keys: made with a domain and at serve's start, rotated,
listed with their states, deleted with their domain, and used to sign only inside
lookupd, for the mail user alone.

The signature through lookupd is reached by the wall probe of the test build
(MAILROOM_WALL_PROBE): queued, walled in, asks lookupd to sign a fixed text with
each signing key and logs the b= value, which is checked here against the public
key in the store with python3-cryptography; smtpd and pop3d ask too and must be
refused (and lookupd logs the refusal).
"""
import base64
import hashlib
import os
import re
import sqlite3
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

from conftest import DOMAIN

LINE = re.compile(r"^(\S+) (m\d{8}[er](?:-\d+)?) (ed25519|rsa) (published|signing|retired) "
                  r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$")
PROBE_TEXT = b"from:wall probe\r\ndkim-signature:v=1; b="


def keys(inst, domain=None):
    """`dkim list [domain]` as a list of (domain, selector, algorithm, state)."""
    out = inst.run_cli("dkim", "list", *([domain] if domain else [])).stdout
    rows = []
    for line in out.splitlines():
        m = LINE.match(line)
        assert m, f"malformed dkim list line: {line!r}"
        rows.append(m.groups()[:4])
    return rows


def states(rows):
    return sorted((alg, state) for _, _, alg, state in rows)


def db_rows(inst, sql, args=()):
    con = sqlite3.connect(os.path.join(inst.data, "accounts.db"))
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def test_domain_add_makes_a_signing_key_per_algorithm(make_instance):
    inst = make_instance(start=False)
    # init made the first domain's keys
    assert states(keys(inst, DOMAIN)) == [("ed25519", "signing"), ("rsa", "signing")]
    inst.run_cli("domain", "add", "New.Test")
    rows = keys(inst, "new.test")
    assert states(rows) == [("ed25519", "signing"), ("rsa", "signing")]
    assert {r[0] for r in rows} == {"new.test"}
    assert len(keys(inst)) == 4  # every domain without an argument
    # the RSA key is 2048 bits
    (pub,) = db_rows(inst, "SELECT public_b64 FROM dkim_keys WHERE domain = 'new.test'"
                     " AND algorithm = 'rsa'")[0]
    assert serialization.load_der_public_key(base64.b64decode(pub)).key_size == 2048


def test_domain_with_one_algorithm(make_instance):
    inst = make_instance(settings={("dkim", "algorithms"): "ed25519"}, start=False)
    inst.run_cli("domain", "add", "one.test")
    assert states(keys(inst, "one.test")) == [("ed25519", "signing")]


def test_rotate_publishes_then_signs(make_instance):
    inst = make_instance(settings={("dkim", "rotate_after"): "2s"}, start=False)
    before = keys(inst, DOMAIN)
    p = inst.run_cli("dkim", "rotate", DOMAIN)
    new = p.stdout.split()
    assert len(new) == 2 and all(re.fullmatch(r"m\d{8}[er](-\d+)?", s) for s in new), p.stdout
    rows = keys(inst, DOMAIN)
    assert len(rows) == 4
    by_sel = {r[1]: r[3] for r in rows}
    assert [by_sel[s] for s in new] == ["published", "published"]
    assert all(by_sel[r[1]] == "signing" for r in before)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        by_sel = {r[1]: r[3] for r in keys(inst, DOMAIN)}
        if all(by_sel[s] == "signing" for s in new):
            break
        time.sleep(0.5)
    assert [by_sel[s] for s in new] == ["signing", "signing"], by_sel
    assert all(by_sel[r[1]] == "retired" for r in before), by_sel
    # a second rotation the same day gets selectors of its own
    again = inst.run_cli("dkim", "rotate", DOMAIN).stdout.split()
    assert len(again) == 2 and not set(again) & set(by_sel)


def test_unknown_domain_is_one_line_and_exit_1(make_instance):
    inst = make_instance(start=False)
    for args in (("dkim", "list", "nosuch.test"), ("dkim", "rotate", "nosuch.test")):
        p = inst.run_cli(*args, check=False)
        assert p.returncode == 1, p
        assert p.stdout == ""
        assert p.stderr.count("\n") == 1 and "nosuch.test" in p.stderr, p.stderr
    p = inst.run_cli("dkim", "frobnicate", check=False)
    assert p.returncode == 2


def test_domain_del_deletes_its_keys(make_instance):
    inst = make_instance(start=False)
    inst.run_cli("domain", "add", "gone.test")
    assert len(keys(inst, "gone.test")) == 2
    inst.run_cli("domain", "del", "gone.test")
    assert db_rows(inst, "SELECT count(*) FROM dkim_keys WHERE domain = 'gone.test'") == [(0,)]
    assert len(keys(inst, DOMAIN)) == 2  # the others stay


def test_serve_makes_missing_keys(make_instance):
    inst = make_instance(start=False)
    inst.run_cli("domain", "add", "second.test")
    old = {r[1] for r in keys(inst, "second.test")}
    con = sqlite3.connect(os.path.join(inst.data, "accounts.db"))
    con.execute("DELETE FROM dkim_keys WHERE domain = ?", (DOMAIN,))
    con.execute("DELETE FROM dkim_keys WHERE domain = 'second.test' AND algorithm = 'rsa'")
    con.commit()
    con.close()
    assert keys(inst, DOMAIN) == []
    inst.start()
    log = inst.log()
    made = [(e["a"], e["s"], e["d"]) for e in inst.events("dkim-key-made", _role="serve")]
    assert sorted((alg, d) for alg, _, d in made) == [
        ("ed25519", DOMAIN), ("rsa", DOMAIN), ("rsa", "second.test")], log[-3000:]
    assert states(keys(inst, DOMAIN)) == [("ed25519", "signing"), ("rsa", "signing")]
    rows = keys(inst, "second.test")
    assert states(rows) == [("ed25519", "signing"), ("rsa", "signing")]
    assert old & {r[1] for r in rows}  # the key it had is kept
    # a second start finds nothing to make
    inst.stop()
    mark = inst.log_mark()
    inst.start()
    assert inst.events("dkim-key-made", since=mark) == []


def test_stop_while_starting_is_a_clean_stop(make_instance):
    """A SIGTERM while serve still makes keys (before its loop) is a stop, exit 0: it
    waits for the handlers instead of killing the supervisor by the default action."""
    inst = make_instance(start=False)
    names = [f"slow{i}.test" for i in range(12)]
    for name in names:
        inst.run_cli("domain", "add", name)
    con = sqlite3.connect(os.path.join(inst.data, "accounts.db"))
    con.execute("DELETE FROM dkim_keys")
    con.commit()
    con.close()
    inst.start(wait=False)
    inst.wait_event("dkim-key-made", timeout=30)
    # the signal goes while keys are still being made, before the loop is up
    assert inst.events("start", _role="serve") == []
    rc = inst.stop(timeout=30)
    assert rc == 0, inst.log()[-3000:]
    assert inst.events("stopping", _role="serve"), inst.log()[-3000:]


def verify(alg, pub_b64, sig_b64, text):
    pub = base64.b64decode(pub_b64)
    sig = base64.b64decode(sig_b64)
    if alg == "ed25519-sha256":
        # RFC 8463: PureEdDSA over the SHA-256 hash of the text
        ed25519.Ed25519PublicKey.from_public_bytes(pub).verify(sig, hashlib.sha256(text).digest())
    else:
        serialization.load_der_public_key(pub).verify(sig, text, padding.PKCS1v15(),
                                                      hashes.SHA256())


@pytest.mark.skipif(os.geteuid() != 0, reason="the roles need their own users (serve as root)")
def test_lookupd_signs_for_the_mail_user_only(make_instance):
    inst = make_instance(start=False)
    inst.extra_env["MAILROOM_WALL_PROBE"] = "1"
    inst.start()
    inst.wait_event("wall-probe", _role="queued", check="dkim sign", a="rsa-sha256", timeout=30)
    inst.wait_event("wall-probe", _role="queued", check="dkim sign many", a="rsa-sha256", timeout=30)
    signed = [(e["d"], e["s"], e["a"], e["b"])
              for e in inst.events("wall-probe", _role="queued", check="dkim sign", result="answered")]
    assert sorted(a for _, _, a, _ in signed) == ["ed25519-sha256", "rsa-sha256"], inst.log()[-3000:]
    # the same keys in one LK_DKIM_SIGN_MANY: a signature of each, made by each
    many = [(e["d"], e["s"], e["a"], e["b"])
            for e in inst.events("wall-probe", _role="queued", check="dkim sign many",
                                 result="answered")]
    assert sorted(a for _, _, a, _ in many) == ["ed25519-sha256", "rsa-sha256"], inst.log()[-3000:]
    signed += many
    published = dict(db_rows(inst, "SELECT selector, public_b64 FROM dkim_keys WHERE domain = ?",
                             (DOMAIN,)))
    for d, sel, alg, b in signed:
        assert d == DOMAIN
        verify(alg, published[sel], b, PROBE_TEXT)
        with pytest.raises(Exception):
            verify(alg, published[sel], b, PROBE_TEXT + b"x")
    # smtpd and pop3d are refused, and lookupd says so with their uids
    for role in ("smtpd", "pop3d"):
        inst.wait_event("wall-probe", _role=role, check="dkim sign", timeout=30)
        log = inst.log()
        assert inst.events("wall-probe", _role=role, check="dkim keys", result="refused"), log[-3000:]
        assert inst.events("wall-probe", _role=role, check="dkim sign", result="refused"), log[-3000:]
        inst.wait_event("wall-probe", _role=role, check="dkim sign many", timeout=30)
        assert inst.events("wall-probe", _role=role, check="dkim sign many", result="refused"), \
            inst.log()[-3000:]
        (start,) = inst.events("wall-probe-start", _role=role)
        for req in ("LK_DKIM_KEYS", "LK_DKIM_SIGN", "LK_DKIM_SIGN_MANY"):
            assert inst.events("lookup-refused", _role="lookupd", request=req, uid=start["uid"]), \
                log[-3000:]
    assert inst.events("wall-probe", result="allowed") == []
    # no private key in any log line
    log = inst.log()
    assert "PRIVATE KEY" not in log
    for (pem,) in db_rows(inst, "SELECT private_pem FROM dkim_keys"):
        body = "".join(pem.strip().splitlines()[1:-1])
        assert body[:40] not in log.replace("\n", "")
