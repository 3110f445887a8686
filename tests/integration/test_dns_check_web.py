"""test_dns_check_web.py - `dns check` on the admin domain page and at
GET /api/v1/domains/D/dns/check: the same verdicts as the command's, for the
records served by a dnsmasq on loopback exactly as `dns records` prints them, with
one left out, and with a resolver that does not answer (a tempfail, and the web
face goes on serving)."""
import re
import threading

import pytest

from conftest import DOMAIN, free_port
from peers import Dns, ServfailDns
from test_api import ADMIN_PW, Browser, api, start_web
from test_dns_records import CHECK_LINE, HOST_ADDR, HOSTNAME, records_of, serve


@pytest.fixture(scope="module")
def web(make_module_instance):
    base = Dns(hosts={HOSTNAME: HOST_ADDR})
    inst = start_web(make_module_instance, {("delivery", "resolver"): base.resolver})
    _, inst.rrs = records_of(inst)
    yield inst
    base.stop()


def use_resolver(inst, resolver):
    """Point the running instance at resolver (a reload: httpd reads it per check)."""
    inst.set("delivery", "resolver", resolver)
    mark = inst.log_mark()
    inst.reload()
    inst.wait_event("config-reloaded", _role="httpd", since=mark)


def cli_lines(inst):
    p = inst.run_cli("dns", "check", DOMAIN, check=False)
    out = set()
    for line in p.stdout.splitlines():
        m = CHECK_LINE.match(line)
        if m:
            out.add((m.group(1), m.group(2), m.group(3)))
    return p.returncode, out


def api_lines(o):
    return {(r["verdict"], r["purpose"], r["name"]) for r in o["results"]
            if r["verdict"] != "warning"}


def test_all_ok_agrees_with_the_command(web):
    dns = serve(web.rrs)
    try:
        use_resolver(web, dns.resolver)
        st, o = api(web, "GET", f"/domains/{DOMAIN}/dns/check")
        rc, cli = cli_lines(web)
    finally:
        dns.stop()
    assert st == 200, o
    assert o["domain"] == DOMAIN and o["ok"] is True, o
    assert rc == 0 and cli
    assert api_lines(o) == cli
    assert all(v == "ok" for v, _, _ in api_lines(o))
    # The PTR of the host's address is checked too, though lookupd built the records.
    assert ("ok", "PTR", "1.0.0.127.in-addr.arpa") in api_lines(o)
    mx = [r for r in o["results"] if r["purpose"] == "MX"]
    assert mx and mx[0]["detail"] == f"-> {HOSTNAME}", mx


def test_missing_record_on_page_and_api(web):
    dns = serve(web.rrs, drop=[(f"_dmarc.{DOMAIN}.", "TXT")])
    try:
        use_resolver(web, dns.resolver)
        st, o = api(web, "GET", f"/domains/{DOMAIN}/dns/check")
        b = Browser(web)
        resp, _ = b.login("admin", "root", ADMIN_PW)
        assert resp.status == 303
        resp, plain = b.go("GET", f"/admin/domains/{DOMAIN}")
        resp2, html = b.go("GET", f"/admin/domains/{DOMAIN}?check=1")
        rc, cli = cli_lines(web)
    finally:
        dns.stop()
    assert st == 200 and o["ok"] is False, o
    bad = {x for x in api_lines(o) if x[0] != "ok"}
    assert bad == {("missing", "DMARC", f"_dmarc.{DOMAIN}")}, o
    assert rc == 1 and api_lines(o) == cli
    # Without ?check the page only links to the check; with it, a row per result.
    assert resp.status == 200 and 'id="dns-check-link"' in plain and 'id="dns-check"' not in plain
    assert resp2.status == 200 and 'id="dns-check"' in html
    rows = re.findall(r'<tr data-verdict="(\w+)"><td><span class="badge[^"]*">\w+</span></td>'
                      r'<td>([^<]*)</td><td class="mono">([^<]*)</td>', html)
    assert ("missing", "DMARC", f"_dmarc.{DOMAIN}") in rows, html
    assert sum(1 for r in rows if r[0] == "ok") == len(rows) - 1


def test_dead_resolver_is_a_tempfail(web):
    # A port on loopback where nothing answers DNS.
    use_resolver(web, f"127.0.0.1:{free_port()}")
    st, o = api(web, "GET", f"/domains/{DOMAIN}/dns/check")
    assert st == 200 and o["ok"] is False, o
    assert o["results"] and o["results"][0]["verdict"] == "tempfail", o
    # The web face still answers.
    st, o = api(web, "GET", "/domains")
    assert st == 200 and DOMAIN in o["domains"]


def test_refusals(web):
    st, o = api(web, "GET", "/domains/not-hosted.test/dns/check")
    assert st == 404, o
    st, o = api(web, "POST", f"/domains/{DOMAIN}/dns/check", {})
    assert st == 405, o
    st, o = api(web, "GET", f"/domains/{DOMAIN}/dns/check", token=None)
    assert st == 401, o


def test_a_slow_check_holds_no_one_else(web):
    """A resolver that never answers: the check ends in a tempfail at its limit, and
    meanwhile the web role answers other requests (the check waits off its loop)."""
    silent = ServfailDns(silent=True)
    try:
        use_resolver(web, silent.resolver)
        got = {}
        t = threading.Thread(target=lambda: got.update(
            zip(("st", "o"), api(web, "GET", f"/domains/{DOMAIN}/dns/check"))))
        t.start()
        try:
            st, o = api(web, "GET", "/domains")
            assert st == 200 and DOMAIN in o["domains"]
            assert t.is_alive(), "the check was over before the other request was answered"
        finally:
            t.join(60)
    finally:
        silent.stop()
    assert got["st"] == 200 and got["o"]["ok"] is False, got
    assert got["o"]["results"][0]["verdict"] == "tempfail", got
    assert "no answer within" in got["o"]["results"][0]["detail"], got
