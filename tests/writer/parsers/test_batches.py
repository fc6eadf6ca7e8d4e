from __future__ import annotations

import json

from tests.writer.wire import compress
from tests.writer.wire import run


def jsonl(*lines) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def openai_line(i: int, text: str, status: int = 200):
    return {"id": f"batch_req_{i}", "custom_id": f"request-{i}", "response": {
        "status_code": status, "request_id": f"req_{i}", "body": {
            "id": f"chatcmpl-{i}", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10 + i, "completion_tokens": 5, "total_tokens": 15 + i}}}, "error": None}


def test_openai_batch_output_every_line_counted():
    lines = [openai_line(i, f"answer {i}") for i in range(50)]
    lines.insert(7, {"id": "batch_req_x", "custom_id": "request-x", "response": None,
                     "error": {"code": "batch_expired", "message": "expired"}})
    lines.insert(9, {"id": "batch_req_y", "custom_id": "request-y", "response": {"status_code": 400, "body": {"error": {"message": "bad"}}}})
    call = run("api.openai.com", "/v1/files/file-abc/content", method="GET", request=None, response=jsonl(*lines),
               content_type="application/octet-stream")
    assert call.parse_error is None
    assert (call.kind, call.endpoint) == ("batch_results", "batch.results")
    assert call.outputs == [f"answer {i}" for i in range(50)]
    assert call.prompt_tokens == sum(10 + i for i in range(50)) and call.completion_tokens == 250
    assert call.model == call.served_model == "gpt-4o-mini-2024-07-18"


def test_responses_batch_lines_and_gzip():
    line = {"custom_id": "r1", "response": {"status_code": 200, "body": {
        "object": "response", "status": "completed", "model": "gpt-5", "output": [
            {"type": "message", "content": [{"type": "output_text", "text": "hi"}]}],
        "usage": {"input_tokens": 3, "output_tokens": 1}}}}
    body = compress(jsonl(line, line), "gzip")
    call = run("api.openai.com", "/v1/files/file-1/content", method="GET", response=body,
               response_headers=(("Content-Type", "application/octet-stream"), ("Content-Encoding", "gzip")))
    assert call.outputs == ["hi", "hi"] and (call.prompt_tokens, call.completion_tokens) == (6, 2)


def test_mistral_batch_results():
    line = {"id": "b1", "custom_id": "0", "response": {"status_code": 200, "body": {
        "id": "x", "object": "chat.completion", "model": "mistral-small-latest",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Bonjour"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}}, "error": None}
    call = run("api.mistral.ai", "/v1/files/f-1/content", method="GET", response=jsonl(line, line, line))
    assert call.vendor == "mistral" and call.outputs == ["Bonjour"] * 3 and call.completion_tokens == 6


def test_anthropic_batch_results():
    def line(i, kind="succeeded"):
        if kind != "succeeded":
            return {"custom_id": f"req-{i}", "result": {"type": kind, **({"error": {"type": "invalid_request"}} if kind == "errored" else {})}}
        return {"custom_id": f"req-{i}", "result": {"type": "succeeded", "message": {
            "id": f"msg_{i}", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
            "content": [{"type": "text", "text": f"Result {i}"}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 8, "output_tokens": 3, "cache_read_input_tokens": 2}}}}
    body = jsonl(line(0), line(1, "errored"), line(2), line(3, "canceled"), line(4, "expired"), line(5))
    call = run("api.anthropic.com", "/v1/messages/batches/msgbatch_01/results", method="GET", response=body,
               content_type="application/binary")
    assert call.parse_error is None and call.kind == "batch_results"
    assert call.outputs == ["Result 0", "Result 2", "Result 5"]
    assert (call.prompt_tokens, call.completion_tokens) == (30, 9)


def test_gemini_batch_results():
    def line(i):
        return {"key": f"request-{i}", "response": {"candidates": [{"content": {"role": "model", "parts": [
            {"text": "plan", "thought": True}, {"text": f"Answer {i}"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2}, "modelVersion": "gemini-2.5-flash"}}
    body = jsonl(line(0), {"key": "request-1", "error": {"code": 400, "message": "bad"}}, line(2))
    call = run("generativelanguage.googleapis.com", "/download/v1beta/files/batch-abc:download?alt=media", method="GET",
               response=body)
    assert call.parse_error is None and call.kind == "batch_results"
    assert call.outputs == ["Answer 0\nplan", "Answer 2\nplan"] and call.reasoning == ["plan", "plan"]
    assert call.output_parts == [["text", "reasoning"]] * 2
    assert (call.prompt_tokens, call.completion_tokens, call.model) == (8, 4, "gemini-2.5-flash")


def test_truncated_results_file_counts_complete_lines_only():
    body = jsonl(*[openai_line(i, f"a{i}") for i in range(5)])
    cut = body[: len(body) - 40]
    call = run("api.openai.com", "/v1/files/file-1/content", method="GET", response=cut, truncated=True)
    assert call.outputs == ["a0", "a1", "a2", "a3"]
    assert call.parse_error == f"response: body truncated by the capture cap at {len(cut)} bytes"


def test_corrupt_line_in_the_middle_is_reported():
    body = jsonl(openai_line(0, "a")) + b'{"custom_id": broken\n' + jsonl(openai_line(2, "c"))
    call = run("api.openai.com", "/v1/files/file-1/content", method="GET", response=body)
    assert call.outputs == ["a", "c"]
    assert call.parse_error == "response: line 2: invalid JSON at byte 14"


def test_non_batch_file_download_is_other():
    training = jsonl({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]})
    call = run("api.openai.com", "/v1/files/file-1/content", method="GET", response=training)
    assert call.kind == "other" and call.outputs == [] and call.parse_error is None
    call = run("api.openai.com", "/v1/files/file-2/content", method="GET", response=b"\x89PNG\r\n\x1a\n\x00\x00binary")
    assert call.kind == "other" and call.parse_error is None
