"""Cohere native APIs: v2 chat (JSON or SSE), v1 chat and v1 generate (JSON or NDJSON streams).

One output per generation (v1 generate's `num_generations`): v2 `message.content` text items,
tool-call arguments, and `thinking` items and the `tool_plan` as reasoning; the stream's
usage is in `message-end.delta.usage`. v1 streams are newline-delimited JSON with `event_type`
(chat) or `is_finished` (generate); the final line carries the full response and its `meta`.
Token counts prefer `tokens` (what the model processed) over `billed_units`.
"""

from __future__ import annotations

import json
from typing import Any

from agent.writer.parsed import ParsedCall
from agent.writer.parsers.common import DecodedExchange
from agent.writer.parsers.common import ParseProblem
from agent.writer.parsers.common import as_dict
from agent.writer.parsers.common import as_float
from agent.writer.parsers.common import as_int
from agent.writer.parsers.common import dicts
from agent.writer.parsers.common import error_text
from agent.writer.parsers.common import event_type
from agent.writer.parsers.common import first_int
from agent.writer.parsers.common import load_json
from agent.writer.parsers.common import load_request_json
from agent.writer.parsers.common import looks_like_sse
from agent.writer.parsers.common import message_segments
from agent.writer.parsers.common import shape_of
from agent.writer.parsers.common import sse_json
from agent.writer.streams import JSONStreamError
from agent.writer.streams import iter_ndjson


def parse_request(call: ParsedCall, x: DecodedExchange) -> None:
    body = load_request_json(x)
    call.request_n = 1
    if body is None:
        return
    if call.model is None and isinstance(body.get("model"), str):
        call.model = body["model"]
    call.streamed = call.streamed or body.get("stream") is True
    call.max_tokens = first_int(body, "max_tokens")
    call.temperature = as_float(body.get("temperature"))
    call.request_n = first_int(body, "num_generations") or 1
    likelihoods = str(body.get("return_likelihoods") or "NONE").upper()
    call.logprobs = body.get("logprobs") is True or likelihoods in ("GENERATION", "ALL")
    segments: list[tuple[str, str]] = []
    if isinstance(body.get("preamble"), str):
        segments.append(("system", body["preamble"]))
    segments += message_segments(body.get("chat_history")) + message_segments(body.get("messages"))
    for key in ("message", "prompt"):
        if isinstance(body.get(key), str):
            segments.append(("user", body[key]))
    x.prompt = segments


def _set_usage(call: ParsedCall, holder: Any) -> None:
    """`usage` (v2) or `meta` (v1): prefer `tokens`, fall back to `billed_units`."""
    if not isinstance(holder, dict):
        return
    for key in ("tokens", "billed_units"):
        counts = holder.get(key)
        if isinstance(counts, dict) and counts.get("input_tokens") is not None:
            call.prompt_tokens = as_int(counts.get("input_tokens"))
            call.completion_tokens = as_int(counts.get("output_tokens"))
            return


def _v2_tool_arguments(message: dict[str, Any]) -> list[str]:
    return [str(as_dict(c.get("function")).get("arguments")) for c in dicts(message.get("tool_calls"))
            if isinstance(as_dict(c.get("function")).get("arguments"), str)]


def _v1_tool_arguments(body: dict[str, Any]) -> list[str]:
    """v1 tool calls carry `parameters` as an object."""
    return [json.dumps(c["parameters"], ensure_ascii=False) for c in dicts(body.get("tool_calls"))
            if c.get("parameters") is not None]


def _read_v2_message(call: ParsedCall, body: dict[str, Any]) -> None:
    message = as_dict(body.get("message"))
    texts, thinking = [], []
    for item in dicts(message.get("content")):
        if item.get("type") == "text":
            texts.append(str(item.get("text") or ""))
        elif item.get("type") == "thinking":
            thinking.append(str(item.get("thinking") or ""))
    if isinstance(message.get("tool_plan"), str):  # the model's stated plan before tool calls
        thinking.insert(0, message["tool_plan"])
    call.add_output("".join(texts), tool_arguments=_v2_tool_arguments(message), reasoning="".join(thinking))
    _set_usage(call, body.get("usage"))


