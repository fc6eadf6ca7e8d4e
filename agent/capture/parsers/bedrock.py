"""AWS Bedrock runtime: Converse / ConverseStream and InvokeModel / InvokeModelWithResponseStream.

Streams are `application/vnd.amazon.eventstream` frames. ConverseStream events carry the
member JSON directly (`contentBlockDelta.delta.text`, usage in `metadata`). InvokeModel streams
carry `chunk` events whose payload `{"bytes": base64}` holds the model provider's own event JSON:
Anthropic events (Messages, and legacy `{completion, stop_reason}` chunks) go through
`AnthropicStream`, other providers through a reader of their native shapes, one output per
generation index: AI21 Jurassic (`completions[].data.text`, JSON only) and Jamba, Cohere Command
and Command R, Meta Llama, Mistral, Amazon Titan and Nova, DeepSeek and OpenAI-style chunks.
A body or stream of no known family is a parse_error naming its shape. Exception frames end the
call with a parse_error naming the exception. Usage comes from `metadata.usage` (Converse), the
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
from agent.capture.parsers.common import shape_of
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
    call.request_n = first_int(body, "n", "num_generations", "numResults") or 1
    segments = _system_segments(body.get("system"))
    segments += message_segments(body.get("chat_history")) + message_segments(body.get("messages"))
    for key in ("prompt", "inputText", "message"):
        if isinstance(body.get(key), str):
            segments.append(("user", body[key]))
    x.prompt = segments


def _converse_blocks(call: ParsedCall, content: Any) -> None:
    """One output from a Converse/Nova message: text, toolUse input, reasoning text."""
    texts, tool_args, reasoning = [], [], []
    for block in dicts(content):
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        tool_use = as_dict(block.get("toolUse"))
        if "input" in tool_use:
            tool_args.append(json.dumps(tool_use["input"], ensure_ascii=False))
        reasoning_text = as_dict(as_dict(block.get("reasoningContent")).get("reasoningText"))
        if isinstance(reasoning_text.get("text"), str):
            reasoning.append(reasoning_text["text"])
    call.add_output("".join(texts), tool_arguments=tool_args, reasoning="".join(reasoning))


def _read_converse(call: ParsedCall, body: Any) -> None:
    if not isinstance(body, dict):
        raise ParseProblem(f"response: expected a JSON object, got {shape_of(body)}")
    message = as_dict(as_dict(body.get("output")).get("message"))
    if not isinstance(message.get("content"), list):
        raise ParseProblem(f"response: no output.message.content in {shape_of(body)}")
    _converse_blocks(call, message["content"])
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


def _by_index(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: as_int(item.get("index")) or 0)


def _read_native(call: ParsedCall, body: Any) -> None:
    """Non-Anthropic InvokeModel bodies, one output per generation (shapes per vendors.md §5.2)."""
    if not isinstance(body, dict):
        raise ParseProblem(f"response: expected a JSON object, got {shape_of(body)}")
    if "choices" in body:  # AI21 Jamba, DeepSeek, Mistral chat models, OpenAI gpt-oss
        openai.read_chat_body(call, body)
    elif isinstance(body.get("completions"), list):  # AI21 Jurassic-2: completions[].data.text
        for completion in dicts(body["completions"]):
            call.add_output(str(as_dict(completion.get("data")).get("text") or ""))
    elif isinstance(body.get("results"), list):  # Amazon Titan Text
        results = dicts(body["results"])
        for result in results:
            call.add_output(str(result.get("outputText") or ""))
        call.prompt_tokens = as_int(body.get("inputTextTokenCount"))
        call.completion_tokens = sum(as_int(r.get("tokenCount")) or 0 for r in results)
    elif isinstance(body.get("output"), dict):  # Amazon Nova: the Converse shape
        _read_converse(call, body)
    elif isinstance(body.get("generation"), str):  # Meta Llama
        call.add_output(body["generation"])
        call.prompt_tokens = as_int(body.get("prompt_token_count"))
        call.completion_tokens = as_int(body.get("generation_token_count"))
    elif isinstance(body.get("outputs"), list):  # Mistral text models
        for output in dicts(body["outputs"]):
            call.add_output(str(output.get("text") or ""))
    elif isinstance(body.get("generations"), list):  # Cohere Command
        for generation in _by_index(dicts(body["generations"])):
            call.add_output(str(generation.get("text") or ""))
    elif isinstance(body.get("text"), str):  # Cohere Command R
        tool_args = [json.dumps(c["parameters"], ensure_ascii=False) for c in dicts(body.get("tool_calls"))
                     if c.get("parameters") is not None]
        call.add_output(body["text"], tool_arguments=tool_args)
    else:
        raise ParseProblem(f"response: no Bedrock model family recognised in {shape_of(body)}")


def _apply_invocation_metrics(call: ParsedCall, event: dict[str, Any]) -> bool:
    metrics = event.get("amazon-bedrock-invocationMetrics")
    if not isinstance(metrics, dict):
        return False
    call.prompt_tokens = _with_cache(
        as_int(metrics.get("inputTokenCount")), metrics.get("cacheReadInputTokenCount"), metrics.get("cacheWriteInputTokenCount")
    )
    call.completion_tokens = as_int(metrics.get("outputTokenCount"))
    return True


class _Generations:
    """Text, tool arguments and reasoning per generation index, for the stream readers."""

    def __init__(self) -> None:
        self.texts: dict[int, list[str]] = {}
        self.tools: dict[int, dict[int, list[str]]] = {}
        self.reasoning: dict[int, list[str]] = {}

    def text(self, index: int, value: Any) -> None:
        if isinstance(value, str):
            self.texts.setdefault(index, []).append(value)

    def tool(self, index: int, slot: int, value: Any) -> None:
        if isinstance(value, str):
            self.tools.setdefault(index, {}).setdefault(slot, []).append(value)

    def thought(self, index: int, value: Any) -> None:
        if isinstance(value, str):
            self.reasoning.setdefault(index, []).append(value)

    def __bool__(self) -> bool:
        return bool(self.texts or self.tools or self.reasoning)

    def finish(self, call: ParsedCall) -> None:
        for index in sorted(set(self.texts) | set(self.tools) | set(self.reasoning)):
            tools = self.tools.get(index, {})
            call.add_output("".join(self.texts.get(index, ())), tool_arguments=["".join(tools[s]) for s in sorted(tools)],
                            reasoning="".join(self.reasoning.get(index, ())))


def _native_chunk(generations: _Generations, event: dict[str, Any]) -> tuple[bool, bool]:
    """Reads one decoded chunk of a non-Anthropic model; (recognised, final)."""
    final = bool(event.get("stop_reason") or event.get("completionReason") or event.get("is_finished") is True
                 or event.get("event_type") == "stream-end" or "messageStop" in event)
    index = as_int(event.get("index")) or 0
    if isinstance(event.get("outputText"), str):  # Titan
        generations.text(index, event["outputText"])
    elif isinstance(event.get("generation"), str):  # Llama
        generations.text(0, event["generation"])
    elif isinstance(event.get("outputs"), list):  # Mistral text models
        for output in dicts(event["outputs"]):
            generations.text(0, output.get("text"))
            final = final or bool(output.get("stop_reason"))
    elif isinstance(event.get("choices"), list):  # Jamba, DeepSeek, Mistral chat, gpt-oss
        for position, choice in enumerate(dicts(event["choices"])):
            slot = as_int(choice.get("index"))
            slot = position if slot is None else slot
            delta = as_dict(choice.get("delta")) or as_dict(choice.get("message"))
            generations.text(slot, delta.get("content") if isinstance(delta.get("content"), str) else choice.get("text"))
            generations.thought(slot, delta.get("reasoning_content"))
            for number, tool_call in enumerate(dicts(delta.get("tool_calls"))):
                tool_slot = as_int(tool_call.get("index"))
                generations.tool(slot, number if tool_slot is None else tool_slot,
                                 as_dict(tool_call.get("function")).get("arguments"))
            final = final or bool(choice.get("finish_reason") or choice.get("stop_reason"))
    elif isinstance(event.get("generations"), list):  # Cohere Command, generation objects
        if event.get("is_finished") is True and generations:
            return True, True  # the last chunk repeats what was streamed
        for position, generation in enumerate(dicts(event["generations"])):
            slot = as_int(generation.get("index"))
            generations.text(position if slot is None else slot, generation.get("text"))
    elif "contentBlockDelta" in event:  # Nova
        delta = as_dict(as_dict(event["contentBlockDelta"]).get("delta"))
        generations.text(0, delta.get("text"))
        generations.thought(0, as_dict(delta.get("reasoningContent")).get("text"))
        generations.tool(0, as_int(event["contentBlockDelta"].get("contentBlockIndex")) or 0,
                         as_dict(delta.get("toolUse")).get("input"))
    elif isinstance(event.get("text"), str) and event.get("event_type") in (None, "text-generation") and not (
        event.get("is_finished") is True and generations
    ):
        generations.text(index, event["text"])  # Cohere Command (R): text pieces per generation
    elif not final and not any(k in event for k in _NATIVE_CONTROL_KEYS):
        return False, False
    return True, final


# Chunks that carry no text but are part of a recognised stream (Nova's framing events,
# Cohere's stream-start and tool events, usage-only chunks).
_NATIVE_CONTROL_KEYS = ("messageStart", "contentBlockStart", "contentBlockStop", "metadata", "event_type",
                        "amazon-bedrock-invocationMetrics", "usage", "is_finished")


class _StreamState:
    def __init__(self, x: Exchange) -> None:
        self.converse = x.route.endpoint == "converse"
        self.anthropic = anthropic.AnthropicStream() if _is_anthropic(x) and not self.converse else None
        self.generations = _Generations()
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
            _converse_usage(call, data.get("usage"))
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
            recognised, final = _native_chunk(self.generations, inner)
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
            if _is_anthropic(x) or (isinstance(body, dict) and (
                body.get("type") == "message" or ("completion" in body and "stop_reason" in body)
            )):
                anthropic.read_message(call, body)
            else:
                _read_native(call, body)
    finally:
        _header_usage(call, x)
