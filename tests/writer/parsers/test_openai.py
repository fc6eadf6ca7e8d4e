from __future__ import annotations

import pytest

from tests.writer.wire import run
from tests.writer.wire import sse

CHAT_REQUEST = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "Name a colour."}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
    ],
    "n": 2,
    "logprobs": True,
    "top_logprobs": 5,
    "max_completion_tokens": 50,
    "temperature": 0.7,
}

CHAT_RESPONSE = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {"index": 1, "message": {"role": "assistant", "content": "Blue."}, "finish_reason": "stop", "logprobs": None},
        {"index": 0, "message": {"role": "assistant", "content": "Red."}, "finish_reason": "stop", "logprobs": None},
    ],
    "usage": {"prompt_tokens": 21, "completion_tokens": 4, "total_tokens": 25,
              "completion_tokens_details": {"reasoning_tokens": 0}},
}

# Every OpenAI-compatible host answers the same shape.
COMPATIBLE = [
    ("openai", "api.openai.com", "/v1/chat/completions"),
    ("azure-openai", "contoso.openai.azure.com", "/openai/v1/chat/completions"),
    ("mistral", "api.mistral.ai", "/v1/chat/completions"),
    ("deepseek", "api.deepseek.com", "/chat/completions"),
    ("xai", "api.x.ai", "/v1/chat/completions"),
    ("groq", "api.groq.com", "/openai/v1/chat/completions"),
    ("together", "api.together.xyz", "/v1/chat/completions"),
    ("fireworks", "api.fireworks.ai", "/inference/v1/chat/completions"),
    ("perplexity", "api.perplexity.ai", "/chat/completions"),
    ("openrouter", "openrouter.ai", "/api/v1/chat/completions"),
    ("huggingface", "router.huggingface.co", "/v1/chat/completions"),
    ("google", "generativelanguage.googleapis.com", "/v1beta/openai/chat/completions"),
    ("cohere", "api.cohere.ai", "/compatibility/v1/chat/completions"),
]


@pytest.mark.parametrize("vendor,host,path", COMPATIBLE)
def test_chat_json(vendor, host, path):
    call = run(host, path, request=CHAT_REQUEST, response=CHAT_RESPONSE)
    assert call.parse_error is None
    assert (call.vendor, call.endpoint, call.kind) == (vendor, "chat.completions", "generation")
    assert call.model == "gpt-4o-mini" and call.served_model == "gpt-4o-mini-2024-07-18"
    assert call.outputs == ["Red.", "Blue."]  # by choice index
    assert (call.request_n, call.logprobs, call.top_logprobs) == (2, True, 5)
    assert (call.max_tokens, call.temperature, call.streamed) == (50, 0.7, False)
    assert (call.prompt_tokens, call.completion_tokens) == (21, 4)
    assert call.template_signature and call.prompt_sha256


