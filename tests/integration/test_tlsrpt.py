"""test_tlsrpt.py - SMTP TLS reports (RFC 8460) with [delivery] tls_reports = yes.

The remote agent notes the TLS outcome of each outbound session under the policy
of its domain (MTA-STS here: the policies come from a local HTTPS server, as in
test_mta_sts.py); `mailroom tlsrpt report-now` makes queued add them up and send
each policy domain's report where its _smtp._tls record says: to a mailto: address
(a domain whose MX is a local sink) as a DKIM-signed message with the gzip'd JSON
attached, and to an https: URL (a local HTTPS server) as a POST. Both must parse as
the JSON of RFC 8460 4 with the counts of the sessions made.
"""
import email
import email.policy
import gzip
import json
import uuid

import pytest

from conftest import DEMO, HOSTNAME, delivery_line
from peers import Dns, LocalCA, Sink, free_port, make_message, submit, wait_until
from stspeers import HttpsPeer, policy_text

MX = {"rpt": "127.0.0.41", "rptweb": "127.0.0.42", "rptbad": "127.0.0.43",
      "reports": "127.0.0.44"}
RUA = "tls-reports@reports.test"


@pytest.fixture(scope="module")
def ca():
    c = LocalCA("TLS-RPT test CA")
    yield c
    c.cleanup()


@pytest.fixture(scope="module")
def web(ca):
    w = HttpsPeer(ca, ["mta-sts.rpt.test", "mta-sts.rptweb.test", "mta-sts.rptbad.test",
                       "tlsrpt.web.test"])
    w.policy("rpt.test", policy_text("enforce", "mx.rpt.test"))
    w.policy("rptweb.test", policy_text("testing", "mx.rptweb.test"))
    w.policy("rptbad.test", policy_text("enforce", "mx.rptbad.test"))
    yield w
    w.stop()


@pytest.fixture(scope="module")
def dns(web):
    mx = [(f"{d}.test", f"mx.{d}.test", 10) for d in MX]
    hosts = {f"mx.{d}.test": ip for d, ip in MX.items()}
    hosts.update({f"mta-sts.{d}.test": web.host for d in ("rpt", "rptweb", "rptbad")})
    hosts["tlsrpt.web.test"] = web.host
    txt = [(f"_mta-sts.{d}.test", ["v=STSv1; id=1"]) for d in ("rpt", "rptweb", "rptbad")]
    txt += [("_smtp._tls.rpt.test", [f"v=TLSRPTv1; rua=mailto:{RUA}"]),
            ("_smtp._tls.rptbad.test", [f"v=TLSRPTv1;rua=mailto:{RUA}"]),
            ("_smtp._tls.rptweb.test", ["v=TLSRPTv1; rua=https://tlsrpt.web.test/v1/tlsrpt"])]
    d = Dns(mx=mx, hosts=hosts, txt=txt)
    yield d
    d.stop()


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def sinks(ca, port):
    s = {"rpt": Sink(host=MX["rpt"], port=port, tls=ca.server_context("mx.rpt.test")),
         "rptweb": Sink(host=MX["rptweb"], port=port, tls=True),  # self-signed
         "rptbad": Sink(host=MX["rptbad"], port=port, tls=ca.server_context("other.test")),
         "reports": Sink(host=MX["reports"], port=port)}
    yield s
    for x in s.values():
        x.stop()


@pytest.fixture(scope="module")
def inst(dns, ca, port, make_module_instance):
    return make_module_instance({
        ("delivery", "resolver"): dns.resolver, ("delivery", "remote_port"): str(port),
        ("delivery", "mta_sts"): "yes", ("delivery", "tls_reports"): "yes",
        ("delivery", "tls_ca_file"): ca.cert})


def send(inst, rcpt):
    tok = uuid.uuid4().hex[:16]
    return tok, submit(inst.ports["smtp"], DEMO, [rcpt], make_message("tlsrpt", tok))


def check_report(report, domain):
    """The RFC 8460 4 structure; returns the policies of domain, by policy type."""
    assert report["organization-name"] == HOSTNAME
    assert report["contact-info"].endswith("@example.test")
    assert isinstance(report["report-id"], str) and report["report-id"]
    dr = report["date-range"]
    for k in ("start-datetime", "end-datetime"):
        assert dr[k].endswith("Z") and "T" in dr[k], dr
    assert dr["start-datetime"].endswith("T00:00:00Z")
    out = {}
    for p in report["policies"]:
        pol = p["policy"]
        assert pol["policy-domain"] == domain, pol
        assert pol["policy-type"] in ("sts", "tlsa", "no-policy-found"), pol
        s = p["summary"]
        assert isinstance(s["total-successful-session-count"], int)
        assert isinstance(s["total-failure-session-count"], int)
        fails = p.get("failure-details", [])
        assert sum(f["failed-session-count"] for f in fails) == \
            s["total-failure-session-count"], p
        out[pol["policy-type"]] = p
    return out


