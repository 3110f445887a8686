"""test_mta_sts.py - MTA-STS for outbound mail (RFC 8461) with [delivery] mta_sts = yes.

The remote side is on loopback: a dnsmasq (peers.Dns) as the instance's resolver
with the MX, address and _mta-sts TXT records; the policy host of every domain is
one HTTPS server (stspeers.HttpsPeer, on port 443 of a loopback address of its
own) with a certificate of a test CA, which the instance trusts through [delivery]
tls_ca_file; the MX hosts are aiosmtpd sinks (peers.Sink), each on its own
loopback address, with certificates of that CA (or none, or self-signed).

What is checked: under an enforce policy, a matching MX host with a valid
certificate gets the mail over TLS (sts=verified); an MX host outside the policy
is never connected to, a certificate for another name or a server without
STARTTLS gets nothing, and the mail is deferred with 4.7.x (sts=failed); a testing
policy delivers as before and says so; a redirect, a policy over 64 KiB or a policy
host whose certificate is not trusted is a failed fetch, so the domain is delivered
to as without a policy; a domain without
a record has no policy; and a cached enforce policy survives a restart and stays
in force when the new one cannot be fetched.
"""
import re
import time
import uuid

import pytest

from conftest import DEMO, delivery_line
from peers import Dns, LocalCA, Sink, free_port, make_message, submit
from stspeers import HttpsPeer, policy_text

# Each MX host on its own loopback address (all on the one remote_port).
MX = {
    "good": "127.0.0.21", "outside": "127.0.0.22", "badcert": "127.0.0.23",
    "notls": "127.0.0.24", "testing": "127.0.0.25", "redirect": "127.0.0.26",
    "big": "127.0.0.27", "nopolicy": "127.0.0.28", "webpki": "127.0.0.30",
}


@pytest.fixture(scope="module")
def ca():
    c = LocalCA("MTA-STS test CA")
    yield c
    c.cleanup()


@pytest.fixture(scope="module")
def rogue():
    """A policy server whose certificate comes from a CA the instance does not trust."""
    other = LocalCA("untrusted CA")
    w = HttpsPeer(other, ["mta-sts.webpki.test"])
    w.policy("webpki.test", policy_text("enforce", "mx.elsewhere.test"))
    yield w
    w.stop()
    other.cleanup()


@pytest.fixture(scope="module")
def web(ca):
    names = [f"mta-sts.{d}.test" for d in list(MX) + ["cache"]]
    w = HttpsPeer(ca, names)
    w.policy("good.test", policy_text("enforce", "*.good.test"))
    w.policy("outside.test", policy_text("enforce", "mx.elsewhere.test"))
    w.policy("badcert.test", policy_text("enforce", "mx.badcert.test"))
    w.policy("notls.test", policy_text("enforce", "mx.notls.test"))
    w.policy("testing.test", policy_text("testing", "mx.elsewhere.test"))
    # Followed, this would be an enforce policy that names another host.
    w.policy("redirect.test", "", status=301, headers={
        "Location": "https://mta-sts.outside.test/.well-known/mta-sts.txt"})
    w.policy("big.test", policy_text("enforce", "mx.elsewhere.test") +
             "x-padding: " + "x" * (70 * 1024) + "\r\n")
    yield w
    w.stop()


def records(web, rogue, cache_id="1", cache_mx="mx.cache.test"):
    mx = [(f"{d}.test", f"mx.{d}.test", 10) for d in MX]
    hosts = {f"mx.{d}.test": ip for d, ip in MX.items()}
    hosts.update({f"mta-sts.{d}.test": web.host for d in list(MX) + ["cache"]})
    hosts["mta-sts.webpki.test"] = rogue.host
    txt = [(f"_mta-sts.{d}.test", ["v=STSv1; id=20261202;"]) for d in MX if d != "nopolicy"]
    mx.append(("cache.test", cache_mx, 10))
    hosts[cache_mx] = "127.0.0.29"
    txt.append(("_mta-sts.cache.test", [f"v=STSv1; id={cache_id}"]))
    return {"mx": mx, "hosts": hosts, "txt": txt}


