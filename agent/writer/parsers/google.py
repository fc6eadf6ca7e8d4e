"""Gemini API and Vertex AI generateContent / streamGenerateContent.

Responses come as one JSON object, as SSE (`alt=sse`, one GenerateContentResponse per event), or
as one JSON array written element by element (streaming without `alt=sse`). Text deltas are
appended per candidate index; each candidate is one output holding its text parts, the `args`
of its `functionCall` parts, the code of its `executableCode` parts and, as reasoning, its parts
with `thought: true`.
Usage is the last `usageMetadata` seen; output tokens include `thoughtsTokenCount` (billed as
output, like OpenAI's reasoning tokens). The wire is camelCase, but the REST frontend also
accepts snake_case request fields, so both are read.
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
from agent.writer.parsers.common import load_json
from agent.writer.parsers.common import load_request_json
from agent.writer.parsers.common import nothing_read
from agent.writer.parsers.common import sse_json
from agent.writer.streams import JSONStreamError
from agent.writer.streams import iter_json_array


def _get(obj: Any, camel: str) -> Any:
    if not isinstance(obj, dict):
        return None
    if camel in obj:
        return obj[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(snake)


def _parts_text(content: Any) -> str:
    parts = _get(content, "parts")
    if not isinstance(parts, list):
        return ""
    return "".join(str(p["text"]) for p in parts if isinstance(p, dict) and "text" in p and not p.get("thought"))


def parse_request(call: ParsedCall, x: DecodedExchange) -> None:
    body = load_request_json(x)
    call.streamed = call.streamed or x.query.get("alt") == "sse"
    call.request_n = 1
    if body is None:
        return
    segments: list[tuple[str, str]] = []
    system = _parts_text(_get(body, "systemInstruction"))
    if system:
        segments.append(("system", system))
    for content in dicts(body.get("contents")):
        text = _parts_text(content)
        if text:
            segments.append((str(content.get("role") or "user"), text))
    x.prompt = segments
    config = _get(body, "generationConfig")
    if isinstance(config, dict):
        call.request_n = as_int(_get(config, "candidateCount")) or 1
        call.max_tokens = as_int(_get(config, "maxOutputTokens"))
        call.temperature = as_float(_get(config, "temperature"))
        call.top_logprobs = as_int(_get(config, "logprobs"))
        call.logprobs = _get(config, "responseLogprobs") is True


# Part members that are read, or hold nothing the model wrote as text (media, results, metadata).
_KNOWN_PARTS = frozenset({"text", "thought", "thoughtSignature", "thought_signature", "functionCall", "function_call",
                          "executableCode", "executable_code", "codeExecutionResult", "code_execution_result",
                          "inlineData", "inline_data", "fileData", "file_data", "functionResponse", "function_response",
                          "videoMetadata", "video_metadata", "partMetadata", "mediaResolution"})


class _Candidates:
    def __init__(self) -> None:
        self.texts: dict[int, list[str]] = {}
        self.thoughts: dict[int, list[str]] = {}
        self.calls: dict[int, list[str]] = {}
        self.code: dict[int, list[str]] = {}
        self.finished: set[int] = set()
        self.error: str | None = None
        self.unknown: list[str] = []

    def _part(self, index: int, part: dict[str, Any]) -> None:
        if isinstance(part.get("text"), str):
            (self.thoughts if part.get("thought") else self.texts).setdefault(index, []).append(part["text"])
        function_call = _get(part, "functionCall")
        if isinstance(function_call, dict) and "args" in function_call:
            self.calls.setdefault(index, []).append(json.dumps(function_call["args"], ensure_ascii=False))
        code = _get(part, "executableCode")
        if isinstance(code, dict) and isinstance(code.get("code"), str):
            self.code.setdefault(index, []).append(code["code"])
        self.unknown += [str(key) for key in part if key not in _KNOWN_PARTS]

    def feed(self, call: ParsedCall, chunk: Any) -> None:
        if not isinstance(chunk, dict):
            return
        if "error" in chunk:
            self.error = error_text(chunk["error"])
            return
        if isinstance(chunk.get("modelVersion"), str):
            call.served_model = chunk["modelVersion"]
        for position, candidate in enumerate(dicts(chunk.get("candidates"))):
            if not isinstance(candidate, dict):
                continue
            index = as_int(candidate.get("index"))
            index = position if index is None else index
            self.texts.setdefault(index, [])
            for part in dicts(_get(candidate.get("content"), "parts")):
                self._part(index, part)
            if _get(candidate, "finishReason"):
                self.finished.add(index)
        usage = _get(chunk, "usageMetadata")
        if isinstance(usage, dict):
            call.prompt_tokens = as_int(_get(usage, "promptTokenCount"))
            candidates = as_int(_get(usage, "candidatesTokenCount"))
            thoughts = as_int(_get(usage, "thoughtsTokenCount"))
            if candidates is not None or thoughts is not None:
                call.completion_tokens = (candidates or 0) + (thoughts or 0)

    def finish(self, call: ParsedCall) -> None:
        for i in sorted(self.texts):
            call.add_output("".join(self.texts[i]), tool_arguments=self.calls.get(i, ()), code=self.code.get(i, ()),
                            reasoning="".join(self.thoughts.get(i, ())))


def read_generate_content(call: ParsedCall, body: Any) -> None:
    """One GenerateContentResponse (also used for batch result lines)."""
    candidates = _Candidates()
    candidates.feed(call, body)
    candidates.finish(call)
    if candidates.error:
        raise ParseProblem(f"response: error body: {candidates.error}")
    blocked = _get(_get(body, "promptFeedback"), "blockReason")
    if not call.outputs and isinstance(blocked, str):
        raise ParseProblem(f"response: prompt blocked ({blocked[:40]}), no candidates")
    if candidates.unknown and not any(call.outputs):
        raise nothing_read(candidates.unknown)


def parse_response(call: ParsedCall, x: DecodedExchange) -> None:
    head = x.response_body.lstrip()[:1]
    candidates = _Candidates()
    problem: str | None = None
    if head == b"{":
        read_generate_content(call, load_json(x.response_body, "response"))
        return
    call.streamed = True
    if head == b"[":
        try:
            text = x.response_body.decode("utf-8", "replace")
            for chunk in iter_json_array(text):
                candidates.feed(call, chunk)
        except JSONStreamError as exc:
            problem = f"response: {exc}"
    else:
        events, _ = sse_json(x)
        for _, data in events:
            candidates.feed(call, data)
    candidates.finish(call)
    if candidates.error:
        raise ParseProblem(f"response: stream error: {candidates.error}")
    if problem:
        raise ParseProblem(problem)
    if candidates.texts and not candidates.finished >= set(candidates.texts):
        raise ParseProblem("response: stream truncated before finishReason")
