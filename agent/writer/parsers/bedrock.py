"""AWS Bedrock runtime: Converse / ConverseStream and InvokeModel / InvokeModelWithResponseStream.

Streams are `application/vnd.amazon.eventstream` frames. ConverseStream events carry the
member JSON directly (`contentBlockDelta.delta.text`, usage in `metadata`). InvokeModel streams
carry `chunk` events whose payload `{"bytes": base64}` holds the model provider's own event JSON:
Anthropic events (Messages, and legacy `{completion, stop_reason}` chunks) go through
`AnthropicStream`, the other providers' bodies and chunks through `bedrock_native`, one output
per generation index. A body or stream of no known family is a parse_error naming its shape.
Exception frames end the call with a parse_error naming the exception. Usage comes from `metadata.usage` (Converse), the
`amazon-bedrock-invocationMetrics` object in the last chunk, or the
`X-Amzn-Bedrock-*-Token-Count` response headers, whichever is present (headers win).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from agent.writer.parsed import ParsedCall
from agent.writer.parsers import anthropic
from agent.writer.parsers import bedrock_native
from agent.writer.parsers.common import DecodedExchange
from agent.writer.parsers.common import ParseProblem
from agent.writer.parsers.common import as_dict
from agent.writer.parsers.common import as_float
from agent.writer.parsers.common import as_int
from agent.writer.parsers.common import first_int
from agent.writer.parsers.common import load_json
from agent.writer.parsers.common import load_request_json
from agent.writer.parsers.common import message_segments
from agent.writer.parsers.common import shape_of
from agent.writer.parsers.common import text_of
from agent.writer.streams import EventStreamDecoder
from agent.writer.streams import EventStreamError


def _is_anthropic(x: DecodedExchange, body: dict[str, Any] | None = None) -> bool:
    model = (x.route.model or "").lower()
    return "anthropic." in model or "claude" in model or bool(body and "anthropic_version" in body)


def _system_segments(system: Any) -> list[tuple[str, str]]:
    if isinstance(system, str):
        return [("system", system)]
    if isinstance(system, list):
        return [("system", text_of([block])) for block in system if text_of([block])]
    return []


def parse_request(call: ParsedCall, x: DecodedExchange) -> None:
    body = load_request_json(x)
    call.request_n = 1
    if body is None:
        return
    if x.route.endpoint == "invoke" and _is_anthropic(x, body):
        x.prompt = anthropic.read_request_body(call, body)
        return
    configs = [body] + [body[k] for k in ("inferenceConfig", "textGenerationConfig") if isinstance(body.get(k), dict)]
    for config in configs:
        call.max_tokens = call.max_tokens or first_int(
            config, "maxTokens", "max_tokens", "max_completion_tokens", "max_gen_len", "max_new_tokens", "maxTokenCount"
        )
        if call.temperature is None:
            call.temperature = as_float(config.get("temperature"))
    call.request_n = first_int(body, "n", "num_generations", "numResults") or 1
    segments = _system_segments(body.get("system"))
    segments += message_segments(body.get("chat_history")) + message_segments(body.get("messages"))
    for key in ("prompt", "inputText", "message"):
        if isinstance(body.get(key), str):
            segments.append(("user", body[key]))
    x.prompt = segments


def _apply_invocation_metrics(call: ParsedCall, event: dict[str, Any]) -> bool:
    metrics = event.get("amazon-bedrock-invocationMetrics")
    if not isinstance(metrics, dict):
        return False
    call.prompt_tokens = bedrock_native.with_cache(
        as_int(metrics.get("inputTokenCount")), metrics.get("cacheReadInputTokenCount"), metrics.get("cacheWriteInputTokenCount")
    )
    call.completion_tokens = as_int(metrics.get("outputTokenCount"))
    return True


class _StreamState:
    def __init__(self, x: DecodedExchange) -> None:
        self.converse = x.route.endpoint == "converse"
        self.anthropic = anthropic.AnthropicStream() if _is_anthropic(x) and not self.converse else None
        self.generations = bedrock_native.Generations()
        self.finished = False
        self.unknown: str | None = None  # shape of the first chunk no reader recognised

    def converse_event(self, call: ParsedCall, name: str, data: dict[str, Any]) -> None:
        block = as_int(data.get("contentBlockIndex")) or 0
        if name == "contentBlockDelta" and isinstance(data.get("delta"), dict):
            delta = data["delta"]
            self.generations.text(0, delta.get("text"))
            self.generations.thought(0, as_dict(delta.get("reasoningContent")).get("text"))
            self.generations.tool(0, block, as_dict(delta.get("toolUse")).get("input"))
        elif name == "messageStop":
            self.finished = True
        elif name == "metadata":
            bedrock_native.converse_usage(call, data.get("usage"))
        elif name not in ("messageStart", "contentBlockStart", "contentBlockStop") and self.unknown is None:
            self.unknown = f"event {name!r}"

    def chunk(self, call: ParsedCall, payload: dict[str, Any], offset: int) -> None:
        try:
            inner = json.loads(base64.b64decode(str(payload.get("bytes") or ""), validate=True))
        except (binascii.Error, ValueError):
            raise ParseProblem(f"response: chunk at byte {offset} does not hold base64 JSON") from None
        if not isinstance(inner, dict):
            self.unknown = self.unknown or f"a chunk holding {shape_of(inner)}"
            return
        if self.anthropic is None and not self.generations and (
            inner.get("type") == "message_start" or ("completion" in inner and "stop_reason" in inner)
        ):
            # An application inference profile ARN does not name the provider; the events do.
            self.anthropic = anthropic.AnthropicStream()
        if self.anthropic is not None:
            self.anthropic.feed(call, inner)
        else:
            recognised, final = bedrock_native.native_chunk(self.generations, inner)
            self.finished = self.finished or final
            if not recognised and self.unknown is None:
                self.unknown = f"a chunk holding {shape_of(inner)}"
        if _apply_invocation_metrics(call, inner):
            self.finished = True  # Bedrock adds the metrics to the last chunk only

    def finish(self, call: ParsedCall) -> str | None:
        if self.anthropic is not None:
            self.anthropic.finish(call)
            return self.anthropic.problem()
        self.generations.finish(call)
        if not self.generations and self.unknown:
            return f"response: no Bedrock model family recognised in the stream ({self.unknown})"
        if not call.outputs:
            call.add_output("")
        if not self.finished:
            return "response: stream truncated before messageStop" if self.converse else (
                "response: stream truncated before the final chunk"
            )
        return None


def _read_event_stream(call: ParsedCall, x: DecodedExchange) -> None:
    decoder = EventStreamDecoder()
    state = _StreamState(x)
    problem: str | None = None
    try:
        for message in decoder.feed(x.response_body):
            name = message.event_type or ""
            try:
                data = json.loads(message.payload) if message.payload else {}
            except (ValueError, UnicodeDecodeError):
                raise ParseProblem(f"response: event {name!r} at byte {message.offset}: invalid JSON") from None
            if message.message_type in ("exception", "error"):
                detail = (data.get("message") or data.get("Message")) if isinstance(data, dict) else None
                problem = f"response: stream exception {name}: {detail or 'no message'}"[:300]
                break
            if not isinstance(data, dict):
                continue
            if name == "chunk":
                state.chunk(call, data, message.offset)
            else:
                state.converse_event(call, name, data)
    except EventStreamError as exc:
        problem = f"response: {exc}"
    except ParseProblem as exc:
        problem = str(exc)
    finish_problem = state.finish(call)
    if problem is None and decoder.pending:
        problem = f"response: event stream truncated mid-frame at byte {decoder.offset}"
    problem = problem or finish_problem
    if problem:
        raise ParseProblem(problem)


def _header_usage(call: ParsedCall, x: DecodedExchange) -> None:
    prompt = bedrock_native.with_cache(
        as_int(x.response_headers.get("x-amzn-bedrock-input-token-count")),
        x.response_headers.get("x-amzn-bedrock-cache-read-input-token-count"),
        x.response_headers.get("x-amzn-bedrock-cache-write-input-token-count"),
    )
    completion = as_int(x.response_headers.get("x-amzn-bedrock-output-token-count"))
    if prompt is not None:
        call.prompt_tokens = prompt
    if completion is not None:
        call.completion_tokens = completion


def parse_response(call: ParsedCall, x: DecodedExchange) -> None:
    try:
        if x.response_content_type == "application/vnd.amazon.eventstream" or (
            x.route.stream and not x.response_body.lstrip().startswith(b"{")
        ):
            call.streamed = True
            _read_event_stream(call, x)
        elif x.route.endpoint == "converse":
            bedrock_native.read_converse(call, load_json(x.response_body, "response"))
        else:
            body = load_json(x.response_body, "response")
            if _is_anthropic(x) or (isinstance(body, dict) and (
                body.get("type") == "message" or ("completion" in body and "stop_reason" in body)
            )):
                anthropic.read_message(call, body)
            else:
                bedrock_native.read_native(call, body)
    finally:
        _header_usage(call, x)
