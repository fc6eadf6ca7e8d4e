from __future__ import annotations

import json

import pytest

from tests.support.client_side import client_side
from tests.writer.wire import bedrock_chunk
from tests.writer.wire import frame
from tests.writer.wire import run

HOST = "bedrock-runtime.us-east-1.amazonaws.com"
CLAUDE = "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0"
LLAMA = "/model/meta.llama3-1-70b-instruct-v1%3A0"
EVENTSTREAM = "application/vnd.amazon.eventstream"

CONVERSE_REQUEST = {
    "system": [{"text": "You are concise."}],
    "messages": [{"role": "user", "content": [{"text": "Capital of Peru?"}, {"image": {"format": "png", "source": {"bytes": "AAAA"}}}]}],
    "inferenceConfig": {"maxTokens": 200, "temperature": 0.4, "topP": 0.9},
}


@client_side
def botocore_events(operation: str, member: str, body: bytes) -> list:
    """Parse a fixture with botocore's own Bedrock event-stream machinery (proves it is well formed).
    botocore runs in the SDK clients' venv: it wants another python-dateutil than the product."""
    import botocore.session
    from botocore.eventstream import EventStream
    from botocore.parsers import EventStreamJSONParser

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    shape = model.operation_model(operation).output_shape.members[member]

    class Raw:
        def stream(self):
            yield body

    return list(EventStream(Raw(), shape, EventStreamJSONParser(), operation))


def test_converse_json():
    response = {
        "output": {"message": {"role": "assistant", "content": [
            {"reasoningContent": {"reasoningText": {"text": "Peru's capital...", "signature": "s"}}},
            {"text": "Lima."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 14, "outputTokens": 6, "totalTokens": 20, "cacheReadInputTokens": 0},
        "metrics": {"latencyMs": 321},
    }
    call = run(HOST, CLAUDE + "/converse", request=CONVERSE_REQUEST, response=response)
    assert call.parse_error is None
    assert call.model == "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert call.outputs == ["Lima.\nPeru's capital..."] and call.reasoning == ["Peru's capital..."]
    assert (call.prompt_tokens, call.completion_tokens, call.max_tokens, call.temperature) == (14, 6, 200, 0.4)
    assert call.template_signature is not None


def converse_stream(stop: bool = True) -> bytes:
    frames = [
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "think"}}}),
        frame("contentBlockStop", {"contentBlockIndex": 0}),
        frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Li"}}),
        frame("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "ma."}}),
        frame("contentBlockStop", {"contentBlockIndex": 1}),
    ]
    if stop:
        frames += [
            frame("messageStop", {"stopReason": "end_turn"}),
            frame("metadata", {"usage": {"inputTokens": 14, "outputTokens": 6, "totalTokens": 20}, "metrics": {"latencyMs": 400}}),
        ]
    return b"".join(frames)


def test_converse_stream_matches_botocore():
    body = converse_stream()
    events = botocore_events("ConverseStream", "stream", body)
    expected_text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    call = run(HOST, CLAUDE + "/converse-stream", request=CONVERSE_REQUEST, response=body,
               response_headers=(("Content-Type", EVENTSTREAM),), streamed=True)
    assert call.parse_error is None and call.streamed
    assert call.outputs == [expected_text + "\nthink"] == ["Lima.\nthink"]
    assert call.reasoning == ["think"]
    assert (call.prompt_tokens, call.completion_tokens) == (14, 6)


