"""stspeers.py - HTTPS peers for the MTA-STS and TLS-RPT tests, on loopback.

HttpsPeer: Python's http.server over ssl with a certificate of a test CA
           (peers.LocalCA), on a loopback address of its own: the policy host
           port is 443 (RFC 8461 3.3 has no port), so each peer takes a free
           127.x.y.z:443. It answers GET with what `routes` says for the Host
           field and path: (status, content type, body, extra headers); and
           records every POST (path, headers, body) in `posts`.

Every wait is bounded; stop() ends the server thread.
"""
import http.server
import random
import socket
import ssl
import threading

from peers import wait_until


def free_loopback(port, tries=50):
    """A 127.x.y.z address where port is free (TCP), tried at random."""
    rnd = random.Random()
    for _ in range(tries):
        addr = f"127.{rnd.randint(64, 250)}.{rnd.randint(1, 250)}.{rnd.randint(1, 250)}"
        with socket.socket() as s:
            try:
                s.bind((addr, port))
            except OSError:
                continue
        return addr
    raise RuntimeError(f"no loopback address with port {port} free")


class HttpsPeer:
    def __init__(self, ca, names, port=443, host=None):
        self.host = host or free_loopback(port)
        self.port = port
        self.routes = {}   # (host, path) -> (status, content type, body bytes, headers)
        self.gets = []     # (host, path)
        self.posts = []    # (path, {header: value}, body)
        self.lock = threading.Lock()
        cert, key = ca.issue(*names, self.host)  # its address too, for an https:// URL of it
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                with peer.lock:
                    peer.gets.append((host, self.path))
                    route = peer.routes.get((host, self.path))
                status, ctype, body, extra = route or (404, "text/plain", b"not here\n", {})
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n <= 1 << 20 else b""
                with peer.lock:
                    peer.posts.append((self.path, dict(self.headers.items()), body))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer((self.host, port), Handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def policy(self, domain, text, status=200, ctype="text/plain", headers=None):
        """Serve text as the MTA-STS policy of domain."""
        body = text.encode() if isinstance(text, str) else text
        with self.lock:
            self.routes[(f"mta-sts.{domain}", "/.well-known/mta-sts.txt")] = (
                status, ctype, body, headers or {})

    def fetches(self, domain):
        with self.lock:
            return [g for g in self.gets if g[0] == f"mta-sts.{domain}"]

    def wait_posts(self, n, timeout=30.0):
        return wait_until(lambda: len(self.posts) >= n and list(self.posts), timeout,
                          f"{n} POST(s) at {self.host}:{self.port}")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def policy_text(mode, *mx, max_age=86400):
    lines = ["version: STSv1", f"mode: {mode}"] + [f"mx: {m}" for m in mx]
    lines.append(f"max_age: {max_age}")
    return "\r\n".join(lines) + "\r\n"
