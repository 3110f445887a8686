"""test_dnsbl.py - DNSBL and DNSWL scoring on the smtp listener ([inbound] dnsbl,
dnsbl_threshold; RFC 5782): every zone asked at connect, the weights of the zones that
list the client summed; at the threshold the greeting is 554 5.7.1 naming the lists.
The lists are a dnsmasq on loopback that lists 127.0.0.1 (1.0.0.127.<zone>).
"""
import socket
import time

import pytest

from conftest import HOSTNAME
from peers import Dns, ServfailDns

LISTED = "127.0.0.2"


@pytest.fixture(scope="module")
def dns():
    d = Dns(hosts={"1.0.0.127.bl.test": LISTED, "1.0.0.127.bl2.test": LISTED,
                   "1.0.0.127.wl.test": LISTED, "1.0.0.127.err.test": "127.255.255.254",
                   HOSTNAME: "127.0.0.1"})
    yield d
    d.stop()


def greeting(inst, timeout=10):
    with socket.create_connection(("127.0.0.1", inst.ports["smtp"]), timeout=timeout) as s:
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not any(
                len(ln) > 3 and ln[3:4] == b" " for ln in buf.split(b"\r\n")):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.decode()


def instance(make_instance, resolver, zones, threshold="1", trusted=""):
    return make_instance({("delivery", "resolver"): resolver,
                          ("relay", "trusted_networks"): trusted,
                          ("inbound", "dnsbl"): zones,
                          ("inbound", "dnsbl_threshold"): threshold})


def test_listed_client_refused(dns, make_instance):
    inst = instance(make_instance, dns.resolver, "bl.test")
    g = greeting(inst)
    assert g.startswith("554 5.7.1 ") and "bl.test" in g and "127.0.0.1" in g, g
    inst.wait_event("reject", client="127.0.0.1", stage="connect", reason="dnsbl", listed="bl.test",
                    score=1, threshold=1)
    inst.wait_event("disconnect", client="127.0.0.1", reason="dnsbl")


def test_weights_threshold_and_allow_list(dns, make_instance):
    below = instance(make_instance, dns.resolver, "bl.test=2, nolist.test=5", threshold="3")
    assert greeting(below).startswith(f"220 {HOSTNAME} ESMTP"), "2 < 3"
    both = instance(make_instance, dns.resolver, "bl.test=2, bl2.test", threshold="3")
    g = greeting(both)
    assert g.startswith("554 5.7.1") and "bl.test" in g and "bl2.test" in g, g
    allowed = instance(make_instance, dns.resolver, "bl.test=2, wl.test=-5")
    assert greeting(allowed).startswith("220 "), "the allow list outweighs"


def test_error_answers_and_dead_dns_count_zero(dns, make_instance):
    inst = instance(make_instance, dns.resolver, "err.test")
    assert greeting(inst).startswith("220 ")
    inst.wait_event("dnsbl-failed", client="127.0.0.1", lists="err.test", _level="warning")
    bad = ServfailDns()
    try:
        dead = instance(make_instance, bad.resolver, "bl.test")
        assert greeting(dead).startswith("220 ")
        dead.wait_event("dnsbl-failed", client="127.0.0.1", lists="bl.test")
    finally:
        bad.stop()


def test_trusted_not_checked(dns, make_instance):
    inst = instance(make_instance, dns.resolver, "bl.test", trusted="127.0.0.0/8")
    assert greeting(inst).startswith("220 ")


def test_bad_zone_is_a_config_error(make_instance, dns):
    inst = make_instance(start=False)
    inst.set("inbound", "dnsbl", "bl.test=0")
    p = inst.run_cli("config", "check", check=False)
    assert p.returncode == 1 and "weight" in p.stderr, p.stderr
