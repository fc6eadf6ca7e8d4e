"""OpenAI Responses API (also xAI, Groq, Azure v1, Perplexity agent, Bedrock /openai/v1).

Assistant text is every `output_text` part of the `message` output items, concatenated (the
SDK's `output_text` is not on the wire); `reasoning` items' summary and content text go to
`reasoning`. Streams end with one terminal event (`response.completed`, `.incomplete` or
`.failed`) carrying the whole response, which is preferred; without it the
`response.output_text.delta` values are joined and the call is marked truncated. There is no
`[DONE]`, and no `n`: one output per call.
"""

from __future__ import annotations

from typing import Any

from agent.capture.exchange import ParsedCall
from agent.capture.parsers.common import Exchange
from agent.capture.parsers.common import ParseProblem
from agent.capture.parsers.common import as_int
from agent.capture.parsers.common import dicts
from agent.capture.parsers.common import error_text
from agent.capture.parsers.common import event_type
from agent.capture.parsers.common import openai_usage_of
from agent.capture.parsers.common import set_openai_usage
from agent.capture.parsers.common import sse_json
from agent.capture.parsers.common import text_of


def request_segments(body: dict[str, Any]) -> list[tuple[str, str]]:
    segments: list[tuple[str, str]] = []
    if isinstance(body.get("instructions"), str):
        segments.append(("system", body["instructions"]))
    items = body.get("input")
    if isinstance(items, str):
        segments.append(("user", items))
    elif isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and item.get("type", "message") == "message":
                text = text_of(item.get("content"))
                if text:
                    segments.append((str(item.get("role") or "user"), text))
    return segments



def read_body(call: ParsedCall, body: Any) -> None:
    if not isinstance(body, dict):
        raise ParseProblem(f"response: expected a JSON object, got {type(body).__name__}")
    if isinstance(body.get("model"), str):
        call.served_model = body["model"]
    texts: list[str] = []
    tool_args: list[str] = []
    reasoning: list[str] = []
    for item in dicts(body.get("output")):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            for part in dicts(item.get("content")):
                if isinstance(part, dict) and part.get("type") == "output_text":
                    texts.append(str(part.get("text") or ""))
                elif isinstance(part, dict) and part.get("type") == "refusal":
                    texts.append(str(part.get("refusal") or ""))
        elif item.get("type") == "reasoning":
            for key in ("summary", "content"):
                reasoning.extend(text_of([p]) for p in dicts(item.get(key)))
        elif item.get("type") == "function_call" and isinstance(item.get("arguments"), str):
            tool_args.append(item["arguments"])
    if texts or tool_args:
        call.outputs.append("".join(texts) or "\n".join(tool_args))
    if any(reasoning):
        call.reasoning.append("\n".join(r for r in reasoning if r))
    set_openai_usage(call, openai_usage_of(body))
    if body.get("status") == "failed" or (body.get("error") and not texts):
        raise ParseProblem(f"response: failed: {error_text(body.get('error') or 'status failed')}")


_RESPONSES_TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def read_stream(call: ParsedCall, x: Exchange) -> None:
    events, _ = sse_json(x)
    deltas: dict[int, list[str]] = {}
    reasoning: list[str] = []
    final: dict[str, Any] | None = None
    error: str | None = None
    for event, data in events:
        if not isinstance(data, dict):
            continue
        kind = event_type(data, event)
        if kind in _RESPONSES_TERMINAL and isinstance(data.get("response"), dict):
            final = data["response"]
        elif kind == "response.created" and isinstance(data.get("response"), dict):
            model = data["response"].get("model")
            call.served_model = model if isinstance(model, str) else call.served_model
        elif kind == "response.output_text.delta" and isinstance(data.get("delta"), str):
            deltas.setdefault(as_int(data.get("output_index")) or 0, []).append(data["delta"])
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            reasoning.append(str(data.get("delta") or ""))
        elif kind == "error":
            detail = data.get("error")
            error = error_text(detail if isinstance(detail, dict) else {"code": data.get("code"), "message": data.get("message")})
    if final is not None:
        read_body(call, final)
    else:
        if deltas:
            call.outputs.append("".join("".join(deltas[i]) for i in sorted(deltas)))
        if any(reasoning):
            call.reasoning.append("".join(reasoning))
    if error:
        raise ParseProblem(f"response: stream error: {error}")
    if final is None:
        raise ParseProblem("response: stream truncated before response.completed")
