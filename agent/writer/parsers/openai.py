"""OpenAI wire formats, also spoken by every OpenAI-compatible vendor.

Chat Completions (and Mistral FIM/agents, DeepSeek, Groq, Together, Fireworks, Perplexity,
OpenRouter, Hugging Face router, Azure), legacy Completions, Embeddings and Mistral
Conversations, each as JSON or SSE; the Responses API is read by `responses.py`. Each choice is
one output built by `ParsedCall.add_output`: its text, refusal, every tool call's arguments
(function or custom tool) and its reasoning text (DeepSeek/xAI `reasoning_content`, OpenRouter
`reasoning`, Mistral `thinking` chunks), each a named part.
"""

from __future__ import annotations

from typing import Any

from agent.writer.parsed import ParsedCall
from agent.writer.parsers import responses
from agent.writer.parsers.common import DecodedExchange
from agent.writer.parsers.common import ParseProblem
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
from agent.writer.parsers.common import openai_usage_of
from agent.writer.parsers.common import plain_stream_values
from agent.writer.parsers.common import set_openai_usage
from agent.writer.parsers.common import sse_json
from agent.writer.parsers.common import text_of

_CHAT_LIKE = {"chat.completions", "fim.completions", "agents.completions"}


# --- requests ---------------------------------------------------------------------------------


def _prompt_strings(prompt: Any) -> list[tuple[str, str]]:
    if isinstance(prompt, str):
        return [("user", prompt)]
    if isinstance(prompt, list):
        return [("user", p) for p in prompt if isinstance(p, str)]
    return []


def parse_request(call: ParsedCall, x: DecodedExchange) -> None:
    body = load_request_json(x)
    if body is None:
        return
    endpoint = x.route.endpoint
    if call.model is None and isinstance(body.get("model"), str):
        call.model = body["model"]
    call.streamed = call.streamed or body.get("stream") is True
    call.temperature = as_float(body.get("temperature"))
    call.max_tokens = first_int(body, "max_completion_tokens", "max_tokens", "max_output_tokens")
    if endpoint in _CHAT_LIKE:
        x.prompt = message_segments(body.get("messages"))
        if endpoint == "fim.completions":
            x.prompt = _prompt_strings(body.get("prompt")) + _prompt_strings(body.get("suffix"))
        call.request_n = as_int(body.get("n")) or 1
        call.logprobs = body.get("logprobs") is True
        call.top_logprobs = as_int(body.get("top_logprobs"))
    elif endpoint == "completions":
        x.prompt = _prompt_strings(body.get("prompt"))
        call.request_n = as_int(body.get("n")) or 1
        logprobs = as_int(body.get("logprobs"))  # legacy: an integer, the number of top tokens
        call.logprobs = logprobs is not None
        call.top_logprobs = logprobs
    elif endpoint == "responses":
        x.prompt = responses.request_segments(body)
        call.request_n = 1
        include = body.get("include") if isinstance(body.get("include"), list) else []
        call.logprobs = "message.output_text.logprobs" in include
        call.top_logprobs = as_int(body.get("top_logprobs"))
    elif endpoint == "conversations":  # Mistral Conversations
        inputs = body.get("inputs")
        x.prompt = _prompt_strings(inputs) if isinstance(inputs, str) else message_segments(inputs)
        if isinstance(body.get("instructions"), str):
            x.prompt.insert(0, ("system", body["instructions"]))
        args = body.get("completion_args") if isinstance(body.get("completion_args"), dict) else {}
        call.max_tokens = call.max_tokens or as_int(args.get("max_tokens"))
        call.temperature = call.temperature if call.temperature is not None else as_float(args.get("temperature"))
        call.request_n = 1


# --- chat and completions responses ---------------------------------------------------------


def _call_arguments(tool_call: Any) -> str | None:
    """A tool call's arguments as the model wrote them: `function.arguments` (JSON text), or a
    custom tool's free-form `custom.input`."""
    if not isinstance(tool_call, dict):
        return None
    for key, field_name in (("function", "arguments"), ("custom", "input")):
        inner = tool_call.get(key)
        if isinstance(inner, dict) and isinstance(inner.get(field_name), str):
            return inner[field_name]
    if isinstance(tool_call.get("arguments"), str):  # legacy function_call
        return tool_call["arguments"]
    return None


