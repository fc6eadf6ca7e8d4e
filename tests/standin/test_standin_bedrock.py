"""AWS Bedrock runtime, through a real mitmdump, with boto3 (which checks every frame's CRC), run
in the SDK clients' venv (see tests/support/client_side.py)."""

from __future__ import annotations

import json

import pytest

from tests.support.client_side import client_side
from tests.support.standin import expected_text
from tests.support.standin import expected_usage
from tests.support.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def _converse_messages(prompt: str) -> list[dict[str, object]]:
    return [{"role": "user", "content": [{"text": prompt}]}]


def _anthropic_body(prompt: str) -> str:
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256,
                       "messages": [{"role": "user", "content": prompt}]})


@client_side
def bedrock_call(proxy, ca, operation, mode_header=None, **kwargs):
    """One bedrock-runtime operation as boto3 saw it: the response (a streamed body read out, an
    event stream as its list of events), and the exception that ended an event stream, if any."""
    client = clients.bedrock_client(proxy, ca)
    if mode_header:  # boto3 has no per-call headers: add one before the request is signed
        def add_mode(request, **_):
            request.headers["x-standin-mode"] = mode_header

        client.meta.events.register("before-sign.bedrock-runtime.*", add_mode)
    result = getattr(client, operation)(**kwargs)
    streamed = result.pop("stream", None) or (result.pop("body") if operation.endswith("_stream") else None)
    events, error = [], None
    try:
        for event in streamed or ():
            events.append(event)
    except Exception as raised:  # boto3 raises mid-stream: keep what came before
        error = {"type": type(raised).__name__, "message": str(raised)}
    if "body" in result:
        result["body"] = result["body"].read()
    return {"result": result, "events": events, "error": error}


@pytest.fixture
def bedrock(proxy: ProxyProcess):
    """`bedrock(operation, **kwargs)`: one boto3 bedrock-runtime call through the proxy."""
    return lambda operation, **kwargs: bedrock_call(proxy.url, proxy.ca_path, operation, **kwargs)


def test_converse(bedrock, standin: object, prompt: str) -> None:
    result = bedrock("converse", modelId=MODEL, messages=_converse_messages(prompt))["result"]
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


def test_converse_stream(bedrock, prompt: str) -> None:
    events = bedrock("converse_stream", modelId=MODEL, messages=_converse_messages(prompt))["events"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events
                   if "contentBlockDelta" in e)
    assert text == expected_text(prompt, vendor="aws-bedrock")
    assert events[-1]["metadata"]["usage"]["outputTokens"] == expected_usage(
        prompt, vendor="aws-bedrock").completion_tokens


def test_invoke_model_usage_in_headers(bedrock, prompt: str) -> None:
    result = bedrock("invoke_model", modelId=MODEL, body=_anthropic_body(prompt))["result"]
    message = json.loads(result["body"])
    assert message["content"][0]["text"] == expected_text(prompt, vendor="aws-bedrock")
    headers = result["ResponseMetadata"]["HTTPHeaders"]
    usage = expected_usage(prompt, vendor="aws-bedrock")
    assert headers["x-amzn-bedrock-input-token-count"] == str(usage.prompt_tokens)
    assert headers["x-amzn-bedrock-output-token-count"] == str(usage.completion_tokens)


def test_invoke_model_native_llama_body(bedrock, prompt: str) -> None:
    result = bedrock("invoke_model", modelId="meta.llama3-70b-instruct-v1:0",
                     body=json.dumps({"prompt": prompt, "max_gen_len": 64}))["result"]
    assert json.loads(result["body"])["generation"] == expected_text(prompt, vendor="aws-bedrock")


def test_invoke_model_with_response_stream(bedrock, prompt: str) -> None:
    got = bedrock("invoke_model_with_response_stream", modelId=MODEL, body=_anthropic_body(prompt))
    events = [json.loads(e["chunk"]["bytes"]) for e in got["events"]]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == expected_text(prompt, vendor="aws-bedrock")
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert events[-1]["type"] == "message_stop"
    assert metrics["outputTokenCount"] == expected_usage(prompt,
                                                         vendor="aws-bedrock").completion_tokens


def test_crc_error_by_header_is_caught_by_boto3(bedrock, prompt: str) -> None:
    got = bedrock("converse_stream", mode_header="crc-error", modelId=MODEL,
                  messages=_converse_messages(prompt))
    assert got["error"]["type"] == "ChecksumMismatch"  # botocore.eventstream.ChecksumMismatch
    assert any("contentBlockDelta" in e for e in got["events"])  # frames before the bad one parse


def test_bad_frames_by_model_name(bedrock, prompt: str) -> None:
    # boto3 cannot add headers easily; the mode rides in the model id instead.
    crc = bedrock("converse_stream", modelId="standin-crc-error", messages=_converse_messages(prompt))
    assert crc["error"]["type"] == "ChecksumMismatch"
    failed = bedrock("converse_stream", modelId="standin-error-in-stream",
                     messages=_converse_messages(prompt))
    assert failed["error"]["type"] == "EventStreamError"  # botocore.exceptions.EventStreamError
    assert "modelStreamErrorException" in failed["error"]["message"]
    events = bedrock("converse_stream", modelId="standin-unknown-events",
                     messages=_converse_messages(prompt))["events"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events
                   if "contentBlockDelta" in e)
    assert text == expected_text(prompt, vendor="aws-bedrock")  # unknown frames are skipped
