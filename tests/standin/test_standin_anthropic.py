"""Anthropic Messages and Message Batches, through a real mitmdump, with the official SDK (run in
the SDK clients' venv: see tests/support/client_side.py)."""

from __future__ import annotations

import pytest

from tests.support.client_side import client_side
from tests.support.raw_http import httpx_client
from tests.support.standin import batch_prompt
from tests.support.standin import expected_reasoning
from tests.support.standin import expected_text
from tests.support.standin import expected_usage
from tests.support.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e


def _ask(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


@client_side
def anthropic_call(proxy, ca, path, client_options=None, **kwargs):
    """`client.<path>(**kwargs)` on an Anthropic client; an iterator comes back as a list."""
    target = clients.anthropic_client(proxy, ca, **(client_options or {}))
    for name in path.split("."):
        target = getattr(target, name)
    result = target(**kwargs)
    return list(result) if path.endswith("batches.results") else result


@client_side
def anthropic_stream(proxy, ca, **kwargs):
    """What `client.messages.stream(...)` gave: the text pieces, the final message, and the error
    that ended the stream early, if any."""
    import anthropic

    client = clients.anthropic_client(proxy, ca)
    pieces = []
    try:
        with client.messages.stream(**kwargs) as stream:
            for piece in stream.text_stream:
                pieces.append(piece)
            return {"text": "".join(pieces), "final": stream.get_final_message(), "error": None}
    except anthropic.APIStatusError as error:
        return {"text": "".join(pieces), "final": None, "error": str(error)}


@pytest.fixture
def client(proxy: ProxyProcess):
    return lambda path, **kwargs: anthropic_call(proxy.url, proxy.ca_path, path, **kwargs)


@pytest.fixture
def stream(proxy: ProxyProcess):
    return lambda **kwargs: anthropic_stream(proxy.url, proxy.ca_path, **kwargs)


def test_message(client, prompt: str) -> None:
    message = client("messages.create", model="claude-standin-1", max_tokens=512,
                     system="Be brief.", messages=_ask(prompt))
    assert message["content"][0]["text"] == expected_text(prompt, vendor="anthropic")
    usage = expected_usage(prompt, vendor="anthropic")
    assert (message["usage"]["input_tokens"], message["usage"]["output_tokens"]) == (
        usage.prompt_tokens, usage.completion_tokens)


def test_message_stream(stream, proxy: ProxyProcess, prompt: str) -> None:
    streamed = stream(model="claude-standin-1", max_tokens=512, messages=_ask(prompt))
    assert streamed["text"] == expected_text(prompt, vendor="anthropic")
    assert streamed["final"]["usage"]["output_tokens"] == expected_usage(
        prompt, vendor="anthropic").completion_tokens
    with httpx_client(proxy.url, proxy.ca_path) as http, http.stream(
            "POST", "https://api.anthropic.com/v1/messages", headers={"x-api-key": "k"},
            json={"model": "m", "max_tokens": 9, "stream": True, "messages": _ask(prompt)}) as r:
        names = [line[7:] for line in r.iter_lines() if line.startswith("event: ")]
    assert names[0] == "message_start" and "ping" in names
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]


def test_thinking_blocks(client, stream, prompt: str) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    message = client("messages.create", model="claude-standin-1", max_tokens=2048,
                     thinking=thinking, messages=_ask(prompt))
    assert message["content"][0]["thinking"] == expected_reasoning(prompt, vendor="anthropic")
    assert message["content"][1]["text"] == expected_text(prompt, vendor="anthropic")
    final = stream(model="claude-standin-1", max_tokens=2048, thinking=thinking,
                   messages=_ask(prompt))["final"]
    assert [block["type"] for block in final["content"]] == ["thinking", "text"]
    assert final["content"][1]["text"] == expected_text(prompt, vendor="anthropic")


def test_error_after_200_in_stream(stream, prompt: str) -> None:
    streamed = stream(model="claude-standin-1", max_tokens=512, messages=_ask(prompt),
                      extra_headers={"x-standin-mode": "error-in-stream"})
    assert streamed["error"] and "overloaded" in streamed["error"]  # anthropic.APIStatusError
    received = streamed["text"]
    assert received and expected_text(prompt, vendor="anthropic").startswith(received)


def test_batch_results(client, standin: object, prompt: str) -> None:
    requests = [{"custom_id": f"q{i}", "params": {"model": "claude-haiku-4-5", "max_tokens": 64,
                                                  "messages": _ask(f"{prompt} {i}")}}
                for i in range(3)]
    batch = client("messages.batches.create", requests=requests)
    assert batch["processing_status"] == "in_progress" and batch["results_url"] is None
    results = client("messages.batches.results", message_batch_id=batch["id"])  # GETs the batch, then results_url
    assert [r["custom_id"] for r in results] == ["q0", "q1", "q2"]
    for result in results:
        assert result["result"]["type"] == "succeeded"
        assert result["result"]["message"]["content"][0]["text"] == expected_text(
            batch_prompt(result["custom_id"]), vendor="anthropic")
    assert standin.requests[-1].path == f"/v1/messages/batches/{batch['id']}/results"


def test_results_of_a_batch_made_elsewhere(client) -> None:
    results = client("messages.batches.results", message_batch_id="msgbatch_elsewhere",
                     extra_headers={"x-standin-batch-size": "7"})
    assert [r["custom_id"] for r in results] == [f"request-{i}" for i in range(1, 8)]


def test_deepseek_anthropic_compatible_path(client, prompt: str) -> None:
    message = client("messages.create", model="deepseek-v4-flash", max_tokens=64,
                     messages=_ask(prompt),
                     client_options={"base_url": "https://api.deepseek.com/anthropic"})
    assert message["content"][0]["text"] == expected_text(prompt, vendor="deepseek")
