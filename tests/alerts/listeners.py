"""Real receivers on 127.0.0.1 for the alert sinks: an HTTP server (webhooks, Splunk HEC), UDP
and TCP syslog servers, and TLS syslog with a self-signed certificate. Each can go down (stop
listening) and come back on the same port, for outage tests."""

from __future__ import annotations

import datetime as dt
import json
import socket
import socketserver
import ssl
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        owner = self.server.owner
        status = owner.status
        if status == 200:
            owner.received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
        payload = b'{"text":"Success","code":0}' if status == 200 else b'{"text":"unavailable"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


class HTTPCollector:
    """Accepts JSON POSTs; `status` other than 200 makes it refuse them; `down()` stops listening."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 200
        self.port = 0
        self._server = None
        self.up()

    def up(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.owner = self
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class UDPSyslog:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                data, _ = self.sock.recvfrom(65535)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.received.append(data)

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def read_octet_counted(stream) -> list[bytes]:
    """RFC 6587 octet-counting frames: `LEN SP MSG`, until the peer closes."""
    frames, buffer = [], b""
    while True:
        chunk = stream.recv(65536)
        if not chunk:
            break
        buffer += chunk
    while buffer:
        length, _, rest = buffer.partition(b" ")
        n = int(length)
        frames.append(rest[:n])
        buffer = rest[n:]
    return frames


class TCPSyslog:
    """Octet-counted RFC 5424 over TCP, or over TLS when given a certificate."""

    def __init__(self, cert: Path | None = None, key: Path | None = None) -> None:
        self.received: list[bytes] = []
        self.port = 0
        self.context = None
        if cert is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(cert, key)
        self._server = None
        self.up()

    def up(self) -> None:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                conn = self.request
                if owner.context is not None:
                    try:
                        conn = owner.context.wrap_socket(conn, server_side=True)
                    except (ssl.SSLError, OSError):
                        return  # a client that does not trust us: nothing received
                conn.settimeout(5)
                try:
                    owner.received.extend(read_octet_counted(conn))
                except (ssl.SSLError, OSError):
                    pass

        server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler, bind_and_activate=False)
        server.allow_reuse_address = True
        server.daemon_threads = True
        server.server_bind()
        server.server_activate()
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def self_signed(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A certificate for `name` and 127.0.0.1, and its key (PEM files)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
