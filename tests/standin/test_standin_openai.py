"""OpenAI and the OpenAI-compatible vendors, through a real mitmdump, with the official SDK."""

from __future__ import annotations

import base64
import json
import struct

import openai
import pytest

from agent.standin import clients, expected_reasoning, expected_text, expected_usage
from agent.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e

COMPATIBLE = clients.OPENAI_COMPATIBLE_BASE_URLS


def _messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}]


def _assert_usage(usage: object, expected: object) -> None:
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        expected.prompt_tokens, expected.completion_tokens, expected.total_tokens)


@pytest.fixture
def client(proxy: ProxyProcess) -> openai.OpenAI:
    return clients.openai_client(proxy.url, proxy.ca_path)


def test_chat_completion(client: openai.OpenAI, prompt: str) -> None:
    result = client.chat.completions.create(model="gpt-4o-mini", messages=_messages(prompt))
    assert result.choices[0].message.content == expected_text(prompt)
    assert result.model == "gpt-4o-mini"
    _assert_usage(result.usage, expected_usage(prompt))


def test_chat_stream_with_usage(client: openai.OpenAI, prompt: str) -> None:
    chunks = list(client.chat.completions.create(
        model="gpt-4o-mini", messages=_messages(prompt), stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected_text(prompt)
    assert chunks[-1].choices == []
    _assert_usage(chunks[-1].usage, expected_usage(prompt))
    assert all(c.usage is None for c in chunks[:-1])


def test_chat_stream_without_usage_reports_none(client: openai.OpenAI, prompt: str) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o-mini",
                                                 messages=_messages(prompt), stream=True))
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected_text(prompt)


def test_chat_n_choices_interleave_in_stream(client: openai.OpenAI, prompt: str) -> None:
    texts: dict[int, str] = {0: "", 1: "", 2: ""}
    order = []
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=_messages(prompt),
                                                n=3, stream=True,
                                                stream_options={"include_usage": True}):
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            order.append(choice.index)
        usage = chunk.usage
    assert texts == {i: expected_text(prompt, i) for i in range(3)}
    assert order[3:9] == [0, 1, 2, 0, 1, 2]  # after the role chunks, deltas alternate
    _assert_usage(usage, expected_usage(prompt, None, n=3))


def test_chat_logprobs(client: openai.OpenAI, prompt: str) -> None:
    result = client.chat.completions.create(model="gpt-4o-mini", messages=_messages(prompt),
                                            logprobs=True, top_logprobs=3)
    content = result.choices[0].logprobs.content
    assert "".join(item.token for item in content) == expected_text(prompt)
    assert all(len(item.top_logprobs) == 3 and item.logprob <= 0 for item in content)


def test_responses_api(client: openai.OpenAI, prompt: str) -> None:
    result = client.responses.create(model="gpt-5", input=prompt, instructions="Be brief.")
    assert result.output_text == expected_text(prompt)
    usage = expected_usage(prompt)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (
        usage.prompt_tokens, usage.completion_tokens)


def test_responses_stream(client: openai.OpenAI, prompt: str) -> None:
    events = list(client.responses.create(
        model="gpt-5", input=[{"role": "user", "content": [{"type": "input_text",
                                                            "text": prompt}]}], stream=True))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == expected_text(prompt)
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == expected_text(prompt)
    assert events[-1].response.usage.output_tokens == expected_usage(prompt).completion_tokens
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_responses_background_then_retrieve(client: openai.OpenAI, prompt: str) -> None:
    queued = client.responses.create(model="gpt-5", input=prompt, background=True)
    assert queued.status == "queued" and queued.output == [] and queued.usage is None
    done = client.responses.retrieve(queued.id)
    assert done.status == "completed" and done.id == queued.id
    assert done.output_text == expected_text(prompt)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_unknown")


def test_legacy_completions(client: openai.OpenAI, prompt: str) -> None:
    result = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=prompt, n=2,
                                       logprobs=2)
    assert [c.text for c in result.choices] == [expected_text(prompt, i) for i in range(2)]
    assert "".join(result.choices[0].logprobs.tokens) == expected_text(prompt)
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt=prompt, stream=True) if c.choices)
    assert streamed == expected_text(prompt)


def test_embeddings_float_and_base64(client: openai.OpenAI, proxy: ProxyProcess) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"],
                                      dimensions=16)  # the SDK asks for base64 and decodes it
    assert [len(d.embedding) for d in result.data] == [16, 16]
    with clients.httpx_client(proxy.url, proxy.ca_path) as http:
        raw = http.post("https://api.openai.com/v1/embeddings", json={
            "model": "m", "input": "a", "dimensions": 16, "encoding_format": "base64"}).json()
    decoded = struct.unpack("<16f", base64.b64decode(raw["data"][0]["embedding"]))
    assert decoded == pytest.approx(result.data[0].embedding)


