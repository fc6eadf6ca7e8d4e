from __future__ import annotations

import gzip
import json
import time

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.proxy.exchange import RequestSnapshot
from agent.proxy.exchange import ResponseSnapshot
from agent.proxy.hosts import Route
from agent.writer.parsers import FAMILY_MODULES
from agent.writer.parsers import parse_call

from .wire import compress
from .wire import exchange
from .wire import run
from .wire import sse

CHAT_REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}
CHAT_RESPONSE = {"model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 2}}


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_compressed_request_and_response(encoding):
    call = run("api.openai.com", "/v1/chat/completions",
               request=compress(json.dumps(CHAT_REQUEST).encode(), encoding),
               request_headers=(("Content-Type", "application/json"), ("Content-Encoding", encoding)),
               response=compress(json.dumps(CHAT_RESPONSE).encode(), encoding),
               response_headers=(("Content-Type", "application/json"), ("Content-Encoding", encoding)))
    assert call.parse_error is None
    assert call.model == "gpt-4o" and call.outputs == ["Hi!"]


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_compressed_stream(encoding):
    body = sse({"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}, done=True)
    call = run("api.openai.com", "/v1/chat/completions", request={**CHAT_REQUEST, "stream": True},
               response=compress(body, encoding),
               response_headers=(("Content-Type", "text/event-stream"), ("Content-Encoding", encoding)), streamed=True)
    assert call.outputs == ["Hi"] and call.parse_error is None


def test_compression_bomb_gives_parse_error_quickly():
    bomb = gzip.compress(b"\0" * (10 * 1024 * 1024))
    assert len(bomb) < 20_000
    started = time.perf_counter()
    call = run("api.openai.com", "/v1/chat/completions", request=CHAT_REQUEST, response=bomb,
               response_headers=(("Content-Type", "application/json"), ("Content-Encoding", "gzip")),
               max_decoded_bytes=1024 * 1024)
    assert time.perf_counter() - started < 1.0
    assert call.parse_error == "response body exceeds 1 MiB after decompression"
    assert call.model == "gpt-4o"  # the request was still read


def test_request_bomb_is_reported_and_response_still_read():
    call = run("api.openai.com", "/v1/chat/completions", request=gzip.compress(b" " * (3 * 1024 * 1024)),
               request_headers=(("Content-Encoding", "gzip"),), response=CHAT_RESPONSE, max_decoded_bytes=1024 * 1024)
    assert call.parse_error == "request body exceeds 1 MiB after decompression"
    assert call.outputs == ["Hi!"]


def test_corrupt_gzip():
    call = run("api.openai.com", "/v1/chat/completions", request=CHAT_REQUEST, response=b"\x1f\x8b\x08\x00garbage",
               response_headers=(("Content-Encoding", "gzip"),))
    assert call.parse_error == "response gzip body decodes to nothing (corrupt or cut short)"
    call = run("api.openai.com", "/v1/chat/completions", request=CHAT_REQUEST, response=b"plain text, not gzip",
               response_headers=(("Content-Encoding", "gzip"),))
    assert call.parse_error == "response gzip body is corrupt: Error -3 while decompressing data: incorrect header check"


def test_malformed_request_json_still_reads_response():
    call = run("api.openai.com", "/v1/chat/completions", request=b'{"model": "gpt-4o", "messages": [', response=CHAT_RESPONSE)
    assert call.parse_error == "request: invalid JSON at byte 33"
    assert call.outputs == ["Hi!"] and call.served_model == "gpt-4o-2024-08-06"


def test_no_response_at_all():
    call = run("api.openai.com", "/v1/chat/completions", request=CHAT_REQUEST, response=b"", status=None,
               error="Connection killed.")
    assert call.parse_error == "no response: Connection killed."
    assert call.model == "gpt-4o" and call.template_signature is not None


def test_vendor_error_status_keeps_request_fields():
    call = run("api.openai.com", "/v1/chat/completions", request={**CHAT_REQUEST, "n": 5}, status=429,
               response={"error": {"message": "Rate limit", "type": "requests"}})
    assert call.parse_error is None and call.request_n == 5 and call.outputs == []


def test_parse_error_is_scrubbed_of_keys():
    call = run("api.openai.com", "/v1/chat/completions", request=CHAT_REQUEST, response=b"", status=None,
               error="proxy said: Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwxyz012345")
    assert "abcdefghij" not in call.parse_error and "REDACTED" in call.parse_error


def test_parser_bug_becomes_parse_error(monkeypatch, caplog):
    def broken(call, x):
        raise KeyError("secret prompt text")

    monkeypatch.setattr(FAMILY_MODULES["openai"], "parse_response", broken)
    call = run("api.openai.com", "/v1/chat/completions", request=CHAT_REQUEST, response=CHAT_RESPONSE)
    assert call.parse_error == "internal error in openai parser: KeyError"
    assert call.model == "gpt-4o"
    assert "secret prompt text" not in caplog.text and "KeyError at " in caplog.text


def test_request_parser_bug_does_not_cost_the_response(monkeypatch):
    def broken(call, x):
        raise ValueError("boom")

    monkeypatch.setattr(FAMILY_MODULES["openai"], "parse_request", broken)
    call = run("api.openai.com", "/v1/chat/completions", request=CHAT_REQUEST, response=CHAT_RESPONSE)
    assert call.parse_error == "internal error in openai parser: ValueError"
    assert call.outputs == ["Hi!"]


def test_snapshot_types_are_frozen_and_plain():
    route, request, response = exchange("api.openai.com", "/v1/chat/completions", request=CHAT_REQUEST, response=CHAT_RESPONSE)
    with pytest.raises(AttributeError):
        request.body = b""  # type: ignore[misc]
    assert request.header("content-type") == "application/json"
    assert response.header("CONTENT-TYPE") == "application/json"


def test_deep_nesting_does_not_escape():
    deep = b"[" * 100_000 + b"]" * 100_000
    call = run("api.openai.com", "/v1/chat/completions", request=deep, response=deep)
    assert call.parse_error is not None


# --- parse_call never raises: one fuzz test per parser family -----------------------------------

ROUTE_PER_FAMILY = {
    "openai": ("api.openai.com", "/v1/chat/completions", "POST"),
    "anthropic": ("api.anthropic.com", "/v1/messages", "POST"),
    "google": ("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "POST"),
    "bedrock": ("bedrock-runtime.us-east-1.amazonaws.com", "/model/anthropic.claude-v2/invoke-with-response-stream", "POST"),
    "cohere": ("api.cohere.com", "/v1/chat", "POST"),
    "huggingface": ("router.huggingface.co", "/hf-inference/models/gpt2", "POST"),
    "batches": ("api.openai.com", "/v1/files/file-1/content", "GET"),
    "uploads": ("api.openai.com", "/v1/files", "POST"),
    "metadata": ("api.openai.com", "/v1/images/generations", "POST"),
}

CONTENT_TYPES = st.sampled_from([
    "application/json", "text/event-stream", "application/vnd.amazon.eventstream", "application/x-ndjson",
    "multipart/form-data; boundary=xyz", "application/octet-stream", "",
])
ENCODINGS = st.sampled_from(["", "gzip", "br", "zstd", "deflate", "identity", "bogus"])
# Byte soup biased towards the syntax the parsers look for.
FRAGMENTS = st.sampled_from([
    b"data: ", b"event: ", b"\n\n", b"\r\n", b"{", b"}", b"[", b"]", b'"choices"', b'"type"', b'"text"', b":", b",",
    b'"content_block_delta"', b'"candidates"', b'"delta"', b"[DONE]", b"--xyz\r\n", b"\x00\x00\x00\x10", b'"bytes"',
    b'"custom_id"', b'"response"', b'"messages"', b"null", b"1", b'"x"',
])
BODIES = st.one_of(st.binary(max_size=600), st.lists(FRAGMENTS, max_size=60).map(b"".join))


@pytest.mark.parametrize("family", sorted(ROUTE_PER_FAMILY))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request_body=BODIES, response_body=BODIES, content_type=CONTENT_TYPES, encoding=ENCODINGS,
       status=st.sampled_from([200, 200, 500, None]), truncated=st.booleans())
def test_parse_call_never_raises(family, request_body, response_body, content_type, encoding, status, truncated):
    host, path, method = ROUTE_PER_FAMILY[family]
    route, _, _ = exchange(host, path, method=method)
    assert route.family == family
    request = RequestSnapshot(method, "https", host, 443, path, (("Content-Type", content_type), ("Content-Encoding", encoding)),
                              request_body, 0.0)
    response = ResponseSnapshot(status, (("Content-Type", content_type), ("Content-Encoding", encoding)), response_body,
                                streamed=True, truncated=truncated)
    call = parse_call(route, request, response, max_decoded_bytes=256 * 1024)
    assert call.vendor == route.vendor
    assert all(isinstance(text, str) for text in call.outputs + call.reasoning + call.uploaded_texts)
    assert call.parse_error is None or isinstance(call.parse_error, str)
    assert "internal error" not in (call.parse_error or ""), call.parse_error


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_parse_call_never_raises_on_arbitrary_routes(data):
    route = Route(
        vendor="x", endpoint=data.draw(st.sampled_from(["chat.completions", "responses", "completions", "messages", "converse",
                                                          "invoke", "chat", "generate", "conversations", "embeddings",
                                                          "files.upload", "uploads.parts", "datasets.commit", "fine_tuning.jobs"])),
        kind="generation", family=data.draw(st.sampled_from(sorted(FAMILY_MODULES))), stream=data.draw(st.booleans()),
    )
    body = data.draw(BODIES)
    request = RequestSnapshot("POST", "https", "h", 443, "/?alt=sse", (), data.draw(BODIES), 0.0)
    call = parse_call(route, request, ResponseSnapshot(200, (), body))
    assert "internal error" not in (call.parse_error or ""), call.parse_error


# Structure-aware fuzz: JSON built from the field names the parsers read, so type confusion
# (a number where text is expected, a list where an object is) is reached, not just syntax errors.
KEYS = st.sampled_from([
    "model", "messages", "role", "content", "text", "type", "choices", "index", "delta", "message", "usage",
    "prompt_tokens", "completion_tokens", "input_tokens", "output_tokens", "finish_reason", "reasoning_content",
    "tool_calls", "function", "arguments", "output", "candidates", "parts", "thought", "usageMetadata",
    "promptTokenCount", "candidatesTokenCount", "generationConfig", "candidateCount", "contents", "system",
    "response", "result", "custom_id", "body", "status_code", "error", "event_type", "generations", "meta",
    "billed_units", "tokens", "inputs", "parameters", "generated_text", "token", "details", "stream", "n",
    "max_tokens", "temperature", "logprobs", "include", "input", "instructions", "content_block", "thinking",
    "x_groq", "outputs", "generation", "results", "outputText", "contentBlockDelta", "inferenceConfig",
    "amazon-bedrock-invocationMetrics", "inputTokenCount", "purpose", "training_file", "training_files", "file",
    "id", "object", "completion", "prompt", "preferred_output", "modelVersion", "chat_history", "key", "value",
    "encoding", "path", "files", "status", "summary", "reasoningContent", "reasoningText", "stopReason", "bytes",
])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=12), st.sampled_from(["text", "message", "succeeded", "text_delta", "message_start",
                                                            "content_block_delta", "message_stop", "response.completed",
                                                            "output_text", "content-delta", "message-end", "stream-end",
                                                            "text-generation", "base64", "file", "thinking", "user"]))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                               st.dictionaries(KEYS, inner, max_size=6)), max_leaves=30)


