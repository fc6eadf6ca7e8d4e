"""The stand-in's building blocks, without a proxy."""

from __future__ import annotations

import gzip
import json
import time
import zlib

import httpx

from tests.support.client_side import client_side
from tests.support.standin import StandinServer
from tests.support.standin import expected_text
from tests.support.standin import expected_usage
from tests.support.standin.eventstream import encode_frame
from tests.support.standin.eventstream import event_frame
from tests.support.standin.modes import _zero_block_deflate
from tests.support.standin.modes import gzip_bomb
from tests.support.standin.router import vendor_for_host
from tests.support.standin.text import count_tokens
from tests.support.standin.text import split_deltas


def test_expected_text_is_deterministic_and_distinct() -> None:
    text = expected_text("hello world")
    assert text == expected_text("hello world")
    assert 60 <= len(text.split()) <= 160
    others = {expected_text("hello world!"), expected_text("hello world", 1),
              expected_text("hello world", vendor="anthropic")}
    assert text not in others and len(others) == 3
    # "clearly different": few shared word positions
    other = expected_text("hello world!").split()
    same = sum(a == b for a, b in zip(text.split(), other))
    assert same < 10


def test_usage_counts_tokens_of_prompt_and_text() -> None:
    usage = expected_usage("a b, c", 0, "openai")
    assert usage.prompt_tokens == 4
    assert usage.completion_tokens == count_tokens(expected_text("a b, c"))
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    both = expected_usage("a b, c", None, "openai", n=2)
    assert both.completion_tokens == usage.completion_tokens + count_tokens(
        expected_text("a b, c", 1))


def test_deltas_rebuild_the_text() -> None:
    text = expected_text("deltas")
    deltas = split_deltas(text)
    assert "".join(deltas) == text and len(deltas) > 10


@client_side
def botocore_frames(wire):
    """The (headers, payload) pairs botocore's own decoder reads from `wire`, and its error."""
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(wire)
    frames = []
    try:
        for message in buffer:
            frames.append([message.headers, message.payload])
    except Exception as error:
        return frames, type(error).__name__
    return frames, None


def test_event_frames_decode_with_botocore() -> None:
    wire = event_frame("contentBlockDelta", {"delta": {"text": "hi"}}) + encode_frame(
        {"flag": True, "off": False, "n": 7, "raw": b"\x00\x01"}, b"x")
    [(first_headers, first_payload), second], error = botocore_frames(wire)
    assert error is None
    assert first_headers[":event-type"] == "contentBlockDelta"
    assert first_headers[":message-type"] == "event"
    assert json.loads(first_payload) == {"delta": {"text": "hi"}}
    assert second == [{"flag": True, "off": False, "n": 7, "raw": b"\x00\x01"}, b"x"]


def test_corrupt_frame_fails_the_crc_check() -> None:
    frames, error = botocore_frames(event_frame("chunk", {"bytes": ""}, corrupt_crc=True))
    assert (frames, error) == ([], "ChecksumMismatch")


def test_gzip_bomb_is_small_on_the_wire_and_expands() -> None:
    wire = b"".join(gzip_bomb(64 * 1024 * 1024))
    assert len(wire) < 100_000
    assert gzip.decompress(wire) == bytes(64 * 1024 * 1024)  # CRC and size trailer check out
    block, _ = _zero_block_deflate()
    assert len(block) * 1024 < 2_000_000  # the default 1 GiB bomb stays under 2 MB


def test_hosts_map_to_vendor_ids() -> None:
    expected = {
        "api.openai.com": "openai", "eu.api.openai.com": "openai",
        "acme.openai.azure.com": "azure-openai", "acme.cognitiveservices.azure.com":
        "azure-openai", "api.anthropic.com": "anthropic",
        "generativelanguage.googleapis.com": "google",
        "us-central1-aiplatform.googleapis.com": "google", "aiplatform.googleapis.com": "google",
        "bedrock-runtime.us-east-1.amazonaws.com": "aws-bedrock", "api.mistral.ai": "mistral",
        "api.cohere.com": "cohere", "api.deepseek.com": "deepseek", "api.x.ai": "xai",
        "api.groq.com": "groq", "api.together.xyz": "together", "api.fireworks.ai": "fireworks",
        "api.perplexity.ai": "perplexity", "openrouter.ai": "openrouter",
        "router.huggingface.co": "huggingface", "huggingface.co": "huggingface",
    }
    assert {host: vendor_for_host(host) for host in expected} == expected
    assert vendor_for_host("example.com") is None
    assert vendor_for_host("api.openai.com.evil.example") is None


def test_direct_request_is_logged_and_closed() -> None:
    with StandinServer() as server, httpx.Client(verify=False, trust_env=False) as client:
        response = client.post(f"{server.url}/v1/chat/completions?x=1",
                               headers={"Host": "api.openai.com:443", "Authorization": "Bearer k"},
                               json={"model": "gpt-4o", "messages": [
                                   {"role": "user", "content": "direct"}]})
        unknown = client.get(f"{server.url}/v1/models", headers={"Host": "example.com"})
        logged = server.requests
    assert response.headers["connection"] == "close"
    assert response.json()["choices"][0]["message"]["content"] == expected_text("direct")
    assert unknown.status_code == 404
    first = logged[0]
    assert (first.method, first.host, first.path, first.vendor) == (
        "POST", "api.openai.com", "/v1/chat/completions?x=1", "openai")
    assert first.header("authorization") == "Bearer k"
    assert first.body_length == len(response.request.content)
    assert server.errors == []


def test_server_wide_delay_applies_without_header() -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "slowly"}]}
    with StandinServer(delay_ms=20) as server, httpx.Client(verify=False) as client:
        with client.stream("POST", f"{server.url}/v1/chat/completions",
                           headers={"Host": "api.openai.com"}, json=body) as response:
            events = []
            for _ in response.iter_raw():
                events.append(time.monotonic())
    assert len(events) > 10
    assert events[-1] - events[0] >= 0.8 * 0.02 * (len(events) - 1)


def test_compressed_stream_events_decode_one_by_one() -> None:
    from tests.support.standin.call import Reply
    from tests.support.standin.modes import compress

    events = [b"data: 1\n\n", b"data: 2\n\n"]
    reply = compress(Reply(events=list(events)), "gzip")
    decoder = zlib.decompressobj(31)
    assert decoder.decompress(reply.events[0]) == events[0]  # decodable before the next event
    assert decoder.decompress(reply.events[1]) == events[1]
