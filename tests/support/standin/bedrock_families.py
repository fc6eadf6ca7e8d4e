"""Native InvokeModel bodies of Bedrock's non-Anthropic-Messages text families, JSON and streamed.

Each family reads its own request shape (prompt, number of generations) and answers with the
stand-in's deterministic text per generation index, in the provider's response shape (vendors.md
§5.2). `answer()` returns None for a model id no family here speaks; the caller then falls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .prompts import last_user_text
from .text import count_tokens
from .text import expected_text
from .text import split_deltas


@dataclass
class NativeAnswer:
    texts: list[str]  # one per generation
    body: dict[str, Any]  # the InvokeModel JSON response
    chunks: list[dict[str, Any]]  # decoded InvokeModelWithResponseStream chunk payloads, last one final
    prompt_tokens: int


def _family(model: str) -> str:
    bare = model.split("/")[-1]
    for prefix in ("us.", "eu.", "apac.", "global.", "us-gov."):
        bare = bare.removeprefix(prefix)
    return bare.split("-")[0]  # "ai21.j2", "cohere.command", "anthropic.claude", ...


def _prompt(body: dict[str, Any]) -> str:
    for key in ("prompt", "inputText", "message"):
        if isinstance(body.get(key), str):
            return body[key]
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict) and \
            isinstance(messages[-1].get("content"), list):  # Nova: content blocks
        return "".join(str(b.get("text") or "") for b in messages[-1]["content"] if isinstance(b, dict))
    return last_user_text(messages)


def _count(body: dict[str, Any], *keys: str) -> int:
    for key in keys:
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
            return value
    return 1


def _deltas(texts: list[str]) -> list[tuple[int, str]]:
    """(generation index, piece), generations interleaved as a provider streams them."""
    pieces = [split_deltas(t) for t in texts]
    return [(i, p[n]) for n in range(max(map(len, pieces))) for i, p in enumerate(pieces) if n < len(p)]


def _legacy_claude(texts: list[str], prompt_tokens: int) -> tuple[dict, list[dict]]:
    chunks = [{"completion": piece, "stop_reason": None, "stop": None} for piece in split_deltas(texts[0])]
    chunks.append({"completion": "", "stop_reason": "stop_sequence", "stop": "\n\nHuman:"})
    return {"completion": texts[0], "stop_reason": "stop_sequence", "stop": "\n\nHuman:"}, chunks


def _jurassic(texts: list[str], prompt_tokens: int) -> tuple[dict, list[dict]]:
    return {"id": 1, "prompt": {"text": ""}, "completions": [
        {"data": {"text": t, "tokens": []}, "finishReason": {"reason": "endoftext"}} for t in texts]}, []


def _cohere_command(texts: list[str], prompt_tokens: int) -> tuple[dict, list[dict]]:
    generations = [{"id": f"g{i}", "index": i, "text": t, "finish_reason": "COMPLETE"} for i, t in enumerate(texts)]
    chunks = [{"text": piece, "index": i, "is_finished": False} for i, piece in _deltas(texts)]
    chunks.append({"is_finished": True, "finish_reason": "COMPLETE", "generations": generations})
    return {"id": "gen", "prompt": "", "generations": generations}, chunks


def _cohere_command_r(texts: list[str], prompt_tokens: int) -> tuple[dict, list[dict]]:
    chunks = [{"event_type": "stream-start", "is_finished": False, "generation_id": "g"}]
    chunks += [{"event_type": "text-generation", "is_finished": False, "text": p} for p in split_deltas(texts[0])]
    chunks.append({"event_type": "stream-end", "is_finished": True, "finish_reason": "COMPLETE",
                   "response": {"text": texts[0], "generation_id": "g"}})
    return {"text": texts[0], "generation_id": "g", "finish_reason": "COMPLETE"}, chunks


def _llama(texts: list[str], prompt_tokens: int) -> tuple[dict, list[dict]]:
    pieces = split_deltas(texts[0])
    chunks = [{"generation": p, "prompt_token_count": None, "generation_token_count": n + 1, "stop_reason": None}
              for n, p in enumerate(pieces)]
    chunks[-1]["stop_reason"] = "stop"
    return {"generation": texts[0], "prompt_token_count": prompt_tokens, "generation_token_count": count_tokens(texts[0]),
            "stop_reason": "stop"}, chunks


def _mistral_text(texts: list[str], prompt_tokens: int) -> tuple[dict, list[dict]]:
    chunks = [{"outputs": [{"text": p, "stop_reason": None}]} for p in split_deltas(texts[0])]
    chunks[-1]["outputs"][0]["stop_reason"] = "stop"
    return {"outputs": [{"text": texts[0], "stop_reason": "stop"}]}, chunks


def _chat(texts: list[str], prompt_tokens: int) -> tuple[dict, list[dict]]:
    """AI21 Jamba and other OpenAI-chat-shaped models."""
    chunks = [{"choices": [{"index": i, "delta": {"content": piece}, "finish_reason": None}]} for i, piece in _deltas(texts)]
    chunks.append({"choices": [{"index": i, "delta": {}, "finish_reason": "stop"} for i in range(len(texts))]})
    return {"id": "chat", "choices": [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                                      for i, t in enumerate(texts)]}, chunks


def _titan(texts: list[str], prompt_tokens: int) -> tuple[dict, list[dict]]:
    chunks = [{"outputText": p, "index": 0, "completionReason": None} for p in split_deltas(texts[0])]
    chunks[-1]["completionReason"] = "FINISH"
    return {"inputTextTokenCount": prompt_tokens, "results": [
        {"outputText": texts[0], "tokenCount": count_tokens(texts[0]), "completionReason": "FINISH"}]}, chunks


def _nova(texts: list[str], prompt_tokens: int) -> tuple[dict, list[dict]]:
    chunks: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    chunks += [{"contentBlockDelta": {"delta": {"text": p}, "contentBlockIndex": 0}} for p in split_deltas(texts[0])]
    chunks += [{"contentBlockStop": {"contentBlockIndex": 0}}, {"messageStop": {"stopReason": "end_turn"}}]
    return {"output": {"message": {"role": "assistant", "content": [{"text": texts[0]}]}}, "stopReason": "end_turn"}, chunks


def _deepseek(texts: list[str], prompt_tokens: int) -> tuple[dict, list[dict]]:
    chunks = [{"choices": [{"index": 0, "text": p, "stop_reason": None}]} for p in split_deltas(texts[0])]
    chunks[-1]["choices"][0]["stop_reason"] = "stop"
    return {"choices": [{"text": texts[0], "stop_reason": "stop"}]}, chunks


_FAMILIES: dict[str, tuple[Callable[[list[str], int], tuple[dict, list[dict]]], tuple[str, ...]]] = {
    # family prefix of the model id: (builder, request fields naming the number of generations)
    "anthropic.claude": (_legacy_claude, ()),  # only when the body is a legacy `prompt` body
    "ai21.j2": (_jurassic, ("numResults",)),
    "ai21.jamba": (_chat, ("n",)),
    "cohere.command": (_cohere_command, ("num_generations",)),
    "cohere.command-r": (_cohere_command_r, ()),
    "meta.llama2": (_llama, ()), "meta.llama3": (_llama, ()), "meta.llama4": (_llama, ()),
    "mistral.mistral": (_mistral_text, ()), "mistral.mixtral": (_mistral_text, ()),
    "amazon.titan": (_titan, ()),
    "amazon.nova": (_nova, ()),
    "deepseek.r1": (_deepseek, ()),
}


def answer(model: str, body: dict[str, Any], vendor: str) -> NativeAnswer | None:
    family = _family(model)
    if family == "cohere.command" and "command-r" in model:
        family = "cohere.command-r"
    if family == "anthropic.claude" and "prompt" not in body:
        return None  # Messages bodies are served by the Anthropic path
    if family not in _FAMILIES:
        return None
    build, count_keys = _FAMILIES[family]
    prompt = _prompt(body)
    texts = [expected_text(prompt, i, vendor) for i in range(_count(body, *count_keys))]
    prompt_tokens = max(1, count_tokens(prompt))
    response, chunks = build(texts, prompt_tokens)
    return NativeAnswer(texts, response, chunks, prompt_tokens)