@pytest.mark.parametrize("piece", [1, 7, 100])
def test_converse_stream_split_anywhere_gives_same_result(piece):
    # The tee concatenates chunks; parsing must not depend on where the network split them.
    from agent.writer.streams import EventStreamDecoder

    body = converse_stream()
    decoder = EventStreamDecoder()
    names = []
    for i in range(0, len(body), piece):
        names += [m.event_type for m in decoder.feed(body[i : i + piece])]
    assert names == ["messageStart", "contentBlockDelta", "contentBlockStop", "contentBlockDelta",
                     "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]


def test_converse_stream_exception_frame():
    body = converse_stream(stop=False) + frame("throttlingException", {"message": "Too many requests, please wait."}, "exception")
    with pytest.raises(Exception, match="Too many requests"):
        botocore_events("ConverseStream", "stream", body)
    call = run(HOST, CLAUDE + "/converse-stream", request=CONVERSE_REQUEST, response=body,
               response_headers=(("Content-Type", EVENTSTREAM),))
    assert call.outputs == ["Lima.\nthink"]
    assert call.parse_error == "response: stream exception throttlingException: Too many requests, please wait."


def test_converse_stream_truncated_mid_frame():
    body = converse_stream()
    cut = body[: len(body) - 30]
    call = run(HOST, CLAUDE + "/converse-stream", request=CONVERSE_REQUEST, response=cut,
               response_headers=(("Content-Type", EVENTSTREAM),), truncated=True)
    assert call.outputs == ["Lima.\nthink"]
    last_frame_start = len(converse_stream()) - len(frame("metadata", {"usage": {"inputTokens": 14, "outputTokens": 6, "totalTokens": 20}, "metrics": {"latencyMs": 400}}))
    assert call.parse_error == (
        f"response: body truncated by the capture cap at {len(cut)} bytes; "
        f"response: event stream truncated mid-frame at byte {last_frame_start}"
    )


def test_converse_stream_crc_failure():
    body = bytearray(converse_stream())
    body[40] ^= 0xFF  # inside the first frame's payload
    call = run(HOST, CLAUDE + "/converse-stream", request=CONVERSE_REQUEST, response=bytes(body),
               response_headers=(("Content-Type", EVENTSTREAM),))
    assert call.parse_error == "response: message CRC mismatch in frame at byte 0"
    assert call.outputs == [""]


def test_converse_stream_binary_garbage():
    call = run(HOST, CLAUDE + "/converse-stream", request=CONVERSE_REQUEST, response=b"\x00\x00\x00\x05garbage-not-a-frame",
               response_headers=(("Content-Type", EVENTSTREAM),))
    assert call.parse_error == "response: prelude CRC mismatch in frame at byte 0"


ANTHROPIC_EVENTS = [
    {"type": "message_start", "message": {"id": "msg_bdrk_1", "type": "message", "role": "assistant",
                                          "model": "claude-3-7-sonnet-20250219", "content": [],
                                          "usage": {"input_tokens": 30, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Bonjour"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " !"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}},
    {"type": "message_stop", "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": 30, "outputTokenCount": 4, "invocationLatency": 500, "firstByteLatency": 200}},
]
ANTHROPIC_REQUEST = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256,
                     "messages": [{"role": "user", "content": "Say hello in French"}]}


def test_invoke_with_response_stream_anthropic_chunks_match_botocore():
    body = b"".join(bedrock_chunk(e) for e in ANTHROPIC_EVENTS)
    events = botocore_events("InvokeModelWithResponseStream", "body", body)
    inner = [json.loads(e["chunk"]["bytes"]) for e in events]
    assert inner == ANTHROPIC_EVENTS
    call = run(HOST, CLAUDE + "/invoke-with-response-stream", request=ANTHROPIC_REQUEST, response=body,
               response_headers=(("Content-Type", EVENTSTREAM), ("X-Amzn-Bedrock-Content-Type", "application/json")))
    assert call.parse_error is None and call.streamed
    assert call.outputs == ["Bonjour !"] and call.served_model == "claude-3-7-sonnet-20250219"
    assert (call.prompt_tokens, call.completion_tokens, call.max_tokens) == (30, 4, 256)


def test_invoke_stream_anthropic_behind_an_opaque_profile_arn():
    body = b"".join(bedrock_chunk(e) for e in ANTHROPIC_EVENTS)
    path = "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fa1b2c3/invoke-with-response-stream"
    call = run(HOST, path, request=ANTHROPIC_REQUEST, response=body, response_headers=(("Content-Type", EVENTSTREAM),))
    assert call.parse_error is None and call.outputs == ["Bonjour !"] and call.max_tokens == 256


def test_invoke_stream_exception_after_chunks():
    body = b"".join(bedrock_chunk(e) for e in ANTHROPIC_EVENTS[:4])
    body += frame("modelStreamErrorException", {"message": "Model stream error", "originalStatusCode": 500}, "exception")
    call = run(HOST, CLAUDE + "/invoke-with-response-stream", request=ANTHROPIC_REQUEST, response=body,
               response_headers=(("Content-Type", EVENTSTREAM),))
    assert call.outputs == ["Bonjour !"]
    assert call.parse_error == "response: stream exception modelStreamErrorException: Model stream error"


def test_invoke_stream_chunk_with_bad_base64():
    body = frame("chunk", {"bytes": "!!!not base64!!!"})
    call = run(HOST, CLAUDE + "/invoke-with-response-stream", request=ANTHROPIC_REQUEST, response=body,
               response_headers=(("Content-Type", EVENTSTREAM),))
    assert call.parse_error == "response: chunk at byte 0 does not hold base64 JSON"


def test_invoke_json_anthropic_with_usage_headers():
    response = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-7-sonnet-20250219",
                "content": [{"type": "text", "text": "Bonjour !"}], "usage": {"input_tokens": 30, "output_tokens": 4}}
    call = run(HOST, CLAUDE + "/invoke", request=ANTHROPIC_REQUEST, response=response,
               response_headers=(("Content-Type", "application/json"), ("X-Amzn-Bedrock-Input-Token-Count", "21"),
                                 ("X-Amzn-Bedrock-Cache-Read-Input-Token-Count", "10"),
                                 ("X-Amzn-Bedrock-Output-Token-Count", "5"), ("X-Amzn-Bedrock-Invocation-Latency", "400")))
    assert call.outputs == ["Bonjour !"] and (call.prompt_tokens, call.completion_tokens) == (31, 5)


@pytest.mark.parametrize(
    "path,request_body,response_body,output,max_tokens",
    [
        (LLAMA, {"prompt": "<|begin_of_text|>Hi", "max_gen_len": 128, "temperature": 0.5},
         {"generation": "Hello there", "prompt_token_count": 5, "generation_token_count": 2, "stop_reason": "stop"}, ["Hello there"], 128),
        ("/model/amazon.titan-text-express-v1", {"inputText": "Hi", "textGenerationConfig": {"maxTokenCount": 64, "temperature": 0}},
         {"inputTextTokenCount": 3, "results": [{"tokenCount": 2, "outputText": "Hello", "completionReason": "FINISH"}]}, ["Hello"], 64),
        ("/model/amazon.nova-pro-v1%3A0", {"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "inferenceConfig": {"max_new_tokens": 32}},
         {"output": {"message": {"role": "assistant", "content": [{"text": "Hey"}]}}, "stopReason": "end_turn",
          "usage": {"inputTokens": 3, "outputTokens": 1}}, ["Hey"], 32),
        ("/model/mistral.mistral-large-2402-v1%3A0", {"prompt": "<s>[INST] Hi [/INST]", "max_tokens": 50},
         {"outputs": [{"text": "Bonjour", "stop_reason": "stop"}]}, ["Bonjour"], 50),
        ("/model/openai.gpt-oss-120b-1%3A0", {"messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 20},
         {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Yo"}}], "usage": {"prompt_tokens": 2, "completion_tokens": 1}}, ["Yo"], 20),
    ],
)
def test_invoke_native_bodies(path, request_body, response_body, output, max_tokens):
    call = run(HOST, path + "/invoke", request=request_body, response=response_body)
    assert call.parse_error is None
    assert call.outputs == output and call.max_tokens == max_tokens
    assert call.prompt_tokens is not None or "outputs" in response_body


def test_invoke_stream_llama_chunks():
    events = [{"generation": "Hel", "prompt_token_count": 5, "generation_token_count": 1, "stop_reason": None},
              {"generation": "lo", "prompt_token_count": None, "generation_token_count": 2, "stop_reason": "stop",
               "amazon-bedrock-invocationMetrics": {"inputTokenCount": 5, "outputTokenCount": 2}}]
    body = b"".join(bedrock_chunk(e) for e in events)
    call = run(HOST, LLAMA + "/invoke-with-response-stream", request={"prompt": "x"}, response=body,
               response_headers=(("Content-Type", EVENTSTREAM),))
    assert call.parse_error is None and call.outputs == ["Hello"]
    assert (call.prompt_tokens, call.completion_tokens) == (5, 2)
    body = bedrock_chunk(events[0])
    call = run(HOST, LLAMA + "/invoke-with-response-stream", request={"prompt": "x"}, response=body,
               response_headers=(("Content-Type", EVENTSTREAM),))
    assert call.parse_error == "response: stream truncated before the final chunk"


def test_model_customization_job_is_metadata_only():
    call = run("bedrock.us-west-2.amazonaws.com", "/model-customization-jobs", request={
        "jobName": "distil-1", "customModelName": "my-model", "roleArn": "arn:aws:iam::1:role/x",
        "baseModelIdentifier": "amazon.titan-text-express-v1", "customizationType": "FINE_TUNING",
        "trainingDataConfig": {"s3Uri": "s3://bucket/train.jsonl"}, "outputDataConfig": {"s3Uri": "s3://bucket/out/"},
        "hyperParameters": {"epochCount": "2"}}, response={"jobArn": "arn:aws:bedrock:us-west-2:1:model-customization-job/abc"}, status=201)
    assert (call.kind, call.upload_purpose, call.model) == ("upload", "fine-tune", "amazon.titan-text-express-v1")
    assert call.file_ids == ["s3://bucket/train.jsonl"] and call.uploaded_texts == []
