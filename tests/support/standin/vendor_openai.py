"""OpenAI-shaped answers: chat completions, legacy completions, Responses API, embeddings.

Also serves the OpenAI-compatible vendors (Azure, Mistral, DeepSeek, xAI, Groq, Together,
Fireworks, Perplexity, OpenRouter, Hugging Face router, Cohere compatibility) with the quirks
each one adds on the wire.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import uuid
from typing import Any

from .call import Call
from .call import Reply
from .call import error_reply
from .call import json_reply
from .call import middle
from .call import now
from .call import sse
from .call import sse_reply
from .prompts import content_text
from .prompts import last_user_text
from .prompts import responses_input_text
from .text import count_tokens as _count
from .text import expected_reasoning
from .text import expected_text
from .text import split_deltas

AZURE_SERVED_MODEL = "gpt-4o-2024-11-20"
_LOGPROB_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])")
_SAFE = {"filtered": False, "severity": "safe"}
_AZURE_FILTERS = {
    "hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE,
}


# ---------------------------------------------------------------- shared pieces

def _tokens(text: str) -> list[str]:
    return _LOGPROB_TOKEN.findall(text)


def _logprob(token: str, rank: int = 0) -> float:
    digest = hashlib.sha256(f"{rank}:{token}".encode()).digest()
    return -round(rank * 1.5 + digest[0] / 255, 4)


def chat_logprobs(text: str, top: int) -> dict[str, Any]:
    """`choices[].logprobs` of chat completions: one entry per token of `text`."""
    content = []
    for token in _tokens(text):
        alternatives = [token] + [f"{token.strip()}{k}" for k in range(1, top)]
        content.append({
            "token": token,
            "logprob": _logprob(token),
            "bytes": list(token.encode()),
            "top_logprobs": [
                {"token": alt, "logprob": _logprob(alt, rank), "bytes": list(alt.encode())}
                for rank, alt in enumerate(alternatives[:top])
            ],
        })
    return {"content": content, "refusal": None}


def _completion_logprobs(text: str, top: int, offset: int = 0) -> dict[str, Any]:
    tokens = _tokens(text)
    offsets, position = [], offset
    for token in tokens:
        offsets.append(position)
        position += len(token)
    return {
        "tokens": tokens,
        "token_logprobs": [_logprob(t) for t in tokens],
        "top_logprobs": [{t: _logprob(t)} for t in tokens] if top else None,
        "text_offset": offsets,
    }


def openai_usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int = 0,
                 vendor: str = "openai") -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }
    if vendor == "deepseek":
        usage["prompt_cache_hit_tokens"] = 0
        usage["prompt_cache_miss_tokens"] = prompt_tokens
    if vendor == "openrouter":
        usage["cost"] = round(completion_tokens * 2e-6, 8)
        usage["cost_details"] = {"upstream_inference_cost": None}
    return usage


def _wants_reasoning(call: Call, model: str) -> bool:
    """DeepSeek answers with `reasoning_content` for reasoner models or `thinking` enabled."""
    if call.vendor != "deepseek":
        return False
    thinking = call.json.get("thinking")
    enabled = isinstance(thinking, dict) and thinking.get("type") == "enabled"
    return enabled or "reasoner" in model


def _choice_count(call: Call) -> int:
    n = call.json.get("n") or 1
    n = n if isinstance(n, int) and 0 < n <= 128 else 1
    return max(n, 2) if call.mode == "interleaved" else n


def _vendor_headers(call: Call) -> dict[str, str]:
    request_id = uuid.uuid4().hex
    match call.vendor:
        case "openai":
            return {"x-request-id": f"req_{request_id}", "openai-processing-ms": "12"}
        case "azure-openai":
            return {"apim-request-id": request_id, "x-ms-region": "Sweden Central"}
        case "openrouter":
            return {"x-generation-id": f"gen-{request_id}"}
        case _:
            return {"x-request-id": request_id}


def _completion_id(call: Call) -> str:
    prefix = "gen-" if call.vendor == "openrouter" else "chatcmpl-"
    return prefix + uuid.uuid4().hex[:24]


def _validate_vendor_limits(call: Call, n: int) -> Reply | None:
    """Groq rejects what it does not support with a 400, as the real API does."""
    if call.vendor == "groq":
        if n > 1:
            return error_reply(400, "'n' : number must be at most 1")
        if call.json.get("logprobs") or call.json.get("top_logprobs"):
            return error_reply(400, "'logprobs' : not supported with this model")
    return None


# ---------------------------------------------------------------- chat completions

def chat_completions(call: Call, model: str | None = None) -> Reply:
    body = call.json
    model = model or str(body.get("model") or "")
    if not body.get("messages"):
        return error_reply(400, "'messages' is a required property")
    n = _choice_count(call)
    if (limited := _validate_vendor_limits(call, n)) is not None:
        return limited
    prompt = last_user_text(body["messages"])
    texts = [expected_text(prompt, i, call.vendor) for i in range(n)]
    reasoning = [expected_reasoning(prompt, i, call.vendor) for i in range(n)] \
        if _wants_reasoning(call, model) else None
    top = body.get("top_logprobs") or 0
    logprobs = bool(body.get("logprobs"))
    prompt_tokens = max(1, _count(prompt))
    reasoning_tokens = sum(_count(r) for r in reasoning) if reasoning else 0
    completion_tokens = sum(_count(t) for t in texts) + reasoning_tokens
    usage = openai_usage(prompt_tokens, completion_tokens, reasoning_tokens, call.vendor)
    served = AZURE_SERVED_MODEL if call.vendor == "azure-openai" else model
    headers = _vendor_headers(call)
    if body.get("stream"):
        return _chat_stream(call, served, texts, reasoning, logprobs, top, usage, headers)

    choices = []
    for i, text in enumerate(texts):
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None,
                                   "annotations": []}
        if reasoning:
            message["reasoning_content"] = reasoning[i]
        choice: dict[str, Any] = {
            "index": i, "message": message, "finish_reason": "stop",
            "logprobs": chat_logprobs(text, top) if logprobs else None,
        }
        if call.vendor == "azure-openai":
            choice["content_filter_results"] = _AZURE_FILTERS
        choices.append(choice)
    result: dict[str, Any] = {
        "id": _completion_id(call), "object": "chat.completion", "created": now(),
        "model": served, "system_fingerprint": "fp_standin", "choices": choices, "usage": usage,
    }
    _add_vendor_fields(call, result, usage)
    return json_reply(result, headers=headers, text=texts[0])


def _add_vendor_fields(call: Call, result: dict[str, Any], usage: dict[str, Any] | None) -> None:
    match call.vendor:
        case "azure-openai":
            result["prompt_filter_results"] = [
                {"prompt_index": 0, "content_filter_results": _AZURE_FILTERS}
            ]
        case "openrouter":
            result["provider"] = "StandIn"
        case "groq":
            result["x_groq"] = {"id": "req_standin"} | ({"usage": usage} if usage else {})
        case "perplexity":
            result["citations"] = ["https://example.com/standin"]
            result["search_results"] = [
                {"title": "Stand-in", "url": "https://example.com/standin", "date": None}
            ]


def _chat_stream(call: Call, model: str, texts: list[str], reasoning: list[str] | None,
                 logprobs: bool, top: int, usage: dict[str, Any],
                 headers: dict[str, str]) -> Reply:
    base = {"id": _completion_id(call), "object": "chat.completion.chunk", "created": now(),
            "model": model, "system_fingerprint": "fp_standin"}
    include_usage = bool((call.json.get("stream_options") or {}).get("include_usage"))
    # Mistral, OpenRouter and Groq (in x_groq) report usage at the end of every stream.
    usage_always = call.vendor in ("mistral", "openrouter")
    usage_null = {"usage": None} if include_usage else {}

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None,
              lp: dict[str, Any] | None = None) -> bytes:
        choice: dict[str, Any] = {"index": index, "delta": delta, "logprobs": lp,
                                  "finish_reason": finish}
        if call.vendor == "azure-openai":
            choice["content_filter_results"] = {} if finish else _AZURE_FILTERS
        return sse(base | {"choices": [choice]} | usage_null)

    events: list[bytes] = []
    if call.vendor == "openrouter":
        events.append(b": OPENROUTER PROCESSING\n\n")
    if call.vendor == "azure-openai":
        events.append(sse({"id": "", "object": "", "created": 0, "model": "", "choices": [],
                           "prompt_filter_results": [
                               {"prompt_index": 0, "content_filter_results": _AZURE_FILTERS}]}))
    for i in range(len(texts)):
        first = base | {"choices": [{"index": i, "delta": {"role": "assistant", "content": ""},
                                     "logprobs": None, "finish_reason": None}]} | usage_null
        if call.vendor == "groq" and i == 0:
            first["x_groq"] = {"id": "req_standin"}
        events.append(sse(first))

    per_choice: list[list[bytes]] = []
    for i, text in enumerate(texts):
        deltas = []
        for piece in split_deltas(reasoning[i]) if reasoning else []:
            deltas.append(chunk(i, {"reasoning_content": piece, "content": None}))
        for piece in split_deltas(text):
            deltas.append(chunk(i, {"content": piece},
                                lp=chat_logprobs(piece, top) if logprobs else None))
        per_choice.append(deltas)
    content_start = len(events)
    # Several choices interleave round-robin; the interleaved mode starts from the last one so
    # a parser cannot assume choices arrive in index order.
    order = list(range(len(texts)))
    if call.mode == "interleaved":
        order.reverse()
    for round_ in range(max(len(d) for d in per_choice)):
        for i in order:
            if round_ < len(per_choice[i]):
                events.append(per_choice[i][round_])
        if call.vendor == "openrouter" and round_ == 2:
            events.append(b": OPENROUTER PROCESSING\n\n")
        if call.mode == "unknown-events" and round_ == 1:
            events.append(sse({"type": "standin.unknown", "detail": "ignore me"},
                              event="standin.unknown"))
        if call.mode == "error-in-stream" and round_ == 3:
            events.append(sse({"error": {"message": "The server had an error while processing "
                                         "your request.", "type": "server_error"}}))
            return sse_reply(events, headers=headers, text=texts[0])
    content_end = len(events)
    for i in range(len(texts)):
        events.append(chunk(i, {}, finish="stop"))
    if include_usage or usage_always:
        final = base | {"choices": [], "usage": usage}
        if call.vendor == "groq":
            final["x_groq"] = {"id": "req_standin", "usage": usage}
        events.append(sse(final))
    elif call.vendor == "groq":
        events.append(sse(base | {"choices": [], "x_groq": {"id": "req_standin",
                                                              "usage": usage}}))
    events.append(b"data: [DONE]\n\n")
    return sse_reply(events, cut_at=middle(content_start, content_end), headers=headers,
                     text=texts[0])


# ---------------------------------------------------------------- legacy completions

def completions(call: Call, model: str | None = None) -> Reply:
    body = call.json
    model = model or str(body.get("model") or "")
    prompts = body.get("prompt", "")
    if isinstance(prompts, str) or (isinstance(prompts, list) and prompts
                                    and isinstance(prompts[0], int)):
        prompts = [prompts]
    prompts = [p if isinstance(p, str) else " ".join(map(str, p)) for p in prompts] or [""]
    n = _choice_count(call)
    top = body.get("logprobs")
    top = top if isinstance(top, int) and not isinstance(top, bool) else None
    # Choice k answers prompt k // n as that prompt's (k % n)-th sample, as OpenAI numbers them.
    texts = [expected_text(p, j, call.vendor) for p in prompts for j in range(n)]
    prompt_tokens = sum(max(1, _count(p)) for p in prompts)
    usage = openai_usage(prompt_tokens, sum(_count(t) for t in texts), vendor=call.vendor)
    headers = _vendor_headers(call)
    base = {"id": "cmpl-" + uuid.uuid4().hex[:24], "object": "text_completion",
            "created": now(), "model": model}
    if not body.get("stream"):
        choices = [{"index": k, "text": t, "finish_reason": "stop",
                    "logprobs": _completion_logprobs(t, top) if top is not None else None}
                   for k, t in enumerate(texts)]
        return json_reply(base | {"choices": choices, "usage": usage}, headers=headers,
                          text=texts[0])
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    events = []
    per_choice = [split_deltas(t) for t in texts]
    order = list(range(len(texts)))[::-1] if call.mode == "interleaved" else range(len(texts))
    for round_ in range(max(map(len, per_choice))):
        for k in order:
            if round_ < len(per_choice[k]):
                piece = per_choice[k][round_]
                lp = _completion_logprobs(piece, top) if top is not None else None
                events.append(sse(base | {"choices": [{"index": k, "text": piece, "logprobs": lp,
                                                       "finish_reason": None}]}))
    content_end = len(events)
    for k in range(len(texts)):
        events.append(sse(base | {"choices": [{"index": k, "text": "", "logprobs": None,
                                               "finish_reason": "stop"}]}))
    if include_usage:
        events.append(sse(base | {"choices": [], "usage": usage}))
    events.append(b"data: [DONE]\n\n")
    return sse_reply(events, cut_at=middle(0, content_end), headers=headers, text=texts[0])


# ---------------------------------------------------------------- Responses API

# Request fields a background response needs when it is read back later.
_ECHOED_FIELDS = ("instructions", "max_output_tokens", "previous_response_id", "store",
                  "temperature", "top_p", "metadata", "include")
_MAX_BACKGROUND_RESPONSES = 10_000


def _response_object(call: Call, body: dict[str, Any], prompt: str, model: str,
                     response_id: str) -> dict[str, Any]:
    """A completed Responses API object answering `prompt`."""
    text = expected_text(prompt, 0, call.vendor)
    want_logprobs = "message.output_text.logprobs" in (body.get("include") or [])
    prompt_tokens, output_tokens = max(1, _count(prompt)), _count(text)
    logprobs = [{"token": t, "logprob": _logprob(t), "bytes": list(t.encode()),
                 "top_logprobs": []} for t in _tokens(text)] if want_logprobs else []
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": logprobs}
    item = {"id": "msg_" + uuid.uuid4().hex, "type": "message", "status": "completed",
            "role": "assistant", "content": [part]}
    return {
        "id": response_id, "object": "response", "created_at": now(), "status": "completed",
        "completed_at": now(), "error": None, "incomplete_details": None,
        "instructions": body.get("instructions"), "max_output_tokens":
        body.get("max_output_tokens"), "model": model, "output": [item],
        "parallel_tool_calls": True, "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None}, "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0), "text": {"format": {"type": "text"}},
        "tool_choice": "auto", "tools": [], "top_p": body.get("top_p", 1.0),
        "truncation": "disabled", "metadata": body.get("metadata") or {}, "background": False,
        "usage": {
            "input_tokens": prompt_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt_tokens + output_tokens,
        },
    }


def responses(call: Call, model: str | None = None) -> Reply:
    body = call.json
    model = model or str(body.get("model") or "")
    if "input" not in body:
        return error_reply(400, "Missing required parameter: 'input'.")
    prompt = responses_input_text(body["input"])
    response_id = "resp_" + uuid.uuid4().hex
    response = _response_object(call, body, prompt, model, response_id)
    item = response["output"][0]
    part = item["content"][0]
    text = part["text"]
    headers = _vendor_headers(call)
    if body.get("background") and not body.get("stream"):
        # Background mode: the text is only in a later GET /v1/responses/{id}.
        with call.state.lock:
            stored = call.state.responses
            stored[response_id] = {"prompt": prompt, "model": model,
                                   "body": {k: body[k] for k in _ECHOED_FIELDS if k in body}}
            if len(stored) > _MAX_BACKGROUND_RESPONSES:
                stored.pop(next(iter(stored)))
        return json_reply(response | {"status": "queued", "completed_at": None, "output": [],
                                      "usage": None, "background": True}, headers=headers)
    if not body.get("stream"):
        return json_reply(response, headers=headers, text=text)

    def logprobs_of(piece: str) -> list[dict[str, Any]]:
        if "message.output_text.logprobs" not in (body.get("include") or []):
            return []
        return [{"token": t, "logprob": _logprob(t), "bytes": list(t.encode()),
                 "top_logprobs": []} for t in _tokens(piece)]

    sequence = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal sequence
        sequence += 1
        return sse({"type": kind, "sequence_number": sequence - 1} | fields, event=kind)

    pending = response | {"status": "in_progress", "completed_at": None, "output": [],
                          "usage": None}
    empty_item = item | {"status": "in_progress", "content": []}
    empty_part = part | {"text": "", "logprobs": []}
    where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
    events = [
        event("response.created", response=pending),
        event("response.in_progress", response=pending),
        event("response.output_item.added", output_index=0, item=empty_item),
        event("response.content_part.added", **where, part=empty_part),
    ]
    content_start = len(events)
    for k, piece in enumerate(split_deltas(text)):
        events.append(event("response.output_text.delta", **where, delta=piece,
                            logprobs=logprobs_of(piece)))
        if call.mode == "unknown-events" and k == 1:
            events.append(event("response.standin_unknown.delta", detail="ignore me"))
        if call.mode == "error-in-stream" and k == 3:
            events.append(event("error", code="server_error", message="The server had an error",
                                param=None))
            return sse_reply(events, headers=headers, text=text)
    content_end = len(events)
    events += [
        event("response.output_text.done", **where, text=text, logprobs=part["logprobs"]),
        event("response.content_part.done", **where, part=part),
        event("response.output_item.done", output_index=0, item=item),
        event("response.completed", response=response),
    ]
    return sse_reply(events, cut_at=middle(content_start, content_end), headers=headers,
                     text=text)


def retrieve_response(call: Call, response_id: str) -> Reply:
    """GET /v1/responses/{id}: a background response, completed by the time it is read."""
    with call.state.lock:
        stored = call.state.responses.get(response_id)
    if stored is None:
        return error_reply(404, f"Response with id '{response_id}' not found.")
    response = _response_object(call, stored["body"], stored["prompt"], stored["model"],
                                response_id)
    response["background"] = True
    return json_reply(response, headers=_vendor_headers(call),
                      text=response["output"][0]["content"][0]["text"])


# ---------------------------------------------------------------- embeddings

def _vector(text: str, dimensions: int) -> list[float]:
    values, counter = [], 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values += [(b - 128) / 128 for b in digest]
        counter += 1
    return values[:dimensions]


def embeddings(call: Call, model: str | None = None) -> Reply:
    body = call.json
    model = model or str(body.get("model") or "")
    inputs = body.get("input")
    if inputs is None:
        return error_reply(400, "'input' is a required property")
    if isinstance(inputs, str) or (isinstance(inputs, list) and inputs
                                   and isinstance(inputs[0], int)):
        inputs = [inputs]
    texts = [i if isinstance(i, str) else content_text(i) or " ".join(map(str, i))
             for i in inputs]
    dimensions = body.get("dimensions") if isinstance(body.get("dimensions"), int) else 8
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = _vector(text, dimensions)
        embedding: Any = vector
        if as_base64:
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(max(1, _count(t)) for t in texts)
    return json_reply({"object": "list", "data": data, "model": model,
                       "usage": {"prompt_tokens": tokens, "total_tokens": tokens}},
                      headers=_vendor_headers(call))
