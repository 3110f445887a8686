"""dnssec.py - DNSSEC-signed test zones on loopback, for the DANE tests.

SignedDns: zones written at test time, signed with ldns-signzone (ldnsutils) under
           a fresh ECDSA P-256 key each (NSEC denial of existence), and served by an
           nsd on 127.0.0.1:port. trust_anchor is a file of the signed zones' DNSKEY
           records: give it to the instance as [delivery] dnssec_trust_anchor, and nsd
           as its [delivery] resolver; the instance's libunbound validates the answers
           itself. Unsigned zones are served as they are (insecure: no anchor covers
           them). tamper replaces records after signing, so their signatures no
           longer match: a bogus answer.

Every wait is bounded; the nsd is stopped by the test module that started it.
"""
import os
import subprocess
import tempfile

from peers import Dns, free_port


class SignedDns(Dns):
    """As peers.Dns (resolver, log, stop), but nsd serving these zones:

    zones:      {origin: [record line, ...]} in zone file syntax, names relative to
                the origin or absolute (SOA and NS are added)
    unsigned:   origins served without signatures
    tamper:     [(owner, rrtype, new rdata)]: after signing, that record's data is
                replaced (its RRSIG stays): validation of that RRset fails
    """

    def __init__(self, zones, unsigned=(), tamper=()):
        self.dir = tempfile.mkdtemp(prefix="nsd-", dir="/tmp")
        os.chmod(self.dir, 0o755)  # the instance's unprivileged queued reads the anchor
        self.port = free_port()
        self.trust_anchor = os.path.join(self.dir, "trust-anchor.key")
        anchors = []
        conf_zones = []
        for origin, records in zones.items():
            path = os.path.join(self.dir, origin)
            with open(path, "w") as f:
                f.write(self._zone_text(origin, records))
            if origin in unsigned:
                conf_zones.append((origin, path))
                continue
            key = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", origin],
                                 cwd=self.dir, check=True, capture_output=True, text=True,
                                 timeout=30).stdout.strip()
            subprocess.run(["ldns-signzone", "-f", path + ".signed", path,
                            os.path.join(self.dir, key)],
                           cwd=self.dir, check=True, capture_output=True, timeout=30)
            with open(os.path.join(self.dir, key + ".key")) as f:
                anchors.append(f.read())
            self._tamper(path + ".signed", origin, tamper)
            conf_zones.append((origin, path + ".signed"))
        with open(self.trust_anchor, "w") as f:
            f.write("".join(anchors))
        os.chmod(self.trust_anchor, 0o644)
        self.conf = os.path.join(self.dir, "nsd.conf")
        with open(self.conf, "w") as f:
            f.write(self._nsd_conf(conf_zones))
        self.logpath = os.path.join(self.dir, "nsd.log")
        self.proc = subprocess.Popen(["nsd", "-d", "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self._wait_ready()

    @staticmethod
    def _zone_text(origin, records):
        head = [f"$ORIGIN {origin}.", "$TTL 300",
                f"@ IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 300",
                f"@ IN NS ns.{origin}.", "ns IN A 127.0.0.1"]
        return "\n".join(head + list(records)) + "\n"

    @staticmethod
    def _tamper(path, origin, tamper):
        lines = open(path).read().split("\n")
        for owner, rrtype, rdata in tamper:
            fqdn = owner.rstrip(".") + "."
            if not fqdn.endswith(origin + "."):
                continue
            hits = 0
            for i, line in enumerate(lines):
                f = line.split(None, 4)
                if len(f) == 5 and f[0] == fqdn and f[3] == rrtype:
                    lines[i] = "\t".join(f[:4] + [rdata])
                    hits += 1
            if hits == 0:
                raise AssertionError(f"nothing to tamper with: {owner} {rrtype}")
        with open(path, "w") as f:
            f.write("\n".join(lines))

    def _nsd_conf(self, zones):
        d = self.dir
        text = (f"server:\n  ip-address: 127.0.0.1@{self.port}\n  do-ip6: no\n"
                f'  database: ""\n  username: ""\n  chroot: ""\n'
                f'  zonelistfile: "{d}/zone.list"\n  xfrdfile: "{d}/xfrd.state"\n'
                f'  pidfile: "{d}/nsd.pid"\n  logfile: "{d}/nsd.log"\n  server-count: 1\n'
                "remote-control:\n  control-enable: no\n")
        for origin, path in zones:
            text += f"zone:\n  name: {origin}\n  zonefile: {path}\n"
        return text
