"""smtpraw.py - a raw SMTP client for tests that need exact bytes on the wire.

smtplib hides what the tests want to see (pipelining, bare line ends, bytes after
STARTTLS, replies the client does not expect), so this client sends what it is
given and parses replies strictly (RFC 5321 4.2). Every read has a deadline.
"""
import base64
import re
import socket
import ssl
import time

REPLY_LINE = re.compile(rb"^(\d{3})([ -])(.*)$")


class Closed(Exception):
    """The server closed the connection."""


class Reply:
    """One (possibly multi-line) reply: code, lines of text (after "ddd-" / "ddd ")."""

    def __init__(self, code, lines):
        self.code = code
        self.lines = lines

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def first(self):
        """The first line as sent: "250 2.0.0 Ok"."""
        return f"{self.code} {self.lines[0]}" if self.lines else str(self.code)

    def startswith(self, prefix):
        """Whether "<code> <first line>" starts with prefix ("550 5.1.1")."""
        return self.first.startswith(prefix)

    def __repr__(self):
        return f"Reply({self.code}, {self.lines!r})"


class Raw:
    """One SMTP connection: raw sends, strict reply parsing, optional TLS."""

    def __init__(self, port, host="127.0.0.1", tls_context=None, timeout=10.0,
                 source=None, greet=True):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        if tls_context is not None:
            self.sock = tls_context.wrap_socket(self.sock)
        self.buf = b""
        self.banner = self.reply() if greet else None

    # -- low level --
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no reply within {self.timeout}s; have {self.buf[:200]!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError) as e:
            raise Closed(str(e)) from e
        except socket.timeout as e:
            raise TimeoutError(f"no reply within {self.timeout}s; have {self.buf[:200]!r}") from e
        if not chunk:
            raise Closed(f"connection closed; unread {self.buf[:200]!r}")
        self.buf += chunk

    def line(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise AssertionError("reply line over 1 MB")
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self, timeout=None):
        """Read one reply; every line must be "ddd-text" or "ddd text" with the same code."""
        lines, code = [], None
        while True:
            raw = self.line(timeout)
            m = REPLY_LINE.match(raw)
            assert m, f"malformed reply line {raw!r}"
            c = int(m.group(1))
            assert code is None or c == code, f"code changed inside a reply: {raw!r}"
            code = c
            lines.append(m.group(3).decode("utf-8", "replace"))
            if m.group(2) == b" ":
                return Reply(code, lines)

    def replies(self, n, timeout=None):
        return [self.reply(timeout) for _ in range(n)]

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def pending(self, wait=0.3):
        """Whatever the server sends within `wait` seconds (b"" when nothing); for
        checking that nothing unexpected arrives."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            except (ConnectionResetError, ssl.SSLError):
                break
            if not chunk:
                break
            self.buf += chunk
        out, self.buf = self.buf, b""
        return out

    def expect_closed(self, timeout=None):
        """The server closes the connection (after any replies still in flight); returns
        the bytes it sent before closing."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            while True:
                self._fill(deadline)
        except Closed:
            out, self.buf = self.buf, b""
            return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- SMTP steps --
    def ehlo(self, name="client.example"):
        r = self.cmd(f"EHLO {name}")
        assert r.code == 250, r
        return r

    def keywords(self, ehlo_reply):
        """EHLO keywords (upper case) -> their parameters."""
        out = {}
        for line in ehlo_reply.lines[1:]:
            parts = line.split(" ", 1)
            out[parts[0].upper()] = parts[1] if len(parts) > 1 else ""
        return out

    def starttls(self, context):
        r = self.cmd("STARTTLS")
        assert r.code == 220, r
        assert self.buf == b"", f"bytes after the 220 to STARTTLS: {self.buf!r}"
        self.sock.settimeout(self.timeout)
        self.sock = context.wrap_socket(self.sock)
        return r

    def auth_plain(self, user, password, authzid=""):
        token = base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()
        return self.cmd(f"AUTH PLAIN {token}")

    def mail_rcpt_data(self, sender, rcpts, body, params=""):
        """MAIL, RCPTs, DATA and the text (dot-stuffed here); returns the final reply."""
        r = self.cmd(f"MAIL FROM:<{sender}>{' ' + params if params else ''}")
        assert r.code == 250, r
        for rc in rcpts:
            r = self.cmd(f"RCPT TO:<{rc}>")
            assert r.code == 250, (rc, r)
        r = self.cmd("DATA")
        assert r.code == 354, r
        self.send(dot_stuff(body) + b".\r\n")
        return self.reply()


def dot_stuff(body):
    """CRLF line ends, leading dots doubled, a final CRLF."""
    if isinstance(body, str):
        body = body.encode()
    body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    lines = body.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)


def queue_id(reply):
    """The queue id in "250 2.0.0 Ok: queued as ID"."""
    m = re.search(r"queued as (\S+)", reply.text)
    assert m, f"no queue id in {reply}"
    return m.group(1)