def _read_v1_body(call: ParsedCall, body: dict[str, Any]) -> None:
    if isinstance(body.get("generations"), list):  # /v1/generate
        for generation in sorted(dicts(body["generations"]), key=lambda g: as_int(g.get("index")) or 0):
            call.add_output(str(generation.get("text") or ""))
    elif isinstance(body.get("text"), str):  # /v1/chat
        call.add_output(body["text"], tool_arguments=_v1_tool_arguments(body))
    else:
        raise ParseProblem(f"response: no text or generations in {shape_of(body)}")
    _set_usage(call, body.get("meta"))


def _read_v2_stream(call: ParsedCall, x: DecodedExchange) -> None:
    events, _ = sse_json(x)
    texts: list[str] = []
    thinking: list[str] = []
    tool_args: dict[int, list[str]] = {}
    ended = False
    error: str | None = None
    for event, data in events:
        if not isinstance(data, dict):
            continue
        kind = event_type(data, event)
        delta = as_dict(data.get("delta"))
        message = as_dict(delta.get("message"))
        if kind == "content-delta":
            content = as_dict(message.get("content"))
            texts.append(str(content.get("text") or ""))
            thinking.append(str(content.get("thinking") or ""))
        elif kind == "tool-plan-delta":
            thinking.append(str(message.get("tool_plan") or ""))
        elif kind in ("tool-call-start", "tool-call-delta"):
            function = as_dict(as_dict(message.get("tool_calls")).get("function"))
            if isinstance(function.get("arguments"), str):
                tool_args.setdefault(as_int(data.get("index")) or 0, []).append(function["arguments"])
        elif kind == "message-end":
            ended = True
            _set_usage(call, delta.get("usage"))
            if delta.get("error"):
                error = error_text(delta["error"])
    call.add_output("".join(texts), tool_arguments=["".join(tool_args[i]) for i in sorted(tool_args)],
                    reasoning="".join(thinking))
    if error:
        raise ParseProblem(f"response: stream error: {error}")
    if not ended:
        raise ParseProblem("response: stream truncated before message-end")


def _read_v1_stream(call: ParsedCall, x: DecodedExchange) -> None:
    texts: dict[int, list[str]] = {}
    final: dict[str, Any] | None = None
    problem: str | None = None
    try:
        for _, line in iter_ndjson(x.response_body):
            if not isinstance(line, dict):
                continue
            kind = line.get("event_type")
            if kind == "text-generation" or (kind is None and isinstance(line.get("text"), str)):
                texts.setdefault(as_int(line.get("index")) or 0, []).append(str(line.get("text") or ""))
            if kind == "stream-end" or line.get("is_finished") is True:
                final = line.get("response") if isinstance(line.get("response"), dict) else {}
                if line.get("finish_reason") in ("ERROR", "ERROR_TOXIC", "ERROR_LIMIT"):
                    problem = f"response: stream ended with finish_reason {line['finish_reason']}"
    except JSONStreamError as exc:
        problem = f"response: {exc}"
    if final and (final.get("text") is not None or final.get("generations")):
        _read_v1_body(call, final)  # the final line repeats the whole answer
    else:
        for i in sorted(texts):
            call.add_output("".join(texts[i]))
        if final:
            _set_usage(call, final.get("meta"))
    problem = problem or (None if final is not None else "response: stream truncated before stream-end")
    if problem:
        raise ParseProblem(problem)


def parse_response(call: ParsedCall, x: DecodedExchange) -> None:
    if looks_like_sse(x):
        call.streamed = True
        _read_v2_stream(call, x)
        return
    ndjson_type = x.response_content_type in ("application/x-ndjson", "application/stream+json")
    if call.streamed or ndjson_type or b"\n{" in x.response_body.strip():
        call.streamed = True
        _read_v1_stream(call, x)
        return
    body = load_json(x.response_body, "response")
    if not isinstance(body, dict):
        raise ParseProblem("response: expected a JSON object")
    if isinstance(body.get("message"), dict):
        _read_v2_message(call, body)
    else:
        _read_v1_body(call, body)
