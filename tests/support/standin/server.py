"""The stand-in vendor: a local HTTPS server that answers like each AI vendor.

Built on ThreadingHTTPServer. Each connection does its TLS handshake in its own thread (a
handshake in accept() would block every other connection). By default it answers one request and
closes (`Connection: close`), which many tests rely on; `keep_alive=True` keeps connections open
for further requests as a real vendor does, so a benchmark does not pay an upstream TLS handshake
per call that no real deployment pays (`GET /_standin/stats` counts connections and requests).
Streamed replies go out chunked, one chunk and one flush per event, with an
optional delay between events so time-to-first-byte through the proxy can be measured.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from types import TracebackType

from . import modes
from . import router
from .call import Call
from .call import Reply
from .call import ServerState
from .call import error_reply
from .selfsigned import server_context

MAX_LOGGED_REQUESTS = 50_000
STATS_PATH = "/_standin/stats"
_SOCKET_TIMEOUT = 30


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """A request as it reached the stand-in ("the vendor")."""

    method: str
    host: str
    path: str  # with the query string
    headers: list[tuple[str, str]]
    body_length: int
    mode: str | None
    vendor: str
    received_at: float

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


class _ConnectionDropped(Exception):
    """The client went away mid-reply; nothing to do but stop writing."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body go out as separate writes: on a kept-alive connection Nagle's
    # algorithm held the body back until the peer's delayed ACK (40 ms per call). Vendors' servers
    # send without that delay too.
    disable_nagle_algorithm = True
    server_version = "aiaudit-standin"
    sys_version = ""
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log is `StandinServer.requests`

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        if not self.server.keep_alive:
            self.close_connection = True
        # else: parse_request has decided from the request's HTTP version and Connection header
        body = self._read_body()
        if self.path == STATS_PATH:
            self._send_stats()  # not counted itself
            return
        self.server.count_request()
        host = _strip_port(self.headers.get("Host", ""))
        call = Call(self.command, host, self.path, self.headers, body, self.server.state,
                    default_delay_ms=self.server.default_delay_ms)
        try:
            reply = _verbatim(self.headers) or modes.apply(call, router.dispatch(call))
        except Exception:
            self.server.errors.append(traceback.format_exc())
            reply = error_reply(500, "stand-in failed to build a reply", "server_error")
        self.server.log(LoggedRequest(self.command, host, self.path, list(self.headers.items()),
                                      len(body), call.mode, call.vendor, time.time()))
        self._sent = hashlib.sha256()
        self._sent_bytes = 0
        try:
            self._write(reply, call)
        except (_ConnectionDropped, ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True
        finally:
            # what the "vendor" sent for this request body, so a test can compare it with what a
            # client received through the proxy
            self.server.sent[hashlib.sha256(body).hexdigest()] = (self._sent.hexdigest(), self._sent_bytes)

    def _send_stats(self) -> None:
        data = json.dumps(self.server.stats()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    # ------------------------------------------------------------ writing

    def _send(self, data: bytes) -> None:
        if self.server.stopping.is_set():
            raise _ConnectionDropped
        try:
            self.wfile.write(data)
        except OSError as exc:
            raise _ConnectionDropped from exc

    def _cut(self) -> None:
        """The reply ends short on purpose: only closing the connection tells the client so."""
        self.close_connection = True

    def _payload(self, data: bytes) -> None:
        self._sent.update(data)
        self._sent_bytes += len(data)

    def _pause(self, delay_ms: int) -> None:
        if delay_ms and self.server.stopping.wait(delay_ms / 1000):
            raise _ConnectionDropped

    def _head(self, reply: Reply, chunked: bool, length: int | None = None) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(reply.body) if length is None else length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _write(self, reply: Reply, call: Call) -> None:
        truncate = call.mode == "truncated-stream"
        if truncate:
            self._cut()
        if reply.events is not None:
            self._write_events(reply.events, reply, call.delay_ms,
                               reply.cut_at if truncate else None)
        elif reply.body_stream is not None:
            self._write_stream(reply.body_stream, reply)
        else:
            self._write_body(reply, call.delay_ms, truncate)

    def _write_events(self, events: list[bytes], reply: Reply, delay_ms: int,
                      cut_at: int | None) -> None:
        self._head(reply, chunked=True)
        for index, event in enumerate(events):
            if cut_at is not None and index >= cut_at:
                return  # drop the connection before the terminal event: no last chunk
            if index:
                self._pause(delay_ms)
            if event:  # an empty chunk would end the body early
                self._payload(event)
                self._send(b"%x\r\n%s\r\n" % (len(event), event))
        self._send(b"0\r\n\r\n")

    def _write_stream(self, pieces: Iterable[bytes], reply: Reply) -> None:
        chunked = reply.content_length is None
        self._head(reply, chunked=chunked, length=reply.content_length)
        for piece in pieces:
            if piece:
                self._payload(piece)
                self._send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            self._send(b"0\r\n\r\n")

    def _write_body(self, reply: Reply, delay_ms: int, truncate: bool) -> None:
        self._head(reply, chunked=False)
        body = reply.body
        if truncate:
            self._payload(body[: len(body) // 2])
            self._send(body[: len(body) // 2])  # Content-Length promised more
            return
        if not delay_ms:
            self._payload(body)
            self._send(body)
            return
        step = max(1, -(-len(body) // 4))
        for index, offset in enumerate(range(0, len(body), step)):
            if index:
                self._pause(delay_ms)
            self._payload(body[offset: offset + step])
            self._send(body[offset: offset + step])


def _verbatim(headers) -> Reply | None:
    """`x-standin-reply: <base64>`: answer with exactly these bytes (fuzz tests choose the body),
    as one body, or split into events at `x-standin-reply-split` byte offsets. A body too long
    for one header line (the server takes 64 KiB a line) goes on in `x-standin-reply-cont1`,
    `-cont2`, ... (see `reply_headers`)."""
    encoded = headers.get("x-standin-reply")
    if encoded is None:
        return None
    more = 1
    while (piece := headers.get(f"x-standin-reply-cont{more}")) is not None:
        encoded += piece
        more += 1
    data = base64.b64decode(encoded)
    content_type = headers.get("x-standin-reply-type", "application/json")
    cuts = [int(c) for c in headers.get("x-standin-reply-split", "").split(",") if c.strip().isdigit()]
    if not cuts:
        return Reply(status=200, content_type=content_type, body=data)
    edges = [0, *sorted(c for c in cuts if 0 < c < len(data)), len(data)]
    events = [data[a:b] for a, b in zip(edges, edges[1:]) if b > a]
    return Reply(status=200, content_type=content_type, events=events)


def reply_headers(body: bytes, line: int = 60_000) -> dict[str, str]:
    """The headers asking the stand-in to answer with exactly `body` (see `_verbatim`)."""
    encoded = base64.b64encode(body).decode()
    pieces = [encoded[at: at + line] for at in range(0, len(encoded), line)] or [""]
    return {"x-standin-reply": pieces[0], **{f"x-standin-reply-cont{n}": p for n, p in enumerate(pieces[1:], 1)}}


def _strip_port(host: str) -> str:
    host = host.strip()
    if host.startswith("["):
        return host[1: host.find("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext | None,
                 default_delay_ms: int, keep_alive: bool = False) -> None:
        self.context = context
        self.keep_alive = keep_alive
        self._counts_lock = threading.Lock()
        self.connections_accepted = 0
        self.requests_received = 0
        self.default_delay_ms = default_delay_ms
        self.state = ServerState()
        self.stopping = threading.Event()
        self.requests: deque[LoggedRequest] = deque(maxlen=MAX_LOGGED_REQUESTS)
        self.errors: list[str] = []
        # sha256 of a request body -> (sha256, length) of the response body bytes sent for it
        self.sent: dict[str, tuple[str, int]] = {}
        super().__init__(address, _Handler)

    def log(self, entry: LoggedRequest) -> None:
        self.requests.append(entry)

    def count_request(self) -> None:
        with self._counts_lock:
            self.requests_received += 1

    def stats(self) -> dict[str, int]:
        """Connections accepted (each one TLS handshake when serving HTTPS) and requests received."""
        with self._counts_lock:
            return {"connections": self.connections_accepted, "requests": self.requests_received}

    def finish_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        # Runs in the connection's own thread: the TLS handshake happens here, not in accept().
        request.settimeout(_SOCKET_TIMEOUT)
        with self._counts_lock:
            self.connections_accepted += 1
        conn: socket.socket = request
        if self.context is not None:
            try:
                conn = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (ConnectionError, ssl.SSLError, TimeoutError):
            pass
        finally:
            try:
                conn.shutdown(socket.SHUT_WR)  # FIN after the last byte; no RST on close
            except OSError:
                pass
            conn.close()

    def handle_error(self, request: object, client_address: object) -> None:
        self.errors.append(traceback.format_exc())


class StandinServer:
    """The stand-in vendor on `host:port` (port 0 picks a free one), HTTPS unless `tls=False`.

    `delay_ms` is the pause between streamed events when a request does not set
    `x-standin-delay-ms` itself. `keep_alive` answers more than one request per connection (HTTP/1.1
    without `Connection: close`), as a real vendor does.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: bool = True,
                 delay_ms: int = 0, keep_alive: bool = False) -> None:
        self._httpd = _HTTPServer((host, port), server_context() if tls else None, delay_ms, keep_alive)
        self._thread: threading.Thread | None = None
        self.host = host
        self.tls = tls

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def requests(self) -> list[LoggedRequest]:
        """Requests received so far, oldest first (the last 50,000)."""
        return list(self._httpd.requests)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of replies the stand-in failed to build (a test should expect none)."""
        return list(self._httpd.errors)

    def stats(self) -> dict[str, int]:
        """{"connections": accepted so far, "requests": received so far}."""
        return self._httpd.stats()

    def sent_for(self, request_body: bytes) -> tuple[str, int] | None:
        """(sha256, length) of the response body sent for the request with this body."""
        return self._httpd.sent.get(hashlib.sha256(request_body).hexdigest())

    def clear_requests(self) -> None:
        self._httpd.requests.clear()

    def start(self) -> StandinServer:
        if self._thread is None:
            # The socket listens from construction on; serving starts with the thread.
            self._thread = threading.Thread(target=self._httpd.serve_forever,
                                            kwargs={"poll_interval": 0.1},
                                            name=f"standin-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.stopping.set()  # open streams stop at their next write
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.support.standin [--port P]`: serve until interrupted; prints the port first."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.standin", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=int, default=0,
                        help="pause between streamed events unless a request sets its own")
    parser.add_argument("--keep-alive", action="store_true",
                        help="keep connections open for further requests (a real vendor does)")
    args = parser.parse_args(argv)
    server = StandinServer(args.host, args.port, delay_ms=args.delay_ms, keep_alive=args.keep_alive).start()
    print(server.port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    for error in server.errors:
        print(error, file=sys.stderr)
    return 0
