"""test_rate_limits.py - per client network rates ([limits] connection_rate_limit and
message_rate_limit, as Postfix's anvil): past the limit in a minute, a new connection
is refused with the too-many-connections line and a MAIL command gets 450 4.7.1;
trusted networks are exempt; 0 (the default) is no limit.
"""
import socket

from conftest import HOSTNAME
from smtpraw import Raw


def banner(inst):
    with socket.create_connection(("127.0.0.1", inst.ports["smtp"]), timeout=10) as s:
        s.settimeout(10)
        return s.recv(4096).decode()


def test_connection_rate(make_instance):
    inst = make_instance({("relay", "trusted_networks"): "",
                          ("limits", "connection_rate_limit"): "3"})
    # The instance's start-up check made one connection already: at most 3 in all.
    greeted = 0
    for _ in range(5):
        b = banner(inst)
        if not b.startswith(f"220 {HOSTNAME}"):
            break
        greeted += 1
    assert 1 <= greeted <= 3, greeted
    assert b.startswith("421 "), b
    inst.wait_event("reject", client="127.0.0.1", service="smtp", stage="connect",
                    reason="connection-rate-limit", limit=3)
    # Each listener counts apart: submission still answers.
    with socket.create_connection(("127.0.0.1", inst.ports["submission"]), timeout=10) as s:
        assert s.recv(4096).startswith(b"220 ")


def test_trusted_exempt_and_default_off(make_instance):
    trusted = make_instance({("limits", "connection_rate_limit"): "2"})
    off = make_instance({("relay", "trusted_networks"): ""})
    for inst in (trusted, off):
        for _ in range(6):
            assert banner(inst).startswith("220 ")


def test_message_rate(make_instance):
    inst = make_instance({("relay", "trusted_networks"): "",
                          ("limits", "message_rate_limit"): "2"})
    with Raw(inst.ports["smtp"]) as c:
        assert c.cmd("EHLO client.example").code == 250
        for _ in range(2):
            assert c.cmd("MAIL FROM:<a@remote.test>").code == 250
            assert c.cmd("RSET").code == 250
        r = c.cmd("MAIL FROM:<a@remote.test>")
        assert r.code == 450 and r.text.startswith("4.7.1"), r
    inst.wait_event("reject", client="127.0.0.1", stage="mail", reason="message-rate-limit",
                    limit=2, **{"from": "<a@remote.test>"})
