"""Builders for realistic captured exchanges, shared by the capture tests."""

from __future__ import annotations

import base64
import functools
import gzip
import json
import zlib
from typing import Any

import brotli
import zstandard

from agent.proxy.exchange import RequestSnapshot
from agent.proxy.exchange import ResponseSnapshot
from agent.proxy.hosts import HostList
from agent.proxy.hosts import Route
from agent.writer.parsed import ParsedCall
from agent.writer.parsers import parse_call
from tests.support.standin.eventstream import encode_frame as encode_event_message


@functools.cache
def host_list() -> HostList:
    return HostList.load()


def body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def compress(data: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(data)
    if encoding == "deflate":
        return zlib.compress(data)
    if encoding == "br":
        return brotli.compress(data, quality=5)
    if encoding == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    raise ValueError(encoding)


def sse(*events: Any, done: bool = False, named: bool = False) -> bytes:
    """SSE body: each event a dict (data only, or with its type as the event name) or raw str."""
    out = []
    for event in events:
        if isinstance(event, str):
            out.append(event)
            continue
        name = f"event: {event['type']}\n" if named and isinstance(event, dict) and "type" in event else ""
        out.append(f"{name}data: {json.dumps(event)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def frame(event_type: str, payload: Any, message_type: str = "event") -> bytes:
    headers: dict[str, object] = {":message-type": message_type, ":content-type": "application/json"}
    headers[":exception-type" if message_type == "exception" else ":event-type"] = event_type
    return encode_event_message(headers, body_bytes(payload))


def bedrock_chunk(inner: dict[str, Any]) -> bytes:
    return frame("chunk", {"bytes": base64.b64encode(json.dumps(inner).encode()).decode(), "p": "abc"})


def exchange(
    host: str,
    path: str,
    *,
    method: str = "POST",
    request: Any = None,
    response: Any = None,
    status: int | None = 200,
    request_headers: tuple[tuple[str, str], ...] | None = None,
    response_headers: tuple[tuple[str, str], ...] | None = None,
    content_type: str = "application/json",
    streamed: bool = False,
    truncated: bool = False,
    error: str | None = None,
) -> tuple[Route, RequestSnapshot, ResponseSnapshot]:
    route = host_list().match(host, path, method)
    assert route is not None, f"no route for {method} {host}{path}"
    req_headers = request_headers if request_headers is not None else (("Content-Type", "application/json"),)
    resp_headers = response_headers if response_headers is not None else (("Content-Type", content_type),)
    req = RequestSnapshot(method, "https", host, 443, path, req_headers, body_bytes(request), 1_700_000_000.0)
    resp = ResponseSnapshot(status, resp_headers, body_bytes(response), streamed, truncated, error)
    return route, req, resp


def run(host: str, path: str, **kwargs: Any) -> ParsedCall:
    limit = kwargs.pop("max_decoded_bytes", 64 * 1024 * 1024)
    route, req, resp = exchange(host, path, **kwargs)
    return parse_call(route, req, resp, max_decoded_bytes=limit)
