"""AWS Bedrock runtime: Converse / ConverseStream and InvokeModel / InvokeModelWithResponseStream.

Streams are `application/vnd.amazon.eventstream` frames. ConverseStream events carry the
member JSON directly (`contentBlockDelta.delta.text`, usage in `metadata`). InvokeModel streams
carry `chunk` events whose payload `{"bytes": base64}` holds the model provider's own event JSON:
Anthropic events go through `AnthropicStream`, other providers through a small reader of their
native shapes (Titan, Nova, Llama, Mistral, Cohere, OpenAI-style). Exception frames end the call
with a parse_error naming the exception. Usage comes from `metadata.usage` (Converse), the
`amazon-bedrock-invocationMetrics` object in the last chunk, or the
`X-Amzn-Bedrock-*-Token-Count` response headers, whichever is present (headers win).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from agent.capture.exchange import ParsedCall
from agent.capture.parsers import anthropic
from agent.capture.parsers import openai
from agent.capture.parsers.common import Exchange
from agent.capture.parsers.common import ParseProblem
from agent.capture.parsers.common import as_dict
from agent.capture.parsers.common import as_float
from agent.capture.parsers.common import as_int
from agent.capture.parsers.common import dicts
from agent.capture.parsers.common import first_int
from agent.capture.parsers.common import load_json
from agent.capture.parsers.common import load_request_json
from agent.capture.parsers.common import message_segments
from agent.capture.parsers.common import text_of
from agent.capture.streams import EventStreamDecoder
from agent.capture.streams import EventStreamError


def _is_anthropic(x: Exchange, body: dict[str, Any] | None = None) -> bool:
    model = (x.route.model or "").lower()
    return "anthropic." in model or "claude" in model or bool(body and "anthropic_version" in body)


def _system_segments(system: Any) -> list[tuple[str, str]]:
    if isinstance(system, str):
        return [("system", system)]
    if isinstance(system, list):
        return [("system", text_of([block])) for block in system if text_of([block])]
    return []


def parse_request(call: ParsedCall, x: Exchange) -> None:
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
    call.request_n = first_int(body, "n", "num_generations") or 1
    segments = _system_segments(body.get("system"))
    segments += message_segments(body.get("chat_history")) + message_segments(body.get("messages"))
    for key in ("prompt", "inputText", "message"):
        if isinstance(body.get(key), str):
            segments.append(("user", body[key]))
    x.prompt = segments


def _read_converse(call: ParsedCall, body: Any) -> None:
    if not isinstance(body, dict):
        raise ParseProblem("response: expected a JSON object")
    message = as_dict(as_dict(body.get("output")).get("message"))
    texts, reasoning = [], []
    for block in dicts(message.get("content")):
        if isinstance(block, dict):
            if isinstance(block.get("text"), str):
                texts.append(block["text"])
            reasoning_block = block.get("reasoningContent")
            if isinstance(reasoning_block, dict) and isinstance(reasoning_block.get("reasoningText"), dict):
                reasoning.append(str(reasoning_block["reasoningText"].get("text") or ""))
    call.outputs.append("".join(texts))
    if any(reasoning):
        call.reasoning.append("".join(reasoning))
    _converse_usage(call, body.get("usage"))


def _with_cache(base: int | None, *cache: object) -> int | None:
    """Bedrock counts cached input apart from `inputTokens`; like Anthropic's total, add it."""
    if base is None:
        return None
    return base + sum(as_int(c) or 0 for c in cache)


def _converse_usage(call: ParsedCall, usage: object) -> None:
    if isinstance(usage, dict):
        call.prompt_tokens = _with_cache(
            as_int(usage.get("inputTokens")), usage.get("cacheReadInputTokens"), usage.get("cacheWriteInputTokens")
        )
        call.completion_tokens = as_int(usage.get("outputTokens"))


def _read_native(call: ParsedCall, body: Any) -> None:
    """Non-Anthropic InvokeModel bodies (shapes per provider, see vendors.md §5.2)."""
    if not isinstance(body, dict):
        raise ParseProblem("response: expected a JSON object")
    if "choices" in body:
        openai.read_chat_body(call, body)
    elif isinstance(body.get("results"), list):  # Amazon Titan
        call.outputs.extend(str(r.get("outputText") or "") for r in body["results"] if isinstance(r, dict))
        call.prompt_tokens = as_int(body.get("inputTextTokenCount"))
        call.completion_tokens = sum(as_int(r.get("tokenCount")) or 0 for r in body["results"] if isinstance(r, dict))
    elif isinstance(body.get("output"), dict):  # Amazon Nova
        _read_converse(call, body)
    elif isinstance(body.get("generation"), str):  # Meta Llama
        call.outputs.append(body["generation"])
        call.prompt_tokens = as_int(body.get("prompt_token_count"))
        call.completion_tokens = as_int(body.get("generation_token_count"))
    elif isinstance(body.get("outputs"), list):  # Mistral
        call.outputs.extend(str(o.get("text") or "") for o in body["outputs"] if isinstance(o, dict))
    elif isinstance(body.get("generations"), list):  # Cohere Command
        call.outputs.extend(str(g.get("text") or "") for g in body["generations"] if isinstance(g, dict))
    elif isinstance(body.get("text"), str):  # Cohere Command R
        call.outputs.append(body["text"])


