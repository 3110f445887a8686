"""test_metrics.py - the metrics listener: Prometheus text at GET /metrics, parsed
with prometheus_client's parser, whose counters move with what the test does
(a connection and a message on smtp, a failed AUTH and a failed POP3 login, a
relay refusal and an unknown user, a message queued for an unreachable remote
server, a local delivery); 404 and 405; garbage on the port while the server goes
on; counting that survives a role's restart; httpd started for metrics alone;
a message sent to a remote server that takes one recipient and refuses the other
(sent, delivered, bounced, and the bounce).

The instance's trusted_networks is empty, so 127.0.0.1 is an outside client: it
is refused relaying on port 25 and logs in over TLS only."""
import http.client
import os
import poplib
import re
import signal
import smtplib
import socket
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import DEMO, DEMO_PASSWORD, deferring_settings, free_port, wait_port
from peers import Sink


@pytest.fixture(scope="module")
def mx(make_module_instance):
    port = free_port()
    settings = deferring_settings()
    settings.update({("listen", "metrics"): f"127.0.0.1:{port}",
                     ("relay", "trusted_networks"): ""})
    inst = make_module_instance(settings)
    inst.metrics_port = port
    wait_port(port)
    inst.wait_event("started", _role="httpd")
    return inst


def get(inst, method="GET", path="/metrics"):
    conn = http.client.HTTPConnection("127.0.0.1", inst.metrics_port, timeout=10)
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def scrape(inst):
    """{(sample name, ((label, value), ...)): value} of one scrape."""
    resp, body = get(inst)
    assert resp.status == 200, (resp.status, body)
    assert resp.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    out = {}
    for fam in text_string_to_metric_families(body.decode()):
        assert fam.documentation, fam.name
        assert fam.type in ("counter", "gauge", "histogram"), (fam.name, fam.type)
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def val(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def wait_for(inst, cond, what, timeout=20.0):
    """Scrape until cond(samples) holds (bounded); return the samples."""
    deadline = time.monotonic() + timeout
    while True:
        s = scrape(inst)
        if cond(s):
            return s
        if time.monotonic() > deadline:
            raise AssertionError(f"metrics never showed {what}:\n" +
                                 "\n".join(f"{k} {v}" for k, v in sorted(s.items())))
        time.sleep(0.1)


def test_text_and_families(mx):
    s = scrape(mx)
    assert val(s, "mailroom_start_time_seconds") > 1.7e9
    assert val(s, "mailroom_uptime_seconds") >= 0
    for lst in ("smtp", "submission", "submissions", "pop3", "pop3s", "metrics"):
        assert ("mailroom_connections_total", (("listener", lst),)) in s
    # Only the listeners that are on: no https or http here.
    assert not any(dict(k[1]).get("listener") in ("https", "http") for k in s)
    for role in ("lookupd", "smtpd", "queued", "pop3d", "httpd"):
        assert val(s, "mailroom_role_restarts_total", role=role) == 0
    assert ("mailroom_fsync_batch_size_bucket", (("le", "+Inf"),)) in s


def test_smtp_connection_and_message(mx):
    before = scrape(mx)
    with smtplib.SMTP("127.0.0.1", mx.ports["smtp"], timeout=30) as c:
        mid = scrape(mx)
        # The session is open while we look.
        assert val(mid, "mailroom_connections_open", listener="smtp") >= 1
        c.sendmail("someone@elsewhere.example", [DEMO],
                   "Subject: metrics\r\n\r\ncounted\r\n")
    mx.wait_token(DEMO, "counted")
    after = wait_for(mx, lambda s: val(s, "mailroom_messages_received_total", listener="smtp") >
                     val(before, "mailroom_messages_received_total", listener="smtp"),
                     "the received message")
    d = lambda name, **l: val(after, name, **l) - val(before, name, **l)
    assert d("mailroom_connections_total", listener="smtp") >= 1
    assert d("mailroom_messages_received_total", listener="smtp") == 1
    assert d("mailroom_messages_received_total", listener="submission") == 0
    # Into the mailbox: a local delivery.
    assert d("mailroom_deliveries_total", transport="local", result="delivered") == 1
    assert d("mailroom_fsync_batch_size_count") >= 1
    assert val(after, "mailroom_fsync_batch_size_sum") >= val(after, "mailroom_fsync_batch_size_count")
    wait_for(mx, lambda s: val(s, "mailroom_connections_open", listener="smtp") == 0,
             "the session closed")


def test_refusals(mx):
    before = scrape(mx)
    with smtplib.SMTP("127.0.0.1", mx.ports["smtp"], timeout=30) as c:
        c.ehlo()
        c.mail("someone@elsewhere.example")
        code, _ = c.rcpt("victim@elsewhere.example")
        assert code == 554
        code, _ = c.rcpt("nobody@example.test")
        assert code == 550
        c.rset()
        code, _ = c.docmd("MAIL", "FROM:<someone@elsewhere.example> SIZE=999999999999")
        assert code == 552
    after = scrape(mx)
    d = lambda reason: (val(after, "mailroom_refusals_total", reason=reason) -
                        val(before, "mailroom_refusals_total", reason=reason))
    assert d("relay_denied") == 1
    assert d("unknown_user") == 1
    assert d("too_big") == 1
    assert d("greylisted") == 0


def test_failed_logins(mx):
    before = scrape(mx)
    with smtplib.SMTP("127.0.0.1", mx.ports["submission"], timeout=30) as c:
        c.starttls(context=mx.ssl_context())
        c.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            c.login(DEMO, "wrong-password")
    p = poplib.POP3("127.0.0.1", mx.ports["pop3"], timeout=30)
    p.stls(context=mx.ssl_context())
    p.user(DEMO)
    with pytest.raises(poplib.error_proto):
        p.pass_("wrong-password")
    p.quit()
    after = scrape(mx)
    d = lambda svc: (val(after, "mailroom_auth_failures_total", service=svc) -
                     val(before, "mailroom_auth_failures_total", service=svc))
    # smtplib's login() tries PLAIN, then LOGIN: one failure or two.
    assert d("submission") in (1, 2)
    assert d("pop3") == 1
    assert d("smtp") == 0 and d("web") == 0


def test_queued_for_unreachable_remote(mx):
    before = scrape(mx)
    with smtplib.SMTP("127.0.0.1", mx.ports["submission"], timeout=30) as c:
        c.starttls(context=mx.ssl_context())
        c.ehlo()
        c.login(DEMO, DEMO_PASSWORD)
        c.sendmail(DEMO, ["someone@unreachable.example"], "Subject: away\r\n\r\nwaiting\r\n")
    base = val(before, "mailroom_deliveries_total", transport="remote", result="deferred")
    after = wait_for(mx, lambda s: val(s, "mailroom_deliveries_total", transport="remote",
                                       result="deferred") > base, "a remote deferral")
    assert val(after, "mailroom_queue_messages") == 1
    assert 0 <= val(after, "mailroom_queue_oldest_message_age_seconds") < 60
    assert val(after, "mailroom_messages_received_total", listener="submission") - \
        val(before, "mailroom_messages_received_total", listener="submission") == 1
    assert val(after, "mailroom_messages_sent_total") == 0
    # It ages while it waits.
    time.sleep(2.2)
    later = scrape(mx)
    assert val(later, "mailroom_queue_oldest_message_age_seconds") >= 2
    assert val(later, "mailroom_queue_messages") == 1


def test_not_found_and_method(mx):
    for path in ("/", "/metrics/", "/metricsx", "/other"):
        resp, _ = get(mx, "GET", path)
        assert resp.status == 404, path
    for method in ("POST", "PUT", "DELETE"):
        resp, _ = get(mx, method, "/metrics")
        assert resp.status == 405, method
        assert resp.getheader("Allow") == "GET, HEAD"
    resp, body = get(mx, "HEAD", "/metrics")
    assert resp.status == 200 and body == b""
    resp, _ = get(mx, "GET", "/metrics?name[]=x")
    assert resp.status == 200


def test_garbage_then_scrape(mx):
    junk = [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64) + b"\r\n\r\n",
            b"GET /metrics HTTP/9.9\r\n\r\n",
            b"\x00" * 512 + b"\r\n\r\n",
            b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"]
    for data in junk:
        with socket.create_connection(("127.0.0.1", mx.metrics_port), timeout=10) as c:
            try:
                c.sendall(data)
                c.settimeout(10)
                c.recv(4096)
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                pass
    # A client that connects and says nothing, then goes: nothing stays stuck.
    socket.create_connection(("127.0.0.1", mx.metrics_port), timeout=10).close()
    s = scrape(mx)
    assert val(s, "mailroom_connections_total", listener="metrics") >= len(junk) + 1
    assert mx.events("role-restart", role="httpd") == []


def test_counts_survive_a_restart(mx):
    before = scrape(mx)
    received = val(before, "mailroom_messages_received_total", listener="smtp")
    assert received >= 1
    pid = int(mx.events("role-start", role="smtpd")[-1]["pid"])
    mark = mx.log_mark()
    os.kill(pid, signal.SIGKILL)
    mx.wait_event("started", _role="smtpd", since=mark)
    after = wait_for(mx, lambda s: val(s, "mailroom_role_restarts_total", role="smtpd") >= 1,
                     "the restart")
    assert val(after, "mailroom_role_restarts_total", role="smtpd") == \
        val(before, "mailroom_role_restarts_total", role="smtpd") + 1
    # What the dead smtpd counted is still there, and the new one counts on top.
    assert val(after, "mailroom_messages_received_total", listener="smtp") == received
    wait_port(mx.ports["smtp"])
    with smtplib.SMTP("127.0.0.1", mx.ports["smtp"], timeout=30) as c:
        c.sendmail("someone@elsewhere.example", [DEMO], "Subject: again\r\n\r\nagain\r\n")
    wait_for(mx, lambda s: val(s, "mailroom_messages_received_total", listener="smtp") ==
             received + 1, "the message after the restart")


def test_sent_and_bounced(make_instance):
    sink = Sink(rcpt_replies={"refused@remote.test": "550 5.1.1 no such user"})
    try:
        port = free_port()
        inst = make_instance({("listen", "metrics"): f"127.0.0.1:{port}",
                              ("relay", "relayhost"): f"[127.0.0.1]:{sink.port}",
                              ("delivery", "relayhost_tls"): "may"})
        inst.metrics_port = port
        wait_port(port)
        with smtplib.SMTP("127.0.0.1", inst.ports["submission"], timeout=30) as c:
            c.starttls(context=inst.ssl_context())
            c.ehlo()
            c.login(DEMO, DEMO_PASSWORD)
            c.sendmail(DEMO, ["taken@remote.test", "refused@remote.test"],
                       "Subject: out\r\n\r\nsent-token\r\n")
        sink.wait_token("sent-token")
        s = wait_for(inst, lambda s: val(s, "mailroom_bounces_total") == 1 and
                     val(s, "mailroom_queue_messages") == 0, "the bounce, and an empty queue")
        assert val(s, "mailroom_messages_sent_total") == 1
        assert val(s, "mailroom_deliveries_total", transport="remote", result="delivered") == 1
        assert val(s, "mailroom_deliveries_total", transport="remote", result="bounced") == 1
        assert val(s, "mailroom_deliveries_total", transport="remote", result="deferred") == 0
        # The bounce went to the sender's mailbox through the queue.
        wait_for(inst, lambda s: val(s, "mailroom_deliveries_total", transport="local",
                                     result="delivered") == 1, "the bounce delivered")
    finally:
        sink.stop()


def test_off_by_default(instance):
    assert instance.events("role-start", role="httpd") == []


def test_config_check_bad_metrics(make_instance):
    inst = make_instance(start=False)
    inst.set("listen", "metrics", "localhost:metrics")
    p = inst.run_cli("config", "check", check=False)
    assert p.returncode == 1
    lines = open(inst.conf).read().split("\n")
    n = next(i + 1 for i, line in enumerate(lines) if line.startswith("metrics ="))
    assert f"{inst.conf}:{n}" in p.stderr and "metrics" in p.stderr, p.stderr
    assert p.stderr.startswith("mailroom: ") and p.stderr.count("\n") == 1, p.stderr
