"""Anthropic Messages answers (JSON and SSE) and Message Batches.

The message and its stream events are built here once and reused by Bedrock's InvokeModel
paths, which carry the same Anthropic bodies inside AWS framing.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from .call import Call
from .call import Reply
from .call import error_reply
from .call import json_reply
from .call import middle
from .call import now
from .call import sse
from .call import sse_reply
from .prompts import last_user_text
from .text import batch_prompt
from .text import count_tokens
from .text import expected_reasoning
from .text import expected_text
from .text import split_deltas


@dataclass
class AnthropicAnswer:
    message: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]  # (event name, data) in wire order
    content_span: tuple[int, int]  # index range of the text deltas in `events`
    text: str
    input_tokens: int
    output_tokens: int


def build_answer(call: Call, model: str, prompt: str | None = None) -> AnthropicAnswer:
    body = call.json
    prompt = last_user_text(body.get("messages")) if prompt is None else prompt
    text = expected_text(prompt, 0, call.vendor)
    thinking = body.get("thinking")
    reasoning = (expected_reasoning(prompt, 0, call.vendor)
                 if isinstance(thinking, dict) and thinking.get("type") == "enabled" else None)
    input_tokens = max(1, count_tokens(prompt))
    output_tokens = count_tokens(text) + (count_tokens(reasoning) if reasoning else 0)
    blocks: list[dict[str, Any]] = []
    if reasoning:
        blocks.append({"type": "thinking", "thinking": reasoning, "signature": "c3RhbmRpbg=="})
    blocks.append({"type": "text", "text": text, "citations": None})
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens,
             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
             "service_tier": "standard"}
    message = {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
               "model": model, "content": blocks, "stop_reason": "end_turn",
               "stop_sequence": None, "usage": usage}

    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": message | {
            "content": [], "stop_reason": None, "usage": usage | {"output_tokens": 1}}}),
    ]
    index = 0
    if reasoning:
        events.append(("content_block_start", {"type": "content_block_start", "index": 0,
                       "content_block": {"type": "thinking", "thinking": "", "signature": ""}}))
        for piece in split_deltas(reasoning):
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                           "delta": {"type": "thinking_delta", "thinking": piece}}))
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                       "delta": {"type": "signature_delta", "signature": "c3RhbmRpbg=="}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        index = 1
    events.append(("content_block_start", {"type": "content_block_start", "index": index,
                   "content_block": {"type": "text", "text": ""}}))
    events.append(("ping", {"type": "ping"}))
    start = len(events)
    for piece in split_deltas(text):
        events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                       "delta": {"type": "text_delta", "text": piece}}))
    end = len(events)
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"input_tokens": input_tokens,
                                     "output_tokens": output_tokens}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return AnthropicAnswer(message, events, (start, end), text, input_tokens, output_tokens)


_HEADERS = {"request-id": "req_standin", "anthropic-organization-id": "standin"}


def messages(call: Call) -> Reply:
    body = call.json
    if not body.get("messages") or not body.get("max_tokens"):
        return json_reply({"type": "error", "error": {
            "type": "invalid_request_error", "message": "messages and max_tokens are required"}},
            400)
    answer = build_answer(call, str(body.get("model") or ""))
    if not body.get("stream"):
        return json_reply(answer.message, headers=_HEADERS, text=answer.text)
    events = [sse(data, event=name) for name, data in answer.events]
    start, end = answer.content_span
    if call.mode == "unknown-events":
        events.insert(start + 1, sse({"type": "standin_unknown", "detail": "ignore me"},
                                     event="standin_unknown"))
    if call.mode == "error-in-stream":
        # An overload after HTTP 200: the stream ends right after the error event.
        events = events[: start + 3] + [sse({"type": "error", "error": {
            "type": "overloaded_error", "message": "Overloaded"}}, event="error")]
    return sse_reply(events, cut_at=middle(start, end), headers=_HEADERS, text=answer.text)


# ---------------------------------------------------------------- message batches

def _batch_object(call: Call, batch_id: str, batch: dict[str, Any]) -> dict[str, Any]:
    ended = batch.get("polled", False)
    total = batch["total"]
    created = batch["created_at"]
    return {
        "id": batch_id, "type": "message_batch",
        "processing_status": "ended" if ended else "in_progress",
        "request_counts": {"processing": 0 if ended else total,
                           "succeeded": total if ended else 0,
                           "errored": 0, "canceled": 0, "expired": 0},
        "created_at": _iso(created), "expires_at": _iso(created + 86400),
        "ended_at": _iso(created) if ended else None, "archived_at": None,
        "cancel_initiated_at": None,
        "results_url": (f"https://{call.host}/v1/messages/batches/{batch_id}/results"
                        if ended else None),
    }


def _iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_batch(call: Call) -> Reply:
    requests = call.json.get("requests")
    if not isinstance(requests, list) or not requests:
        return error_reply(400, "requests: field required")
    custom_ids = [str(r.get("custom_id")) for r in requests if isinstance(r, dict)]
    params = requests[0].get("params") if isinstance(requests[0], dict) else None
    model = params.get("model") if isinstance(params, dict) else None
    with call.state.lock:
        batch_id = call.state.new_id("msgbatch_")
        batch = {"custom_ids": custom_ids, "model": model, "total": len(custom_ids),
                 "created_at": now()}
        call.state.message_batches[batch_id] = batch
    return json_reply(_batch_object(call, batch_id, batch))


def _known_batch(call: Call, batch_id: str) -> dict[str, Any]:
    """A created batch; one never created is an ended batch of `x-standin-batch-size` ids."""
    with call.state.lock:
        batch = call.state.message_batches.get(batch_id)
        if batch is None:
            ids = [f"request-{i}" for i in range(1, call.batch_size + 1)]
            batch = {"custom_ids": ids, "model": None, "total": len(ids), "created_at": now(),
                     "polled": True}
        return batch


def get_batch(call: Call, batch_id: str) -> Reply:
    batch = _known_batch(call, batch_id)
    batch["polled"] = True  # a batch is "in_progress" when created and "ended" when polled
    return json_reply(_batch_object(call, batch_id, batch))


def batch_results(call: Call, batch_id: str) -> Reply:
    batch = _known_batch(call, batch_id)
    model = batch.get("model") or "claude-sonnet-4-5"
    lines = []
    for custom_id in batch["custom_ids"]:
        answer = build_answer(call, model, prompt=batch_prompt(custom_id))
        lines.append(json.dumps({"custom_id": custom_id,
                                 "result": {"type": "succeeded", "message": answer.message}}))
    return Reply(content_type="application/binary", body=("\n".join(lines) + "\n").encode())