def test_azure_deployment_is_the_model():
    call = run(
        "contoso.openai.azure.com", "/openai/deployments/prod-chat/chat/completions?api-version=2024-10-21",
        request={"messages": [{"role": "user", "content": "hi"}]},
        response={**CHAT_RESPONSE, "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]},
    )
    assert call.model == "prod-chat" and call.served_model == "gpt-4o-mini-2024-07-18"


def chunk(index, delta, finish=None, **extra):
    return {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-2024-08-06",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}], **extra}


def test_chat_stream_n2_interleaved_with_usage():
    body = sse(
        chunk(0, {"role": "assistant", "content": ""}),
        chunk(1, {"role": "assistant", "content": ""}),
        chunk(1, {"content": "Hel"}),
        chunk(0, {"content": "Bon"}),
        chunk(0, {"content": "jour"}),
        chunk(1, {"content": "lo"}),
        chunk(1, {}, "stop"),
        chunk(0, {}, "stop"),
        {"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 6}},
        done=True,
    )
    call = run("api.openai.com", "/v1/chat/completions",
               request={"model": "gpt-4o", "messages": [{"role": "user", "content": "greet"}], "n": 2, "stream": True,
                        "stream_options": {"include_usage": True}},
               response=body, content_type="text/event-stream", streamed=True)
    assert call.parse_error is None
    assert call.outputs == ["Bonjour", "Hello"]
    assert call.streamed and call.request_n == 2
    assert (call.prompt_tokens, call.completion_tokens) == (9, 6)


@pytest.mark.parametrize("delta, output, reasoning", [
    ({"content": "Hi", "refusal": "no"}, "Hi\nno", []),
    ({"role": "assistant", "content": "Hi", "reasoning_content": "hm"}, "Hi\nhm", ["hm"]),
    ({"content": "Hi", "reasoning": "hm"}, "Hi\nhm", ["hm"]),
    ({"content": "Hi", "tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}, "Hi\n{}", []),
    ({"role": "assistant", "content": "Hi"}, "Hi", []),
    ({"content": "Hi"}, "Hi", []),
    ({"role": "assistant", "content": [{"type": "text", "text": "Hi"}]}, "Hi", []),
])
def test_a_delta_with_more_than_its_text_is_read_whole(delta, output, reasoning):
    """Most chunks carry a piece of text and at most a role, and are read without the readers
    for the rest; a delta with anything else beside its text goes through all of them."""
    body = sse(chunk(0, delta), chunk(0, {}, "stop"), done=True)
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "messages": [], "stream": True},
               response=body, content_type="text/event-stream")
    assert call.parse_error is None and call.outputs == [output] and call.reasoning == reasoning
    parts = {"refusal": "refusal", "tool_calls": "tool_arguments", "reasoning_content": "reasoning", "reasoning": "reasoning"}
    assert call.output_parts == [["text", *(parts[key] for key in delta if key in parts)]]


@pytest.mark.parametrize("index, outputs", [(1, ["AB"]), ("1", ["AB"]), (1.0, ["AB"]), (True, ["A", "B"]),
                                            (None, ["A", "B"]), (-1, ["A", "B"])])
def test_a_chunk_index_of_any_json_type_names_the_choice_as_int_reads_it(index, outputs):
    """1, "1" and 1.0 are choice 1; a boolean or no index is choice 0; -1 is a choice of its own."""
    body = sse(chunk(index, {"content": "A"}), chunk(1, {"content": "B"}), done=True)
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "messages": [], "stream": True},
               response=body, content_type="text/event-stream")
    assert call.outputs == outputs


def test_chat_stream_without_usage_leaves_usage_unknown():
    body = sse(chunk(0, {"content": "Hi"}), chunk(0, {}, "stop"), done=True)
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "messages": [], "stream": True},
               response=body, content_type="text/event-stream")
    assert call.outputs == ["Hi"] and call.prompt_tokens is None and call.completion_tokens is None


def test_deepseek_reasoning_kept_apart_json_and_stream():
    response = {"model": "deepseek-reasoner", "choices": [{"index": 0, "message": {
        "role": "assistant", "reasoning_content": "Let me think: 2+2.", "content": "4"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 10,
                  "completion_tokens_details": {"reasoning_tokens": 15}}}
    call = run("api.deepseek.com", "/chat/completions", request={"model": "deepseek-reasoner", "messages": [{"role": "user", "content": "2+2?"}]},
               response=response)
    assert call.outputs == ["4\nLet me think: 2+2."] and call.reasoning == ["Let me think: 2+2."]
    body = sse(chunk(0, {"role": "assistant", "reasoning_content": "Let me "}), chunk(0, {"reasoning_content": "think."}),
               chunk(0, {"content": "4"}), chunk(0, {}, "stop"), done=True)
    call = run("api.deepseek.com", "/chat/completions", request={"model": "deepseek-reasoner", "messages": [], "stream": True},
               response=body, content_type="text/event-stream")
    assert call.outputs == ["4\nLet me think."] and call.reasoning == ["Let me think."]


def test_groq_usage_in_x_groq():
    body = sse(chunk(0, {"content": "ok"}), {**chunk(0, {}, "stop"), "x_groq": {"id": "req_1", "usage": {"prompt_tokens": 3, "completion_tokens": 1}}}, done=True)
    call = run("api.groq.com", "/openai/v1/chat/completions", request={"model": "llama-3.3-70b", "messages": [], "stream": True},
               response=body, content_type="text/event-stream")
    assert (call.prompt_tokens, call.completion_tokens) == (3, 1)


def test_openrouter_keepalive_comments_and_mid_stream_error():
    body = (b": OPENROUTER PROCESSING\n\n" + sse(chunk(0, {"content": "partial "})) + b": OPENROUTER PROCESSING\n\n"
            + sse({"id": "gen-1", "object": "chat.completion.chunk", "error": {"code": 502, "message": "Provider disconnected"},
                   "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}, done=True))
    call = run("openrouter.ai", "/api/v1/chat/completions", request={"model": "anthropic/claude-3.5-sonnet", "messages": [], "stream": True},
               response=body, content_type="text/event-stream")
    assert call.outputs == ["partial "]
    assert call.parse_error == "response: stream error: 502: Provider disconnected"


def test_chat_stream_truncated():
    body = sse(chunk(0, {"content": "The answer is"}))
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "messages": [], "stream": True},
               response=body, content_type="text/event-stream", error="client disconnected")
    assert call.outputs == ["The answer is"]
    assert call.parse_error == "response: connection error: client disconnected; response: stream truncated before [DONE]"


def test_tool_call_arguments_are_the_output_when_there_is_no_text():
    response = {"choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "extract", "arguments": "{\"name\": \"Ada\"}"}}]}}]}
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "messages": []}, response=response)
    assert call.outputs == ['{"name": "Ada"}']


