"""Gemini API and Vertex AI, through a real mitmdump, with google-genai and httpx."""

from __future__ import annotations

import json

import pytest
from google.genai import types

from agent.standin import clients, expected_reasoning, expected_text, expected_usage
from agent.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e

GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"


def test_generate_content(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.genai_client(proxy.url, proxy.ca_path)
    result = client.models.generate_content(model="gemini-2.5-flash", contents=prompt)
    assert result.text == expected_text(prompt, vendor="google")
    usage = expected_usage(prompt, vendor="google")
    assert (result.usage_metadata.prompt_token_count,
            result.usage_metadata.candidates_token_count,
            result.usage_metadata.total_token_count) == (
        usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
    assert result.model_version == "gemini-2.5-flash"


def test_generate_content_stream_sse(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.genai_client(proxy.url, proxy.ca_path)
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash",
                                                        contents=prompt))
    assert "".join(c.text for c in chunks) == expected_text(prompt, vendor="google")
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count == expected_usage(
        prompt, vendor="google").completion_tokens


def test_thought_parts_and_candidates(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.genai_client(proxy.url, proxy.ca_path)
    config = types.GenerateContentConfig(
        candidate_count=2, thinking_config=types.ThinkingConfig(include_thoughts=True))
    result = client.models.generate_content(model="gemini-2.5-pro", contents=prompt,
                                            config=config)
    for index, candidate in enumerate(result.candidates):
        thought, answer = candidate.content.parts
        assert thought.thought and thought.text == expected_reasoning(prompt, index, "google")
        assert answer.text == expected_text(prompt, index, "google")
    assert result.usage_metadata.thoughts_token_count == expected_usage(
        prompt, None, "google", n=2, reasoning=True).reasoning_tokens


def test_vertex_express_mode(proxy: ProxyProcess, standin: object, prompt: str) -> None:
    client = clients.genai_client(proxy.url, proxy.ca_path, vertexai=True)
    result = client.models.generate_content(model="gemini-2.5-flash", contents=prompt)
    assert result.text == expected_text(prompt, vendor="google")
    assert standin.requests[-1].host == "aiplatform.googleapis.com"


def test_vertex_regional_host_stream(proxy: ProxyProcess, prompt: str) -> None:
    url = ("https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/"
           "europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    with clients.httpx_client(proxy.url, proxy.ca_path) as http, http.stream(
            "POST", url, json=body) as response:
        chunks = [json.loads(line[6:]) for line in response.iter_lines()
                  if line.startswith("data: ")]
    text = "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"])
    assert text == expected_text(prompt, vendor="google")
    assert "createTime" in chunks[0]


def test_stream_without_alt_sse_is_one_json_array(proxy: ProxyProcess, prompt: str) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    with clients.httpx_client(proxy.url, proxy.ca_path) as http, http.stream(
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
