"""The demo's vendor: stable, distinct answers in each vendor's wire format, over real TLS."""

from __future__ import annotations

import json
import ssl
import urllib.request

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.demo.vendor import BATCH_SIZE_HEADER
from agent.demo.vendor import DemoVendorServer
from agent.demo.vendor import answer
from agent.demo.vendor import anthropic_events
from agent.demo.vendor import anthropic_message
from agent.demo.vendor import batch_results
from agent.demo.vendor import chat_completion
from agent.demo.vendor import last_user_text
from agent.demo.vendor import tokens


@given(st.text(max_size=300), st.integers(0, 64))
@settings(max_examples=200, deadline=None)
def test_an_answer_is_stable_and_long_enough_to_fingerprint(prompt, index):
    text = answer(prompt, index)
    assert text == answer(prompt, index)
    assert 60 <= len(text.split()) <= 160  # the watcher needs whole 5-grams to find it later


@given(st.lists(st.text(min_size=1, max_size=80), min_size=2, max_size=20, unique=True))
def test_different_prompts_get_different_answers(prompts):
    assert len({answer(p) for p in prompts}) == len(prompts)


@given(st.lists(st.one_of(st.none(), st.integers(), st.text(), st.dictionaries(st.text(max_size=8), st.text())),
                max_size=5))
def test_odd_message_lists_give_a_prompt_not_an_error(messages):
    assert isinstance(last_user_text(messages), str)


def test_n_choices_each_with_its_own_text():
    body = chat_completion({"model": "gpt-4o", "n": 4, "messages": [{"role": "user", "content": "hi"}]}, "1")
    texts = [c["message"]["content"] for c in body["choices"]]
    assert len(set(texts)) == 4
    assert body["usage"]["completion_tokens"] == sum(map(tokens, texts))


def test_the_event_stream_carries_exactly_the_message_text():
    message = anthropic_message({"model": "claude", "messages": [{"role": "user", "content": "why"}]}, "7")
    text = ""
    for event in anthropic_events(message):
        name, data = event.decode().strip().split("\n")
        payload = json.loads(data.removeprefix("data: "))
        assert name == f"event: {payload['type']}"
        if payload["type"] == "content_block_delta":
            text += payload["delta"]["text"]
    assert text == message["content"][0]["text"]


@given(st.integers(0, 50))
@settings(deadline=None)
def test_a_batch_file_has_one_result_per_line(size):
    lines = batch_results(size).decode().splitlines()
    assert [json.loads(line)["custom_id"] for line in lines] == [f"item-{i}" for i in range(size)]


def test_the_server_answers_over_tls_and_closes_each_connection():
    with DemoVendorServer() as vendor:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # its certificate is throwaway
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
        base = f"https://127.0.0.1:{vendor.port}"
        request = urllib.request.Request(f"{base}/v1/chat/completions", method="POST",
                                         data=json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode())
        with opener.open(request, timeout=10) as response:
            assert response.headers["connection"] == "close"
            assert json.loads(response.read())["choices"][0]["message"]["content"] == answer("x")
        with opener.open(urllib.request.Request(f"{base}/v1/files/f/content", headers={BATCH_SIZE_HEADER: "3"}),
                         timeout=10) as response:
            assert len(response.read().splitlines()) == 3
        try:
            opener.open(urllib.request.Request(f"{base}/v1/nothing", method="POST", data=b"{}"), timeout=10)
        except urllib.error.HTTPError as e:
            assert e.code == 404
        else:
            raise AssertionError("an unknown endpoint was answered")
