"""Cohere v2 (SSE) and v1 (NDJSON) chat, through a real mitmdump, with the SDK and httpx."""

from __future__ import annotations

import json

import pytest

from agent.standin import clients, expected_text, expected_usage
from agent.standin.harness import ProxyProcess

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_v2_chat_and_stream(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.cohere_client(proxy.url, proxy.ca_path)
    messages = [{"role": "user", "content": prompt}]
    result = client.chat(model="command-a-03-2025", messages=messages)
    assert result.message.content[0].text == expected_text(prompt, vendor="cohere")
    usage = expected_usage(prompt, vendor="cohere")
    assert (result.usage.billed_units.input_tokens, result.usage.billed_units.output_tokens) == (
        usage.prompt_tokens, usage.completion_tokens)
    events = list(client.chat_stream(model="command-a-03-2025", messages=messages))
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == expected_text(prompt, vendor="cohere")
    assert events[0].type == "message-start" and events[-1].type == "message-end"
    assert events[-1].delta.usage.tokens.output_tokens == usage.completion_tokens


def test_v1_chat_with_sdk(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.cohere_client(proxy.url, proxy.ca_path, v2=False)
    result = client.chat(message=prompt, model="command-r")
    assert result.text == expected_text(prompt, vendor="cohere")
    events = list(client.chat_stream(message=prompt, model="command-r"))
    assert "".join(e.text for e in events if e.event_type == "text-generation") == result.text
    assert events[-1].event_type == "stream-end"
    assert events[-1].response.meta.billed_units.output_tokens == expected_usage(
        prompt, vendor="cohere").completion_tokens


def test_v1_stream_is_ndjson(proxy: ProxyProcess, prompt: str) -> None:
    with clients.httpx_client(proxy.url, proxy.ca_path) as http, http.stream(
            "POST", "https://api.cohere.com/v1/chat",
            json={"message": prompt, "stream": True}) as response:
        assert response.headers["content-type"] == "application/stream+json"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines[0]["event_type"] == "stream-start"
    assert lines[-1]["event_type"] == "stream-end" and lines[-1]["is_finished"]
    text = "".join(line["text"] for line in lines if line["event_type"] == "text-generation")
    assert text == expected_text(prompt, vendor="cohere")