def _framed(values, shape: str) -> bytes:
    from .wire import bedrock_chunk
    from .wire import frame

    if shape == "json":
        return json.dumps(values[0]).encode()
    if shape == "sse":
        return sse(*values, done=True)
    if shape == "ndjson":
        return "".join(json.dumps(v) + "\n" for v in values).encode()
    if shape == "array":
        return json.dumps(values).encode()
    if shape == "chunks":
        return b"".join(bedrock_chunk(v) if isinstance(v, dict) else frame("chunk", v) for v in values)
    return b"".join(frame(str(v.get("type", "contentBlockDelta")) if isinstance(v, dict) else "metadata", v) for v in values)


EVERY_ENDPOINT = sorted(set(ROUTE_PER_FAMILY.values()) | {
    ("api.openai.com", "/v1/responses", "POST"),
    ("api.openai.com", "/v1/completions", "POST"),
    ("api.openai.com", "/v1/embeddings", "POST"),
    ("api.openai.com", "/v1/fine_tuning/jobs", "POST"),
    ("api.openai.com", "/v1/uploads/u1/complete", "POST"),
    ("api.mistral.ai", "/v1/conversations", "POST"),
    ("api.anthropic.com", "/v1/complete", "POST"),
    ("api.anthropic.com", "/v1/messages/batches/b1/results", "GET"),
    ("bedrock-runtime.us-east-1.amazonaws.com", "/model/amazon.nova-pro-v1%3A0/converse-stream", "POST"),
    ("bedrock-runtime.us-east-1.amazonaws.com", "/model/meta.llama3/invoke", "POST"),
    ("bedrock-runtime.us-east-1.amazonaws.com", "/model/meta.llama3/invoke-with-response-stream", "POST"),
    ("bedrock.us-east-1.amazonaws.com", "/model-customization-jobs", "POST"),
    ("api.cohere.com", "/v2/chat", "POST"),
    ("api.cohere.com", "/v1/generate", "POST"),
    ("huggingface.co", "/api/datasets/a/b/commit/main", "POST"),
    ("abc.us-east-1.aws.endpoints.huggingface.cloud", "/generate_stream", "POST"),
})