def _native_chunk_text(event: dict[str, Any]) -> str:
    if isinstance(event.get("outputText"), str):
        return event["outputText"]
    if isinstance(event.get("generation"), str):
        return event["generation"]
    if isinstance(event.get("outputs"), list):
        return "".join(str(o.get("text") or "") for o in event["outputs"] if isinstance(o, dict))
    delta = event.get("contentBlockDelta")
    if isinstance(delta, dict) and isinstance(delta.get("delta"), dict):
        return str(delta["delta"].get("text") or "")
    if isinstance(event.get("choices"), list):
        return "".join(
            text_of(as_dict(c.get("delta")).get("content")) or str(c.get("text") or "")
            for c in event["choices"]
            if isinstance(c, dict)
        )
    if isinstance(event.get("text"), str):
        return event["text"]
    return ""


def _apply_invocation_metrics(call: ParsedCall, event: dict[str, Any]) -> bool:
    metrics = event.get("amazon-bedrock-invocationMetrics")
    if not isinstance(metrics, dict):
        return False
    call.prompt_tokens = _with_cache(
        as_int(metrics.get("inputTokenCount")), metrics.get("cacheReadInputTokenCount"), metrics.get("cacheWriteInputTokenCount")
    )
    call.completion_tokens = as_int(metrics.get("outputTokenCount"))
    return True


class _StreamState:
    def __init__(self, x: Exchange) -> None:
        self.converse = x.route.endpoint == "converse"
        self.anthropic = anthropic.AnthropicStream() if _is_anthropic(x) and not self.converse else None
        self.texts: list[str] = []
        self.reasoning: list[str] = []
        self.finished = False
        self.unknown = 0

    def converse_event(self, call: ParsedCall, name: str, data: dict[str, Any]) -> None:
        if name == "contentBlockDelta" and isinstance(data.get("delta"), dict):
            delta = data["delta"]
            if isinstance(delta.get("text"), str):
                self.texts.append(delta["text"])
            reasoning = delta.get("reasoningContent")
            if isinstance(reasoning, dict) and isinstance(reasoning.get("text"), str):
                self.reasoning.append(reasoning["text"])
        elif name == "messageStop":
            self.finished = True
        elif name == "metadata":
            _converse_usage(call, data.get("usage"))
        elif name not in ("messageStart", "contentBlockStart", "contentBlockStop"):
            self.unknown += 1

    def chunk(self, call: ParsedCall, payload: dict[str, Any], offset: int) -> None:
        try:
            inner = json.loads(base64.b64decode(str(payload.get("bytes") or ""), validate=True))
        except (binascii.Error, ValueError):
            raise ParseProblem(f"response: chunk at byte {offset} does not hold base64 JSON") from None
        if not isinstance(inner, dict):
            return
        if self.anthropic is None and not self.texts and inner.get("type") == "message_start":
            # An application inference profile ARN does not name the provider; the events do.
            self.anthropic = anthropic.AnthropicStream()
        if self.anthropic is not None:
            self.anthropic.feed(call, inner)
        else:
            self.texts.append(_native_chunk_text(inner))
            if inner.get("messageStop") or inner.get("stop_reason") or inner.get("completionReason"):
                self.finished = True
        if _apply_invocation_metrics(call, inner):
            self.finished = True  # Bedrock adds the metrics to the last chunk only

    def finish(self, call: ParsedCall) -> str | None:
        if self.anthropic is not None:
            self.anthropic.finish(call)
            return self.anthropic.problem()
        call.outputs.append("".join(self.texts))
        if any(self.reasoning):
            call.reasoning.append("".join(self.reasoning))
        if not self.finished:
            return "response: stream truncated before messageStop" if self.converse else (
                "response: stream truncated before the final chunk"
            )
        return None


def _read_event_stream(call: ParsedCall, x: Exchange) -> None:
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


def _header_usage(call: ParsedCall, x: Exchange) -> None:
    prompt = _with_cache(
        as_int(x.response_headers.get("x-amzn-bedrock-input-token-count")),
        x.response_headers.get("x-amzn-bedrock-cache-read-input-token-count"),
        x.response_headers.get("x-amzn-bedrock-cache-write-input-token-count"),
    )
    completion = as_int(x.response_headers.get("x-amzn-bedrock-output-token-count"))
    if prompt is not None:
        call.prompt_tokens = prompt
    if completion is not None:
        call.completion_tokens = completion


def parse_response(call: ParsedCall, x: Exchange) -> None:
    try:
        if x.response_content_type == "application/vnd.amazon.eventstream" or (
            x.route.stream and not x.response_body.lstrip().startswith(b"{")
        ):
            call.streamed = True
            _read_event_stream(call, x)
        elif x.route.endpoint == "converse":
            _read_converse(call, load_json(x.response_body, "response"))
        else:
            body = load_json(x.response_body, "response")
            if _is_anthropic(x) or (isinstance(body, dict) and body.get("type") == "message"):
                anthropic.read_message(call, body)
            else:
                _read_native(call, body)
    finally:
        _header_usage(call, x)
