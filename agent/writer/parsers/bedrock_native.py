"""Bedrock model families' own shapes: the Converse message (also Amazon Nova's InvokeModel
body), the native InvokeModel bodies of the other providers, and their stream chunks.

One output per generation: AI21 Jurassic (`completions[].data.text`) and Jamba, Cohere Command
(`generations[]`) and Command R (`text`), Meta Llama (`generation`), Mistral (`outputs[]`, or chat
`choices[]`), Amazon Titan (`results[]`) and Nova (Converse shape), DeepSeek and OpenAI gpt-oss
(`choices[]`). A body of no known family is a ParseProblem naming its shape (vendors.md §5.2).
"""

from __future__ import annotations

import json
from typing import Any

from agent.writer.parsed import ParsedCall
from agent.writer.parsers import openai
from agent.writer.parsers.common import ParseProblem
from agent.writer.parsers.common import as_dict
from agent.writer.parsers.common import as_int
from agent.writer.parsers.common import dicts
from agent.writer.parsers.common import nothing_read
from agent.writer.parsers.common import shape_of


def converse_blocks(call: ParsedCall, content: Any) -> None:
    """One output from a Converse/Nova message: text, toolUse input, reasoning text."""
    texts, tool_args, reasoning, unknown = [], [], [], []
    for block in dicts(content):
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        tool_use = as_dict(block.get("toolUse"))
        if "input" in tool_use:
            tool_args.append(json.dumps(tool_use["input"], ensure_ascii=False))
        reasoning_text = as_dict(as_dict(block.get("reasoningContent")).get("reasoningText"))
        if isinstance(reasoning_text.get("text"), str):
            reasoning.append(reasoning_text["text"])
        for cited in dicts(as_dict(block.get("citationsContent")).get("content")):  # text with its sources
            texts.append(str(cited.get("text") or ""))
        unknown += [str(key) for key in block if key not in _CONVERSE_BLOCKS]
    call.add_output("".join(texts), tool_arguments=tool_args, reasoning="".join(reasoning))
    if not call.outputs[-1] and unknown:
        raise nothing_read(unknown)


# ContentBlock members (vendors.md §5.3) that are read, or hold nothing the model wrote.
_CONVERSE_BLOCKS = frozenset({"text", "toolUse", "reasoningContent", "citationsContent", "toolResult", "image",
                              "document", "video", "audio", "guardContent", "cachePoint", "searchResult"})


def read_converse(call: ParsedCall, body: Any) -> None:
    if not isinstance(body, dict):
        raise ParseProblem(f"response: expected a JSON object, got {shape_of(body)}")
    message = as_dict(as_dict(body.get("output")).get("message"))
    if not isinstance(message.get("content"), list):
        raise ParseProblem(f"response: no output.message.content in {shape_of(body)}")
    converse_usage(call, body.get("usage"))
    converse_blocks(call, message["content"])


def with_cache(base: int | None, *cache: object) -> int | None:
    """Bedrock counts cached input apart from `inputTokens`; like Anthropic's total, add it."""
    if base is None:
        return None
    return base + sum(as_int(c) or 0 for c in cache)


def converse_usage(call: ParsedCall, usage: object) -> None:
    if isinstance(usage, dict):
        call.prompt_tokens = with_cache(
            as_int(usage.get("inputTokens")), usage.get("cacheReadInputTokens"), usage.get("cacheWriteInputTokens")
        )
        call.completion_tokens = as_int(usage.get("outputTokens"))


def _by_index(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: as_int(item.get("index")) or 0)


def read_native(call: ParsedCall, body: Any) -> None:
    """Non-Anthropic InvokeModel bodies, one output per generation (shapes per vendors.md §5.2)."""
    if not isinstance(body, dict):
        raise ParseProblem(f"response: expected a JSON object, got {shape_of(body)}")
    if "choices" in body:  # AI21 Jamba, DeepSeek, Mistral chat models, OpenAI gpt-oss
        openai.read_chat_body(call, body)
    elif isinstance(body.get("completions"), list):  # AI21 Jurassic-2: completions[].data.text
        for completion in dicts(body["completions"]):
            call.add_output(str(as_dict(completion.get("data")).get("text") or ""))
    elif isinstance(body.get("results"), list):  # Amazon Titan Text
        results = dicts(body["results"])
        for result in results:
            call.add_output(str(result.get("outputText") or ""))
        call.prompt_tokens = as_int(body.get("inputTextTokenCount"))
        call.completion_tokens = sum(as_int(r.get("tokenCount")) or 0 for r in results)
    elif isinstance(body.get("output"), dict):  # Amazon Nova: the Converse shape
        read_converse(call, body)
    elif isinstance(body.get("generation"), str):  # Meta Llama
        call.add_output(body["generation"])
        call.prompt_tokens = as_int(body.get("prompt_token_count"))
        call.completion_tokens = as_int(body.get("generation_token_count"))
    elif isinstance(body.get("outputs"), list):  # Mistral text models
        for output in dicts(body["outputs"]):
            call.add_output(str(output.get("text") or ""))
    elif isinstance(body.get("generations"), list):  # Cohere Command
        for generation in _by_index(dicts(body["generations"])):
            call.add_output(str(generation.get("text") or ""))
    elif isinstance(body.get("text"), str):  # Cohere Command R
        tool_args = [json.dumps(c["parameters"], ensure_ascii=False) for c in dicts(body.get("tool_calls"))
                     if c.get("parameters") is not None]
        call.add_output(body["text"], tool_arguments=tool_args)
    else:
        raise ParseProblem(f"response: no Bedrock model family recognised in {shape_of(body)}")


