"""Gemini API and Vertex AI `generateContent` / `streamGenerateContent` answers.

Streams come as SSE with `?alt=sse`, otherwise as one JSON array written element by element,
as Google sends them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
from .prompts import gemini_contents_text
from .text import count_tokens
from .text import expected_reasoning
from .text import expected_text
from .text import split_deltas


def _config(call: Call) -> dict[str, Any]:
    config = _field(call.json, "generationConfig") or {}
    return config if isinstance(config, dict) else {}


def _field(mapping: dict[str, Any], camel: str) -> Any:
    """A field by its REST (camelCase) name, or snake_case as some google-genai versions send."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return mapping.get(camel, mapping.get(snake))


def _candidate_count(call: Call) -> int:
    count = _field(_config(call), "candidateCount") or 1
    count = count if isinstance(count, int) and 0 < count <= 8 else 1
    return max(count, 2) if call.mode == "interleaved" else count


def _wants_thoughts(call: Call) -> bool:
    thinking = _field(_config(call), "thinkingConfig") or {}
    return isinstance(thinking, dict) and bool(_field(thinking, "includeThoughts"))


def _logprobs_result(text: str) -> dict[str, Any]:
    chosen = []
    for token in text.split(" "):
        value = -hashlib.sha256(token.encode()).digest()[0] / 255
        chosen.append({"token": token, "logProbability": round(value, 4)})
    return {"chosenCandidates": chosen, "topCandidates": [{"candidates": [c]} for c in chosen]}


def generate_content(call: Call, model: str, streamed: bool) -> Reply:
    contents = call.json.get("contents")
    if not contents:
        return json_reply({"error": {"code": 400, "message": "contents is not specified",
                                     "status": "INVALID_ARGUMENT"}}, 400)
    prompt = gemini_contents_text(contents)
    count = _candidate_count(call)
    texts = [expected_text(prompt, i, call.vendor) for i in range(count)]
    thoughts = [expected_reasoning(prompt, i, call.vendor) for i in range(count)] \
        if _wants_thoughts(call) else None
    prompt_tokens = max(1, count_tokens(prompt))
    candidate_tokens = sum(count_tokens(t) for t in texts)
    thought_tokens = sum(count_tokens(t) for t in thoughts) if thoughts else 0
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": candidate_tokens,
        "totalTokenCount": prompt_tokens + candidate_tokens + thought_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thought_tokens
    envelope: dict[str, Any] = {"modelVersion": model, "responseId": uuid.uuid4().hex[:22]}
    if call.host.endswith("aiplatform.googleapis.com") or ".rep.googleapis.com" in call.host:
        envelope["createTime"] = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")

    if not streamed:
        candidates = []
        for i, text in enumerate(texts):
            parts = [{"text": thoughts[i], "thought": True}] if thoughts else []
            parts.append({"text": text})
            candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"},
                                         "finishReason": "STOP", "index": i}
            if _field(_config(call), "responseLogprobs"):
                candidate["avgLogprobs"] = -0.25
                candidate["logprobsResult"] = _logprobs_result(text)
            candidates.append(candidate)
        return json_reply({"candidates": candidates, "usageMetadata": usage} | envelope,
                          text=texts[0])

    running = {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}
    chunks: list[dict[str, Any]] = []
    for i, text in enumerate(texts):
        pieces = [(p, True) for p in split_deltas(thoughts[i])] if thoughts else []
        pieces += [(p, False) for p in split_deltas(text)]
        for k, (piece, is_thought) in enumerate(pieces):
            part: dict[str, Any] = {"text": piece} | ({"thought": True} if is_thought else {})
            candidate = {"content": {"parts": [part], "role": "model"}, "index": i}
            if k == len(pieces) - 1:
                candidate["finishReason"] = "STOP"
            chunks.append({"candidates": [candidate], "usageMetadata": running} | envelope)
    if count > 1:
        chunks = _interleave(chunks, count, reverse=call.mode == "interleaved")
    chunks[-1] = chunks[-1] | {"usageMetadata": usage}
    if call.mode == "unknown-events":
        chunks.insert(1, chunks[1] | {"standinUnknownField": {"detail": "ignore me"}})
    cut_at = middle(0, len(chunks))
    if call.mode == "error-in-stream":
        chunks = chunks[:3] + [{"error": {"code": 500, "message": "Internal error encountered.",
                                          "status": "INTERNAL"}}]
    if call.query.get("alt") == "sse":
        return sse_reply([sse(c) for c in chunks], cut_at=cut_at, text=texts[0])
    # Without alt=sse Google writes one JSON array incrementally: "[{...}", ",\r\n{...}", "]".
    events = [("[" if k == 0 else ",\r\n").encode() + json.dumps(c).encode()
              for k, c in enumerate(chunks)]
    events.append(b"]")
    return Reply(content_type="application/json; charset=UTF-8", events=events, cut_at=cut_at,
                 text=texts[0])


def _interleave(chunks: list[dict[str, Any]], count: int, reverse: bool) -> list[dict[str, Any]]:
    per_candidate: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    for chunk in chunks:
        per_candidate[chunk["candidates"][0]["index"]].append(chunk)
    order = list(range(count))[::-1] if reverse else list(range(count))
    mixed = []
    for round_ in range(max(map(len, per_candidate))):
        mixed += [per_candidate[i][round_] for i in order if round_ < len(per_candidate[i])]
    return mixed


def count_tokens_reply(call: Call) -> Reply:
    prompt = gemini_contents_text(call.json.get("contents"))
    return json_reply({"totalTokens": max(1, count_tokens(prompt))})


def dispatch(call: Call, model: str, method: str) -> Reply:
    match method:
        case "generateContent":
            return generate_content(call, model, streamed=False)
        case "streamGenerateContent":
            return generate_content(call, model, streamed=True)
        case "countTokens":
            return count_tokens_reply(call)
    return error_reply(404, f"Method {method} is not supported by the stand-in")
