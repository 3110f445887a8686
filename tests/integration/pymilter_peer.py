"""pymilter_peer.py - a milter written with Debian's python3-milter (pymilter on
Sendmail's libmilter: an implementation of the protocol independent of mailroom's),
for test_milter.py. Run as: pymilter_peer.py SOCKET RECORD_FILE, SOCKET as libmilter
takes it ("inet:PORT@127.0.0.1", "unix:/path").

What it does with a message is chosen by a word in its Subject:
  mt-discard     DISCARD
  mt-tempfail    TEMPFAIL
  mt-reject      REJECT with its own reply of two lines (550 5.7.0 ...)
  mt-tempreply   TEMPFAIL with its own reply (421-style text, code 451)
  mt-headers     adds X-Milter-Added, inserts X-Milter-Top at the top, changes
                 X-Change-Me, deletes X-Delete-Me, adds a folded X-Milter-Folded
                 and X-Milter-Inject (whose value tries to start a field of its own)
  mt-quarantine  quarantine ("held by the test milter"); with mt-headers, both
  anything else  CONTINUE, adding X-Milter-Seen: yes
Each message it sees is one JSON line in RECORD_FILE: the envelope, the macros
i and {auth_authen}, the header fields and the body as it got them.
"""
import base64
import json
import os
import sys
import threading

import Milter

RECORD = sys.argv[2]
LOCK = threading.Lock()


class Peer(Milter.Base):
    def __init__(self):
        self.rec = {"rcpts": [], "headers": [], "body": b""}

    def connect(self, hostname, family, hostaddr):
        self.rec["connect"] = [hostname, str(hostaddr)]
        return Milter.CONTINUE

    def hello(self, name):
        self.rec["helo"] = name
        return Milter.CONTINUE

    def envfrom(self, f, *params):
        self.rec["from"] = f
        self.rec["mail_params"] = list(params)
        self.rec["auth"] = self.getsymval("{auth_authen}")
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        self.rec["rcpts"].append(to)
        return Milter.CONTINUE

    def header(self, name, value):
        self.rec["headers"].append([name, value])
        return Milter.CONTINUE

    def body(self, chunk):
        self.rec["body"] += chunk
        return Milter.CONTINUE

    def subject(self):
        for name, value in self.rec["headers"]:
            if name.lower() == "subject":
                return value
        return ""

    def eom(self):
        self.rec["queue_id"] = self.getsymval("i")
        subject = self.subject()
        rec = dict(self.rec, body=base64.b64encode(self.rec["body"]).decode())
        with LOCK, open(RECORD, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if "mt-discard" in subject:
            return Milter.DISCARD
        if "mt-tempfail" in subject:
            return Milter.TEMPFAIL
        if "mt-reject" in subject:
            self.setreply("550", "5.7.0", "Refused by the test milter", "second line")
            return Milter.REJECT
        if "mt-tempreply" in subject:
            self.setreply("451", "4.7.0", "The test milter asks you to wait")
            return Milter.TEMPFAIL
        if "mt-headers" in subject:
            self.addheader("X-Milter-Added", "added")
            self.addheader("X-Milter-Top", "inserted", 0)
            self.chgheader("X-Change-Me", 1, "changed")
            self.chgheader("X-Delete-Me", 1, "")
            self.addheader("X-Milter-Folded", "first\n\tsecond")
            self.addheader("X-Milter-Inject", "a\nBcc: evil@example.test")
        if "mt-quarantine" in subject:
            self.quarantine("held by the test milter")
        if "mt-headers" not in subject and "mt-quarantine" not in subject:
            self.addheader("X-Milter-Seen", "yes")
        return Milter.CONTINUE


def main():
    os.umask(0)  # a unix socket the mail user may connect to
    Milter.factory = Peer
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.QUARANTINE)
    Milter.runmilter("mailroom-test", sys.argv[1], timeout=60)


if __name__ == "__main__":
    main()
