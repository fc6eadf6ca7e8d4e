"""OpenAI and the OpenAI-compatible vendors, through a real mitmdump, with the official SDK (run
in the SDK clients' venv: see tests/support/client_side.py)."""

from __future__ import annotations

import base64
import json
import struct

import pytest

from tests.support.client_side import ClientError
from tests.support.client_side import client_side
from tests.support.raw_http import httpx_client
from tests.support.sdk_clients import OPENAI_COMPATIBLE_BASE_URLS
from tests.support.standin import expected_reasoning
from tests.support.standin import expected_text
from tests.support.standin import expected_usage
from tests.support.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e

COMPATIBLE = OPENAI_COMPATIBLE_BASE_URLS


def _messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}]


def _assert_usage(usage: dict, expected: object) -> None:
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        expected.prompt_tokens, expected.completion_tokens, expected.total_tokens)


@client_side
def openai_call(proxy, ca, path, client_options=None, azure=False, **kwargs):
    """`client.<path>(**kwargs)` on an OpenAI (or Azure) client, as the client received it: a
    stream comes back as the list of its events."""
    factory = clients.azure_openai_client if azure else clients.openai_client
    target = factory(proxy, ca, **(client_options or {}))
    for name in path.split("."):
        target = getattr(target, name)
    result = target(**kwargs)
    return list(result) if kwargs.get("stream") else result


@pytest.fixture
def client(proxy: ProxyProcess):
    """`client(path, **kwargs)`: one OpenAI SDK call through the proxy."""
    return lambda path, **kwargs: openai_call(proxy.url, proxy.ca_path, path, **kwargs)


def test_chat_completion(client, prompt: str) -> None:
    result = client("chat.completions.create", model="gpt-4o-mini", messages=_messages(prompt))
    assert result["choices"][0]["message"]["content"] == expected_text(prompt)
    assert result["model"] == "gpt-4o-mini"
    _assert_usage(result["usage"], expected_usage(prompt))


def test_chat_stream_with_usage(client, prompt: str) -> None:
    chunks = client("chat.completions.create", model="gpt-4o-mini", messages=_messages(prompt),
                    stream=True, stream_options={"include_usage": True})
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks if c["choices"])
    assert text == expected_text(prompt)
    assert chunks[-1]["choices"] == []
    _assert_usage(chunks[-1]["usage"], expected_usage(prompt))
    assert all(c["usage"] is None for c in chunks[:-1])


def test_chat_stream_without_usage_reports_none(client, prompt: str) -> None:
    chunks = client("chat.completions.create", model="gpt-4o-mini", messages=_messages(prompt),
                    stream=True)
    assert all(c["usage"] is None for c in chunks)
    assert "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks) == expected_text(prompt)


def test_chat_n_choices_interleave_in_stream(client, prompt: str) -> None:
    texts: dict[int, str] = {0: "", 1: "", 2: ""}
    order = []
    for chunk in client("chat.completions.create", model="gpt-4o-mini", messages=_messages(prompt),
                        n=3, stream=True, stream_options={"include_usage": True}):
        for choice in chunk["choices"]:
            texts[choice["index"]] += choice["delta"]["content"] or ""
            order.append(choice["index"])
        usage = chunk["usage"]
    assert texts == {i: expected_text(prompt, i) for i in range(3)}
    assert order[3:9] == [0, 1, 2, 0, 1, 2]  # after the role chunks, deltas alternate
    _assert_usage(usage, expected_usage(prompt, None, n=3))


def test_chat_logprobs(client, prompt: str) -> None:
    result = client("chat.completions.create", model="gpt-4o-mini", messages=_messages(prompt),
                    logprobs=True, top_logprobs=3)
    content = result["choices"][0]["logprobs"]["content"]
    assert "".join(item["token"] for item in content) == expected_text(prompt)
    assert all(len(item["top_logprobs"]) == 3 and item["logprob"] <= 0 for item in content)


