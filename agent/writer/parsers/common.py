"""Shared pieces of the parsers: the decoded view of an exchange, JSON helpers, small readers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from agent.json_exact import fits_orjson
from agent.proxy.exchange import ResponseSnapshot
from agent.proxy.hosts import Route
from agent.writer.parsed import ParsedCall
from agent.writer.streams import SSEEvent
from agent.writer.streams import parse_sse


class ParseProblem(Exception):
    """Why (part of) a body could not be read; the message becomes `parse_error` verbatim."""


@dataclass(slots=True)
class DecodedExchange:
    """A request/response pair with bodies already decoded (Content-Encoding undone)."""

    route: Route
    method: str
    query: dict[str, str]
    request_headers: dict[str, str]  # lower-case names
    request_body: bytes
    response: ResponseSnapshot
    response_headers: dict[str, str]  # lower-case names
    response_body: bytes
    # Filled by the request parser for the dispatcher: prompt segments (role, text) that feed the
    # template signature and prompt hash.
    prompt: list[tuple[str, str]] = field(default_factory=list)
    # Problems that did not stop parsing (a skipped bad event), reported after the family's own.
    notes: list[str] = field(default_factory=list)

    @property
    def request_content_type(self) -> str:
        return media_type(self.request_headers.get("content-type"))

    @property
    def response_content_type(self) -> str:
        return media_type(self.response_headers.get("content-type"))

    @property
    def response_ok(self) -> bool:
        status = self.response.status
        return status is not None and 200 <= status < 300


def media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def parse_query(path: str) -> dict[str, str]:
    _, _, query = path.partition("?")
    return dict(parse_qsl(query, keep_blank_values=True)) if query else {}


def lower_headers(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers:
        out.setdefault(name.lower(), value)
    return out


def load_json(body: bytes, side: str) -> Any:
    """Decode a JSON document; ParseProblem names the side and byte offset on failure."""
    if not body.strip():
        raise ParseProblem(f"{side}: empty body")
    if fits_orjson(body):  # orjson first (see loads_stripped); anything it refuses, json reads
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseProblem(f"{side}: body is not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseProblem(f"{side}: invalid JSON at byte {len(text[: exc.pos].encode())}") from None
    except RecursionError:
        raise ParseProblem(f"{side}: JSON nested too deeply") from None


def load_request_json(x: DecodedExchange) -> dict[str, Any] | None:
    """The request body as a JSON object, None when there is no body (GET)."""
    if not x.request_body.strip():
        return None
    value = load_json(x.request_body, "request")
    if not isinstance(value, dict):
        raise ParseProblem(f"request: expected a JSON object, got {type(value).__name__}")
    return value


_SCAN_ONCE = json.JSONDecoder().scan_once  # the C scanner when the json accelerator is there


def loads_stripped(text: str, fast: bool = False) -> Any:
    """json.loads of a text without surrounding whitespace: the same value or the same error.

    A stream holds one JSON document per event (about 80 for a 1.5 KB answer streamed a few
    words at a time); calling the scanner directly skips json.loads' Python layers, which cost
    more than the scan of a small event. Anything the scanner does not read whole (an error, extra
    data) goes through json.loads, so errors and their positions are json.loads' own.

    With `fast` (the caller checked fits_orjson on the body the text comes from) orjson reads
    first: strict RFC 8259 JSON, which json reads to the same value, in a fraction of the time.
    What it refuses (NaN, 1e400, lone surrogate escapes, every error) goes the json way, so values
    and errors stay json's (tests/writer/test_fast_json.py); the one difference is nesting about
    1,000 deep, which json's recursion limit refuses and orjson reads up to 1,024."""
    if fast:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    try:
        value, end = _SCAN_ONCE(text, 0)
    except StopIteration:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value


def sse_json(x: DecodedExchange) -> tuple[list[tuple[SSEEvent, Any]], bool]:
    """(event, decoded data) per SSE event of the response, and whether the stream ended cleanly.

    '[DONE]' decodes to None. An event whose data is not JSON is skipped and noted (first one
    only) so one bad event does not cost the rest of the stream.
    """
    events, clean = parse_sse(x.response_body)
    fast = fits_orjson(x.response_body)
    decoded: list[tuple[SSEEvent, Any]] = []
    bad = 0
    for number, event in enumerate(events, start=1):
        data = event.data.strip()
        if data == "[DONE]":
            decoded.append((event, None))
            continue
        try:
            decoded.append((event, loads_stripped(data, fast)))
        except (json.JSONDecodeError, RecursionError) as exc:
            bad += 1
            if bad == 1:
                where = f" at byte {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
                x.notes.append(f"response: SSE event {number}: invalid JSON{where}")
    if bad > 1:
        x.notes[-1] += f" (and {bad - 1} more)"
    return decoded, clean


_EVENT_SEPARATOR = b"\n\ndata: "
_DONE_EVENT = b"\n\ndata: [DONE]\n\n"