def report_mails(sink, domain):
    got = []
    for t in sink.accepted():
        m = email.message_from_bytes(t.data, policy=email.policy.default)
        if m["TLS-Report-Domain"] == domain:
            got.append(m)
    return got


def test_reports_by_mail_and_by_https(inst, web, sinks):
    for _ in range(2):
        tok, _ = send(inst, "alice@rpt.test")
        sinks["rpt"].wait_token(tok)
    tok, _ = send(inst, "bob@rptweb.test")
    sinks["rptweb"].wait_token(tok)
    _, qid = send(inst, "carol@rptbad.test")  # deferred: the certificate names another host
    delivery_line(inst, qid, "carol@rptbad.test", "deferred")
    mark = inst.log_mark()
    p = inst.run_cli("tlsrpt", "report-now")
    assert "TLS reports requested" in p.stdout

    # mailto: a message at the sink of reports.test, signed, with the gzip'd JSON.
    mails = wait_until(lambda: report_mails(sinks["reports"], "rpt.test"), 30,
                       "the TLS report for rpt.test at the sink")
    m = mails[0]
    assert m.get_content_type() == "multipart/report"
    assert m.get_param("report-type") == "tlsrpt"
    assert m["TLS-Report-Submitter"] == HOSTNAME
    subject = " ".join(str(m["Subject"]).split())
    assert subject.startswith(f"Report Domain: rpt.test Submitter: {HOSTNAME} Report-ID: <")
    assert m["From"].addresses[0].addr_spec == "tlsrpt-noreply@example.test"
    sig = "".join(str(m["DKIM-Signature"]).split())
    assert "d=example.test;" in sig and "tls-report-domain" in sig.lower(), sig
    parts = [x for x in m.walk() if x.get_content_type() == "application/tlsrpt+gzip"]
    assert len(parts) == 1
    name = parts[0].get_filename()
    assert name.startswith(f"{HOSTNAME}!rpt.test!") and name.endswith(".json.gz"), name
    report = json.loads(gzip.decompress(parts[0].get_payload(decode=True)))
    assert report["report-id"] in subject
    sts = check_report(report, "rpt.test")["sts"]
    assert sts["policy"]["mx-host"] == ["mx.rpt.test"]
    assert "mode: enforce" in sts["policy"]["policy-string"]
    assert sts["summary"] == {"total-successful-session-count": 2,
                              "total-failure-session-count": 0}, sts

    bad = wait_until(lambda: report_mails(sinks["reports"], "rptbad.test"), 30,
                     "the TLS report for rptbad.test")[0]
    part = [x for x in bad.walk() if x.get_content_type() == "application/tlsrpt+gzip"][0]
    sts = check_report(json.loads(gzip.decompress(part.get_payload(decode=True))),
                       "rptbad.test")["sts"]
    assert sts["summary"]["total-successful-session-count"] == 0
    assert sts["summary"]["total-failure-session-count"] >= 1
    f = sts["failure-details"][0]
    assert f["result-type"] == "certificate-host-mismatch", f
    assert f["receiving-mx-hostname"] == "mx.rptbad.test"
    assert f["receiving-ip"] == MX["rptbad"]

    # https: a POST of the gzip'd JSON.
    path, headers, body = web.wait_posts(1)[0]
    assert path == "/v1/tlsrpt"
    assert {k.lower(): v for k, v in headers.items()}["content-type"] == \
        "application/tlsrpt+gzip"
    sts = check_report(json.loads(gzip.decompress(body)), "rptweb.test")["sts"]
    assert "mode: testing" in sts["policy"]["policy-string"]
    assert sts["summary"] == {"total-successful-session-count": 0,
                              "total-failure-session-count": 1}, sts
    f = sts["failure-details"][0]
    assert f["result-type"] == "certificate-not-trusted", f
    assert f["receiving-mx-hostname"] == "mx.rptweb.test"
    assert f["failed-session-count"] == 1
    inst.wait_event("tls-report-posted", since=mark, domain="rptweb.test",
                    url="https://tlsrpt.web.test/v1/tlsrpt", status="201")
    assert not inst.sanitizer_reports()


def test_report_now_refused_when_off(make_instance):
    i = make_instance({}, start=False)
    p = i.run_cli("tlsrpt", "report-now", check=False)
    assert p.returncode == 1 and "off" in p.stderr
