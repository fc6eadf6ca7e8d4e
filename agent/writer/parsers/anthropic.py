"""Anthropic Messages and legacy Text Completions, as JSON or SSE.

Also serves Claude on Vertex (`rawPredict`), DeepSeek/xAI Anthropic-compatible paths, and, via
`AnthropicStream`, the events Bedrock wraps in its binary `chunk` frames. One output per
message: its text blocks, the `input` of each tool_use block, and its thinking blocks. Input tokens are
`input_tokens + cache_creation_input_tokens + cache_read_input_tokens`; the stream's last
`message_delta.usage.output_tokens` is the output count.
"""

from __future__ import annotations

import json
from typing import Any

from agent.writer.parsed import ParsedCall
from agent.writer.parsers.common import DecodedExchange
from agent.writer.parsers.common import ParseProblem
from agent.writer.parsers.common import as_float
from agent.writer.parsers.common import as_int
from agent.writer.parsers.common import dicts
from agent.writer.parsers.common import error_text
from agent.writer.parsers.common import first_int
from agent.writer.parsers.common import load_json
from agent.writer.parsers.common import load_request_json
from agent.writer.parsers.common import looks_like_sse
from agent.writer.parsers.common import message_segments
from agent.writer.parsers.common import nothing_read
from agent.writer.parsers.common import shape_of
from agent.writer.parsers.common import sse_json
from agent.writer.parsers.common import text_of


def read_request_body(call: ParsedCall, body: dict[str, Any]) -> list[tuple[str, str]]:
    """Fields of a Messages/Complete request; returns the prompt segments."""
    if call.model is None and isinstance(body.get("model"), str):
        call.model = body["model"]
    call.streamed = call.streamed or body.get("stream") is True
    call.max_tokens = first_int(body, "max_tokens", "max_tokens_to_sample")
    call.temperature = as_float(body.get("temperature"))
    call.request_n = 1
    segments: list[tuple[str, str]] = []
    system = body.get("system")
    if system:
        segments.append(("system", text_of(system)))
    segments += message_segments(body.get("messages"))
    if isinstance(body.get("prompt"), str):
        segments.append(("user", body["prompt"]))
    return segments


def parse_request(call: ParsedCall, x: DecodedExchange) -> None:
    body = load_request_json(x)
    if body is not None:
        x.prompt = read_request_body(call, body)


def _input_tokens(usage: dict[str, Any]) -> int | None:
    base = as_int(usage.get("input_tokens"))
    if base is None:
        return None
    cache = (as_int(usage.get("cache_creation_input_tokens")) or 0) + (
        as_int(usage.get("cache_read_input_tokens")) or 0
    )
    return base + cache


def read_message(call: ParsedCall, body: Any) -> None:
    """A Message (or legacy completion) object; one output."""
    if not isinstance(body, dict):
        raise ParseProblem(f"response: expected a JSON object, got {type(body).__name__}")
    if body.get("type") == "error":
        raise ParseProblem(f"response: error body: {error_text(body.get('error'))}")
    if isinstance(body.get("model"), str):
        call.served_model = body["model"]
    if isinstance(body.get("completion"), str):
        call.add_output(body["completion"])
    elif isinstance(body.get("content"), list):
        texts, thinking, tool_inputs, unknown = [], [], [], []
        for block in dicts(body.get("content")):
            kind = block.get("type")
            if kind == "text":
                texts.append(str(block.get("text") or ""))
            elif kind == "thinking":
                thinking.append(str(block.get("thinking") or ""))
            elif kind in _TOOL_BLOCKS and block.get("input") is not None:
                tool_inputs.append(json.dumps(block["input"], ensure_ascii=False))
            elif not _known_without_text(kind):
                unknown.append(str(kind))
        call.add_output("".join(texts), tool_arguments=tool_inputs, reasoning="".join(thinking))
    else:
        raise ParseProblem(f"response: no content or completion in {shape_of(body)}")
    usage = body.get("usage")
    if isinstance(usage, dict):
        call.prompt_tokens = _input_tokens(usage)
        call.completion_tokens = as_int(usage.get("output_tokens"))
    if not call.outputs[-1] and unknown:
        raise nothing_read(unknown)


