"""test_dns_records.py - `mailroom dns records DOMAIN` and `mailroom dns check DOMAIN`.

The printed records are parsed as zone-file lines by an independent parser
(dnslib.RR.fromZone) and served by a dnsmasq on loopback (the instance's
[delivery] resolver, where HOSTNAME resolves to 127.0.0.1): served exactly as
printed, every check line is ok; a record left out, a changed SPF record or a
missing PTR each make `dns check` fail with the line that says so.
"""
import re

import dnslib
import pytest

from conftest import DOMAIN, HOSTNAME, Instance
from peers import Dns

HOST_ADDR = "127.0.0.1"
REVERSE = "1.0.0.127.in-addr.arpa."
CHECK_LINE = re.compile(r"^(ok|missing|wrong|tempfail) +(MX|SPF|DKIM|DMARC|MTA-STS|TLS-RPT|AUTOCONFIG|SRV|PTR) (\S+)")


def records_of(inst):
    p = inst.run_cli("dns", "records", DOMAIN)
    assert p.stderr == ""
    for line in p.stdout.splitlines():
        assert line == "" or line.startswith(";") or line.split()[1:2] == ["IN"], line
    rrs = dnslib.RR.fromZone(p.stdout)
    return p.stdout, rrs


def serve(rrs, drop=(), replace=None, ptr=True):
    """A Dns with the printed records (those of a type in drop left out)."""
    args = dict(mx=[], txt=[], srv=[], ptr=[], cname=[], hosts={}, rr=[])
    replace = replace or {}
    for rr in rrs:
        name = str(rr.rname)
        rtype = dnslib.QTYPE[rr.rtype]
        if (name, rtype) in drop or rtype in drop:
            continue
        if (name, rtype) in replace:
            args["txt"].append((name, replace[(name, rtype)]))
            continue
        if rtype == "MX":
            args["mx"].append((name.rstrip("."), str(rr.rdata.label).rstrip("."), rr.rdata.preference))
        elif rtype == "TXT":
            args["txt"].append((name, rr.rdata.data))
        elif rtype == "SRV":
            args["srv"].append((name, str(rr.rdata.target), rr.rdata.port, rr.rdata.priority,
                                rr.rdata.weight))
        elif rtype == "PTR":
            args["ptr"].append((name, str(rr.rdata.label)))
        elif rtype == "CNAME":
            args["cname"].append((name, str(rr.rdata.label)))
        else:
            raise AssertionError(f"unexpected record {rr}")
    if ptr:
        # A host record answers the reverse name too.
        args["hosts"][HOSTNAME] = HOST_ADDR
    else:
        args["rr"].append((HOSTNAME, 1, "7f000001"))
    return Dns(**args)


def check(inst, dns, domain=DOMAIN):
    inst.set("delivery", "resolver", dns.resolver)
    return inst.run_cli("dns", "check", domain, check=False)


@pytest.fixture(scope="module")
def setup():
    """An instance whose hostname resolves to 127.0.0.1, and the records it prints."""
    base = Dns(hosts={HOSTNAME: HOST_ADDR})
    inst = Instance({("delivery", "resolver"): base.resolver})
    text, rrs = records_of(inst)
    yield inst, text, rrs
    inst.cleanup()
    base.stop()


def lines_of(p):
    return [l for l in p.stdout.splitlines() if l]


