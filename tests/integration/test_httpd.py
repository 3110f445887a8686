"""test_httpd.py - the web role: autoconfig and autodiscover for hosted and
unknown domains, the MTA-STS policy by Host, 404, the 301 on http, the security
headers on every reply, an oversized request refused while the server goes on,
SMTP working meanwhile, and httpd's walls."""
import http.client
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest

from conftest import DEMO, DEMO_PASSWORD, DOMAIN, HOSTNAME, free_port, wait_port

CSP = "default-src 'none'; frame-ancestors 'none'"


@pytest.fixture(scope="module")
def web(make_module_instance):
    ports = {"https": free_port(), "http": free_port()}
    inst = make_module_instance({("listen", "https"): f"127.0.0.1:{ports['https']}",
                                 ("listen", "http"): f"127.0.0.1:{ports['http']}"},
                                start=False)
    inst.extra_env["MAILROOM_WALL_PROBE"] = "1"
    inst.start()
    inst.web = ports
    wait_port(ports["https"])
    wait_port(ports["http"])
    inst.wait_event("started", _role="httpd")
    return inst


def https(inst, method, path, body=None, host=None, headers=None):
    conn = http.client.HTTPSConnection("127.0.0.1", inst.web["https"], timeout=10,
                                       context=inst.ssl_context())
    hdrs = dict(headers or {})
    if host is not None:
        hdrs["Host"] = host
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def check_headers(resp, tls=True):
    assert resp.getheader("Content-Security-Policy") == CSP
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    hsts = resp.getheader("Strict-Transport-Security")
    if tls:
        assert hsts is not None and hsts.startswith("max-age=")
    else:
        assert hsts is None


def test_autoconfig_hosted(web):
    for path in ("/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"):
        url = f"https://127.0.0.1:{web.web['https']}{path}?emailaddress=demo%40{DOMAIN}"
        with urllib.request.urlopen(url, context=web.ssl_context(), timeout=10) as r:
            assert r.status == 200
            check_headers(r)
            doc = r.read().decode()
        assert '<incomingServer type="pop3">' in doc
        assert f"<hostname>{HOSTNAME}</hostname>" in doc
        assert f"<port>{web.ports['pop3s']}</port>" in doc and "<socketType>SSL</socketType>" in doc
        assert f"<port>{web.ports['submissions']}</port>" in doc
        assert f"<port>{web.ports['submission']}</port>" in doc
        assert "<socketType>STARTTLS</socketType>" in doc
        assert "<username>%EMAILADDRESS%</username>" in doc
        assert f"<domain>{DOMAIN}</domain>" in doc


def test_autoconfig_unknown_domain(web):
    resp, _ = https(web, "GET", "/mail/config-v1.1.xml?emailaddress=someone%40elsewhere.test")
    assert resp.status == 404
    check_headers(resp)
    resp, _ = https(web, "GET", "/mail/config-v1.1.xml")
    assert resp.status == 400


def test_autodiscover(web):
    req = ('<?xml version="1.0" encoding="utf-8"?>\n'
           '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
           'requestschema/2006"><Request>'
           f'<EMailAddress>{DEMO}</EMailAddress>'
           '<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/'
           'outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>')
    resp, data = https(web, "POST", "/autodiscover/autodiscover.xml", body=req,
                       headers={"Content-Type": "text/xml"})
    assert resp.status == 200
    check_headers(resp)
    doc = data.decode()
    assert "<Type>POP3</Type>" in doc and "<Type>SMTP</Type>" in doc
    assert f"<Port>{web.ports['pop3s']}</Port>" in doc
    assert f"<Port>{web.ports['submissions']}</Port>" in doc
    assert f"<LoginName>{DEMO}</LoginName>" in doc
    assert f"<Server>{HOSTNAME}</Server>" in doc
    resp, _ = https(web, "POST", "/Autodiscover/Autodiscover.xml",
                    body=req.replace(DOMAIN, "elsewhere.test"))
    assert resp.status == 404
    resp, _ = https(web, "POST", "/autodiscover/autodiscover.xml", body="<Request>nothing</Request>")
    assert resp.status == 400


def test_mta_sts(web):
    resp, data = https(web, "GET", "/.well-known/mta-sts.txt", host=f"mta-sts.{DOMAIN}")
    assert resp.status == 200
    check_headers(resp)
    assert resp.getheader("Content-Type").startswith("text/plain")
    # the same policy `dns records` announces
    assert data.decode() == (f"version: STSv1\r\nmode: testing\r\nmx: {HOSTNAME}\r\n"
                             "max_age: 604800\r\n")
    resp, _ = https(web, "GET", "/.well-known/mta-sts.txt", host="mta-sts.elsewhere.test")
    assert resp.status == 404
    resp, _ = https(web, "GET", "/.well-known/mta-sts.txt", host=f"{DOMAIN}")
    assert resp.status == 404


def test_not_found(web):
    resp, data = https(web, "GET", "/nothing-here")
    assert resp.status == 404
    check_headers(resp)
    resp, _ = https(web, "DELETE", "/")
    assert resp.status == 405
    check_headers(resp)