def _tool_arguments(message: dict[str, Any]) -> list[str]:
    calls = message.get("tool_calls") or ([message["function_call"]] if message.get("function_call") else [])
    found = (_call_arguments(tool_call) for tool_call in (calls if isinstance(calls, list) else []))
    return [args for args in found if args]


def _thinking_of(content: Any) -> str:
    """Mistral reasoning models put `{type: thinking, thinking: [chunks]}` inside content."""
    if not isinstance(content, list):
        return ""
    return "".join(
        text_of(part.get("thinking"))
        for part in content
        if isinstance(part, dict) and part.get("type") == "thinking"
    )


def _reasoning_of(message: dict[str, Any]) -> str:
    for key in ("reasoning_content", "reasoning"):
        if isinstance(message.get(key), str):
            return message[key]
    return _thinking_of(message.get("content"))


def read_chat_body(call: ParsedCall, body: Any) -> None:
    """A chat.completion / text_completion object (also used for batch result lines)."""
    if not isinstance(body, dict):
        raise ParseProblem(f"response: expected a JSON object, got {type(body).__name__}")
    if isinstance(body.get("model"), str):
        call.served_model = body["model"]
    choices = body.get("choices") if isinstance(body.get("choices"), list) else []
    for choice in sorted((c for c in choices if isinstance(c, dict)), key=lambda c: as_int(c.get("index")) or 0):
        message = choice.get("message") if isinstance(choice.get("message"), dict) else None
        if message is None:
            call.add_output(choice["text"] if isinstance(choice.get("text"), str) else "")
            continue
        refusal = message.get("refusal")
        call.add_output(text_of(message.get("content")), refusal=refusal if isinstance(refusal, str) else "",
                        tool_arguments=_tool_arguments(message), reasoning=_reasoning_of(message))
    set_openai_usage(call, openai_usage_of(body))
    if "error" in body and not choices:
        raise ParseProblem(f"response: error body: {error_text(body['error'])}")


class _ChatStream:
    """Accumulates chat.completion.chunk / text_completion chunks per choice index (and, within
    a choice, per tool-call index: parallel tool calls stream side by side)."""

    def __init__(self) -> None:
        self.texts: dict[int, list[str]] = {}
        self.refusals: dict[int, list[str]] = {}
        self.reasoning: dict[int, list[str]] = {}
        self.tool_args: dict[int, dict[int, list[str]]] = {}
        self.finished: set[int] = set()
        self.error: str | None = None

    def feed(self, call: ParsedCall, chunk: dict[str, Any]) -> None:
        if isinstance(chunk.get("model"), str):
            call.served_model = chunk["model"]
        if "error" in chunk and chunk["error"]:
            self.error = error_text(chunk["error"])
        if "usage" in chunk or "x_groq" in chunk:  # the two places openai_usage_of reads
            usage = openai_usage_of(chunk)
            if usage:
                set_openai_usage(call, usage)
        for choice in dicts(chunk.get("choices")):
            index = choice.get("index")
            index = index if type(index) is int else as_int(index) or 0
            texts = self.texts.setdefault(index, [])
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else None
            content = delta.get("content") if delta is not None else None
            if type(content) is str and (len(delta) == 1 or len(delta) == 2 and "role" in delta):
                # nearly every chunk: a piece of text and nothing else the readers below could find
                texts.append(content)
            elif delta is None:
                if isinstance(choice.get("text"), str):
                    texts.append(choice["text"])
            else:
                texts.append(content if isinstance(content, str) else text_of(content))
                if isinstance(delta.get("refusal"), str):
                    self.refusals.setdefault(index, []).append(delta["refusal"])
                # most deltas carry content only: skip the readers that would find nothing
                reasoning = _reasoning_of(delta) if ("reasoning_content" in delta or "reasoning" in delta
                                                     or isinstance(content, list)) else ""
                if reasoning:
                    self.reasoning.setdefault(index, []).append(reasoning)
                for position, tool_call in enumerate(dicts(delta.get("tool_calls")) if "tool_calls" in delta else ()):
                    args = _call_arguments(tool_call)
                    if args:
                        slot = as_int(tool_call.get("index"))
                        calls = self.tool_args.setdefault(index, {})
                        calls.setdefault(position if slot is None else slot, []).append(args)
            if choice.get("finish_reason"):
                self.finished.add(index)
                if choice["finish_reason"] == "error":  # OpenRouter: upstream failed mid-stream
                    self.error = self.error or "finish_reason error"

    def finish(self, call: ParsedCall) -> None:
        for index in sorted(set(self.texts) | set(self.tool_args) | set(self.reasoning) | set(self.refusals)):
            calls = self.tool_args.get(index, {})
            call.add_output("".join(self.texts.get(index, ())), refusal="".join(self.refusals.get(index, ())),
                            tool_arguments=["".join(calls[i]) for i in sorted(calls)],
                            reasoning="".join(self.reasoning.get(index, ())))