@client_side
def responses_calls(proxy, ca, prompt):
    """Responses API: a plain call, a stream, and a background call retrieved, with the SDK's
    `output_text` (a property, so not in the dumped model) kept beside each."""
    import openai

    client = clients.openai_client(proxy, ca)
    plain_result = client.responses.create(model="gpt-5", input=prompt, instructions="Be brief.")
    events = list(client.responses.create(
        model="gpt-5", input=[{"role": "user", "content": [{"type": "input_text", "text": prompt}]}],
        stream=True))
    queued = client.responses.create(model="gpt-5", input=prompt, background=True)
    done = client.responses.retrieve(queued.id)
    try:
        client.responses.retrieve("resp_unknown")
        unknown = None
    except openai.NotFoundError as error:
        unknown = error.status_code
    return {"plain": plain_result, "plain_text": plain_result.output_text, "events": events,
            "final_text": events[-1].response.output_text if events[-1].type == "response.completed" else None,
            "queued": queued, "done": done, "done_text": done.output_text, "unknown": unknown}


@pytest.fixture(scope="module")
def responses(proxy: ProxyProcess) -> dict:
    return responses_calls(proxy.url, proxy.ca_path, "Write about the Responses API")


def test_responses_api(responses: dict) -> None:
    prompt = "Write about the Responses API"
    assert responses["plain_text"] == expected_text(prompt)
    usage = expected_usage(prompt)
    assert (responses["plain"]["usage"]["input_tokens"], responses["plain"]["usage"]["output_tokens"]) == (
        usage.prompt_tokens, usage.completion_tokens)


def test_responses_stream(responses: dict) -> None:
    prompt = "Write about the Responses API"
    events = responses["events"]
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert deltas == expected_text(prompt)
    assert events[-1]["type"] == "response.completed"
    assert responses["final_text"] == expected_text(prompt)
    assert events[-1]["response"]["usage"]["output_tokens"] == expected_usage(prompt).completion_tokens
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


def test_responses_background_then_retrieve(responses: dict) -> None:
    queued, done = responses["queued"], responses["done"]
    assert queued["status"] == "queued" and queued["output"] == [] and queued["usage"] is None
    assert done["status"] == "completed" and done["id"] == queued["id"]
    assert responses["done_text"] == expected_text("Write about the Responses API")
    assert responses["unknown"] == 404  # openai.NotFoundError


def test_legacy_completions(client, prompt: str) -> None:
    result = client("completions.create", model="gpt-3.5-turbo-instruct", prompt=prompt, n=2,
                    logprobs=2)
    assert [c["text"] for c in result["choices"]] == [expected_text(prompt, i) for i in range(2)]
    assert "".join(result["choices"][0]["logprobs"]["tokens"]) == expected_text(prompt)
    streamed = "".join(c["choices"][0]["text"] for c in client(
        "completions.create", model="gpt-3.5-turbo-instruct", prompt=prompt, stream=True) if c["choices"])
    assert streamed == expected_text(prompt)


def test_embeddings_float_and_base64(client, proxy: ProxyProcess) -> None:
    result = client("embeddings.create", model="text-embedding-3-small", input=["a", "b"],
                    dimensions=16)  # the SDK asks for base64 and decodes it
    assert [len(d["embedding"]) for d in result["data"]] == [16, 16]
    with httpx_client(proxy.url, proxy.ca_path) as http:
        raw = http.post("https://api.openai.com/v1/embeddings", json={
            "model": "m", "input": "a", "dimensions": 16, "encoding_format": "base64"}).json()
    decoded = struct.unpack("<16f", base64.b64decode(raw["data"][0]["embedding"]))
    assert decoded == pytest.approx(result["data"][0]["embedding"])


def test_azure_deployment_with_content_filters(client, prompt: str) -> None:
    result = client("chat.completions.create", azure=True, model="my-deployment",
                    messages=_messages(prompt))
    assert result["choices"][0]["message"]["content"] == expected_text(prompt, vendor="azure-openai")
    assert result["model"] == "gpt-4o-2024-11-20"  # the served model, not the deployment name
    assert result["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
    assert "content_filter_results" in result["choices"][0]
    chunks = client("chat.completions.create", azure=True, model="my-deployment",
                    messages=_messages(prompt), stream=True)
    assert chunks[0]["choices"] == [] and chunks[0]["prompt_filter_results"]
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks if c["choices"])
    assert text == expected_text(prompt, vendor="azure-openai")