def plain_stream_values(body: bytes) -> list[Any] | None:
    """The decoded data of every event before the closing `[DONE]`, for a body in the plain shape
    of chat streams (each event one `data: ` line and a blank line, \n line ends, `[DONE]` last),
    read by one orjson pass over the events joined into a JSON array; None for any other body,
    which sse_json reads event by event.

    The values and their order are those sse_json gives (tests/writer/test_plain_stream.py):
    every \n of the body must belong to an event separator, so the separators are the event
    boundaries; the array must hold exactly one value per event, so no event held two (`1,2`)
    or none; and whatever orjson refuses (invalid UTF-8, NaN, a lone surrogate escape, an event
    that is not JSON, `[DONE]` before the end) and any integer orjson would not read exactly
    (fits_orjson) sends the body the event-by-event way. For a 1.5 KB answer streamed in 60-odd
    events, the events are read in about half the time, and the whole parse of the call takes
    149 against 201 us (bench/writer_capacity.py's mix)."""
    if not body.startswith(b"data: ") or not body.endswith(_DONE_EVENT) or b"\r" in body:
        return None
    events = body[6 : -len(_DONE_EVENT)]
    separators = events.count(_EVENT_SEPARATOR)
    if events.count(b"\n") != 2 * separators or not fits_orjson(events):
        return None
    try:
        values = orjson.loads(b"[" + events.replace(_EVENT_SEPARATOR, b",") + b"]")
    except orjson.JSONDecodeError:
        return None
    return values if len(values) == separators + 1 else None


def event_type(data: dict[str, Any], event: SSEEvent) -> str:
    """The event's `type` field, else its SSE event name (never a non-string from the body)."""
    kind = data.get("type")
    return kind if isinstance(kind, str) else event.event


def looks_like_sse(x: DecodedExchange) -> bool:
    if x.response_content_type == "text/event-stream":
        return True
    head = x.response_body.lstrip()[:16]
    return head.startswith((b"data:", b"event:", b":", b"id:"))


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def first_int(obj: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = as_int(obj.get(name))
        if value is not None:
            return value
    return None


def text_of(content: Any) -> str:
    """Text of a message content: a string, or the text parts of a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                if part.get("type") not in ("thinking", "reasoning", "redacted_thinking"):
                    texts.append(part["text"])
        return "".join(texts)
    if isinstance(content, dict) and isinstance(content.get("text"), str):
        return content["text"]
    return ""


def message_segments(messages: Any) -> list[tuple[str, str]]:
    """(role, text) for chat-style message lists (OpenAI, Anthropic, Cohere, Mistral shapes)."""
    out: list[tuple[str, str]] = []
    if not isinstance(messages, list):
        return out
    for message in messages:
        if isinstance(message, dict):
            role = str(message.get("role") or "user")
            text = text_of(message.get("content"))
            if not text and isinstance(message.get("message"), str):  # Cohere v1 chat_history
                text = message["message"]
            if text:
                out.append((role, text))
    return out


def openai_usage_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI-style `usage` (Groq streams put it in `x_groq.usage`)."""
    usage = body.get("usage")
    if isinstance(usage, dict):
        return usage
    groq = body.get("x_groq")
    if isinstance(groq, dict) and isinstance(groq.get("usage"), dict):
        return groq["usage"]
    return None


def set_openai_usage(call: ParsedCall, usage: dict[str, Any] | None) -> None:
    """Chat/Completions names, or the Responses API's input/output names."""
    if usage:
        call.prompt_tokens = first_int(usage, "prompt_tokens", "input_tokens")
        call.completion_tokens = first_int(usage, "completion_tokens", "output_tokens")


def add_usage(call: ParsedCall, prompt: int | None, completion: int | None) -> None:
    """Sum usage (batch files add one line at a time)."""
    if prompt is not None:
        call.prompt_tokens = (call.prompt_tokens or 0) + prompt
    if completion is not None:
        call.completion_tokens = (call.completion_tokens or 0) + completion


def error_text(error: Any) -> str:
    """Short description of a vendor error object for parse_error."""
    if isinstance(error, dict):
        kind = error.get("type") or error.get("code") or error.get("status")
        message = error.get("message") or error.get("error") or ""
        if isinstance(message, dict):
            return error_text(message)
        text = f"{kind}: {message}" if kind and message else str(kind or message or "error")
    else:
        text = str(error)
    return text[:200]


def shape_of(value: Any) -> str:
    """A short description of a JSON value's shape for parse_error: its type and, for an object,
    its first keys (names only: values may be captured content)."""
    if isinstance(value, dict):
        keys = sorted(str(k)[:40] for k in value)
        more = f", +{len(keys) - 8} more" if len(keys) > 8 else ""
        return f"an object with keys [{', '.join(keys[:8])}{more}]" if keys else "an empty object"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return "null" if value is None else f"a {type(value).__name__}"


def nothing_read(kinds: list[str]) -> ParseProblem:
    """An output came out empty while the body held content of types no reader knows: say so,
    rather than store a silent empty output (a new content type would otherwise pass unseen)."""
    names = sorted({str(kind)[:40] for kind in kinds})
    more = f", +{len(names) - 6} more" if len(names) > 6 else ""
    return ParseProblem(f"response: nothing read from content of type {', '.join(names[:6])}{more}")


# Vendor JSON is untrusted: these read a field as the expected type or as an empty one.


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of a list (anything else yields nothing)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
