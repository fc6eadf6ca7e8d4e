"""A wire-format corpus written from the vendors' API references (../shared/reference/vendors.md):
for each endpoint family, bodies with tools and parallel tool calls, refusals, content filters,
thinking blocks, cache-usage fields, error bodies, batch files, and streams with keep-alive
comments, `[DONE]`, missing usage and early ends. Each case says what the capture must read.

The bodies are our own, shaped after the references; text is short and multilingual on purpose
(a split inside a multi-byte character must not change a thing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from .wire import bedrock_chunk
from .wire import frame
from .wire import sse

SSE = "text/event-stream"
EVENTSTREAM = "application/vnd.amazon.eventstream"
NDJSON = "application/stream+json"
ARGS_A = '{"city": "Zürich"}'
ARGS_B = '{"city": "東京"}'


@dataclass(frozen=True)
class Case:
    name: str
    host: str
    path: str
    request: Any
    response: bytes
    content_type: str = "application/json"
    status: int = 200
    method: str = "POST"
    outputs: list[str] = field(default_factory=list)
    parts: list[list[str]] | None = None
    usage: tuple[int | None, int | None] | None = None
    error: str | None = None  # the parse_error must contain this ("" means there is none)
    stream: bool = False
    disconnect: str | None = None  # mitmproxy's error when the vendor dropped the connection


def j(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def jsonl(*lines: Any) -> bytes:
    return b"".join(j(line) + b"\n" for line in lines)


CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Wetter?"}]}
OPENAI = ("api.openai.com", "/v1/chat/completions")

CASES: list[Case] = [
    # --- OpenAI Chat Completions --------------------------------------------------------------
    Case("openai-chat-parallel-tools", *OPENAI, CHAT, j({
        "id": "c", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None, "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "w", "arguments": ARGS_A}},
            {"id": "b", "type": "function", "function": {"name": "w", "arguments": ARGS_B}}]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 30, "prompt_tokens_details": {"cached_tokens": 10}}}),
        outputs=[f"{ARGS_A}\n{ARGS_B}"], parts=[["tool_arguments"]], usage=(20, 30)),
    Case("openai-chat-refusal", *OPENAI, CHAT, j({
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": None,
                                                                     "refusal": "Ich kann dabei nicht helfen."}}]}),
        outputs=["Ich kann dabei nicht helfen."], parts=[["refusal"]]),
    Case("openai-chat-content-filter", *OPENAI, CHAT, j({
        "choices": [{"index": 0, "finish_reason": "content_filter", "message": {"role": "assistant", "content": ""},
                     "content_filter_results": {"hate": {"filtered": True, "severity": "high"}}}]}),
        outputs=[""], parts=[[]]),
    Case("openai-chat-429", *OPENAI, CHAT, j({"error": {"message": "Rate limit reached", "type": "requests",
                                                       "code": "rate_limit_exceeded"}}), status=429, error=""),
    Case("openai-chat-500", *OPENAI, CHAT, b"<html>upstream error</html>", content_type="text/html", status=500, error=""),
    Case("openai-chat-stream-keepalive-done", *OPENAI, {**CHAT, "stream": True}, (
        b": keep-alive\n\n"
        + sse({"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Grüß"}}]})
        + b": OPENROUTER PROCESSING\n\n"
        + sse({"choices": [{"index": 0, "delta": {"content": " dich – 你好"}, "finish_reason": None}]},
              {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
              {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4,
                                        "prompt_tokens_details": {"cached_tokens": 0}}}, done=True)),
        SSE, outputs=["Grüß dich – 你好"], usage=(5, 4), stream=True),
    Case("openai-chat-stream-no-usage", *OPENAI, {**CHAT, "stream": True}, sse(
        {"choices": [{"index": 0, "delta": {"content": "ça va"}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, done=True),
        SSE, outputs=["ça va"], usage=(None, None), stream=True),
    Case("openai-chat-stream-early-disconnect", *OPENAI, {**CHAT, "stream": True}, sse(
        {"choices": [{"index": 0, "delta": {"content": "Halb"}}]})[:-1] + b"",
        SSE, outputs=["Halb"], error="response: stream truncated before [DONE]", stream=True,
        disconnect="peer closed connection without sending complete message body"),
    Case("openai-chat-stream-parallel-tools", *OPENAI, {**CHAT, "stream": True}, sse(
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "a", "type": "function",
                                                            "function": {"name": "w", "arguments": ARGS_A[:7]}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1, "id": "b", "type": "function",
                                                            "function": {"name": "w", "arguments": ARGS_B}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ARGS_A[7:]}}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}, done=True),
        SSE, outputs=[f"{ARGS_A}\n{ARGS_B}"], parts=[["tool_arguments"]], stream=True),
    Case("deepseek-reasoning-stream", "api.deepseek.com", "/chat/completions", {**CHAT, "stream": True}, sse(
        {"choices": [{"index": 0, "delta": {"reasoning_content": "Erst denken…"}}]},
        {"choices": [{"index": 0, "delta": {"content": "Fertig."}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 3, "completion_tokens": 9, "prompt_cache_hit_tokens": 2, "prompt_cache_miss_tokens": 1}},
        done=True), SSE, outputs=["Fertig.\nErst denken…"], parts=[["text", "reasoning"]], usage=(3, 9), stream=True),
    Case("openai-legacy-completions-n2", "api.openai.com", "/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "x", "n": 2},
         j({"object": "text_completion", "choices": [{"index": 1, "text": "zwei"}, {"index": 0, "text": "eins"}]}),
         outputs=["eins", "zwei"]),
    # --- OpenAI Responses -----------------------------------------------------------------------
    Case("responses-stream-terminal", "api.openai.com", "/v1/responses", {"model": "gpt-5", "input": "x", "stream": True}, sse(
        {"type": "response.created", "response": {"model": "gpt-5", "status": "in_progress", "output": []}},
        {"type": "response.output_text.delta", "output_index": 1, "delta": "Bonjour"},
        {"type": "response.completed", "response": {"model": "gpt-5", "status": "completed", "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Brief."}]},
            {"type": "message", "content": [{"type": "output_text", "text": "Bonjour"}]}],
            "usage": {"input_tokens": 4, "output_tokens": 8, "input_tokens_details": {"cached_tokens": 2}}}},
        named=True), SSE, outputs=["Bonjour\nBrief."], parts=[["text", "reasoning"]], usage=(4, 8), stream=True),
    Case("responses-refusal", "api.openai.com", "/v1/responses", {"model": "gpt-5", "input": "x"}, j({
        "object": "response", "status": "completed", "output": [
            {"type": "message", "content": [{"type": "refusal", "refusal": "Non."}]}]}),
        outputs=["Non."], parts=[["refusal"]]),
    # --- Anthropic ------------------------------------------------------------------------------
    Case("anthropic-thinking-tools-cache", "api.anthropic.com", "/v1/messages", {"model": "claude", "max_tokens": 9, "messages": []}, j({
        "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "stop_reason": "tool_use", "content": [
            {"type": "thinking", "thinking": "Zwei Städte.", "signature": "c2ln"},
            {"type": "redacted_thinking", "data": "ZW5j"},
            {"type": "tool_use", "id": "t1", "name": "w", "input": {"city": "Zürich"}},
            {"type": "tool_use", "id": "t2", "name": "w", "input": {"city": "東京"}}],
        "usage": {"input_tokens": 10, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1000, "output_tokens": 50}}),
        outputs=[f"{ARGS_A}\n{ARGS_B}\nZwei Städte."], parts=[["tool_arguments", "reasoning"]], usage=(1110, 50)),
    Case("anthropic-refusal-stop", "api.anthropic.com", "/v1/messages", {"model": "claude", "max_tokens": 9, "messages": []}, j({
        "type": "message", "role": "assistant", "stop_reason": "refusal", "content": [],
        "usage": {"input_tokens": 3, "output_tokens": 0}}), outputs=[""], parts=[[]], usage=(3, 0)),
    Case("anthropic-overloaded-529", "api.anthropic.com", "/v1/messages", {"model": "claude", "max_tokens": 9, "messages": []},
         j({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}), status=529, error=""),
    Case("anthropic-stream-ping-cut", "api.anthropic.com", "/v1/messages", {"model": "claude", "max_tokens": 9, "stream": True, "messages": []},
         sse({"type": "message_start", "message": {"model": "claude", "usage": {"input_tokens": 3, "output_tokens": 1}}},
             {"type": "ping"},
             {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
             {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hallo Wélt"}},
             named=True), SSE, outputs=["Hallo Wélt"], usage=(3, 1),
         error="response: stream truncated before message_stop", stream=True),
    Case("anthropic-legacy-complete-stream", "api.anthropic.com", "/v1/complete", {"model": "claude-2.1", "prompt": "x", "stream": True},
         sse({"type": "completion", "completion": " Olá", "stop_reason": None, "model": "claude-2.1"},
             {"type": "completion", "completion": "!", "stop_reason": "stop_sequence", "model": "claude-2.1"}, named=True),
         SSE, outputs=[" Olá!"], stream=True),
    # --- Google -------------------------------------------------------------------------------
    Case("gemini-candidates-safety-and-thought", "generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-pro:generateContent",
         {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"candidateCount": 2}}, j({
             "candidates": [
                 {"index": 0, "finishReason": "STOP", "content": {"parts": [{"text": "Denke.", "thought": True}, {"text": "Antwort"}]}},
                 {"index": 1, "finishReason": "SAFETY", "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}]}],
             "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 3, "thoughtsTokenCount": 2, "cachedContentTokenCount": 4}}),
         outputs=["Antwort\nDenke.", ""], parts=[["text", "reasoning"], []], usage=(7, 5)),
    Case("gemini-stream-sse-function-call", "generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
         {"contents": [{"parts": [{"text": "x"}]}]}, sse(
             {"candidates": [{"content": {"parts": [{"functionCall": {"name": "w", "args": {"city": "Zürich"}}}]}}]},
             {"candidates": [{"content": {"parts": [{"functionCall": {"name": "w", "args": {"city": "東京"}}}]}, "finishReason": "STOP"}],
              "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 6}}),
         SSE, outputs=[f"{ARGS_A}\n{ARGS_B}"], parts=[["tool_arguments"]], usage=(5, 6), stream=True),
    Case("gemini-400", "generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:generateContent",
         {"contents": []}, j({"error": {"code": 400, "message": "contents is not specified", "status": "INVALID_ARGUMENT"}}),
         status=400, error=""),
    # --- Cohere -------------------------------------------------------------------------------
    Case("cohere-v2-stream-tools", "api.cohere.com", "/v2/chat", {"model": "command-a", "stream": True, "messages": []}, sse(
        {"type": "message-start", "id": "m", "delta": {"message": {"role": "assistant"}}},
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "Nachschlagen."}}},
        {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {"id": "t", "type": "function",
                                                                                   "function": {"name": "w", "arguments": ""}}}}},
        {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": ARGS_A}}}}},
        {"type": "tool-call-end", "index": 0},
        {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": {
            "billed_units": {"input_tokens": 2, "output_tokens": 3}, "tokens": {"input_tokens": 20, "output_tokens": 30}}}},
        done=True), SSE, outputs=[f"{ARGS_A}\nNachschlagen."], parts=[["tool_arguments", "reasoning"]], usage=(20, 30), stream=True),
    Case("cohere-v1-chat-stream-cut", "api.cohere.com", "/v1/chat", {"message": "x", "stream": True}, jsonl(
        {"event_type": "stream-start", "generation_id": "g", "is_finished": False},
        {"event_type": "text-generation", "text": "Halb", "is_finished": False}),
        NDJSON, outputs=["Halb"], error="response: stream truncated before stream-end", stream=True),
    # --- Bedrock ------------------------------------------------------------------------------
    Case("bedrock-converse-stream-throttled", "bedrock-runtime.eu-central-1.amazonaws.com", "/model/amazon.nova-pro-v1%3A0/converse-stream",
         {"messages": [{"role": "user", "content": [{"text": "x"}]}]}, (
             frame("messageStart", {"role": "assistant"})
             + frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Grüß"}})
             + frame("throttlingException", {"message": "Too many tokens"}, "exception")),
         EVENTSTREAM, outputs=["Grüß"], error="response: stream exception throttlingException: Too many tokens", stream=True),
    Case("bedrock-invoke-legacy-claude-stream", "bedrock-runtime.us-east-1.amazonaws.com", "/model/anthropic.claude-instant-v1/invoke-with-response-stream",
         {"prompt": "\n\nHuman: x\n\nAssistant:", "max_tokens_to_sample": 9}, (
             bedrock_chunk({"completion": " Grüß", "stop_reason": None, "stop": None})
             + bedrock_chunk({"completion": " Gott", "stop_reason": "stop_sequence", "stop": "\n\nHuman:",
                              "amazon-bedrock-invocationMetrics": {"inputTokenCount": 8, "outputTokenCount": 3}})),
         EVENTSTREAM, outputs=[" Grüß Gott"], usage=(8, 3), stream=True),
    Case("bedrock-invoke-jurassic", "bedrock-runtime.us-east-1.amazonaws.com", "/model/ai21.j2-mid-v1/invoke",
         {"prompt": "x", "maxTokens": 9}, j({"id": 1, "completions": [{"data": {"text": "Ja."}, "finishReason": {"reason": "endoftext"}}]}),
         outputs=["Ja."]),
    Case("bedrock-invoke-validation-400", "bedrock-runtime.us-east-1.amazonaws.com", "/model/ai21.j2-mid-v1/invoke",
         {"prompt": "x"}, j({"message": "Malformed input request"}), status=400, error=""),
    # --- Azure, Vertex, Mistral, Groq, Hugging Face -----------------------------------------------
    Case("azure-content-filter-400", "res.openai.azure.com", "/openai/deployments/prod/chat/completions?api-version=2024-10-21",
         CHAT, j({"error": {"message": "The response was filtered", "type": None, "param": "prompt", "code": "content_filter",
                            "status": 400, "innererror": {"code": "ResponsibleAIPolicyViolation"}}}), status=400, error=""),
    Case("azure-stream-prompt-filter-results", "res.openai.azure.com", "//openai/deployments/prod/chat/completions?api-version=2024-10-21",
         {**CHAT, "stream": True}, sse(
             {"choices": [], "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]},
             {"choices": [{"index": 0, "delta": {"content": "Hej"}, "content_filter_results": {}}]},
             {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, done=True),
         SSE, outputs=["Hej"], stream=True),
    Case("vertex-claude-rawpredict", "us-east5-aiplatform.googleapis.com",
         "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5%4020250929:rawPredict",
         {"anthropic_version": "vertex-2023-10-16", "max_tokens": 9, "messages": []}, j({
             "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "Salut"}],
             "usage": {"input_tokens": 2, "output_tokens": 1, "cache_read_input_tokens": 5}}), outputs=["Salut"], usage=(7, 1)),
    Case("gemini-json-array-stream-cut", "us-central1-aiplatform.googleapis.com",
         "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent",
         {"contents": [{"role": "user", "parts": [{"text": "x"}]}]},
         b'[{"candidates": [{"content": {"role": "model", "parts": [{"text": "Hal"}]}}]}\r\n,\r\n'
         + '{"candidates": [{"content": {"role": "model", "parts": [{"text": "lö"}]}}]}'.encode(),
         outputs=["Hallö"], error="response:", stream=True),
    Case("mistral-conversation-function-call", "api.mistral.ai", "/v1/conversations", {"inputs": "x", "model": "mistral-medium"}, j({
        "conversation_id": "c", "outputs": [
            {"type": "function.call", "tool_call_id": "t", "name": "w", "arguments": ARGS_A},
            {"type": "message.output", "role": "assistant", "content": "Voilà."}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4}}), outputs=[f"Voilà.\n{ARGS_A}"], parts=[["text", "tool_arguments"]],
        usage=(3, 4)),
    Case("mistral-fim", "codestral.mistral.ai", "/v1/fim/completions", {"model": "codestral-latest", "prompt": "def f(", "suffix": ")"}, j({
        "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1}}), outputs=["x"], usage=(4, 1)),
    Case("groq-stream-x-groq-usage", "api.groq.com", "/openai/v1/chat/completions", {**CHAT, "stream": True}, sse(
        {"choices": [{"index": 0, "delta": {"content": "¡Hola!"}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
         "x_groq": {"usage": {"prompt_tokens": 6, "completion_tokens": 2}}}, done=True),
        SSE, outputs=["¡Hola!"], usage=(6, 2), stream=True),
    Case("hf-tgi-stream", "abc.us-east-1.aws.endpoints.huggingface.cloud", "/generate_stream",
         {"inputs": "x", "parameters": {"max_new_tokens": 5}}, sse(
             {"token": {"id": 1, "text": "Moin", "special": False}, "generated_text": None},
             {"token": {"id": 2, "text": "</s>", "special": True}, "generated_text": "Moin",
              "details": {"generated_tokens": 2}}), SSE, outputs=["Moin"], stream=True),
    Case("hf-tgi-stream-error", "abc.us-east-1.aws.endpoints.huggingface.cloud", "/generate_stream",
         {"inputs": "x"}, sse({"token": {"id": 1, "text": "Mo", "special": False}},
                              {"error": "Request failed during generation: Server error: CUDA OOM", "error_type": "generation"}),
         SSE, outputs=["Mo"], error="response: stream error:", stream=True),
    # --- Batch files --------------------------------------------------------------------------
    Case("openai-batch-file-mixed", "api.openai.com", "/v1/files/file-out/content", None, jsonl(
        {"id": "b1", "custom_id": "r1", "response": {"status_code": 200, "body": {"model": "gpt-4o", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "eins", "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "w", "arguments": ARGS_A}}]}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2}}}, "error": None},
        {"id": "b2", "custom_id": "r2", "response": {"status_code": 429, "body": {"error": {"message": "limit"}}}, "error": None},
        {"id": "b3", "custom_id": "r3", "response": None, "error": {"code": "batch_expired", "message": "expired"}},
        {"id": "b4", "custom_id": "r4", "response": {"status_code": 200, "body": {"model": "gpt-4o", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "vier"}}], "usage": {"prompt_tokens": 1, "completion_tokens": 1}}}}),
        "application/octet-stream", method="GET", outputs=[f"eins\n{ARGS_A}", "vier"],
        parts=[["text", "tool_arguments"], ["text"]], usage=(2, 3)),
    Case("anthropic-batch-results", "api.anthropic.com", "/v1/messages/batches/msgbatch_1/results", None, jsonl(
        {"custom_id": "a", "result": {"type": "succeeded", "message": {"type": "message", "model": "claude", "content": [
            {"type": "text", "text": "Hallo"}], "usage": {"input_tokens": 1, "output_tokens": 1}}}},
        {"custom_id": "b", "result": {"type": "errored", "error": {"type": "invalid_request_error", "message": "bad"}}},
        {"custom_id": "c", "result": {"type": "canceled"}}),
        "application/binary", method="GET", outputs=["Hallo"], usage=(1, 1)),
    Case("gemini-batch-file", "generativelanguage.googleapis.com", "/download/v1beta/files/batch-9:download?alt=media", None, jsonl(
        {"key": "k1", "response": {"candidates": [{"content": {"parts": [{"functionCall": {"name": "w", "args": {"city": "Zürich"}}}]},
                                                   "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 3}}},
        {"key": "k2", "error": {"code": 500, "message": "internal"}}),
        "application/octet-stream", method="GET", outputs=[ARGS_A], parts=[["tool_arguments"]], usage=(2, 3)),
]

STREAM_CASES = [case for case in CASES if case.stream]
