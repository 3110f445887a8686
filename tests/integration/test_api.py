"""test_api.py - the JSON API under /api/v1/ and the web pages' sessions: every
route with an admin token; refusals (no token, a wrong one, a user's session
instead of a token, bodies that are not JSON objects, oversized bodies, unknown
routes and methods); the pages' login (cookie flags, wrong password, throttling),
CSRF tokens on every form, and a user who cannot see or change another's data.
The server goes on serving after each refusal."""
import http.client
import json
import re
import ssl
import urllib.parse

import pytest

from conftest import DEMO, DEMO_PASSWORD, DOMAIN, free_port, wait_port

ADMIN_PW = "admin-secret-pw"


@pytest.fixture(scope="module")
def web(make_module_instance):
    return start_web(make_module_instance)


def start_web(make_module_instance, settings=None):
    """An instance with the https listener, the admin root and a token of it."""
    port = free_port()
    inst = make_module_instance({("listen", "https"): f"127.0.0.1:{port}", **(settings or {})},
                                start=False)
    inst.run_cli("admin", "add", "root", input=ADMIN_PW + "\n")
    out = inst.run_cli("admin", "token", "add", "root").stdout
    inst.token = re.search(r"mrt_[A-Za-z0-9_-]+", out).group(0)
    inst.start()
    inst.https_port = port
    wait_port(port)
    inst.wait_event("started", _role="httpd")
    return inst


def req(inst, method, path, body=None, headers=None, token=True, raw=None):
    conn = http.client.HTTPSConnection("127.0.0.1", inst.https_port, timeout=15,
                                       context=inst.ssl_context())
    hdrs = dict(headers or {})
    if token is True:
        hdrs["Authorization"] = f"Bearer {inst.token}"
    elif token:
        hdrs["Authorization"] = token
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp, payload


def api(inst, method, path, body=None, **kw):
    resp, payload = req(inst, method, "/api/v1" + path, body, **kw)
    assert resp.getheader("Content-Type") == "application/json", payload
    return resp.status, json.loads(payload)


# ---- the API ----

def test_no_token(web):
    resp, payload = req(web, "GET", "/api/v1/domains", token=None)
    assert resp.status == 401
    assert resp.getheader("WWW-Authenticate", "").startswith("Bearer")
    assert "error" in json.loads(payload)


def test_wrong_token(web):
    for bad in ("Bearer mrt_nottherighttoken", "Bearer " + web.token + "x",
                "Basic cm9vdDphZG1pbg==", "Bearer"):
        st, o = api(web, "GET", "/api/v1/domains"[7:], token=bad)
        assert st == 401, (bad, o)
        assert "error" in o


def test_domains(web):
    st, o = api(web, "GET", "/domains")
    assert st == 200 and DOMAIN in o["domains"]
    st, o = api(web, "POST", "/domains", {"domain": "api.test"})
    assert st in (200, 201), o
    st, o = api(web, "POST", "/domains", {"domain": "api.test"})
    assert st == 409, o
    st, o = api(web, "POST", "/domains", {"domain": "not a domain"})
    assert st == 400, o
    st, o = api(web, "GET", "/domains")
    assert "api.test" in o["domains"]
    st, o = api(web, "GET", "/domains/api.test/dns")
    assert st == 200
    types = {r["type"] for r in o["records"]}
    assert {"MX", "TXT"} <= types
    assert any("v=DKIM1" in r["value"] for r in o["records"])
    st, o = api(web, "GET", "/domains/api.test/dkim")
    assert st == 200 and len(o["keys"]) >= 1
    st, o = api(web, "GET", "/domains/nowhere.test/dns")
    assert st == 404, o
    st, o = api(web, "DELETE", "/domains/api.test")
    assert st == 200, o
    st, o = api(web, "DELETE", "/domains/api.test")
    assert st == 404, o


