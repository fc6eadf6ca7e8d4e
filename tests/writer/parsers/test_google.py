from __future__ import annotations

import json

import pytest

from tests.writer.wire import run
from tests.writer.wire import sse

REQUEST = {
    "systemInstruction": {"parts": [{"text": "Answer briefly."}]},
    "contents": [{"role": "user", "parts": [{"text": "Name two planets."}, {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}],
    "generationConfig": {"candidateCount": 2, "maxOutputTokens": 64, "temperature": 0.9, "responseLogprobs": True,
                         "logprobs": 4, "thinkingConfig": {"includeThoughts": True}},
}


def chunk(parts_by_candidate, usage=None, finish=False):
    body = {"candidates": [
        {"index": i, "content": {"role": "model", "parts": parts}, **({"finishReason": "STOP"} if finish else {})}
        for i, parts in parts_by_candidate
    ], "modelVersion": "gemini-2.5-flash-001", "responseId": "r1"}
    if usage:
        body["usageMetadata"] = usage
    return body


USAGE = {"promptTokenCount": 11, "candidatesTokenCount": 8, "thoughtsTokenCount": 5, "totalTokenCount": 24}


def test_generate_content_json_thoughts_excluded():
    response = chunk([(0, [{"text": "Planning.", "thought": True}, {"text": "Mars, "}, {"text": "Venus."}]),
                      (1, [{"text": "Earth and Jupiter."}])], USAGE, finish=True)
    call = run("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:generateContent", request=REQUEST, response=response)
    assert call.parse_error is None
    assert call.model == "gemini-2.5-flash" and call.served_model == "gemini-2.5-flash-001"
    assert call.outputs == ["Mars, Venus.\nPlanning.", "Earth and Jupiter."]
    assert call.reasoning == ["Planning."] and call.output_parts == [["text", "reasoning"], ["text"]]
    assert (call.request_n, call.logprobs, call.top_logprobs, call.max_tokens, call.temperature) == (2, True, 4, 64, 0.9)
    assert (call.prompt_tokens, call.completion_tokens) == (11, 13)
    assert call.template_signature is not None and not call.streamed


def stream_chunks():
    return [
        chunk([(0, [{"text": "Thinking", "thought": True}]), (1, [{"text": "Ea"}])]),
        chunk([(0, [{"text": "Ma"}]), (1, [{"text": "rth"}])], {"promptTokenCount": 11}),
        chunk([(0, [{"text": "rs"}])], USAGE, finish=True),
        chunk([(1, [])], USAGE, finish=True),
    ]


def test_stream_alt_sse_with_crlf():
    body = sse(*stream_chunks()).replace(b"\n", b"\r\n")
    call = run("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
               request=REQUEST, response=body, content_type="text/event-stream", streamed=True)
    assert call.parse_error is None and call.streamed
    assert call.outputs == ["Mars\nThinking", "Earth"] and call.reasoning == ["Thinking"]
    assert (call.prompt_tokens, call.completion_tokens) == (11, 13)


def test_stream_json_array_vertex():
    body = ("[" + ",\r\n".join(json.dumps(c) for c in stream_chunks()) + "]").encode()
    call = run("us-central1-aiplatform.googleapis.com",
               "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent",
               request=REQUEST, response=body)
    assert call.parse_error is None and call.model == "gemini-2.5-pro"
    assert call.outputs == ["Mars\nThinking", "Earth"]


def test_stream_json_array_truncated():
    text = "[" + ",\r\n".join(json.dumps(c) for c in stream_chunks()[:2])
    body = text[:-10].encode()
    call = run("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
               request=REQUEST, response=body, truncated=True)
    assert call.outputs == ["Thinking", "Ea"] and call.output_parts == [["reasoning"], ["text"]]
    assert call.parse_error == (
        f"response: body truncated by the capture cap at {len(body)} bytes; response: JSON array ended before ]"
    )


def test_stream_sse_truncated_before_finish():
    call = run("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
               request=REQUEST, response=sse(*stream_chunks()[:2]), content_type="text/event-stream")
    assert call.outputs == ["Ma\nThinking", "Earth"]
    assert call.parse_error == "response: stream truncated before finishReason"


def test_snake_case_request_and_blocked_prompt():
    call = run("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.0-flash:generateContent",
               request={"contents": [{"parts": [{"text": "x"}]}], "generation_config": {"candidate_count": 3, "max_output_tokens": 7}},
               response={"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}})
    assert (call.request_n, call.max_tokens) == (3, 7)
    assert call.outputs == [] and call.prompt_tokens == 4
    assert call.parse_error == "response: prompt blocked (SAFETY), no candidates"


def test_error_inside_stream():
    body = sse(chunk([(0, [{"text": "par"}])]), {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})
    call = run("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
               request=REQUEST, response=body, content_type="text/event-stream")
    assert call.outputs == ["par"]
    assert call.parse_error == "response: stream error: 503: The model is overloaded."


@pytest.mark.parametrize("path", ["/v1beta/models/gemini-2.5-flash:embedContent", "/v1beta/models/gemini-2.5-flash:countTokens"])
def test_metadata_only_routes(path):
    call = run("generativelanguage.googleapis.com", path, request={"content": {"parts": [{"text": "x"}]}}, response={"totalTokens": 3})
    assert call.kind == "other" and call.outputs == [] and call.parse_error is None