def test_records_cover_what_the_domain_needs(setup):
    inst, text, rrs = setup
    got = {(str(rr.rname), dnslib.QTYPE[rr.rtype]): rr for rr in rrs}
    d, h = DOMAIN + ".", HOSTNAME + "."
    assert str(got[(d, "MX")].rdata) == f"10 {h}"
    spf = b"".join(got[(d, "TXT")].rdata.data).decode()
    assert spf == f"v=spf1 mx ip4:{HOST_ADDR} ~all"
    assert b"".join(got[(h, "TXT")].rdata.data) == b"v=spf1 a -all"
    dmarc = b"".join(got[("_dmarc." + d, "TXT")].rdata.data).decode()
    assert dmarc == f"v=DMARC1; p=none; rua=mailto:postmaster@{DOMAIN}"
    assert re.search(r"^; .*p=quarantine, then to p=reject", text, re.M)
    sts = b"".join(got[("_mta-sts." + d, "TXT")].rdata.data).decode()
    assert re.fullmatch(r"v=STSv1; id=[0-9a-f]{32}", sts)
    assert str(got[("mta-sts." + d, "CNAME")].rdata) == h
    assert str(got[("autoconfig." + d, "CNAME")].rdata) == h
    assert str(got[("autodiscover." + d, "CNAME")].rdata) == h
    tlsrpt = b"".join(got[("_smtp._tls." + d, "TXT")].rdata.data).decode()
    assert tlsrpt == f"v=TLSRPTv1; rua=mailto:tlsrpt@{DOMAIN}"
    for svc, label in (("submission", "_submission._tcp"), ("submissions", "_submissions._tcp"),
                       ("pop3", "_pop3._tcp"), ("pop3s", "_pop3s._tcp")):
        srv = got[(f"{label}.{d}", "SRV")].rdata
        assert srv.port == inst.ports[svc] and str(srv.target) == h
    assert str(got[(REVERSE, "PTR")].rdata) == h
    # Every line is a comment, empty or a record; the groups are introduced by comments.
    assert text.count("\n; ") >= 8


def test_records_are_stable(setup):
    inst, text, _ = setup
    again, _ = records_of(inst)
    assert again == text


def test_records_without_host_addresses():
    """A hostname without A/AAAA: the machine's own addresses, and a comment saying so."""
    empty = Dns()
    inst = Instance({("delivery", "resolver"): empty.resolver})
    try:
        text, rrs = records_of(inst)
    finally:
        inst.cleanup()
        empty.stop()
    assert re.search(rf"^; {re.escape(HOSTNAME)} has no A/AAAA record: these are this "
                     r"machine's own interface addresses", text, re.M), text
    helo = [rr for rr in rrs if str(rr.rname) == HOSTNAME + "." and dnslib.QTYPE[rr.rtype] == "TXT"]
    assert len(helo) == 1
    # Not "a": the name has no address for it to find.
    assert not b"".join(helo[0].rdata.data).startswith(b"v=spf1 a ")
    assert "127.0.0.1" not in text


def test_service_off_is_not_offered(setup):
    inst, _, _ = setup
    inst.set("listen", "pop3", "")
    try:
        _, rrs = records_of(inst)
    finally:
        inst.set("listen", "pop3", f"127.0.0.1:{inst.ports['pop3']}")
    srv = [rr for rr in rrs if str(rr.rname) == f"_pop3._tcp.{DOMAIN}."]
    assert len(srv) == 1 and str(srv[0].rdata) == "0 0 0 ."


def test_check_all_ok(setup):
    inst, _, rrs = setup
    dns = serve(rrs)
    try:
        p = check(inst, dns)
    finally:
        dns.stop()
    lines = lines_of(p)
    assert p.returncode == 0, p.stdout + p.stderr
    records = [rr for rr in rrs]
    assert len(lines) == len(records), p.stdout
    for line in lines:
        m = CHECK_LINE.match(line)
        assert m and m.group(1) == "ok", line
    assert f"ok      MX {DOMAIN} -> {HOSTNAME}" in lines
    assert any(l.startswith(f"ok      DMARC _dmarc.{DOMAIN}") and "p=none" in l for l in lines)


def test_check_missing_record(setup):
    inst, _, rrs = setup
    dns = serve(rrs, drop=[(f"_dmarc.{DOMAIN}.", "TXT")])
    try:
        p = check(inst, dns)
    finally:
        dns.stop()
    assert p.returncode == 1
    lines = lines_of(p)
    assert f"missing DMARC _dmarc.{DOMAIN}" in lines
    assert [l for l in lines if not l.startswith("ok ")] == [f"missing DMARC _dmarc.{DOMAIN}"]


