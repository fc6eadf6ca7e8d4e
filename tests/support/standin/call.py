"""What a vendor handler receives (`Call`) and returns (`Reply`), plus small reply builders."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from email.message import Message
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import unquote

MODE_HEADER = "x-standin-mode"
DELAY_HEADER = "x-standin-delay-ms"
BATCH_SIZE_HEADER = "x-standin-batch-size"
MODES = frozenset(
    {
        "malformed-json",
        "truncated-stream",
        "unknown-events",
        "interleaved",
        "binary-garbage",
        "gzip",
        "deflate",
        "br",
        "zstd",
        "bomb",
        "huge",
        "error-in-stream",
        "crc-error",
        "slow",
    }
)
SLOW_DELAY_MS = 250
_MODEL_MODE = re.compile(r"standin-(" + "|".join(sorted(MODES, key=len, reverse=True)) + r")\b")


class ServerState:
    """What the stand-in remembers between calls: uploaded files and created batches.

    Only identifiers and custom_ids are kept, never file contents, so a long benchmark run
    stays small.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}  # OpenAI-style batches
        self.message_batches: dict[str, dict[str, Any]] = {}  # Anthropic message batches
        self.responses: dict[str, dict[str, Any]] = {}  # background Responses API calls

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{uuid.uuid4().hex[:24]}"


@dataclass
class Call:
    """One request as the stand-in received it."""

    method: str
    host: str  # the Host header without port: the host the client asked for
    target: str  # path with query string, as sent
    headers: Message
    body: bytes
    state: ServerState
    vendor: str = ""  # set by the router
    default_delay_ms: int = 0  # the server's, for clients that cannot send the delay header

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @cached_property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.target.partition("?")[2]))

    @cached_property
    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or {} when it is not one."""
        if self.body[:1024].lstrip()[:1] not in (b"{", b"["):
            return {}  # multipart uploads, NDJSON commits: not worth a failed parse of MBs
        try:
            value = json.loads(self.body)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @cached_property
    def mode(self) -> str | None:
        """The bad-input mode asked for by header, else by a `standin-<mode>` model name."""
        header = (self.headers.get(MODE_HEADER) or "").strip().lower()
        if header in MODES:
            return header
        model = self.json.get("model")
        for where in (model if isinstance(model, str) else "", unquote(self.path)):
            if match := _MODEL_MODE.search(where):
                return match.group(1)
        return None

    @property
    def delay_ms(self) -> int:
        raw = self.headers.get(DELAY_HEADER)
        if raw is not None:
            try:
                return max(0, int(raw))
            except ValueError:
                pass
        return SLOW_DELAY_MS if self.mode == "slow" else self.default_delay_ms

    @property
    def batch_size(self) -> int:
        try:
            return max(1, min(10_000, int(self.headers.get(BATCH_SIZE_HEADER, "5"))))
        except ValueError:
            return 5


@dataclass
class Reply:
    """A response: a whole `body`, or `events` written one chunk per event with a flush each."""

    status: int = 200
    content_type: str = "application/json"
    body: bytes = b""
    events: list[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # truncated-stream: how many events to send before dropping the connection
    cut_at: int | None = None
    # the main generated text, for modes that rewrite the body around it (huge)
    text: str | None = None
    # a lazily generated body (huge, bomb), sent chunked and never held in memory
    body_stream: Iterator[bytes] | None = None
    content_length: int | None = None

    @property
    def streamed(self) -> bool:
        return self.events is not None


def json_reply(obj: Any, status: int = 200, headers: dict[str, str] | None = None,
               text: str | None = None) -> Reply:
    return Reply(status=status, body=json.dumps(obj).encode(), headers=dict(headers or {}),
                 text=text)


def error_reply(status: int, message: str, kind: str = "invalid_request_error") -> Reply:
    return json_reply({"error": {"message": message, "type": kind, "code": None}}, status)


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event; `data` is JSON-encoded unless it is already a string."""
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def sse_reply(events: list[bytes], cut_at: int | None = None, headers: dict[str, str] | None = None,
              text: str | None = None) -> Reply:
    return Reply(content_type="text/event-stream; charset=utf-8", events=events,
                 cut_at=cut_at, headers=dict(headers or {}), text=text)


def now() -> int:
    return int(time.time())


def middle(start: int, stop: int) -> int:
    """Where truncated-stream cuts: halfway through the content events [start, stop)."""
    return start + max(1, (stop - start) // 2)