def _known_without_text(kind: Any) -> bool:
    """Blocks that hold no text of the model's: encrypted thinking, and server tools' results."""
    return kind in ("redacted_thinking", "tool_use", "server_tool_use") or (
        isinstance(kind, str) and kind.endswith("_tool_result"))


# Blocks whose `input` the model wrote: client tools, and server tools it called (web search...).
_TOOL_BLOCKS = ("tool_use", "server_tool_use")


class AnthropicStream:
    """Accumulates Messages stream events (SSE data, or Bedrock chunk payloads)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.thinking: list[str] = []
        self.tool_json: dict[int, list[str]] = {}
        self.stopped = False
        self.started = False
        self.error: str | None = None
        self.unknown = 0

    def feed(self, call: ParsedCall, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            self.started = True
            message = event["message"]
            if isinstance(message.get("model"), str):
                call.served_model = message["model"]
            usage = message.get("usage")
            if isinstance(usage, dict):
                call.prompt_tokens = _input_tokens(usage)
                call.completion_tokens = as_int(usage.get("output_tokens"))
        elif kind == "content_block_start":
            block = event.get("content_block") if isinstance(event.get("content_block"), dict) else {}
            if block.get("type") == "text" and block.get("text"):
                self.texts.append(str(block["text"]))
            elif block.get("type") in _TOOL_BLOCKS and block.get("input"):
                # Usually `{}` with the arguments following as input_json_delta events.
                self.tool_json.setdefault(self._index(event), []).append(json.dumps(block["input"], ensure_ascii=False))
        elif kind == "content_block_delta" and isinstance(event.get("delta"), dict):
            delta = event["delta"]
            if delta.get("type") == "text_delta":
                self.texts.append(str(delta.get("text") or ""))
            elif delta.get("type") == "thinking_delta":
                self.thinking.append(str(delta.get("thinking") or ""))
            elif delta.get("type") == "input_json_delta":
                self.tool_json.setdefault(self._index(event), []).append(str(delta.get("partial_json") or ""))
        elif kind == "message_delta":
            usage = event.get("usage")
            if isinstance(usage, dict):
                # Cumulative counts: the last message_delta is authoritative.
                call.completion_tokens = as_int(usage.get("output_tokens"))
                if _input_tokens(usage) is not None:
                    call.prompt_tokens = _input_tokens(usage)
        elif kind == "message_stop":
            self.stopped = True
        elif kind == "completion" or (kind is None and "completion" in event):
            # Legacy Text Completions: /v1/complete streams, and Bedrock's legacy Claude chunks
            # (`{"completion", "stop_reason"}` without a type).
            self.started = True
            self.texts.append(str(event.get("completion") or ""))
            if event.get("stop_reason"):
                self.stopped = True
            if isinstance(event.get("model"), str):
                call.served_model = event["model"]
        elif kind == "error":
            self.error = error_text(event.get("error") or event)
        elif kind not in ("ping", "content_block_stop"):
            self.unknown += 1

    @staticmethod
    def _index(event: dict[str, Any]) -> int:
        return as_int(event.get("index")) or 0

    def finish(self, call: ParsedCall) -> None:
        if self.started or self.texts or self.tool_json or self.thinking:
            call.add_output("".join(self.texts),
                            tool_arguments=["".join(self.tool_json[i]) for i in sorted(self.tool_json)],
                            reasoning="".join(self.thinking))

    def problem(self) -> str | None:
        if self.error:
            return f"response: stream error event: {self.error}"
        if not self.stopped:
            return "response: stream truncated before message_stop"
        return None


def parse_response(call: ParsedCall, x: DecodedExchange) -> None:
    if not looks_like_sse(x):
        read_message(call, load_json(x.response_body, "response"))
        return
    call.streamed = True
    events, _ = sse_json(x)
    stream = AnthropicStream()
    for event, data in events:
        if isinstance(data, dict):
            if "type" not in data:
                data = {**data, "type": event.event}
            stream.feed(call, data)
    stream.finish(call)
    problem = stream.problem()
    if problem:
        raise ParseProblem(problem)
