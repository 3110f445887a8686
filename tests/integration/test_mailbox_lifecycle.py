"""test_mailbox_lifecycle.py - INTERFACE.md "Storage": `user del` never hands the old
mailbox to a later user of the same address. The Maildir of a deleted user, and any
mailbox left under a deleted domain, is moved to <data_dir>/deleted/<domain>/, kept
for the administrator, and a user made later with the same address starts empty.
"""
import os
import poplib
import re
import smtplib

STAMP = r"\d{8}T\d{6}Z(\.\d+)?"


def deliver(inst, addr, token):
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=20) as s:
        s.sendmail("sender@remote.test", [addr],
                   f"From: sender@remote.test\r\nSubject: {token}\r\n\r\n{token}\r\n")
    inst.wait_token(addr, token)


def stat(inst, addr, password):
    p = poplib.POP3("127.0.0.1", inst.ports["pop3"], timeout=20)
    try:
        p.user(addr)
        p.pass_(password)
        return p.stat()
    finally:
        p.quit()


def moved(inst, domain, local):
    """The directories under deleted/<domain>/ that hold local's old mailboxes."""
    d = os.path.join(inst.data, "deleted", domain)
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, n) for n in os.listdir(d)
                  if re.fullmatch(re.escape(local) + r"\." + STAMP, n))


def files_with(maildir, token):
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        for name in os.listdir(d) if os.path.isdir(d) else ():
            with open(os.path.join(d, name), "rb") as f:
                if token.encode() in f.read():
                    out.append(name)
    return out


def test_user_readded_starts_empty(make_instance):
    i = make_instance()
    addr = "bob@example.test"
    i.add_user(addr, "bob-pw-1")
    deliver(i, addr, "for-the-first-bob")
    assert stat(i, addr, "bob-pw-1")[0] == 1

    out = i.run_cli("user", "del", addr).stdout
    i.add_user(addr, "bob-pw-2")
    assert stat(i, addr, "bob-pw-2") == (0, 0)
    (old,) = moved(i, "example.test", "bob")
    assert old in out
    assert len(files_with(old, "for-the-first-bob")) == 1
    assert not os.path.exists(i.maildir(addr)) or not files_with(i.maildir(addr),
                                                                 "for-the-first-bob")

    # A second deletion of the same address keeps both old mailboxes.
    deliver(i, addr, "for-the-second-bob")
    i.run_cli("user", "del", addr)
    olds = moved(i, "example.test", "bob")
    assert len(olds) == 2, olds
    assert sum(len(files_with(d, "for-the-second-bob")) for d in olds) == 1
    assert sum(len(files_with(d, "for-the-first-bob")) for d in olds) == 1


def test_domain_readded_hands_no_leftover_mailbox(make_instance):
    i = make_instance()
    i.run_cli("domain", "add", "other.test")
    # A mailbox with no user behind it (left by an older mailroom, or copied in).
    md = i.maildir("ghost@other.test")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    with open(os.path.join(md, "new", "1.leftover.host"), "w") as f:
        f.write("Subject: old\r\n\r\nleft-behind\r\n")
    uid, gid = os.stat(i.data).st_uid, os.stat(i.data).st_gid
    for root, dirs, files in os.walk(os.path.dirname(md)):
        for n in dirs + files:
            os.chown(os.path.join(root, n), uid, gid)
    os.chown(os.path.dirname(md), uid, gid)

    i.run_cli("domain", "del", "other.test")
    assert not os.path.exists(os.path.join(i.data, "mail", "other.test"))
    i.run_cli("domain", "add", "other.test")
    i.add_user("ghost@other.test", "ghost-pw-1")
    assert stat(i, "ghost@other.test", "ghost-pw-1") == (0, 0)
    (old,) = moved(i, "other.test", "ghost")
    assert files_with(old, "left-behind") == ["1.leftover.host"]
