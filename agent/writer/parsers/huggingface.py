"""Hugging Face native inference: serverless `models/{model}` task API and TGI `/generate(_stream)`.

Request `{inputs, parameters: {max_new_tokens, temperature, num_return_sequences, top_n_tokens}}`;
response `[{"generated_text": ...}]` or one such object; the TGI stream is SSE with one token per
event and the full `generated_text` on the last one. (The router's OpenAI-compatible paths use the
openai parser.)
"""

from __future__ import annotations

from typing import Any

from agent.writer.parsed import ParsedCall
from agent.writer.parsers.common import DecodedExchange
from agent.writer.parsers.common import ParseProblem
from agent.writer.parsers.common import as_float
from agent.writer.parsers.common import as_int
from agent.writer.parsers.common import error_text
from agent.writer.parsers.common import load_json
from agent.writer.parsers.common import load_request_json
from agent.writer.parsers.common import looks_like_sse
from agent.writer.parsers.common import sse_json


def parse_request(call: ParsedCall, x: DecodedExchange) -> None:
    body = load_request_json(x)
    call.request_n = 1
    if body is None:
        return
    call.streamed = call.streamed or body.get("stream") is True
    inputs = body.get("inputs")
    if isinstance(inputs, str):
        x.prompt = [("user", inputs)]
    elif isinstance(inputs, list):
        x.prompt = [("user", i) for i in inputs if isinstance(i, str)]
    params = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    call.max_tokens = as_int(params.get("max_new_tokens"))
    call.temperature = as_float(params.get("temperature"))
    call.request_n = as_int(params.get("num_return_sequences")) or 1
    call.top_logprobs = as_int(params.get("top_n_tokens"))
    call.logprobs = call.top_logprobs is not None or params.get("details") is True


def _read_generated(call: ParsedCall, item: Any) -> None:
    if isinstance(item, dict) and isinstance(item.get("generated_text"), str):
        call.add_output(item["generated_text"])
        details = item.get("details")
        if isinstance(details, dict) and as_int(details.get("generated_tokens")) is not None:
            call.completion_tokens = (call.completion_tokens or 0) + as_int(details["generated_tokens"])


def parse_response(call: ParsedCall, x: DecodedExchange) -> None:
    if looks_like_sse(x):
        call.streamed = True
        events, _ = sse_json(x)
        tokens: list[str] = []
        final: dict[str, Any] | None = None
        for _, data in events:
            if not isinstance(data, dict):
                continue
            if data.get("error"):
                call.add_output("".join(tokens))
                raise ParseProblem(f"response: stream error: {error_text(data['error'])}")
            token = data.get("token")
            if isinstance(token, dict) and not token.get("special"):
                tokens.append(str(token.get("text") or ""))
            if isinstance(data.get("generated_text"), str):
                final = data
        if final is not None:
            _read_generated(call, final)
            return
        call.add_output("".join(tokens))
        raise ParseProblem("response: stream truncated before generated_text")
    body = load_json(x.response_body, "response")
    if isinstance(body, dict) and body.get("error"):
        raise ParseProblem(f"response: error body: {error_text(body['error'])}")
    for item in body if isinstance(body, list) else [body]:
        # Batched inputs come back as a list of lists.
        for inner in item if isinstance(item, list) else [item]:
            _read_generated(call, inner)
