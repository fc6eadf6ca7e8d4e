"""Plain data passed from the proxy hook to the parsers.

The hook snapshots a flow into a `RequestSnapshot` / `ResponseSnapshot` pair (headers and URL
already redacted by `agent.proxy.redact`) and queues them; the writer thread turns the pair into
a `ParsedCall` (agent.writer.parsed) with `agent.writer.parsers.parse_call`. Nothing here may
hold a secret: these objects travel through queues and journals.
"""

from __future__ import annotations

from dataclasses import dataclass

Headers = tuple[tuple[str, str], ...]


def header_value(headers: Headers, name: str) -> str | None:
    """First value of a header, matched case-insensitively (HTTP names are case-insensitive)."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


@dataclass(frozen=True, slots=True)
class RequestSnapshot:
    method: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, already redacted
    headers: Headers  # already redacted
    body: bytes  # raw wire bytes, possibly Content-Encoding-compressed
    ts: float

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


@dataclass(frozen=True, slots=True)
class ResponseSnapshot:
    status: int | None
    headers: Headers  # already redacted
    body: bytes  # raw wire bytes; for a streamed response, the chunks the tee saw
    streamed: bool = False
    truncated: bool = False  # the tee hit its byte cap, so the body ends early
    error: str | None = None  # connection error or abort reported by mitmproxy

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)