class Generations:
    """Text, tool arguments and reasoning per generation index, for the stream readers."""

    def __init__(self) -> None:
        self.texts: dict[int, list[str]] = {}
        self.tools: dict[int, dict[int, list[str]]] = {}
        self.reasoning: dict[int, list[str]] = {}

    def text(self, index: int, value: Any) -> None:
        if isinstance(value, str):
            self.texts.setdefault(index, []).append(value)

    def tool(self, index: int, slot: int, value: Any) -> None:
        if isinstance(value, str):
            self.tools.setdefault(index, {}).setdefault(slot, []).append(value)

    def thought(self, index: int, value: Any) -> None:
        if isinstance(value, str):
            self.reasoning.setdefault(index, []).append(value)

    def __bool__(self) -> bool:
        return bool(self.texts or self.tools or self.reasoning)

    def finish(self, call: ParsedCall) -> None:
        for index in sorted(set(self.texts) | set(self.tools) | set(self.reasoning)):
            tools = self.tools.get(index, {})
            call.add_output("".join(self.texts.get(index, ())), tool_arguments=["".join(tools[s]) for s in sorted(tools)],
                            reasoning="".join(self.reasoning.get(index, ())))


def native_chunk(generations: Generations, event: dict[str, Any]) -> tuple[bool, bool]:
    """Reads one decoded chunk of a non-Anthropic model; (recognised, final)."""
    final = bool(event.get("stop_reason") or event.get("completionReason") or event.get("is_finished") is True
                 or event.get("event_type") == "stream-end" or "messageStop" in event)
    index = as_int(event.get("index")) or 0
    if isinstance(event.get("outputText"), str):  # Titan
        generations.text(index, event["outputText"])
    elif isinstance(event.get("generation"), str):  # Llama
        generations.text(0, event["generation"])
    elif isinstance(event.get("outputs"), list):  # Mistral text models
        for output in dicts(event["outputs"]):
            generations.text(0, output.get("text"))
            final = final or bool(output.get("stop_reason"))
    elif isinstance(event.get("choices"), list):  # Jamba, DeepSeek, Mistral chat, gpt-oss
        for position, choice in enumerate(dicts(event["choices"])):
            slot = as_int(choice.get("index"))
            slot = position if slot is None else slot
            delta = as_dict(choice.get("delta")) or as_dict(choice.get("message"))
            generations.text(slot, delta.get("content") if isinstance(delta.get("content"), str) else choice.get("text"))
            generations.thought(slot, delta.get("reasoning_content"))
            for number, tool_call in enumerate(dicts(delta.get("tool_calls"))):
                tool_slot = as_int(tool_call.get("index"))
                generations.tool(slot, number if tool_slot is None else tool_slot,
                                 as_dict(tool_call.get("function")).get("arguments"))
            final = final or bool(choice.get("finish_reason") or choice.get("stop_reason"))
    elif isinstance(event.get("generations"), list):  # Cohere Command, generation objects
        if event.get("is_finished") is True and generations:
            return True, True  # the last chunk repeats what was streamed
        for position, generation in enumerate(dicts(event["generations"])):
            slot = as_int(generation.get("index"))
            generations.text(position if slot is None else slot, generation.get("text"))
    elif "contentBlockDelta" in event:  # Nova
        block = as_dict(event["contentBlockDelta"])
        delta = as_dict(block.get("delta"))
        generations.text(0, delta.get("text"))
        generations.thought(0, as_dict(delta.get("reasoningContent")).get("text"))
        generations.tool(0, as_int(block.get("contentBlockIndex")) or 0, as_dict(delta.get("toolUse")).get("input"))
    elif isinstance(event.get("text"), str) and event.get("event_type") in (None, "text-generation") and not (
        event.get("is_finished") is True and generations
    ):
        generations.text(index, event["text"])  # Cohere Command (R): text pieces per generation
    elif not final and not any(k in event for k in _NATIVE_CONTROL_KEYS):
        return False, False
    return True, final


# Chunks that carry no text but are part of a recognised stream (Nova's framing events,
# Cohere's stream-start and tool events, usage-only chunks).
_NATIVE_CONTROL_KEYS = ("messageStart", "contentBlockStart", "contentBlockStop", "metadata", "event_type",
                        "amazon-bedrock-invocationMetrics", "usage", "is_finished")
