"""Calls recorded for their metadata only (embeddings, images, batch creation, token counting...).

Reads the requested model and common sampling fields when the request is JSON; response bodies
are not read (their content is not generated text), except for an OpenAI-style `usage` block.
"""

from __future__ import annotations

import json

from agent.writer.parsed import ParsedCall
from agent.writer.parsers.common import DecodedExchange
from agent.writer.parsers.common import as_float
from agent.writer.parsers.common import first_int


def parse_request(call: ParsedCall, x: DecodedExchange) -> None:
    if x.request_content_type not in ("application/json", "") or not x.request_body.strip():
        return  # multipart audio, binary images: nothing to read
    try:
        body = json.loads(x.request_body)
    except (ValueError, UnicodeDecodeError):
        return
    if not isinstance(body, dict):
        return
    if call.model is None and isinstance(body.get("model"), str):
        call.model = body["model"]
    call.max_tokens = first_int(body, "max_tokens", "max_completion_tokens", "max_output_tokens")
    call.temperature = as_float(body.get("temperature"))
    call.streamed = call.streamed or body.get("stream") is True


def parse_response(call: ParsedCall, x: DecodedExchange) -> None:
    if x.response_content_type != "application/json" or len(x.response_body) > 1024 * 1024:
        return
    try:
        body = json.loads(x.response_body)
    except (ValueError, UnicodeDecodeError):
        return
    usage = body.get("usage") if isinstance(body, dict) else None
    if isinstance(usage, dict):
        call.prompt_tokens = first_int(usage, "prompt_tokens", "input_tokens")
        call.completion_tokens = first_int(usage, "completion_tokens", "output_tokens")
