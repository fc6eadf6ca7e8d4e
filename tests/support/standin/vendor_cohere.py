"""Cohere native chat: v2 (JSON, SSE with typed events) and v1 (JSON, newline-delimited JSON)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from .call import Call
from .call import Reply
from .call import error_reply
from .call import json_reply
from .call import middle
from .call import sse
from .call import sse_reply
from .prompts import last_user_text
from .text import count_tokens
from .text import expected_text
from .text import split_deltas


def _usage(prompt: str, text: str) -> dict[str, Any]:
    tokens = {"input_tokens": max(1, count_tokens(prompt)), "output_tokens": count_tokens(text)}
    return {"billed_units": dict(tokens), "tokens": dict(tokens), "cached_tokens": 0}


def chat_v2(call: Call) -> Reply:
    body = call.json
    if not body.get("messages") or not body.get("model"):
        return json_reply({"message": "model and messages are required"}, 400)
    prompt = last_user_text(body["messages"])
    text = expected_text(prompt, 0, call.vendor)
    usage = _usage(prompt, text)
    chat_id = str(uuid.uuid4())
    if not body.get("stream"):
        return json_reply({"id": chat_id, "finish_reason": "COMPLETE", "message": {
            "role": "assistant", "content": [{"type": "text", "text": text}]}, "usage": usage},
            text=text)

    def event(kind: str, **fields: Any) -> bytes:
        return sse({"type": kind} | fields, event=kind)

    events = [
        event("message-start", id=chat_id, delta={"message": {
            "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [],
            "citations": []}}),
        event("content-start", index=0, delta={"message": {"content": {"type": "text",
                                                                        "text": ""}}}),
    ]
    start = len(events)
    for k, piece in enumerate(split_deltas(text)):
        events.append(event("content-delta", index=0,
                            delta={"message": {"content": {"text": piece}}}))
        if call.mode == "unknown-events" and k == 1:
            events.append(event("standin-unknown", detail="ignore me"))
    end = len(events)
    events += [
        event("content-end", index=0),
        event("message-end", id=chat_id, delta={"finish_reason": "COMPLETE", "usage": usage}),
        b"data: [DONE]\n\n",
    ]
    return sse_reply(events, cut_at=middle(start, end), text=text)


def chat_v1(call: Call) -> Reply:
    body = call.json
    message = body.get("message")
    if not isinstance(message, str):
        return error_reply(400, "message is required")
    text = expected_text(message, 0, call.vendor)
    usage = _usage(message, text)
    generation_id = str(uuid.uuid4())
    response = {
        "response_id": str(uuid.uuid4()), "text": text, "generation_id": generation_id,
        "chat_history": [{"role": "USER", "message": message},
                         {"role": "CHATBOT", "message": text}],
        "finish_reason": "COMPLETE",
        "meta": {"api_version": {"version": "1"}, "billed_units": usage["billed_units"],
                 "tokens": usage["tokens"]},
    }
    if not body.get("stream"):
        return json_reply(response, text=text)
    lines = [{"is_finished": False, "event_type": "stream-start",
              "generation_id": generation_id}]
    for k, piece in enumerate(split_deltas(text)):
        lines.append({"is_finished": False, "event_type": "text-generation", "text": piece})
        if call.mode == "unknown-events" and k == 1:
            lines.append({"is_finished": False, "event_type": "standin-unknown"})
    end = len(lines)
    lines.append({"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE",
                  "response": response})
    events = [json.dumps(line).encode() + b"\n" for line in lines]
    return Reply(content_type="application/stream+json", events=events, cut_at=middle(1, end),
                 text=text)
