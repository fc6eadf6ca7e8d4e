from __future__ import annotations

from tests.writer.wire import run
from tests.writer.wire import sse


def test_serverless_text_generation():
    call = run("router.huggingface.co", "/hf-inference/models/HuggingFaceTB/SmolLM3-3B",
               request={"inputs": "Once upon a time", "parameters": {"max_new_tokens": 20, "temperature": 0.8, "num_return_sequences": 2}},
               response=[{"generated_text": " there was a fox."}, {"generated_text": " a king ruled."}])
    assert call.parse_error is None and call.model == "HuggingFaceTB/SmolLM3-3B"
    assert call.outputs == [" there was a fox.", " a king ruled."]
    assert (call.request_n, call.max_tokens, call.temperature) == (2, 20, 0.8)


def test_tgi_generate_stream():
    events = [
        {"index": 1, "token": {"id": 1, "text": "Hel", "logprob": -0.1, "special": False}, "generated_text": None, "details": None},
        {"index": 2, "token": {"id": 2, "text": "lo", "logprob": -0.2, "special": False}, "generated_text": None, "details": None},
        {"index": 3, "token": {"id": 3, "text": "</s>", "logprob": 0.0, "special": True}, "generated_text": "Hello",
         "details": {"finish_reason": "eos_token", "generated_tokens": 3}},
    ]
    host = "abc.us-east-1.aws.endpoints.huggingface.cloud"
    call = run(host, "/generate_stream", request={"inputs": "Say hi", "parameters": {"max_new_tokens": 5, "top_n_tokens": 2}},
               response=sse(*events), content_type="text/event-stream")
    assert call.parse_error is None and call.streamed
    assert call.outputs == ["Hello"] and call.completion_tokens == 3 and call.logprobs and call.top_logprobs == 2
    call = run(host, "/generate_stream", request={"inputs": "Say hi"}, response=sse(*events[:2]), content_type="text/event-stream")
    assert call.outputs == ["Hello"] and call.parse_error == "response: stream truncated before generated_text"


def test_error_body():
    call = run("api-inference.huggingface.co", "/models/gpt2", request={"inputs": "x"}, response={"error": "Model gpt2 is currently loading"})
    assert call.parse_error == "response: error body: Model gpt2 is currently loading"
