from __future__ import annotations

import pytest

from tests.writer.wire import run
from tests.writer.wire import sse

REQUEST = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "temperature": 0.3,
    "system": [{"type": "text", "text": "You are a careful reviewer."}],
    "messages": [{"role": "user", "content": [{"type": "text", "text": "Review this: print(1)"}]}],
    "thinking": {"type": "enabled", "budget_tokens": 512},
}
MESSAGE = {
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "The code prints one.", "signature": "sig"},
        {"type": "text", "text": "Looks fine."},
        {"type": "text", "text": " Ship it."},
    ],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 20, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 50, "output_tokens": 40},
}


@pytest.mark.parametrize(
    "vendor,host,path",
    [
        ("anthropic", "api.anthropic.com", "/v1/messages"),
        ("deepseek", "api.deepseek.com", "/anthropic/v1/messages"),
        ("xai", "api.x.ai", "/v1/messages"),
        ("aws-bedrock", "bedrock-mantle.us-east-1.api.aws", "/anthropic/v1/messages"),
    ],
)
def test_message_json(vendor, host, path):
    call = run(host, path, request=REQUEST, response=MESSAGE)
    assert call.parse_error is None and call.vendor == vendor
    # One output: the answer, then the thinking (README: what an output is).
    assert call.outputs == ["Looks fine. Ship it.\nThe code prints one."]
    assert call.output_parts == [["text", "reasoning"]] and call.reasoning == ["The code prints one."]
    assert (call.model, call.served_model) == ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929")
    assert (call.prompt_tokens, call.completion_tokens) == (170, 40)  # input + cache creation + cache read
    assert (call.max_tokens, call.temperature, call.request_n, call.logprobs) == (1024, 0.3, 1, False)
    assert call.template_signature is not None


def stream_events(stop: bool = True, error: bool = False):
    events = [
        {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                                              "content": [], "usage": {"input_tokens": 25, "cache_read_input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm, "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "fine."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "abc"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "ping"},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hello"}},
        {"type": "future_event_type", "data": 1},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": " world"}},
        {"type": "content_block_stop", "index": 1},
    ]
    if error:
        events.append({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    if stop:
        events += [
            {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 15}},
            {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 17}},
            {"type": "message_stop"},
        ]
    return events


def test_message_stream():
    call = run("api.anthropic.com", "/v1/messages", request={**REQUEST, "stream": True},
               response=sse(*stream_events(), named=True), content_type="text/event-stream", streamed=True)
    assert call.parse_error is None and call.streamed
    assert call.outputs == ["Hello world\nHmm, fine."] and call.reasoning == ["Hmm, fine."]
    assert (call.prompt_tokens, call.completion_tokens) == (30, 17)


def test_message_stream_truncated():
    call = run("api.anthropic.com", "/v1/messages", request={**REQUEST, "stream": True},
               response=sse(*stream_events(stop=False), named=True), content_type="text/event-stream")
    assert call.outputs == ["Hello world\nHmm, fine."]
    assert call.parse_error == "response: stream truncated before message_stop"
    assert call.completion_tokens == 1  # only message_start's count arrived


def test_error_event_inside_200_stream():
    call = run("api.anthropic.com", "/v1/messages", request={**REQUEST, "stream": True},
               response=sse(*stream_events(stop=False, error=True), named=True), content_type="text/event-stream")
    assert call.parse_error == "response: stream error event: overloaded_error: Overloaded"
    assert call.outputs == ["Hello world\nHmm, fine."]


def test_vertex_raw_predict_stream_model_from_path():
    call = run("us-east5-aiplatform.googleapis.com",
               "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5%4020250929:streamRawPredict",
               request={"anthropic_version": "vertex-2023-10-16", "max_tokens": 64, "stream": True,
                        "messages": [{"role": "user", "content": "hi"}]},
               response=sse(*stream_events(), named=True), content_type="text/event-stream")
    assert (call.vendor, call.endpoint, call.model) == ("google", "messages", "claude-sonnet-4-5@20250929")
    assert call.outputs == ["Hello world\nHmm, fine."] and call.parse_error is None


def test_legacy_complete_json_and_stream():
    call = run("api.anthropic.com", "/v1/complete",
               request={"model": "claude-2.1", "prompt": "\n\nHuman: Hi\n\nAssistant:", "max_tokens_to_sample": 20},
               response={"type": "completion", "id": "compl_1", "completion": " Hello!", "stop_reason": "stop_sequence", "model": "claude-2.1"})
    assert call.outputs == [" Hello!"] and call.max_tokens == 20 and call.prompt_tokens is None
    body = sse({"type": "completion", "completion": " Hel", "stop_reason": None, "model": "claude-2.1"},
               {"type": "ping"},
               {"type": "completion", "completion": "lo", "stop_reason": "stop_sequence", "model": "claude-2.1"}, named=True)
    call = run("api.anthropic.com", "/v1/complete", request={"model": "claude-2.1", "prompt": "x", "stream": True},
               response=body, content_type="text/event-stream")
    assert call.outputs == [" Hello"] and call.parse_error is None


def test_tool_use_input_is_the_output_without_text():
    message = {**MESSAGE, "content": [{"type": "tool_use", "id": "t1", "name": "record", "input": {"label": "spam"}}]}
    call = run("api.anthropic.com", "/v1/messages", request=REQUEST, response=message)
    assert call.outputs == ['{"label": "spam"}'] and call.reasoning == []


def test_vendor_error_status_is_not_a_parse_error():
    call = run("api.anthropic.com", "/v1/messages", request=REQUEST, status=529,
               response={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert call.parse_error is None and call.outputs == [] and call.model == "claude-sonnet-4-5"