@pytest.fixture(scope="module")
def dns(web, rogue):
    d = Dns(**records(web, rogue))
    yield d
    d.stop()


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def sinks(ca, port):
    s = {
        "good": Sink(host=MX["good"], port=port, tls=ca.server_context("mx.good.test")),
        "outside": Sink(host=MX["outside"], port=port,
                        tls=ca.server_context("mx.outside.test")),
        "badcert": Sink(host=MX["badcert"], port=port,
                        tls=ca.server_context("wrong.name.test")),
        "notls": Sink(host=MX["notls"], port=port),
        "testing": Sink(host=MX["testing"], port=port, tls=True),  # self-signed
        "redirect": Sink(host=MX["redirect"], port=port, tls=True),
        "big": Sink(host=MX["big"], port=port, tls=True),
        "nopolicy": Sink(host=MX["nopolicy"], port=port),
        "webpki": Sink(host=MX["webpki"], port=port, tls=True),
    }
    yield s
    for x in s.values():
        x.stop()


def settings(dns, ca, port):
    return {("delivery", "resolver"): dns.resolver, ("delivery", "remote_port"): str(port),
            ("delivery", "mta_sts"): "yes", ("delivery", "tls_ca_file"): ca.cert}


@pytest.fixture(scope="module")
def inst(dns, ca, port, make_module_instance):
    return make_module_instance(settings(dns, ca, port))


def send(inst, rcpt):
    tok = uuid.uuid4().hex[:16]
    return tok, submit(inst.ports["smtp"], DEMO, [rcpt], make_message("sts", tok))


def assert_deferred(inst, sink, rcpt, reason):
    tok, qid = send(inst, rcpt)
    line = delivery_line(inst, qid, rcpt, "deferred")
    assert re.search(r"451 4\.7\.[45] ", line) and re.search(reason, line), line
    assert "sts=failed" in line, line
    time.sleep(0.5)
    assert sink.mails == [] and sink.transactions == [], sink.transactions
    assert qid in inst.queue_ids()
    return line


# ---------------------------------------------------------------- enforce

def test_enforce_matching_mx_with_a_valid_certificate_delivers(inst, web, sinks):
    tok, qid = send(inst, "alice@good.test")
    t = sinks["good"].wait_token(tok)[0]
    assert t.tls
    line = delivery_line(inst, qid, "alice@good.test", "sent")
    assert "sts=verified" in line, line
    inst.wait_event("delivery-tls", qid=qid, verified="mx.good.test")
    inst.wait_event("mta-sts-policy", domain="good.test", mode="enforce", id="20261202")
    assert web.fetches("good.test"), web.gets


def test_enforce_refuses_an_mx_outside_the_policy(inst, sinks):
    assert_deferred(inst, sinks["outside"], "bob@outside.test",
                    r"MX host mx\.outside\.test is not in the MTA-STS policy")
    assert sinks["outside"].connections == 0  # never even connected to
    inst.wait_event("mta-sts-mx-refused", host="mx.outside.test", mode="enforce", used="no")


def test_enforce_refuses_a_certificate_for_another_name(inst, sinks):
    assert_deferred(inst, sinks["badcert"], "carol@badcert.test",
                    r"certificate not verified for mx\.badcert\.test")


def test_enforce_refuses_a_server_without_starttls(inst, sinks):
    assert_deferred(inst, sinks["notls"], "dave@notls.test", r"does not offer STARTTLS")
    assert sinks["notls"].connections >= 1


# ---------------------------------------------------------------- testing, none, failures

