"""From a live mitmproxy flow to plain, redacted data: the only code that reads a flow.

Everything that leaves the hook passes through `snapshot()`, which runs the redactor over the
request and response headers and the URL before building the journal record; nothing secret exists past
this point. Response bodies are never joined here: the chunks the tee saw are handed on as they
are, so the hook stays cheap however large the body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field

from mitmproxy import http

from agent.proxy.hosts import Route
from agent.proxy.record import encode_record
from agent.proxy.redact import redact_header_fields
from agent.proxy.redact import redact_url
from agent.proxy.redact import scrub_text


@dataclass(slots=True)
class StreamTee:
    """Set as `flow.response.stream`: passes every chunk through unchanged, keeps a capped copy."""

    cap: int
    inner: Callable[[bytes], Iterable[bytes] | bytes] | None = None
    # With a Content-Length, the client holds the whole response as soon as the last byte is
    # forwarded, before mitmproxy runs the response hook; `on_complete` journals the call just
    # before that last chunk goes out, so a delivered call is always journaled.
    expected_length: int | None = None
    on_complete: Callable[[], None] | None = None
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    seen: int = 0
    truncated: bool = False

    def __call__(self, chunk: bytes) -> bytes:
        # Runs once per chunk the vendor sends (dozens per streamed answer), before the chunk goes
        # on to the client: one function, no helper calls.
        n = len(chunk)
        self.seen += n
        if n and not self.truncated:
            if self.size + n <= self.cap:
                self.chunks.append(chunk)
                self.size += n
            else:
                self.truncated = True
        if self.on_complete is not None and self.expected_length is not None and self.seen >= self.expected_length:
            done, self.on_complete = self.on_complete, None
            done()
        return chunk if self.inner is None else self.inner(chunk)


# bodies whose content type says "a stream of events", not one document
STREAM_TYPES = ("text/event-stream", "application/vnd.amazon.eventstream", "application/x-ndjson",
                "application/stream+json", "application/jsonl")


def field_value(headers, name: bytes) -> str | None:
    """`headers.get(name)` for a lower-case bytes `name`: repeated headers folded with ", " and
    decoded as mitmproxy decodes them. Its own `get` converts the name again for every field it
    compares; this runs several times per call on the event loop."""
    found = [value for key, value in headers.fields if len(key) == len(name) and key.lower() == name]
    if not found:
        return None
    return (found[0] if len(found) == 1 else b", ".join(found)).decode("utf-8", "surrogateescape")


# Host header -> the host mitmproxy's `Request.pretty_host` reports for it (parsing and IDNA
# validation cost more than the rest of route matching). Bounded like the route caches.
_HOSTS: dict[str, str] = {}
_HOSTS_MAX = 4096


def pretty_host(req: http.Request) -> str:
    """`req.pretty_host`, with its parse of the Host header cached per distinct header value."""
    # `Request.host_header`, reading the header with field_value
    host_field = field_value(req.headers, b"host")
    authority = (req.authority or host_field) if req.is_http2 or req.is_http3 else host_field
    if not authority:
        return req.host
    host = _HOSTS.get(authority)
    if host is None:
        if len(_HOSTS) >= _HOSTS_MAX:
            _HOSTS.clear()
        host = _HOSTS[authority] = req.pretty_host
    return host


_SURROGATE = re.compile("[\ud800-\udfff]")


def _target_text(path: str) -> str:
    """The request target as text that UTF-8 (and so the journal) can carry. mitmproxy decodes the
    target's bytes as UTF-8 with surrogateescape, so a byte that is not UTF-8 (a Latin-1 "café" in
    a query) arrives as a lone surrogate, and the record could not be written at all: the call was
    lost. Such a byte goes on as %XX, the byte it stands for, as a URL writes any byte; any other
    lone surrogate (only another addon could put one there) as U+FFFD."""
    if path.isascii() or not _SURROGATE.search(path):
        return path
    return _SURROGATE.sub(lambda m: f"%{ord(m[0]) - 0xDC00:02X}" if "\udc80" <= m[0] <= "\udcff" else "\ufffd", path)


def _control_free(value: str | None, limit: int = 128) -> str | None:
    if value is None:
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()[:limit]
    return cleaned or None


def snapshot(flow: http.HTTPFlow, route: Route, call_id: str, *, cap: int, extra_secret_headers: frozenset[str],
             team_header: str | None, error: str | None = None) -> list[bytes | memoryview]:
    """The flow as one journal record: a `CapturedExchange` header and its body chunks, as buffers
    for one writev. The record is the one carrier of a captured call; the writer decodes it back
    into a `CapturedExchange` with the bodies attached. The fields go straight into the record
    (`encode_record`), without the snapshot dataclasses the writer builds when it decodes."""
    req = flow.request
    req_headers, req_cred = redact_header_fields(req.headers.fields, extra_secret_headers)
    path, url_cred = redact_url(_target_text(req.path))
    credential = req_cred or url_cred
    raw = req.raw_content or b""
    request_body = [memoryview(raw)[:cap]] if len(raw) > cap else [raw]
    # RequestSnapshot's fields, its body left out: bodies travel beside the header (record.py)
    request = (req.method, req.scheme, pretty_host(req), req.port, path, req_headers, req.timestamp_start or 0.0)

    resp = flow.response
    tee = flow.response.stream if resp is not None and isinstance(resp.stream, StreamTee) else None
    if resp is None:
        status, resp_headers, response_body, truncated, response_bytes = None, (), [], False, 0
    else:
        status = resp.status_code
        resp_headers, _ = redact_header_fields(resp.headers.fields, extra_secret_headers)
        if tee is not None:
            response_body, truncated, response_bytes = tee.chunks, tee.truncated, tee.seen
        else:
            body = resp.raw_content or b""
            response_body = [memoryview(body)[:cap]] if len(body) > cap else [body]
            truncated, response_bytes = len(body) > cap, len(body)
    content_type = ((field_value(resp.headers, b"content-type") or "") if resp is not None else "").lower()
    event_stream = any(t in content_type for t in STREAM_TYPES)
    response = (status, resp_headers, event_stream, truncated, scrub_text(error) if error else None)

    proxy_user = None
    auth = flow.metadata.get("proxyauth")
    if isinstance(auth, tuple) and auth:
        proxy_user = _control_free(str(auth[0]), 255)  # auth[1] is the password: never read
    peer = flow.client_conn.peername
    header_team = _control_free(field_value(req.headers, team_header.lower().encode("utf-8", "surrogateescape"))) if team_header else None
    who = (credential.sha256 if credential else None, proxy_user, peer[0] if peer else None, header_team)
    finished = (resp and resp.timestamp_end) or req.timestamp_end or req.timestamp_start or 0.0
    return encode_record(call_id, route, request, response, who, finished, (len(raw), response_bytes),
                         request_body, response_body)