def test_mistral_content_chunks_and_thinking():
    response = {"model": "magistral-medium-2509", "choices": [{"index": 0, "message": {"role": "assistant", "content": [
        {"type": "thinking", "thinking": [{"type": "text", "text": "Consider the options."}]},
        {"type": "text", "text": "Option B."}]}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}
    call = run("api.mistral.ai", "/v1/chat/completions", request={"model": "magistral-medium-latest", "messages": [], "n": 1}, response=response)
    assert call.outputs == ["Option B.\nConsider the options."] and call.reasoning == ["Consider the options."]


def test_legacy_completions_json_and_stream():
    response = {"object": "text_completion", "model": "gpt-3.5-turbo-instruct", "choices": [
        {"index": 0, "text": " one", "finish_reason": "stop", "logprobs": None},
        {"index": 1, "text": " two", "finish_reason": "stop", "logprobs": None}], "usage": {"prompt_tokens": 2, "completion_tokens": 2}}
    call = run("api.openai.com", "/v1/completions", request={"model": "gpt-3.5-turbo-instruct", "prompt": "Count:", "n": 2, "logprobs": 3, "max_tokens": 5},
               response=response)
    assert call.outputs == [" one", " two"]
    assert (call.request_n, call.logprobs, call.top_logprobs, call.max_tokens) == (2, True, 3, 5)
    body = sse({"object": "text_completion", "choices": [{"index": 0, "text": "a", "finish_reason": None}]},
               {"object": "text_completion", "choices": [{"index": 0, "text": "b", "finish_reason": "length"}]}, done=True)
    call = run("api.deepseek.com", "/beta/completions", request={"model": "deepseek-chat", "prompt": "x", "suffix": "y", "stream": True},
               response=body, content_type="text/event-stream")
    assert call.outputs == ["ab"] and call.parse_error is None


RESPONSE_OBJECT = {
    "id": "resp_1", "object": "response", "status": "completed", "model": "gpt-5-2025-08-07",
    "output": [
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Thinking about it."}]},
        {"type": "message", "id": "msg_1", "role": "assistant", "content": [
            {"type": "output_text", "text": "Hello ", "annotations": [], "logprobs": []},
            {"type": "output_text", "text": "there.", "annotations": []}]},
    ],
    "usage": {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 30,
              "output_tokens_details": {"reasoning_tokens": 20}, "total_tokens": 42},
}
RESPONSES_REQUEST = {"model": "gpt-5", "instructions": "Be kind.", "input": [
    {"role": "user", "content": [{"type": "input_text", "text": "Say hello"}]}],
    "include": ["message.output_text.logprobs"], "top_logprobs": 3, "max_output_tokens": 100}


def test_responses_json():
    call = run("api.openai.com", "/v1/responses", request=RESPONSES_REQUEST, response=RESPONSE_OBJECT)
    assert call.parse_error is None
    assert call.outputs == ["Hello there.\nThinking about it."] and call.reasoning == ["Thinking about it."]
    assert (call.logprobs, call.top_logprobs, call.max_tokens, call.request_n) == (True, 3, 100, 1)
    assert (call.prompt_tokens, call.completion_tokens, call.served_model) == (12, 30, "gpt-5-2025-08-07")


def test_responses_background_readback():
    call = run("api.openai.com", "/v1/responses/resp_1", method="GET", response=RESPONSE_OBJECT)
    assert call.outputs == ["Hello there.\nThinking about it."] and call.parse_error is None


def responses_events(final: bool = True, error: bool = False):
    events = [
        {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "status": "in_progress", "model": "gpt-5-2025-08-07", "output": []}},
        {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": {"type": "message"}},
        {"type": "response.output_text.delta", "sequence_number": 2, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Hello "},
        {"type": "response.brand_new_event", "sequence_number": 3},
        {"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "there."},
    ]
    if error:
        events.append({"type": "error", "sequence_number": 5, "code": "server_error", "message": "The server had an error"})
    if final:
        events.append({"type": "response.completed", "sequence_number": 6, "response": RESPONSE_OBJECT})
    return sse(*events, named=True)


def test_responses_stream_uses_terminal_event():
    call = run("api.openai.com", "/v1/responses", request={**RESPONSES_REQUEST, "stream": True},
               response=responses_events(), content_type="text/event-stream")
    assert call.parse_error is None and call.streamed
    assert call.outputs == ["Hello there.\nThinking about it."] and (call.prompt_tokens, call.completion_tokens) == (12, 30)


def test_responses_stream_truncated_keeps_deltas():
    call = run("api.x.ai", "/v1/responses", request={"model": "grok-4", "input": "hi", "stream": True},
               response=responses_events(final=False), content_type="text/event-stream")
    assert call.outputs == ["Hello there."]
    assert call.parse_error == "response: stream truncated before response.completed"
    assert call.prompt_tokens is None


def test_responses_stream_error_event():
    call = run("api.openai.com", "/v1/responses", request={"model": "gpt-5", "input": "hi", "stream": True},
               response=responses_events(final=False, error=True), content_type="text/event-stream")
    assert call.parse_error == "response: stream error: server_error: The server had an error"


def test_embeddings_usage_only():
    call = run("api.openai.com", "/v1/embeddings", request={"model": "text-embedding-3-small", "input": ["a", "b"]},
               response={"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}],
                         "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2}})
    assert call.kind == "other" and call.outputs == [] and call.prompt_tokens == 2
    assert call.template_signature is None


def test_mistral_conversations():
    call = run("api.mistral.ai", "/v1/conversations", request={"model": "mistral-medium-latest", "inputs": "Who wrote Hamlet?",
               "completion_args": {"max_tokens": 30, "temperature": 0.2}},
               response={"conversation_id": "conv_1", "outputs": [{"type": "message.output", "role": "assistant", "content": "Shakespeare."}],
                         "usage": {"prompt_tokens": 8, "completion_tokens": 3, "total_tokens": 11}})
    assert call.outputs == ["Shakespeare."] and (call.max_tokens, call.temperature) == (30, 0.2)
    assert (call.prompt_tokens, call.completion_tokens) == (8, 3)


@pytest.mark.parametrize(
    "body,error",
    [
        (b'{"choices": [', "response: invalid JSON at byte 13"),
        (b"", "response: empty body"),
        (b"\xff\xfe\x00garbage", "response: body is not UTF-8 (byte 0)"),
        (b"[1, 2]", "response: expected a JSON object, got list"),
        (b'{"error": {"type": "server_error", "message": "boom"}}', "response: error body: server_error: boom"),
    ],
)
def test_bad_bodies_give_precise_errors(body, error):
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "messages": []}, response=body)
    assert call.parse_error == error


def test_bad_sse_event_json():
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "messages": [], "stream": True},
               response=b'data: {"choices": [}\n\n', content_type="text/event-stream")
    assert call.parse_error == "response: SSE event 1: invalid JSON at byte 13; response: stream truncated before [DONE]"


def test_one_bad_sse_event_does_not_cost_the_stream():
    body = (sse(chunk(0, {"content": "Hello"})) + b'data: {"choices": [}\n\n' + b"data: not json either\n\n"
            + sse(chunk(0, {"content": " world"}, "stop"), done=True))
    call = run("api.openai.com", "/v1/chat/completions", request={"model": "m", "messages": [], "stream": True},
               response=body, content_type="text/event-stream")
    assert call.outputs == ["Hello world"]
    assert call.parse_error == "response: SSE event 2: invalid JSON at byte 13 (and 1 more)"
