"""OpenAI Responses API (also xAI, Groq, Azure v1, Perplexity agent, Bedrock /openai/v1).

One output per response: the `output_text` parts of its `message` items concatenated (the
SDK's `output_text` is not on the wire), refusals, function and custom tool call arguments,
code interpreter code, and the summary and content text of `reasoning` items. Streams end with one terminal event (`response.completed`, `.incomplete` or
`.failed`) carrying the whole response, which is preferred; without it the
`response.output_text.delta` values are joined and the call is marked truncated. There is no
`[DONE]`, and no `n`: one output per call.
"""

from __future__ import annotations

from typing import Any

from agent.writer.parsed import ParsedCall
from agent.writer.parsers.common import DecodedExchange
from agent.writer.parsers.common import ParseProblem
from agent.writer.parsers.common import as_dict
from agent.writer.parsers.common import as_int
from agent.writer.parsers.common import dicts
from agent.writer.parsers.common import error_text
from agent.writer.parsers.common import event_type
from agent.writer.parsers.common import nothing_read
from agent.writer.parsers.common import openai_usage_of
from agent.writer.parsers.common import set_openai_usage
from agent.writer.parsers.common import sse_json
from agent.writer.parsers.common import text_of


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
    refusals: list[str] = []
    tool_args: list[str] = []
    code: list[str] = []
    reasoning: list[str] = []
    unknown: list[str] = []
    for item in dicts(body.get("output")):
        kind = item.get("type")
        if kind == "message":
            for part in dicts(item.get("content")):
                if part.get("type") == "output_text":
                    texts.append(str(part.get("text") or ""))
                elif part.get("type") == "refusal":
                    refusals.append(str(part.get("refusal") or ""))
        elif kind == "reasoning":
            for key in ("summary", "content"):
                reasoning.extend(text_of([p]) for p in dicts(item.get(key)))
        elif kind == "function_call" and isinstance(item.get("arguments"), str):
            tool_args.append(item["arguments"])
        elif kind == "custom_tool_call" and isinstance(item.get("input"), str):
            tool_args.append(item["input"])
        elif kind == "code_interpreter_call" and isinstance(item.get("code"), str):
            code.append(item["code"])
        elif kind in ("mcp_call", "mcp_approval_request") and isinstance(item.get("arguments"), str):
            tool_args.append(item["arguments"])
        elif kind == "local_shell_call" and isinstance(as_dict(item.get("action")).get("command"), list):
            code.append(" ".join(str(word) for word in item["action"]["command"]))
        elif kind not in _ITEMS_WITHOUT_TEXT:
            unknown.append(str(kind))
    if texts or refusals or tool_args or code or any(reasoning):
        call.add_output("".join(texts), refusal="".join(refusals), tool_arguments=tool_args, code=code,
                        reasoning="\n".join(r for r in reasoning if r))
    set_openai_usage(call, openai_usage_of(body))
    if body.get("status") == "failed" or (body.get("error") and not texts):
        raise ParseProblem(f"response: failed: {error_text(body.get('error') or 'status failed')}")
    if unknown and not any(call.outputs):
        raise nothing_read(unknown)


# Output items that hold no text the model wrote (searches, images, computer actions, tool lists).
_ITEMS_WITHOUT_TEXT = frozenset({"message", "reasoning", "function_call", "custom_tool_call", "code_interpreter_call",
                                 "web_search_call", "file_search_call", "image_generation_call", "computer_call",
                                 "mcp_list_tools", "mcp_call", "mcp_approval_request", "local_shell_call"})


_RESPONSES_TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def read_stream(call: ParsedCall, x: DecodedExchange) -> None:
    events, _ = sse_json(x)
    deltas: dict[int, list[str]] = {}
    arguments: dict[int, list[str]] = {}
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
        elif kind in ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta"):
            arguments.setdefault(as_int(data.get("output_index")) or 0, []).append(str(data.get("delta") or ""))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            reasoning.append(str(data.get("delta") or ""))
        elif kind == "error":
            detail = data.get("error")
            error = error_text(detail if isinstance(detail, dict) else {"code": data.get("code"), "message": data.get("message")})
    if final is not None:
        read_body(call, final)
    elif deltas or any(reasoning) or arguments:
        call.add_output("".join("".join(deltas[i]) for i in sorted(deltas)),
                        tool_arguments=["".join(arguments[i]) for i in sorted(arguments)],
                        reasoning="".join(reasoning))
    if error:
        raise ParseProblem(f"response: stream error: {error}")
    if final is None:
        raise ParseProblem("response: stream truncated before response.completed")