@pytest.mark.parametrize("host,path,method", EVERY_ENDPOINT)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(request_value=JSON_VALUES, response_values=st.lists(JSON_VALUES, min_size=1, max_size=5),
       shape=st.sampled_from(["json", "sse", "ndjson", "array", "chunks", "frames"]))
def test_parse_call_never_raises_on_confused_json(host, path, method, request_value, response_values, shape):
    route, _, _ = exchange(host, path, method=method)
    content_type = {"sse": "text/event-stream", "chunks": "application/vnd.amazon.eventstream",
                    "frames": "application/vnd.amazon.eventstream"}.get(shape, "application/json")
    request = RequestSnapshot(method, "https", host, 443, path, (("Content-Type", "application/json"),),
                              json.dumps(request_value).encode(), 0.0)
    response = ResponseSnapshot(200, (("Content-Type", content_type),), _framed(response_values, shape), streamed=True)
    call = parse_call(route, request, response)
    assert "internal error" not in (call.parse_error or ""), call.parse_error
    assert all(isinstance(text, str) for text in call.outputs + call.reasoning + call.uploaded_texts)
    for number in (call.prompt_tokens, call.completion_tokens, call.request_n, call.max_tokens, call.top_logprobs):
        assert number is None or isinstance(number, int)
    assert call.model is None or isinstance(call.model, str)