def test_http_redirects(web):
    conn = http.client.HTTPConnection("127.0.0.1", web.web["http"], timeout=10)
    conn.request("GET", "/some/path?x=1", headers={"Host": f"Mail.{DOMAIN}:8080"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 301
    assert resp.getheader("Location") == f"https://mail.{DOMAIN}/some/path?x=1"
    check_headers(resp, tls=False)
    conn.request("GET", "/", headers={"Host": "bad host\\name"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 301
    assert resp.getheader("Location") == f"https://{HOSTNAME}/"
    conn.close()


def test_oversized_requests_then_smtp_and_https_go_on(web):
    big = "<a>" + "x" * (100 * 1024) + "</a>"
    try:
        resp, _ = https(web, "POST", "/autodiscover/autodiscover.xml", body=big)
        assert 400 <= resp.status < 500
    except (ConnectionError, ssl.SSLError, http.client.HTTPException):
        pass  # a close before the whole body was sent is a refusal too
    # headers over 16 KiB
    try:
        resp, _ = https(web, "GET", "/", headers={"X-Big": "y" * (20 * 1024)})
        assert 400 <= resp.status < 500
    except (ConnectionError, ssl.SSLError, http.client.HTTPException):
        pass
    # meanwhile SMTP works, and so does the web
    with smtplib.SMTP_SSL("127.0.0.1", web.ports["submissions"], timeout=10,
                          context=web.ssl_context()) as s:
        s.login(DEMO, DEMO_PASSWORD)
        s.sendmail(DEMO, [DEMO], b"Subject: while the web works\r\n\r\nhello\r\n")
    resp, _ = https(web, "GET", "/nothing-here")
    assert resp.status == 404


def test_plain_http_on_https_port_gets_no_page(web):
    with socket.create_connection(("127.0.0.1", web.web["https"]), timeout=10) as s:
        s.sendall(b"GET /mail/config-v1.1.xml HTTP/1.0\r\n\r\n")
        s.settimeout(5)
        try:
            data = s.recv(4096)
        except (socket.timeout, ConnectionError):
            data = b""
    assert b"clientConfig" not in data and not data.startswith(b"HTTP/")


def test_walls(web):
    web.wait_event("wall-probe", _role="httpd", check="tcp connect")
    for what in ("open accounts.db", "open key.pem", "exec /bin/sh", "tcp connect"):
        assert web.events("wall-probe", _role="httpd", check=what, result="refused"), what
    probes = web.events("wall-probe", _role="httpd")
    assert probes and [p for p in probes if p["result"] == "allowed"] == [], probes


def served_cert(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s) as tls:
            return tls.getpeercert(binary_form=True)


def web_instance(make_instance, settings=None):
    port = free_port()
    cfg = {("listen", "https"): f"127.0.0.1:{port}"}
    cfg.update(settings or {})
    inst = make_instance(cfg)
    inst.web = {"https": port}
    wait_port(port)
    inst.wait_event("started", _role="httpd")
    return inst


def test_no_httpd_without_its_listeners(instance):
    assert instance.events("role-start", role="httpd") == []
    assert instance.events("role-start", role="smtpd")


def test_reload_certificate_and_restart(make_instance):
    inst = web_instance(make_instance)
    old = served_cert(inst.web["https"])
    key = os.path.join(inst.dir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key + ".new", "-out",
                    inst.cert + ".new", "-days", "2", "-subj", f"/CN={HOSTNAME}",
                    "-addext", f"subjectAltName=DNS:{HOSTNAME},IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key + ".new", 0o644)
    os.rename(key + ".new", key)
    os.rename(inst.cert + ".new", inst.cert)
    inst.reload()
    deadline = time.monotonic() + 15
    while served_cert(inst.web["https"]) == old:
        assert time.monotonic() < deadline, inst.log()[-3000:]
        time.sleep(0.2)
    resp, _ = https(inst, "GET", "/nothing")  # trusts the new certificate only
    assert resp.status == 404
    # killed, httpd comes back and serves again
    pid = int(inst.events("role-start", role="httpd")[-1]["pid"])
    os.kill(pid, signal.SIGKILL)
    inst.wait_event("role-start", role="httpd", count=2, timeout=20)
    assert inst.events("role-exit", role="httpd", pid=pid, signal=9, _level="error")
    assert inst.events("role-restart", role="httpd")
    deadline = time.monotonic() + 15
    while True:
        try:
            resp, _ = https(inst, "GET", "/nothing")
            assert resp.status == 404
            break
        except (ConnectionError, OSError):
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_max_connections_per_listener(make_instance):
    inst = web_instance(make_instance, {("limits", "max_connections"): "2"})
    ctx = inst.ssl_context()
    held = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", inst.web["https"]),
                                                     timeout=10)) for _ in range(2)]
    inst.wait_event("listener-paused", service="https", limit=2)
    # the third waits: no handshake while two are open
    third = socket.create_connection(("127.0.0.1", inst.web["https"]), timeout=2)
    with pytest.raises((socket.timeout, TimeoutError)):
        ctx.wrap_socket(third)
    third.close()
    held.pop().close()
    deadline = time.monotonic() + 15
    while True:
        try:
            resp, _ = https(inst, "GET", "/x")
            assert resp.status == 404
            break
        except (ConnectionError, OSError, http.client.HTTPException):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    for s in held:
        s.close()

