"""AWS Bedrock runtime, through a real mitmdump, with boto3 (which checks every frame's CRC)."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import ChecksumMismatch
from botocore.exceptions import EventStreamError

from agent.standin import clients, expected_text, expected_usage
from agent.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture
def bedrock(proxy: ProxyProcess) -> object:
    return clients.bedrock_client(proxy.url, proxy.ca_path)


def _converse_messages(prompt: str) -> list[dict[str, object]]:
    return [{"role": "user", "content": [{"text": prompt}]}]


def _anthropic_body(prompt: str) -> str:
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256,
                       "messages": [{"role": "user", "content": prompt}]})


def test_converse(bedrock: object, standin: object, prompt: str) -> None:
    result = bedrock.converse(modelId=MODEL, messages=_converse_messages(prompt))
    assert result["output"]["message"]["content"][0]["text"] == expected_text(
        prompt, vendor="aws-bedrock")
    usage = expected_usage(prompt, vendor="aws-bedrock")
    assert result["usage"] == {"inputTokens": usage.prompt_tokens,
                               "outputTokens": usage.completion_tokens,
                               "totalTokens": usage.total_tokens}
    logged = standin.requests[-1]
    assert logged.host == "bedrock-runtime.us-east-1.amazonaws.com"
    assert logged.path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    assert logged.header("authorization").startswith("AWS4-HMAC-SHA256")


def test_converse_stream(bedrock: object, prompt: str) -> None:
    events = list(bedrock.converse_stream(modelId=MODEL,
                                          messages=_converse_messages(prompt))["stream"])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events
                   if "contentBlockDelta" in e)
    assert text == expected_text(prompt, vendor="aws-bedrock")
    assert events[-1]["metadata"]["usage"]["outputTokens"] == expected_usage(
        prompt, vendor="aws-bedrock").completion_tokens


def test_invoke_model_usage_in_headers(bedrock: object, prompt: str) -> None:
    result = bedrock.invoke_model(modelId=MODEL, body=_anthropic_body(prompt))
    message = json.loads(result["body"].read())
    assert message["content"][0]["text"] == expected_text(prompt, vendor="aws-bedrock")
    headers = result["ResponseMetadata"]["HTTPHeaders"]
    usage = expected_usage(prompt, vendor="aws-bedrock")
    assert headers["x-amzn-bedrock-input-token-count"] == str(usage.prompt_tokens)
    assert headers["x-amzn-bedrock-output-token-count"] == str(usage.completion_tokens)


def test_invoke_model_native_llama_body(bedrock: object, prompt: str) -> None:
    result = bedrock.invoke_model(modelId="meta.llama3-70b-instruct-v1:0",
                                  body=json.dumps({"prompt": prompt, "max_gen_len": 64}))
    assert json.loads(result["body"].read())["generation"] == expected_text(
        prompt, vendor="aws-bedrock")


def test_invoke_model_with_response_stream(bedrock: object, prompt: str) -> None:
    result = bedrock.invoke_model_with_response_stream(modelId=MODEL, body=_anthropic_body(prompt))
    events = [json.loads(e["chunk"]["bytes"]) for e in result["body"]]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == expected_text(prompt, vendor="aws-bedrock")
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert events[-1]["type"] == "message_stop"
    assert metrics["outputTokenCount"] == expected_usage(prompt,
                                                         vendor="aws-bedrock").completion_tokens


def test_crc_error_by_header_is_caught_by_boto3(bedrock: object, prompt: str) -> None:
    def add_mode(request: object, **_: object) -> None:
        request.headers["x-standin-mode"] = "crc-error"

    bedrock.meta.events.register("before-sign.bedrock-runtime.ConverseStream", add_mode)
    stream = bedrock.converse_stream(modelId=MODEL, messages=_converse_messages(prompt))["stream"]
    received = []
    with pytest.raises(ChecksumMismatch):
        for event in stream:
            received.append(event)
    assert any("contentBlockDelta" in e for e in received)  # frames before the bad one parse


def test_bad_frames_by_model_name(bedrock: object, prompt: str) -> None:
    # boto3 cannot add headers easily; the mode rides in the model id instead.
    with pytest.raises(ChecksumMismatch):
        list(bedrock.converse_stream(modelId="standin-crc-error",
                                     messages=_converse_messages(prompt))["stream"])
    with pytest.raises(EventStreamError, match="modelStreamErrorException"):
        list(bedrock.converse_stream(modelId="standin-error-in-stream",
                                     messages=_converse_messages(prompt))["stream"])
    events = list(bedrock.converse_stream(modelId="standin-unknown-events",
                                          messages=_converse_messages(prompt))["stream"])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events
                   if "contentBlockDelta" in e)
    assert text == expected_text(prompt, vendor="aws-bedrock")  # unknown frames are skipped
