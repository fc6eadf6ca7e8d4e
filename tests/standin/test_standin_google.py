"""Gemini API and Vertex AI, through a real mitmdump, with google-genai (run in the SDK clients'
venv: see tests/support/client_side.py) and httpx."""

from __future__ import annotations

import json

import pytest

from tests.support.client_side import client_side
from tests.support.raw_http import httpx_client
from tests.support.standin import expected_reasoning
from tests.support.standin import expected_text
from tests.support.standin import expected_usage
from tests.support.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e

GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"


@client_side
def generate(proxy, ca, prompt, model="gemini-2.5-flash", stream=False, vertexai=False, thoughts=False):
    """What google-genai returned; `text` is the SDK's own joined text (a property, not a field)."""
    from google.genai import types

    client = clients.genai_client(proxy, ca, vertexai=vertexai)
    config = None
    if thoughts:
        config = types.GenerateContentConfig(
            candidate_count=2, thinking_config=types.ThinkingConfig(include_thoughts=True))
    if stream:
        chunks = list(client.models.generate_content_stream(model=model, contents=prompt))
        return [{"text": c.text, "response": c} for c in chunks]
    result = client.models.generate_content(model=model, contents=prompt, config=config)
    return {"text": None if thoughts else result.text, "response": result}


def test_generate_content(proxy: ProxyProcess, prompt: str) -> None:
    result = generate(proxy.url, proxy.ca_path, prompt)
    assert result["text"] == expected_text(prompt, vendor="google")
    usage = expected_usage(prompt, vendor="google")
    metadata = result["response"]["usage_metadata"]
    assert (metadata["prompt_token_count"], metadata["candidates_token_count"],
            metadata["total_token_count"]) == (usage.prompt_tokens, usage.completion_tokens,
                                               usage.total_tokens)
    assert result["response"]["model_version"] == "gemini-2.5-flash"


def test_generate_content_stream_sse(proxy: ProxyProcess, prompt: str) -> None:
    chunks = generate(proxy.url, proxy.ca_path, prompt, stream=True)
    assert "".join(c["text"] for c in chunks) == expected_text(prompt, vendor="google")
    last = chunks[-1]["response"]
    assert last["candidates"][0]["finish_reason"] == "STOP"  # types.FinishReason.STOP
    assert last["usage_metadata"]["candidates_token_count"] == expected_usage(
        prompt, vendor="google").completion_tokens


def test_thought_parts_and_candidates(proxy: ProxyProcess, prompt: str) -> None:
    result = generate(proxy.url, proxy.ca_path, prompt, model="gemini-2.5-pro", thoughts=True)["response"]
    for index, candidate in enumerate(result["candidates"]):
        thought, answer = candidate["content"]["parts"]
        assert thought["thought"] and thought["text"] == expected_reasoning(prompt, index, "google")
        assert answer["text"] == expected_text(prompt, index, "google")
    assert result["usage_metadata"]["thoughts_token_count"] == expected_usage(
        prompt, None, "google", n=2, reasoning=True).reasoning_tokens


def test_vertex_express_mode(proxy: ProxyProcess, standin: object, prompt: str) -> None:
    result = generate(proxy.url, proxy.ca_path, prompt, vertexai=True)
    assert result["text"] == expected_text(prompt, vendor="google")
    assert standin.requests[-1].host == "aiplatform.googleapis.com"


def test_vertex_regional_host_stream(proxy: ProxyProcess, prompt: str) -> None:
    url = ("https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/"
           "europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    with httpx_client(proxy.url, proxy.ca_path) as http, http.stream(
            "POST", url, json=body) as response:
        chunks = [json.loads(line[6:]) for line in response.iter_lines()
                  if line.startswith("data: ")]
    text = "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"])
    assert text == expected_text(prompt, vendor="google")
    assert "createTime" in chunks[0]


def test_stream_without_alt_sse_is_one_json_array(proxy: ProxyProcess, prompt: str) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    with httpx_client(proxy.url, proxy.ca_path) as http, http.stream(
            "POST", f"{GEMINI}:streamGenerateContent", json=body,
            headers={"x-goog-api-key": "k"}) as response:
        pieces = [piece for piece in response.iter_raw()]
    document = b"".join(pieces)
    assert document.startswith(b"[{") and document.endswith(b"]")
    chunks = json.loads(document)
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    assert text == expected_text(prompt, vendor="google")
    assert chunks[-1]["usageMetadata"]["totalTokenCount"] == expected_usage(
        prompt, vendor="google").total_tokens