def test_users(web):
    st, o = api(web, "POST", "/users", {"address": f"carl@{DOMAIN}", "password": "carl-pw-1",
                                        "quota": "10M"})
    assert st in (200, 201), o
    st, o = api(web, "POST", "/users", {"address": f"carl@{DOMAIN}", "password": "x"})
    assert st == 409
    st, o = api(web, "POST", "/users", {"address": "bad address", "password": "x"})
    assert st == 400
    st, o = api(web, "POST", "/users", {"address": "x@unhosted.test", "password": "x"})
    assert st in (400, 404), o
    st, o = api(web, "POST", "/users", {"address": f"dora@{DOMAIN}"})
    assert st == 400 and "password" in o["error"]
    st, o = api(web, "POST", "/users", {"address": f"dora@{DOMAIN}", "password": "p", "quota": "lots"})
    assert st == 400
    st, o = api(web, "GET", "/users")
    rows = {u["address"]: u for u in o["users"]}
    assert rows[f"carl@{DOMAIN}"]["quota"] == 10 * 1024 * 1024
    st, o = api(web, "GET", f"/users?domain={DOMAIN}")
    assert st == 200 and f"carl@{DOMAIN}" in {u["address"] for u in o["users"]}
    st, o = api(web, "PUT", f"/users/carl@{DOMAIN}/quota", {"quota": 2048})
    assert st == 200, o
    st, o = api(web, "GET", f"/users/carl@{DOMAIN}")
    assert st == 200 and o["quota"] == 2048 and o["suspended"] is False
    st, o = api(web, "POST", f"/users/carl@{DOMAIN}/suspend")
    assert st == 200
    st, o = api(web, "GET", f"/users/carl@{DOMAIN}")
    assert o["suspended"] is True
    st, o = api(web, "POST", f"/users/carl@{DOMAIN}/resume")
    assert st == 200
    st, o = api(web, "PUT", f"/users/carl@{DOMAIN}/limits", {"per_day": 50, "per_hour": 5})
    assert st == 200, o
    st, o = api(web, "GET", f"/users/carl@{DOMAIN}")
    assert o["limits"]["per_day"] == 50 and o["limits"]["per_hour"] == 5
    st, o = api(web, "PUT", f"/users/carl@{DOMAIN}/limits", {"per_day": -1})
    assert st == 400
    st, o = api(web, "PUT", f"/users/carl@{DOMAIN}/password", {"password": "carl-pw-2"})
    assert st == 200
    st, o = api(web, "GET", "/users/nobody@" + DOMAIN)
    assert st == 404
    st, o = api(web, "DELETE", f"/users/carl@{DOMAIN}")
    assert st == 200
    st, o = api(web, "DELETE", f"/users/carl@{DOMAIN}")
    assert st == 404


def test_app_passwords_and_pop3(web):
    import poplib
    st, o = api(web, "POST", f"/users/{DEMO}/app-passwords", {"name": "tablet"})
    assert st in (200, 201), o
    pw = o["password"]
    st, o = api(web, "GET", f"/users/{DEMO}/app-passwords")
    assert "tablet" in json.dumps(o)
    p = poplib.POP3("127.0.0.1", web.ports["pop3"], timeout=10)
    p.user(DEMO)
    p.pass_(pw)
    p.quit()
    st, o = api(web, "DELETE", f"/users/{DEMO}/app-passwords/tablet")
    assert st == 200
    st, o = api(web, "DELETE", f"/users/{DEMO}/app-passwords/tablet")
    assert st == 404


def test_aliases_and_forward(web):
    st, o = api(web, "POST", "/aliases", {"source": f"sales@{DOMAIN}", "targets": [DEMO]})
    assert st in (200, 201), o
    st, o = api(web, "POST", "/aliases", {"source": f"sales@{DOMAIN}"})
    assert st == 400
    st, o = api(web, "POST", "/aliases", {"source": f"x@{DOMAIN}", "targets": "not-a-list"})
    assert st == 400
    st, o = api(web, "GET", "/aliases")
    assert {"source": f"sales@{DOMAIN}", "targets": [DEMO]} in o["aliases"]
    st, o = api(web, "DELETE", f"/aliases/sales@{DOMAIN}")
    assert st == 200
    st, o = api(web, "DELETE", f"/aliases/sales@{DOMAIN}")
    assert st == 404
    st, o = api(web, "PUT", f"/users/{DEMO}/forward", {"targets": ["out@far.test"], "keep": True})
    assert st == 200, o
    st, o = api(web, "GET", f"/users/{DEMO}")
    assert o["forward"]["targets"] == ["out@far.test"] and o["forward"]["keep"] is True
    st, o = api(web, "DELETE", f"/users/{DEMO}/forward")
    assert st == 200
    st, o = api(web, "GET", f"/users/{DEMO}")
    assert o["forward"] is None


