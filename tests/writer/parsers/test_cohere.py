from __future__ import annotations

import json

from tests.writer.wire import run
from tests.writer.wire import sse

V2_REQUEST = {"model": "command-a-03-2025", "messages": [{"role": "system", "content": "Be brief."},
              {"role": "user", "content": [{"type": "text", "text": "Define entropy."}]}],
              "max_tokens": 100, "temperature": 0.3, "logprobs": True}


def test_v2_chat_json():
    response = {"id": "c1", "finish_reason": "COMPLETE", "message": {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Physics or info theory?"}, {"type": "text", "text": "A measure of disorder."}]},
        "usage": {"billed_units": {"input_tokens": 9, "output_tokens": 5}, "tokens": {"input_tokens": 200, "output_tokens": 12}}}
    call = run("api.cohere.com", "/v2/chat", request=V2_REQUEST, response=response)
    assert call.parse_error is None
    assert call.outputs == ["A measure of disorder.\nPhysics or info theory?"] and call.reasoning == ["Physics or info theory?"]
    assert (call.prompt_tokens, call.completion_tokens) == (200, 12)
    assert (call.model, call.logprobs, call.max_tokens, call.temperature) == ("command-a-03-2025", True, 100, 0.3)


def v2_events(end: bool = True):
    events = [
        {"type": "message-start", "id": "c1", "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}},
        {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "A measure"}}}},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": " of disorder."}}}},
        {"type": "content-end", "index": 0},
    ]
    if end:
        events.append({"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": {
            "billed_units": {"input_tokens": 9, "output_tokens": 5}, "tokens": {"input_tokens": 200, "output_tokens": 12}}}})
    return sse(*events, named=True, done=end)


def test_v2_chat_stream():
    call = run("api.cohere.com", "/v2/chat", request={**V2_REQUEST, "stream": True}, response=v2_events(),
               content_type="text/event-stream")
    assert call.parse_error is None and call.streamed
    assert call.outputs == ["A measure of disorder."] and (call.prompt_tokens, call.completion_tokens) == (200, 12)


def test_v2_chat_stream_truncated():
    call = run("api.cohere.com", "/v2/chat", request={**V2_REQUEST, "stream": True}, response=v2_events(end=False),
               content_type="text/event-stream")
    assert call.outputs == ["A measure of disorder."]
    assert call.parse_error == "response: stream truncated before message-end"


def ndjson(*lines):
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def test_v1_chat_json_and_ndjson_stream():
    request = {"model": "command-r-plus", "message": "Hi", "preamble": "Be warm.",
               "chat_history": [{"role": "USER", "message": "Hello"}, {"role": "CHATBOT", "message": "Hey"}]}
    final = {"text": "Hello again!", "generation_id": "g", "finish_reason": "COMPLETE",
             "meta": {"billed_units": {"input_tokens": 7, "output_tokens": 3}}}
    call = run("api.cohere.ai", "/v1/chat", request=request, response=final)
    assert call.outputs == ["Hello again!"] and (call.prompt_tokens, call.completion_tokens) == (7, 3)
    assert call.template_signature is not None
    body = ndjson(
        {"is_finished": False, "event_type": "stream-start", "generation_id": "g"},
        {"is_finished": False, "event_type": "text-generation", "text": "Hello"},
        {"is_finished": False, "event_type": "text-generation", "text": " again!"},
        {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE", "response": final},
    )
    call = run("api.cohere.ai", "/v1/chat", request={**request, "stream": True}, response=body,
               content_type="application/stream+json")
    assert call.parse_error is None and call.streamed
    assert call.outputs == ["Hello again!"] and call.completion_tokens == 3


def test_v1_stream_truncated_and_bad_line():
    body = ndjson({"event_type": "stream-start"}, {"event_type": "text-generation", "text": "Hel"})
    call = run("api.cohere.ai", "/v1/chat", request={"message": "x", "stream": True}, response=body,
               content_type="application/stream+json")
    assert call.outputs == ["Hel"] and call.parse_error == "response: stream truncated before stream-end"
    body = ndjson({"event_type": "text-generation", "text": "Hel"}) + b'{"event_type": oops}\n'
    call = run("api.cohere.ai", "/v1/chat", request={"message": "x", "stream": True}, response=body,
               content_type="application/stream+json")
    assert call.parse_error == "response: line 2: invalid JSON at byte 15"


def test_v1_generate_num_generations_and_likelihoods():
    request = {"model": "command", "prompt": "Tagline:", "num_generations": 3, "return_likelihoods": "GENERATION", "max_tokens": 20}
    response = {"id": "x", "generations": [{"id": "a", "text": "One"}, {"id": "b", "text": "Two"}, {"id": "c", "text": "Three"}],
                "meta": {"billed_units": {"input_tokens": 2, "output_tokens": 6}}}
    call = run("api.cohere.com", "/v1/generate", request=request, response=response)
    assert call.outputs == ["One", "Two", "Three"]
    assert (call.request_n, call.logprobs, call.max_tokens, call.prompt_tokens) == (3, True, 20, 2)
    body = ndjson({"text": "O", "index": 0, "is_finished": False}, {"text": "T", "index": 1, "is_finished": False},
                  {"text": "ne", "index": 0, "is_finished": False}, {"text": "wo", "index": 1, "is_finished": False},
                  {"is_finished": True, "finish_reason": "COMPLETE", "response": {"id": "x", "generations": [
                      {"text": "One", "index": 0}, {"text": "Two", "index": 1}], "meta": {"billed_units": {"input_tokens": 2, "output_tokens": 4}}}})
    call = run("api.cohere.com", "/v1/generate", request={**request, "stream": True, "num_generations": 2}, response=body,
               content_type="application/stream+json")
    assert call.outputs == ["One", "Two"] and call.parse_error is None