def test_testing_policy_delivers_and_reports(inst, sinks):
    tok, qid = send(inst, "erin@testing.test")
    sinks["testing"].wait_token(tok)
    line = delivery_line(inst, qid, "erin@testing.test", "sent")
    assert "sts=testing" in line, line
    inst.wait_event("mta-sts-mx-refused", qid=qid, host="mx.testing.test", mode="testing",
                    used="yes")
    inst.wait_event("delivery-tls", qid=qid, checked="mx.testing.test",
                    check_error=re.compile("self.signed"))


@pytest.mark.parametrize("domain,why", [
    ("redirect", r"HTTP status 301 \(redirects are not followed\)"),
    ("big", r"answer too large"),
    # The policy host's certificate does not chain to a trusted CA (its policy unread).
    ("webpki", r"the server's certificate is not trusted"),
])
def test_a_failed_fetch_without_a_cache_is_no_policy(inst, web, sinks, domain, why):
    rcpt = f"frank@{domain}.test"
    tok, qid = send(inst, rcpt)
    sinks[domain].wait_token(tok)
    line = delivery_line(inst, qid, rcpt, "sent")
    assert "sts=none" in line, line
    inst.wait_event("mta-sts-fetch-failed", domain=f"{domain}.test", id="20261202",
                    reason=re.compile(why), cached="no")
    # The redirect was not followed: nothing asked for the policy of outside.test there.
    assert all(g[1] == "/.well-known/mta-sts.txt" for g in web.fetches(f"{domain}.test"))


def test_no_record_is_no_policy(inst, web, sinks):
    tok, qid = send(inst, "grace@nopolicy.test")
    sinks["nopolicy"].wait_token(tok)
    assert "sts=none" in delivery_line(inst, qid, "grace@nopolicy.test", "sent")
    assert web.fetches("nopolicy.test") == []


def test_mta_sts_off_ignores_the_policy(dns, ca, port, sinks, make_instance):
    s = settings(dns, ca, port)
    s[("delivery", "mta_sts")] = "no"
    i = make_instance(s)
    tok, qid = send(i, "heidi@outside.test")
    sinks["outside"].wait_token(tok)
    assert "sts=" not in delivery_line(i, qid, "heidi@outside.test", "sent")


# ---------------------------------------------------------------- the cache

def test_cached_policy_survives_a_restart_and_a_failed_fetch(ca, web, rogue, port,
                                                            make_instance):
    sink = Sink(host="127.0.0.29", port=port,
                tls=ca.server_context("mx.cache.test", "mx2.cache.test"))
    dns1 = Dns(**records(web, rogue))
    dns2 = None
    try:
        web.policy("cache.test", policy_text("enforce", "mx.cache.test"))
        i = make_instance(settings(dns1, ca, port))
        tok, qid = send(i, "ivan@cache.test")
        sink.wait_token(tok)
        assert "sts=verified" in delivery_line(i, qid, "ivan@cache.test", "sent")
        assert i.stop() == 0
        # A new id and a new MX host; the policy host now fails. The cached policy,
        # kept in the queue across the restart, still names only mx.cache.test.
        dns2 = Dns(**records(web, rogue, cache_id="2", cache_mx="mx2.cache.test"))
        web.policy("cache.test", "gone\n", status=404)
        i.set("delivery", "resolver", dns2.resolver)
        i.start()
        n = len(sink.transactions)
        tok, qid = send(i, "judy@cache.test")
        line = delivery_line(i, qid, "judy@cache.test", "deferred")
        assert re.search(r"451 4\.7\.5 .*MX host mx2\.cache\.test is not in the MTA-STS "
                         r"policy of cache\.test", line), line
        i.wait_event("mta-sts-fetch-failed", domain="cache.test", id="2",
                     reason="HTTP status 404", cached="yes")
        i.wait_event("mta-sts", qid=qid, domain="cache.test", id="1", cached="yes")
        time.sleep(0.5)
        assert len(sink.transactions) == n
    finally:
        sink.stop()
        dns1.stop()
        if dns2 is not None:
            dns2.stop()