def test_azure_v1_and_missing_api_version(client, proxy: ProxyProcess, prompt: str) -> None:
    result = client("chat.completions.create", model="my-deployment", messages=_messages(prompt),
                    client_options={"base_url": "https://acme.openai.azure.com/openai/v1"})
    assert result["choices"][0]["message"]["content"] == expected_text(prompt, vendor="azure-openai")
    with httpx_client(proxy.url, proxy.ca_path) as http:
        missing = http.post("https://acme.openai.azure.com/openai/deployments/d/chat/completions",
                            json={"messages": _messages(prompt)})
    assert missing.status_code == 404


@pytest.mark.parametrize("vendor", sorted(COMPATIBLE))
def test_openai_compatible_vendor(client, vendor: str, prompt: str) -> None:
    vendor_client = {"client_options": {"base_url": COMPATIBLE[vendor]}}
    result = client("chat.completions.create", model="some-model", messages=_messages(prompt),
                    **vendor_client)
    assert result["choices"][0]["message"]["content"] == expected_text(prompt, vendor=vendor)
    _assert_usage(result["usage"], expected_usage(prompt, vendor=vendor))
    chunks = client("chat.completions.create", model="some-model", messages=_messages(prompt),
                    stream=True, stream_options={"include_usage": True}, **vendor_client)
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks if c["choices"])
    assert text == expected_text(prompt, vendor=vendor)
    _assert_usage(next(c["usage"] for c in chunks if c["usage"]), expected_usage(prompt, vendor=vendor))


def test_deepseek_reasoning_content(client, prompt: str) -> None:
    deepseek = {"client_options": {"base_url": COMPATIBLE["deepseek"]}}
    result = client("chat.completions.create", model="deepseek-reasoner", messages=_messages(prompt),
                    **deepseek)
    message = result["choices"][0]["message"]
    assert message["content"] == expected_text(prompt, vendor="deepseek")
    assert message["reasoning_content"] == expected_reasoning(prompt, vendor="deepseek")
    _assert_usage(result["usage"], expected_usage(prompt, vendor="deepseek", reasoning=True))
    reasoning = content = ""
    for chunk in client("chat.completions.create", model="deepseek-reasoner",
                        messages=_messages(prompt), stream=True, **deepseek):
        delta = chunk["choices"][0]["delta"]
        assert not (delta.get("reasoning_content") and content)  # reasoning comes first
        reasoning += delta.get("reasoning_content") or ""
        content += delta.get("content") or ""
    assert (reasoning, content) == (expected_reasoning(prompt, vendor="deepseek"),
                                    expected_text(prompt, vendor="deepseek"))


def test_openrouter_keepalive_comments_and_usage(proxy: ProxyProcess, prompt: str) -> None:
    with httpx_client(proxy.url, proxy.ca_path) as http, http.stream(
            "POST", "https://openrouter.ai/api/v1/chat/completions",
            json={"model": "vendor/model", "stream": True, "messages": _messages(prompt)}) as r:
        lines = [line for line in r.iter_lines() if line]
    assert lines[0] == ": OPENROUTER PROCESSING"
    assert lines.count(": OPENROUTER PROCESSING") == 2
    payloads = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    assert payloads[-1]["usage"]["cost"] > 0  # usage without asking, as OpenRouter does
    assert lines[-1] == "data: [DONE]"


def test_groq_rejects_n_above_one(client, prompt: str) -> None:
    with pytest.raises(ClientError) as raised:
        client("chat.completions.create", model="llama", messages=_messages(prompt), n=2,
               client_options={"base_url": COMPATIBLE["groq"]})
    assert raised.value.is_a("openai.BadRequestError")
