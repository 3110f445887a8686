"""A loopback DNS server (python3-dnslib) serving SPF test zones: the RFC 7208
test suite's zonedata format, which the SPF tests share. TIMEOUT answers SERVFAIL
at once (the resolver's temporary failure, without waiting out a real timeout)."""

import threading

from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RD, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from peers import free_port

TIMEOUT = "TIMEOUT"


def _txt_strings(value):
    if isinstance(value, str):
        value = [value]
    out = []
    for s in value:
        b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
        # A character-string holds 255 octets: longer texts are split, as zone files do.
        out.extend([b[i:i + 255] for i in range(0, len(b), 255)] or [b""])
    return out


def load_zone(zonedata):
    """zonedata (name -> list of {TYPE: value} or "TIMEOUT") -> name -> [(type, value)]:
    SPF entries become TXT ones when the name has no TXT entry (the suite's rule)."""
    zone = {}
    for name, entries in (zonedata or {}).items():
        out, generated, has_txt = [], [], False
        for e in entries or []:
            if e == TIMEOUT:
                out.append(TIMEOUT)
                continue
            for t, v in e.items():
                if t == "TXT":
                    has_txt = True
                if t == "SPF":
                    generated.append(("TXT", v))
                    continue
                if v == "NONE" or v == ["NONE"]:
                    continue
                out.append((t, v))
        if not has_txt:
            # Before a TIMEOUT marker, as the suite's drivers place them.
            pos = out.index(TIMEOUT) if TIMEOUT in out else len(out)
            out[pos:pos] = [g for g in generated if g[1] != "NONE"]
        zone[name.lower().rstrip(".")] = out
    return zone


def _rdata(t, v):
    if t == "A":
        return A(v)
    if t == "AAAA":
        return AAAA(v)
    if t == "MX":
        return MX(v[1], v[0])
    if t == "PTR":
        return PTR(v)
    if t == "CNAME":
        return CNAME(v)
    if t == "TXT":
        if v == []:
            return RD(b"")  # no character-strings at all: illegal, but served
        return TXT(_txt_strings(v))
    return None


class _Resolver(BaseResolver):
    def __init__(self, owner):
        self.owner = owner

    def _answers(self, name, qtype, reply, depth):
        zone = self.owner.zone
        entries = zone.get(name)
        if entries is None:
            return "servfail" if name.startswith("error.") else "nxdomain"
        seen = False
        for e in entries:
            if e == TIMEOUT:
                if not seen:
                    return "servfail"
                break
            t, v = e
            if t == qtype or (t == "CNAME" and qtype != "CNAME"):
                if v == TIMEOUT:
                    return "servfail"
                seen = seen or t == qtype
                rd = _rdata(t, v)
                if rd is None:
                    continue
                reply.add_answer(RR(name, getattr(QTYPE, t), rdata=rd, ttl=0))
                if t == "CNAME" and depth < 8:
                    self._answers(str(v).lower().rstrip("."), qtype, reply, depth + 1)
        return "ok"

    def resolve(self, request, handler):
        self.owner.queries += 1
        reply = request.reply()
        # The labels' octets, not dnslib's escaped text: macros make names with spaces.
        qname = ".".join(l.decode("latin-1") for l in request.q.qname.label).lower()
        qtype = QTYPE.get(request.q.qtype)
        try:
            got = self._answers(qname, qtype, reply, 0)
        except Exception:  # a zone value dnslib cannot encode: the server's failure
            got = "servfail"
        if got == "servfail":
            reply = request.reply()
            reply.header.rcode = RCODE.SERVFAIL
        elif got == "nxdomain":
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class _Quiet:
    def log_recv(self, *a): pass
    def log_send(self, *a): pass
    def log_request(self, *a): pass
    def log_reply(self, *a): pass
    def log_truncated(self, *a): pass
    def log_error(self, *a): pass
    def log_data(self, *a): pass


class SpfDns:
    """UDP and TCP on one loopback port; .zone is replaced between scenarios."""

    def __init__(self, zonedata=None):
        self.zone = load_zone(zonedata)
        self.queries = 0
        self.port = free_port()
        res = _Resolver(self)
        self.udp = DNSServer(res, port=self.port, address="127.0.0.1", logger=_Quiet())
        self.tcp = DNSServer(res, port=self.port, address="127.0.0.1", tcp=True, logger=_Quiet())
        self.udp.start_thread()
        self.tcp.start_thread()

    def set_zone(self, zonedata):
        self.zone = load_zone(zonedata)

    @property
    def resolver(self):
        return f"127.0.0.1:{self.port}"

    def lookup(self, name, qtype, timeout=2.0):
        """One question, as a client: (rcode name, [rdata text]) - for pyspf's DNS."""
        q = DNSRecord.question(name, qtype)
        r = DNSRecord.parse(q.send("127.0.0.1", self.port, timeout=timeout))
        return RCODE.get(r.header.rcode), r.rr

    def stop(self):
        self.udp.stop()
        self.tcp.stop()
