"""Anthropic Messages and Message Batches, through a real mitmdump, with the official SDK."""

from __future__ import annotations

import anthropic
import pytest

from agent.standin import batch_prompt, clients, expected_reasoning, expected_text, expected_usage
from agent.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(proxy: ProxyProcess) -> anthropic.Anthropic:
    return clients.anthropic_client(proxy.url, proxy.ca_path)


def _ask(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def test_message(client: anthropic.Anthropic, prompt: str) -> None:
    message = client.messages.create(model="claude-standin-1", max_tokens=512,
                                     system="Be brief.", messages=_ask(prompt))
    assert message.content[0].text == expected_text(prompt, vendor="anthropic")
    usage = expected_usage(prompt, vendor="anthropic")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (
        usage.prompt_tokens, usage.completion_tokens)


def test_message_stream(client: anthropic.Anthropic, proxy: ProxyProcess, prompt: str) -> None:
    with client.messages.stream(model="claude-standin-1", max_tokens=512,
                                messages=_ask(prompt)) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == expected_text(prompt, vendor="anthropic")
    assert final.usage.output_tokens == expected_usage(prompt, vendor="anthropic").completion_tokens
    with clients.httpx_client(proxy.url, proxy.ca_path) as http, http.stream(
            "POST", "https://api.anthropic.com/v1/messages", headers={"x-api-key": "k"},
            json={"model": "m", "max_tokens": 9, "stream": True, "messages": _ask(prompt)}) as r:
        names = [line[7:] for line in r.iter_lines() if line.startswith("event: ")]
    assert names[0] == "message_start" and "ping" in names
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]


def test_thinking_blocks(client: anthropic.Anthropic, prompt: str) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    message = client.messages.create(model="claude-standin-1", max_tokens=2048,
                                     thinking=thinking, messages=_ask(prompt))
    assert message.content[0].thinking == expected_reasoning(prompt, vendor="anthropic")
    assert message.content[1].text == expected_text(prompt, vendor="anthropic")
    with client.messages.stream(model="claude-standin-1", max_tokens=2048, thinking=thinking,
                                messages=_ask(prompt)) as stream:
        final = stream.get_final_message()
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[1].text == expected_text(prompt, vendor="anthropic")


def test_error_after_200_in_stream(client: anthropic.Anthropic, prompt: str) -> None:
    received = ""
    with pytest.raises(anthropic.APIStatusError, match="overloaded"):
        with client.messages.stream(model="claude-standin-1", max_tokens=512,
                                    messages=_ask(prompt),
                                    extra_headers={"x-standin-mode": "error-in-stream"}) as stream:
            for piece in stream.text_stream:
                received += piece
    assert received and expected_text(prompt, vendor="anthropic").startswith(received)


def test_batch_results(client: anthropic.Anthropic, standin: object, prompt: str) -> None:
    requests = [{"custom_id": f"q{i}", "params": {"model": "claude-haiku-4-5", "max_tokens": 64,
                                                  "messages": _ask(f"{prompt} {i}")}}
                for i in range(3)]
    batch = client.messages.batches.create(requests=requests)
    assert batch.processing_status == "in_progress" and batch.results_url is None
    results = list(client.messages.batches.results(batch.id))  # GETs the batch, then results_url
    assert [r.custom_id for r in results] == ["q0", "q1", "q2"]
    for result in results:
        assert result.result.type == "succeeded"
        assert result.result.message.content[0].text == expected_text(
            batch_prompt(result.custom_id), vendor="anthropic")
    assert standin.requests[-1].path == f"/v1/messages/batches/{batch.id}/results"


def test_results_of_a_batch_made_elsewhere(client: anthropic.Anthropic) -> None:
    results = list(client.messages.batches.results(
        "msgbatch_elsewhere", extra_headers={"x-standin-batch-size": "7"}))
    assert [r.custom_id for r in results] == [f"request-{i}" for i in range(1, 8)]


def test_deepseek_anthropic_compatible_path(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.anthropic_client(proxy.url, proxy.ca_path,
                                      base_url="https://api.deepseek.com/anthropic")
    message = client.messages.create(model="deepseek-v4-flash", max_tokens=64,
                                     messages=_ask(prompt))
    assert message.content[0].text == expected_text(prompt, vendor="deepseek")
