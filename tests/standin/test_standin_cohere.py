"""Cohere v2 (SSE) and v1 (NDJSON) chat, through a real mitmdump, with the SDK (run in the SDK
clients' venv: see tests/support/client_side.py) and httpx."""

from __future__ import annotations

import json

import pytest

from tests.support.client_side import client_side
from tests.support.raw_http import httpx_client
from tests.support.standin import expected_text
from tests.support.standin import expected_usage
from tests.support.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e


@client_side
def cohere_chat_and_stream(proxy, ca, v2, **kwargs):
    """One chat and one chat stream with the same arguments, as the client received them."""
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    client = clients.cohere_client(proxy, ca, v2=v2)
    return {"chat": client.chat(**kwargs), "events": list(client.chat_stream(**kwargs))}


def test_v2_chat_and_stream(proxy: ProxyProcess, prompt: str) -> None:
    messages = [{"role": "user", "content": prompt}]
    got = cohere_chat_and_stream(proxy.url, proxy.ca_path, True, model="command-a-03-2025",
                                 messages=messages)
    result, events = got["chat"], got["events"]
    assert result["message"]["content"][0]["text"] == expected_text(prompt, vendor="cohere")
    usage = expected_usage(prompt, vendor="cohere")
    billed = result["usage"]["billed_units"]
    assert (billed["input_tokens"], billed["output_tokens"]) == (usage.prompt_tokens, usage.completion_tokens)
    text = "".join(e["delta"]["message"]["content"]["text"] for e in events if e["type"] == "content-delta")
    assert text == expected_text(prompt, vendor="cohere")
    assert events[0]["type"] == "message-start" and events[-1]["type"] == "message-end"
    assert events[-1]["delta"]["usage"]["tokens"]["output_tokens"] == usage.completion_tokens


def test_v1_chat_with_sdk(proxy: ProxyProcess, prompt: str) -> None:
    got = cohere_chat_and_stream(proxy.url, proxy.ca_path, False, message=prompt, model="command-r")
    result, events = got["chat"], got["events"]
    assert result["text"] == expected_text(prompt, vendor="cohere")
    assert "".join(e["text"] for e in events if e["event_type"] == "text-generation") == result["text"]
    assert events[-1]["event_type"] == "stream-end"
    assert events[-1]["response"]["meta"]["billed_units"]["output_tokens"] == expected_usage(
        prompt, vendor="cohere").completion_tokens


def test_v1_stream_is_ndjson(proxy: ProxyProcess, prompt: str) -> None:
    with httpx_client(proxy.url, proxy.ca_path) as http, http.stream(
            "POST", "https://api.cohere.com/v1/chat",
            json={"message": prompt, "stream": True}) as response:
        assert response.headers["content-type"] == "application/stream+json"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines[0]["event_type"] == "stream-start"
    assert lines[-1]["event_type"] == "stream-end" and lines[-1]["is_finished"]
    text = "".join(line["text"] for line in lines if line["event_type"] == "text-generation")
    assert text == expected_text(prompt, vendor="cohere")