def test_check_wrong_spf(setup):
    inst, _, rrs = setup
    dns = serve(rrs, replace={(f"{DOMAIN}.", "TXT"): [b"v=spf1 -all"]})
    try:
        p = check(inst, dns)
    finally:
        dns.stop()
    assert p.returncode == 1
    bad = [l for l in lines_of(p) if not l.startswith("ok ")]
    assert bad == [f'wrong   SPF {DOMAIN}: found "v=spf1 -all" (does not allow {HOST_ADDR}: fail)'], p.stdout


def test_check_spf_by_mechanism(setup):
    """SPF is judged by what it allows, not by its text: ip4 ranges and a: count."""
    inst, _, rrs = setup
    for record, ok in ((b"v=spf1 ip4:127.0.0.0/8 -all", True),
                       (b"v=spf1 a:" + HOSTNAME.encode() + b" ~all", True),
                       (b"v=spf1 include:_spf.elsewhere.test -all", False),
                       (b"v=spf1 mx -all", True),
                       (b"v=spf1 -ip4:127.0.0.1 +all", False)):
        dns = serve(rrs, replace={(f"{DOMAIN}.", "TXT"): [record]})
        try:
            p = check(inst, dns)
        finally:
            dns.stop()
        spf = [l for l in lines_of(p) if l.split()[1:3] == ["SPF", DOMAIN + (":" if not ok else "")]]
        assert len(spf) == 1, p.stdout
        assert spf[0].startswith("ok " if ok else "wrong "), (record, p.stdout)
        assert p.returncode == (0 if ok else 1)
        if not ok:
            assert f"does not allow {HOST_ADDR}" in spf[0]
            assert ("include" in spf[0]) == (b"include" in record)


def test_check_ptr_missing_warns(setup):
    inst, _, rrs = setup
    dns = serve(rrs, drop=["PTR"], ptr=False)
    try:
        p = check(inst, dns)
    finally:
        dns.stop()
    assert p.returncode == 1
    lines = lines_of(p)
    assert f"missing PTR {REVERSE.rstrip('.')} ({HOST_ADDR})" in lines, p.stdout
    warn = [l for l in lines if l.startswith("warning:")]
    assert len(warn) == 1 and HOST_ADDR in warn[0] and "forward-confirmed" in warn[0]


def test_check_ptr_wrong_name(setup):
    inst, _, rrs = setup
    args_rrs = [rr for rr in rrs if dnslib.QTYPE[rr.rtype] != "PTR"]
    args_rrs += dnslib.RR.fromZone(f"{REVERSE} IN PTR somewhere.else.test.")
    dns = serve(args_rrs, ptr=False)
    try:
        p = check(inst, dns)
    finally:
        dns.stop()
    assert p.returncode == 1
    ptr = [l for l in lines_of(p) if CHECK_LINE.match(l) and " PTR " in l]
    assert len(ptr) == 1 and ptr[0].startswith("wrong   PTR") and "somewhere.else.test" in ptr[0]
    assert any(l.startswith("warning:") for l in lines_of(p))


def test_check_tempfail(setup):
    inst, _, _ = setup
    from peers import ServfailDns
    bad = ServfailDns()
    try:
        inst.set("delivery", "resolver", bad.resolver)
        p = inst.run_cli("dns", "check", DOMAIN, check=False)
    finally:
        bad.stop()
    assert p.returncode == 1
    assert lines_of(p) and all(l.startswith("tempfail") for l in lines_of(p)), p.stdout


@pytest.mark.parametrize("cmd", ["records", "check"])
def test_unknown_domain(setup, cmd):
    inst, _, _ = setup
    p = inst.run_cli("dns", cmd, "not-hosted.test", check=False)
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and "not-hosted.test" in p.stderr


def test_usage(setup):
    inst, _, _ = setup
    p = inst.run_cli("dns", "records", check=False)
    assert p.returncode == 2
    p = inst.run_cli("dns", "frobnicate", DOMAIN, check=False)
    assert p.returncode == 2