def _read_chat_stream(call: ParsedCall, x: DecodedExchange) -> None:
    values = plain_stream_values(x.response_body)
    if values is not None:  # nearly every chat stream: read in one pass, ended by its [DONE]
        clean = done = True
    else:
        events, clean = sse_json(x)
        values = [data for _, data in events]
        done = None in values  # '[DONE]' (or an event whose data is null)
    stream = _ChatStream()
    for data in values:
        if isinstance(data, dict):
            stream.feed(call, data)
    stream.finish(call)
    if stream.error:
        raise ParseProblem(f"response: stream error: {stream.error}")
    all_finished = bool(stream.texts) and stream.finished >= set(stream.texts)
    if not done and not all_finished:
        raise ParseProblem("response: stream truncated before [DONE]")
    if not clean and not done:
        raise ParseProblem("response: stream ended mid-event")


# --- Mistral Conversations --------------------------------------------------------------------


def _read_conversation(call: ParsedCall, x: DecodedExchange) -> None:
    if looks_like_sse(x):
        events, _ = sse_json(x)
        texts: list[str] = []
        tool_args: dict[str, list[str]] = {}
        done = False
        for event, data in events:
            if not isinstance(data, dict):
                continue
            kind = event_type(data, event)
            if kind == "message.output.delta":
                texts.append(text_of(data.get("content")))
            elif kind == "function.call.delta" and isinstance(data.get("arguments"), str):
                tool_args.setdefault(str(data.get("tool_call_id") or data.get("id") or ""), []).append(data["arguments"])
            elif kind == "conversation.response.done":
                done = True
                set_openai_usage(call, data.get("usage") if isinstance(data.get("usage"), dict) else None)
            elif kind == "conversation.response.error":
                raise ParseProblem(f"response: stream error: {error_text(data)}")
        call.add_output("".join(texts), tool_arguments=["".join(parts) for parts in tool_args.values()])
        if not done:
            raise ParseProblem("response: stream truncated before conversation.response.done")
        return
    body = load_json(x.response_body, "response")
    if not isinstance(body, dict):
        raise ParseProblem("response: expected a JSON object")
    entries = dicts(body.get("outputs"))
    texts = [text_of(entry.get("content")) for entry in entries if entry.get("type") == "message.output"]
    args = [entry["arguments"] for entry in entries
            if entry.get("type") == "function.call" and isinstance(entry.get("arguments"), str)]
    call.add_output("".join(texts), tool_arguments=args)
    set_openai_usage(call, openai_usage_of(body))


def parse_response(call: ParsedCall, x: DecodedExchange) -> None:
    endpoint = x.route.endpoint
    if endpoint == "conversations":
        _read_conversation(call, x)
    elif endpoint == "responses":
        if looks_like_sse(x):
            call.streamed = True
            responses.read_stream(call, x)
        else:
            responses.read_body(call, load_json(x.response_body, "response"))
    elif endpoint == "embeddings":
        body = load_json(x.response_body, "response")
        if isinstance(body, dict):
            call.served_model = body.get("model") if isinstance(body.get("model"), str) else None
            set_openai_usage(call, openai_usage_of(body))
    elif looks_like_sse(x):
        call.streamed = True
        _read_chat_stream(call, x)
    else:
        read_chat_body(call, load_json(x.response_body, "response"))
