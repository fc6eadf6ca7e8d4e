"""Bulk result downloads: one output per generated text, usage summed over lines.

- OpenAI-style batch output files (`GET /v1/files/{id}/content`, also Azure, Mistral, xAI,
  Together...): JSONL lines `{custom_id, response: {status_code, body}, error}` whose body is a
  chat.completion, text_completion, Responses `response` or embeddings list.
- Anthropic message batch results: lines `{custom_id, result: {type: "succeeded", message}}`.
- Gemini Batch API result files (`GET /download/v1beta/files/{id}:download`): lines
  `{key, response: GenerateContentResponse}` (or `{key, error}`).

Lines that failed (`error`, non-2xx `status_code`, result types other than succeeded) hold no
output and are skipped. A file download that is not batch output (an uploaded training file, an
image) is re-labelled kind `other` without an error. A line that is not JSON is reported (first
one only) but does not stop the rest; the last line of a capture cut at the tee's cap is expected
to be partial and is not reported again.
"""

from __future__ import annotations

import json
from typing import Any

from agent.writer.parsed import ParsedCall
from agent.writer.parsers import anthropic
from agent.writer.parsers import google
from agent.writer.parsers import openai
from agent.writer.parsers import responses
from agent.writer.parsers.common import DecodedExchange
from agent.writer.parsers.common import ParseProblem
from agent.writer.parsers.common import add_usage
from agent.writer.parsers.common import as_int


def parse_request(call: ParsedCall, x: DecodedExchange) -> None:
    """Result downloads are GETs: nothing to read."""


def _line_body(line: dict[str, Any]) -> tuple[str, Any] | None:
    """(shape, body) of a successful result line, None for a failed or unknown one."""
    result = line.get("result")
    if isinstance(result, dict):
        if result.get("type") == "succeeded" and isinstance(result.get("message"), dict):
            return "anthropic", result["message"]
        return None
    response = line.get("response")
    if isinstance(response, dict) and "candidates" in response:  # Gemini Batch API: {key, response}
        return "gemini", response
    if isinstance(response, dict):
        status = as_int(response.get("status_code"))
        if status is not None and not 200 <= status < 300:
            return None
        body = response.get("body")
        if isinstance(body, dict):
            if body.get("object") == "response" or "output" in body and "choices" not in body:
                return "responses", body
            if "candidates" in body:
                return "gemini", body
            if body.get("object") == "list":
                return "embeddings", body
            return "chat", body
    return None


def _is_batch_line(value: Any) -> bool:
    return isinstance(value, dict) and ("custom_id" in value or "key" in value or "result" in value) and (
        "response" in value or "result" in value or "error" in value
    )


def _read_line(call: ParsedCall, shape: str, body: Any) -> None:
    scratch = ParsedCall(call.vendor, call.endpoint, call.kind)
    try:
        if shape == "anthropic":
            anthropic.read_message(scratch, body)
        elif shape == "responses":
            responses.read_body(scratch, body)
        elif shape == "gemini":
            google.read_generate_content(scratch, body)
        elif shape == "chat":
            openai.read_chat_body(scratch, body)
        else:
            usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
            scratch.prompt_tokens = as_int(usage.get("prompt_tokens"))
    except ParseProblem:
        pass  # a failed line inside a 200 body: no output from it
    call.take_outputs(scratch)
    add_usage(call, scratch.prompt_tokens, scratch.completion_tokens)
    if call.served_model is None:
        call.served_model = scratch.served_model


def parse_response(call: ParsedCall, x: DecodedExchange) -> None:
    lines = x.response_body.split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    first_problem: str | None = None
    seen_batch_line = False
    for number, raw in enumerate(lines, start=1):
        raw = raw.strip()
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            if not seen_batch_line:
                break  # not JSONL at all: some other file
            partial_tail = number == len(lines) and x.response.truncated
            if first_problem is None and not partial_tail:
                where = f" at byte {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
                first_problem = f"response: line {number}: invalid JSON{where}"
            continue
        if not _is_batch_line(value):
            if not seen_batch_line:
                break
            continue
        seen_batch_line = True
        found = _line_body(value)
        if found is not None:
            _read_line(call, *found)
    if not seen_batch_line:
        call.kind = "other"
        return
    if call.model is None:
        call.model = call.served_model
    if first_problem:
        raise ParseProblem(first_problem)