def test_azure_deployment_with_content_filters(proxy: ProxyProcess, prompt: str) -> None:
    azure = clients.azure_openai_client(proxy.url, proxy.ca_path)
    result = azure.chat.completions.create(model="my-deployment", messages=_messages(prompt))
    assert result.choices[0].message.content == expected_text(prompt, vendor="azure-openai")
    assert result.model == "gpt-4o-2024-11-20"  # the served model, not the deployment name
    extra = result.model_dump()
    assert extra["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
    assert "content_filter_results" in extra["choices"][0]
    chunks = list(azure.chat.completions.create(model="my-deployment", messages=_messages(prompt),
                                                stream=True))
    assert chunks[0].choices == [] and chunks[0].model_dump()["prompt_filter_results"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected_text(prompt, vendor="azure-openai")


def test_azure_v1_and_missing_api_version(proxy: ProxyProcess, prompt: str) -> None:
    v1 = clients.openai_client(proxy.url, proxy.ca_path,
                               base_url="https://acme.openai.azure.com/openai/v1")
    result = v1.chat.completions.create(model="my-deployment", messages=_messages(prompt))
    assert result.choices[0].message.content == expected_text(prompt, vendor="azure-openai")
    with clients.httpx_client(proxy.url, proxy.ca_path) as http:
        missing = http.post("https://acme.openai.azure.com/openai/deployments/d/chat/completions",
                            json={"messages": _messages(prompt)})
    assert missing.status_code == 404


@pytest.mark.parametrize("vendor", sorted(COMPATIBLE))
def test_openai_compatible_vendor(proxy: ProxyProcess, vendor: str, prompt: str) -> None:
    client = clients.openai_client(proxy.url, proxy.ca_path, base_url=COMPATIBLE[vendor])
    result = client.chat.completions.create(model="some-model", messages=_messages(prompt))
    assert result.choices[0].message.content == expected_text(prompt, vendor=vendor)
    _assert_usage(result.usage, expected_usage(prompt, vendor=vendor))
    chunks = list(client.chat.completions.create(model="some-model", messages=_messages(prompt),
                                                 stream=True,
                                                 stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected_text(prompt, vendor=vendor)
    _assert_usage(next(c.usage for c in chunks if c.usage), expected_usage(prompt, vendor=vendor))


def test_deepseek_reasoning_content(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.openai_client(proxy.url, proxy.ca_path, base_url=COMPATIBLE["deepseek"])
    result = client.chat.completions.create(model="deepseek-reasoner", messages=_messages(prompt))
    message = result.choices[0].message
    assert message.content == expected_text(prompt, vendor="deepseek")
    assert message.model_dump()["reasoning_content"] == expected_reasoning(prompt,
                                                                           vendor="deepseek")
    _assert_usage(result.usage, expected_usage(prompt, vendor="deepseek", reasoning=True))
    reasoning = content = ""
    for chunk in client.chat.completions.create(model="deepseek-reasoner",
                                                messages=_messages(prompt), stream=True):
        delta = chunk.choices[0].delta.model_dump()
        assert not (delta.get("reasoning_content") and content)  # reasoning comes first
        reasoning += delta.get("reasoning_content") or ""
        content += delta.get("content") or ""
    assert (reasoning, content) == (expected_reasoning(prompt, vendor="deepseek"),
                                    expected_text(prompt, vendor="deepseek"))


def test_openrouter_keepalive_comments_and_usage(proxy: ProxyProcess, prompt: str) -> None:
    with clients.httpx_client(proxy.url, proxy.ca_path) as http, http.stream(
            "POST", "https://openrouter.ai/api/v1/chat/completions",
            json={"model": "vendor/model", "stream": True, "messages": _messages(prompt)}) as r:
        lines = [line for line in r.iter_lines() if line]
    assert lines[0] == ": OPENROUTER PROCESSING"
    assert lines.count(": OPENROUTER PROCESSING") == 2
    payloads = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    assert payloads[-1]["usage"]["cost"] > 0  # usage without asking, as OpenRouter does
    assert lines[-1] == "data: [DONE]"


def test_groq_rejects_n_above_one(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.openai_client(proxy.url, proxy.ca_path, base_url=COMPATIBLE["groq"])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="llama", messages=_messages(prompt), n=2)