def test_queue_routes(web):
    st, o = api(web, "GET", "/queue")
    assert st == 200 and "messages" in o and "total" in o
    st, o = api(web, "GET", "/queue/0123456789ABCDEF")
    assert st in (400, 404)
    st, o = api(web, "GET", "/queue/..%2F..%2Fetc")
    assert st in (400, 404)
    st, o = api(web, "POST", "/queue/flush")
    assert st == 200
    st, o = api(web, "POST", "/queue/flush", token="Bearer mrt_wrong")
    assert st == 401


def test_bad_bodies_and_routes(web):
    resp, payload = req(web, "POST", "/api/v1/domains", raw=b"{not json",
                        headers={"Content-Type": "application/json"})
    assert resp.status == 400
    resp, payload = req(web, "POST", "/api/v1/domains", raw=b"[1,2]",
                        headers={"Content-Type": "application/json"})
    assert resp.status == 400
    resp, payload = req(web, "POST", "/api/v1/domains", raw=b"domain=x",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 415
    # Over evhttp's body limit: 413, or the connection closed while the body is sent.
    try:
        resp, _ = req(web, "POST", "/api/v1/domains", raw=b"{" + b" " * 70000 + b"}",
                      headers={"Content-Type": "application/json"})
        assert resp.status == 413
    except (ConnectionError, ssl.SSLError):
        pass
    st, o = api(web, "GET", "/nothing")
    assert st == 404
    st, o = api(web, "PATCH", "/domains")
    assert st == 405
    st, o = api(web, "DELETE", "/domains")
    assert st == 405
    st, o = api(web, "GET", "/domains")
    assert st == 200


# ---- the pages ----

class Browser:
    """Cookies and forms by hand, as a browser would send them."""

    def __init__(self, inst):
        self.inst = inst
        self.cookies = {}

    def go(self, method, path, form=None, headers=None):
        hdrs = dict(headers or {})
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        raw = None
        if form is not None:
            raw = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        resp, body = req(self.inst, method, path, token=None, raw=raw, headers=hdrs)
        for h, v in resp.getheaders():
            if h.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";")[0]
                if "Max-Age=0" in v:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
        return resp, body.decode(errors="replace")

    def csrf(self, html):
        m = re.search(r'name="csrf" value="([^"]*)"', html)
        return m.group(1) if m else ""

    def login(self, kind, name, password):
        resp, html = self.go("GET", f"/{kind}/login")
        return self.go("POST", f"/{kind}/login",
                       {"csrf": self.csrf(html), "name": name, "password": password})


