"""test_conn_cache.py - connections kept for the next delivery ([delivery]
connection_cache, docs/mailroom.conf.5): deliveries to one server share a
connection; a kept connection the server has given up on costs nothing (the mail
goes on a new one, INTERFACE.md "Outbound delivery": a temporary failure is never a
loss); after a transaction that ended before its text, RSET comes before the next
MAIL (RFC 5321 4.1.1.5).

The remote side is on loopback: a dnsmasq serving the MX and A records, and an
aiosmtpd sink (peers.Sink) or a scripted server (peers.RawPeer) on the instance's
remote_port.
"""
import re
import uuid

import pytest

from conftest import DEMO
from peers import Dns, RawPeer, Script, Sink, make_message, submit, wait_until

LIVE = "127.0.0.1"


@pytest.fixture(scope="module")
def dns():
    d = Dns(mx=[("remote.test", "mx.remote.test", 10)], hosts={"mx.remote.test": LIVE})
    yield d
    d.stop()


def settings(dns, port, cache="yes"):
    return {("delivery", "resolver"): dns.resolver, ("delivery", "remote_port"): str(port),
            ("delivery", "connection_cache"): cache}


def send_one(inst, rcpt):
    """Submit one message to rcpt and wait until it has left the queue."""
    tok = uuid.uuid4().hex[:16]
    qid = submit(inst.ports["smtp"], DEMO, [rcpt], make_message("cached", tok))
    inst.wait_removed(qid, timeout=20)
    return tok, qid


def test_deliveries_share_a_connection(dns, make_instance):
    sink = Sink()
    try:
        inst = make_instance(settings(dns, sink.port))
        qids = []
        for i in range(3):
            tok, qid = send_one(inst, f"user{i}@remote.test")
            sink.wait_token(tok)
            qids.append(qid)
        conns = [t.conn for t in sink.accepted()]
        assert len(conns) == 3 and len(set(conns)) == 1, conns
        assert sink.connections == 1
        uses = [inst.events("delivery", qid=q, status="sent")[0].get("conn_use") for q in qids]
        assert uses == [None, "2", "3"], uses
    finally:
        sink.stop()


def test_off_one_connection_each(dns, make_instance):
    sink = Sink()
    try:
        inst = make_instance(settings(dns, sink.port, cache="no"))
        qids = []
        for i in range(3):
            tok, qid = send_one(inst, f"user{i}@remote.test")
            sink.wait_token(tok)
            qids.append(qid)
        conns = [t.conn for t in sink.accepted()]
        assert len(conns) == 3 and len(set(conns)) == 3, conns
        for q in qids:
            assert "conn_use" not in inst.events("delivery", qid=q, status="sent")[0]
    finally:
        sink.stop()


class Counting(Script):
    """A Script that answers MAIL number `refuse` (over all connections) with a 421,
    as a server does on its own idle timeout, and counts EHLOs (connections)."""

    def __init__(self, refuse=None, **kw):
        super().__init__(**kw)
        self.refuse = refuse
        self.mails = 0
        self.ehlos = 0

    def __call__(self, line):
        verb = "" if self.in_data else line.split(" ", 1)[0].split(":", 1)[0].upper()
        if verb == "EHLO":
            self.ehlos += 1
        if verb == "MAIL":
            self.mails += 1
            if self.mails == self.refuse:
                return "421 4.4.2 raw.test closing an idle connection"
        if verb == "RCPT" and "nobody@" in line:
            return "550 5.1.1 no such user"
        return super().__call__(line)


def test_stale_kept_connection_delivers_on_a_new_one(dns, make_instance):
    script = Counting(refuse=2)
    peer = RawPeer(answer=script)
    try:
        inst = make_instance(settings(dns, peer.port))
        send_one(inst, "first@remote.test")
        tok, qid = send_one(inst, "second@remote.test")
        # Sent at once on a second connection: no deferral, no bounce.
        assert inst.events("delivery", qid=qid, status="sent"), inst.log()[-3000:]
        assert not inst.events("delivery", qid=qid, status="deferred")
        assert inst.events("connection-stale", qid=qid,
                           reason=re.compile(r"421 4\.4\.2 raw\.test closing")), inst.log()[-3000:]
        assert script.ehlos == 2 and script.mails == 3
        assert len(script.messages) == 2
        assert any(f"token {tok}" in ln for ln in script.messages[1])
        assert not inst.messages(DEMO), "no bounce"
    finally:
        peer.stop()


def test_rset_after_a_transaction_that_ended_early(dns, make_instance):
    script = Counting()
    peer = RawPeer(answer=script)
    try:
        inst = make_instance(settings(dns, peer.port))
        _, refused = send_one(inst, "nobody@remote.test")
        assert inst.events("delivery", qid=refused, status="bounced")
        tok, qid = send_one(inst, "somebody@remote.test")
        assert inst.events("delivery", qid=qid, status="sent", conn_use="2"), inst.log()[-3000:]
        assert script.ehlos == 1
        verbs = [ln.split(" ", 1)[0].split(":", 1)[0].upper() for ln in peer.lines]
        second_mail = [i for i, v in enumerate(verbs) if v == "MAIL"][1]
        assert verbs[second_mail - 1] == "RSET", verbs
        assert any(f"token {tok}" in ln for ln in script.messages[0])
        # The bounce of the refused one reached its sender.
        wait_until(lambda: inst.messages(DEMO), 20, "the bounce")
    finally:
        peer.stop()
