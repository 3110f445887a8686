"""test_dmarc_reports.py - DMARC aggregate reports (RFC 9990): smtpd notes the
messages whose policy record asks for reports, `mailroom dmarc report-now` makes
queued send them, and the report reaches the rua mailbox as a gzip'd XML whose
counts are those of the messages sent; an external rua without its
_report._dmarc record gets nothing.

rep.test and ext.test (served by a dnsmasq on loopback) ask for reports at
dmarc@example.test, a mailbox of the instance: external to both, so it is verified
by TXT rep.test._report._dmarc.example.test (published) and
ext.test._report._dmarc.example.test (not published).
"""
import email
import email.policy
import gzip
import re
import smtplib
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from conftest import DEMO, HOSTNAME
from peers import Dns

RUA = "dmarc@example.test"
NS = {"d": "urn:ietf:params:xml:ns:dmarc-2.0"}

TXT = [
    ("rep.test", ["v=spf1 ip4:127.0.0.1 -all"]),
    ("_dmarc.rep.test", [f"v=DMARC1; p=none; rua=mailto:{RUA}"]),
    ("rep.test._report._dmarc.example.test", ["v=DMARC1"]),
    ("ext.test", ["v=spf1 ip4:127.0.0.1 -all"]),
    ("_dmarc.ext.test", [f"v=DMARC1; p=none; rua=mailto:{RUA}"]),
    ("evil.test", ["v=spf1 ?all"]),
]


@pytest.fixture(scope="module")
def dns():
    d = Dns(hosts={HOSTNAME: "127.0.0.1", "rep.test": "192.0.2.20", "ext.test": "192.0.2.21",
                   "evil.test": "192.0.2.22"}, txt=TXT)
    yield d
    d.stop()


@pytest.fixture(scope="module")
def inst(dns, make_module_instance):
    return make_module_instance({("delivery", "resolver"): dns.resolver,
                              ("relay", "trusted_networks"): "",
                              ("inbound", "verify"): "yes"})


def send(inst, mailfrom, frm, tok):
    msg = (f"From: {frm}\r\nTo: {DEMO}\r\nSubject: rep {tok}\r\nMessage-ID: <{tok}@test>\r\n"
           f"Date: Wed, 02 Dec 2026 05:00:00 +0000\r\n\r\nbody {tok}\r\n")
    with smtplib.SMTP("127.0.0.1", inst.ports["smtp"], timeout=30) as s:
        s.ehlo("client.rep.test")
        assert s.mail(mailfrom)[0] == 250
        assert s.rcpt(DEMO)[0] == 250
        code, resp = s.data(msg.encode())
        assert code == 250, (code, resp)


def report_xml(raw):
    m = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [p for p in m.walk() if p.get_content_type() == "application/gzip"]
    assert len(parts) == 1, raw[:2000]
    name = parts[0].get_filename()
    return m, name, ET.fromstring(gzip.decompress(parts[0].get_payload(decode=True)))


def test_report_counts_and_external_check(inst):
    inst.add_user(RUA, "dmarc-password-1")
    tok = uuid.uuid4().hex[:12]
    send(inst, "a@rep.test", "A <a@rep.test>", tok + "1")
    send(inst, "b@rep.test", "<b@rep.test>", tok + "2")
    # SPF of evil.test is neutral and nothing is signed: DMARC fails (p=none: delivered).
    send(inst, "x@evil.test", "<x@rep.test>", tok + "3")
    send(inst, "c@ext.test", "<c@ext.test>", tok + "4")
    inst.wait_token(DEMO, tok + "4")
    mark = inst.log_mark()
    p = inst.run_cli("dmarc", "report-now")
    assert "requested" in p.stdout
    inst.wait_event("dmarc-reports-done", since=mark, day=re.compile(r"^\d{8}$"), messages=1)
    inst.wait_event("dmarc-report-skipped", since=mark, domain="ext.test", to="<dmarc@example.test>",
                    reason=re.compile(r"^the external destination is not verified"))
    (made,) = inst.events("dmarc-report-queued", since=mark)
    assert made["to"] == f"<{RUA}>"
    inst.wait_event("delivery", qid=made["qid"], to=f"<{RUA}>", status="sent")
    msgs = inst.wait_messages(RUA, 1)
    assert len(msgs) == 1, msgs
    m, name, root = report_xml(msgs[0])
    subject = " ".join(str(m["Subject"]).split())
    assert subject.startswith(f"Report Domain: rep.test Submitter: {HOSTNAME} Report-ID: <"), subject
    assert name.startswith(f"{HOSTNAME}!rep.test!") and name.endswith(".xml.gz"), name
    assert m["From"].addresses[0].addr_spec == "dmarc-noreply@example.test", m["From"]
    assert root.tag == "{urn:ietf:params:xml:ns:dmarc-2.0}feedback"
    assert root.findtext("d:report_metadata/d:org_name", namespaces=NS) == HOSTNAME
    rid = root.findtext("d:report_metadata/d:report_id", namespaces=NS)
    assert rid and rid in subject
    assert root.findtext("d:policy_published/d:domain", namespaces=NS) == "rep.test"
    assert root.findtext("d:policy_published/d:p", namespaces=NS) == "none"
    rows = {}
    for rec in root.findall("d:record", NS):
        assert rec.findtext("d:row/d:source_ip", namespaces=NS) == "127.0.0.1"
        assert rec.findtext("d:identifiers/d:header_from", namespaces=NS) == "rep.test"
        key = (rec.findtext("d:row/d:policy_evaluated/d:spf", namespaces=NS),
               rec.findtext("d:auth_results/d:spf/d:domain", namespaces=NS),
               rec.findtext("d:auth_results/d:spf/d:result", namespaces=NS))
        rows[key] = rows.get(key, 0) + int(rec.findtext("d:row/d:count", namespaces=NS))
        assert rec.findtext("d:row/d:policy_evaluated/d:disposition", namespaces=NS) == "none"
    assert rows == {("pass", "rep.test", "pass"): 2, ("fail", "evil.test", "neutral"): 1}, rows
    # The day's data is gone: asking again sends nothing more.
    mark = inst.log_mark()
    inst.run_cli("dmarc", "report-now")
    inst.wait_event("dmarc-reports-requested", since=mark, _role="queued")
    time.sleep(1)
    assert len(inst.messages(RUA)) == 1
    assert not inst.sanitizer_reports()


def test_report_now_refused_when_off(make_instance):
    i = make_instance({("inbound", "dmarc_reports"): "no"}, start=False)
    p = i.run_cli("dmarc", "report-now", check=False)
    assert p.returncode == 1 and "off" in p.stderr