def test_login_cookie_flags(web):
    b = Browser(web)
    resp, html = b.login("admin", "root", ADMIN_PW)
    assert resp.status == 303 and resp.getheader("Location") == "/admin/"
    sc = [v for h, v in resp.getheaders() if h.lower() == "set-cookie" and "mr_session" in v][0]
    assert sc.startswith("__Host-mr_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in sc
    resp, html = b.go("GET", "/admin/")
    assert resp.status == 200 and "Overview" in html
    csp = resp.getheader("Content-Security-Policy")
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "style=" not in html and "<script>" not in html  # nothing inline: the CSP forbids it


def test_login_refusals(web):
    b = Browser(web)
    resp, html = b.login("admin", "root", "wrong")
    assert resp.status == 401 and 'class="error"' in html
    assert "__Host-mr_session" not in b.cookies
    # An app password never opens the pages; nor does a user's password open /admin/.
    resp, html = b.login("admin", DEMO, DEMO_PASSWORD)
    assert resp.status == 401
    # A login form without its cookie's token is refused before any password is tried.
    b2 = Browser(web)
    resp, html = b2.go("POST", "/account/login", {"csrf": "0" * 32, "name": DEMO,
                                                  "password": DEMO_PASSWORD})
    assert resp.status == 403 and "__Host-mr_session" not in b2.cookies


def test_csrf_required(web):
    b = Browser(web)
    b.login("admin", "root", ADMIN_PW)
    resp, html = b.go("POST", "/admin/domains", {"domain": "csrf.test"})
    assert resp.status == 403
    resp, html = b.go("POST", "/admin/domains", {"domain": "csrf.test", "csrf": "f" * 64})
    assert resp.status == 403
    resp, html = b.go("GET", "/admin/domains")
    token = b.csrf(html)
    resp, html = b.go("POST", "/admin/domains", {"domain": "csrf.test", "csrf": token},
                      headers={"Origin": "https://evil.example"})
    assert resp.status == 403
    st, o = api(web, "GET", "/domains")
    assert "csrf.test" not in o["domains"]
    resp, html = b.go("POST", "/admin/domains", {"domain": "csrf.test", "csrf": token})
    assert resp.status == 303
    st, o = api(web, "GET", "/domains")
    assert "csrf.test" in o["domains"]
    api(web, "DELETE", "/domains/csrf.test")


def test_user_cannot_reach_others(web):
    web.add_user(f"eve@{DOMAIN}", "eve-password-1")
    eve = Browser(web)
    resp, _ = eve.login("account", f"eve@{DOMAIN}", "eve-password-1")
    assert resp.status == 303 and resp.getheader("Location") == "/account/"
    resp, html = eve.go("GET", "/account/")
    assert resp.status == 200 and f"eve@{DOMAIN}" in html and DEMO not in html
    # The admin pages are not hers.
    resp, html = eve.go("GET", "/admin/users")
    assert resp.status in (303, 403)
    token = eve.csrf(html) or eve.csrf(eve.go("GET", "/account/password")[1])
    resp, html = eve.go("POST", f"/admin/users/{DEMO}/password", {"csrf": token, "password": "x"})
    assert resp.status == 403
    # Her session is no API token.
    st, o = api(web, "GET", "/users", token=None,
                headers={"Cookie": "; ".join(f"{k}={v}" for k, v in eve.cookies.items())})
    assert st == 401
    # Fields naming another user are ignored: her forms act on her own address only.
    resp, html = eve.go("GET", "/account/forward")
    resp, html = eve.go("POST", "/account/forward", {"csrf": eve.csrf(html), "targets": "eve2@far.test",
                                                     "keep": "1", "address": DEMO, "user": DEMO})
    assert resp.status == 303
    st, o = api(web, "GET", f"/users/{DEMO}")
    assert o["forward"] is None
    st, o = api(web, "GET", f"/users/eve@{DOMAIN}")
    assert o["forward"]["targets"] == ["eve2@far.test"]
    # Her password change needs her current password.
    resp, html = eve.go("GET", "/account/password")
    resp, html = eve.go("POST", "/account/password", {"csrf": eve.csrf(html), "current": "wrong",
                                                      "password": "new-pass-123", "confirm": "new-pass-123"})
    assert resp.status in (401, 403) and 'class="error"' in html


def test_logout_ends_session(web):
    b = Browser(web)
    b.login("admin", "root", ADMIN_PW)
    session = b.cookies["__Host-mr_session"]
    resp, html = b.go("GET", "/admin/")
    resp, html = b.go("POST", "/logout", {"csrf": b.csrf(html)})
    assert resp.status == 303
    # The old cookie, replayed, opens nothing.
    b.cookies["__Host-mr_session"] = session
    resp, html = b.go("GET", "/admin/")
    assert resp.status == 303 and resp.getheader("Location") == "/admin/login"


def test_pages_bad_input(web):
    b = Browser(web)
    resp, _ = b.go("GET", "/admin/%00")
    assert resp.status in (400, 303, 404)
    resp, _ = b.go("GET", "/admin/../etc/passwd")
    assert resp.status in (400, 303, 404)
    resp, _ = b.go("PUT", "/admin/domains")
    assert resp.status == 405
    resp, body = b.go("GET", "/static/style.css")
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/css")
    resp, body = b.go("GET", "/static/nothing.css")
    assert resp.status == 404
    st, o = api(web, "GET", "/domains")
    assert st == 200
