"""Bad-input modes and streaming timing, as a client sees them through a real mitmdump (the vendor
SDKs run in the SDK clients' venv: see tests/support/client_side.py)."""

from __future__ import annotations

import gzip
import json
import struct
import time
import zlib
from collections.abc import Iterator

import brotli
import httpx
import pytest
import zstandard

from tests.support.client_side import ClientError
from tests.support.client_side import client_side
from tests.support.raw_http import httpx_client
from tests.support.standin import expected_text
from tests.support.standin.call import SLOW_DELAY_MS
from tests.support.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e

CHAT = "https://api.openai.com/v1/chat/completions"


@pytest.fixture
def http(proxy: ProxyProcess) -> Iterator[httpx.Client]:
    with httpx_client(proxy.url, proxy.ca_path) as client:
        yield client


def _chat(prompt: str, stream: bool = False, model: str = "gpt-4o-mini") -> dict[str, object]:
    return {"model": model, "stream": stream, "messages": [{"role": "user", "content": prompt}]}


def _sse_text(body: bytes) -> str:
    text = ""
    for line in body.decode().splitlines():
        if line.startswith("data: {"):
            choices = json.loads(line[6:]).get("choices")
            text += choices[0]["delta"].get("content") or "" if choices else ""
    return text


_DECODE = {
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,
    "br": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}


@pytest.mark.parametrize("encoding", sorted(_DECODE))
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_compressed_bodies(http: httpx.Client, encoding: str, stream: bool, prompt: str) -> None:
    with http.stream("POST", CHAT, json=_chat(prompt, stream),
                     headers={"x-standin-mode": encoding}) as response:
        wire = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == encoding
    plain = _DECODE[encoding](wire)
    assert plain != wire
    if stream:
        assert _sse_text(plain) == expected_text(prompt)
    else:
        assert json.loads(plain)["choices"][0]["message"]["content"] == expected_text(prompt)
    # and the client's own decoding agrees
    decoded = http.post(CHAT, json=_chat(prompt, stream), headers={"x-standin-mode": encoding})
    if stream:
        assert _sse_text(decoded.content) == expected_text(prompt)
    else:
        assert decoded.json()["choices"][0]["message"]["content"] == expected_text(prompt)


@client_side
def openai_stream(proxy, ca, model, prompt):
    """The chunks of one streamed chat completion, as the OpenAI SDK parsed them."""
    client = clients.openai_client(proxy, ca)
    return list(client.chat.completions.create(model=model, stream=True,
                                               messages=[{"role": "user", "content": prompt}]))


def test_sdk_reads_gzip_stream_chosen_by_model_name(proxy: ProxyProcess, standin: object,
                                                    prompt: str) -> None:
    chunks = openai_stream(proxy.url, proxy.ca_path, "standin-gzip", prompt)
    assert "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks) == expected_text(prompt)
    assert standin.requests[-1].mode == "gzip"


def test_malformed_json(http: httpx.Client, prompt: str) -> None:
    response = http.post(CHAT, json=_chat(prompt), headers={"x-standin-mode": "malformed-json"})
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)
    streamed = http.post(CHAT, json=_chat(prompt, True),
                         headers={"x-standin-mode": "malformed-json"})
    broken = []
    for line in streamed.text.splitlines():
        if line.startswith("data: {"):
            try:
                json.loads(line[6:])
            except ValueError:
                broken.append(line)
    assert len(broken) == 1


def test_binary_garbage_with_json_content_type(http: httpx.Client, prompt: str) -> None:
    response = http.post(CHAT, json=_chat(prompt), headers={"x-standin-mode": "binary-garbage"})
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(response.content)


def test_truncated_stream_closes_before_the_end(http: httpx.Client, prompt: str) -> None:
    lines: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        with http.stream("POST", CHAT, json=_chat(prompt, True),
                         headers={"x-standin-mode": "truncated-stream"}) as response:
            for line in response.iter_lines():
                lines.append(line)
    partial = _sse_text("\n".join(lines).encode())
    assert partial and len(partial) < len(expected_text(prompt))
    assert expected_text(prompt).startswith(partial)
    assert "data: [DONE]" not in lines


def test_truncated_stream_through_anthropic_sdk(proxy: ProxyProcess, prompt: str) -> None:
    @client_side
    def text_until_the_stream_breaks(proxy, ca, prompt):
        import anthropic

        try:  # anthropic 2.x lets the transport's error through (httpx2.RemoteProtocolError)
            import httpx2
            transport_error = httpx2.TransportError
        except ImportError:
            import httpx
            transport_error = httpx.TransportError
        client = clients.anthropic_client(proxy, ca)
        received = ""
        try:
            with client.messages.stream(model="standin-truncated-stream", max_tokens=64,
                                        messages=[{"role": "user", "content": prompt}]) as stream:
                for piece in stream.text_stream:
                    received += piece
        except (anthropic.APIError, transport_error) as error:
            return {"received": received, "error": type(error).__name__}
        return {"received": received, "error": None}

    got = text_until_the_stream_breaks(proxy.url, proxy.ca_path, prompt)
    assert got["error"] is not None
    received = got["received"]
    assert received and expected_text(prompt, vendor="anthropic").startswith(received)


def test_truncated_json_body_never_completes(http: httpx.Client, prompt: str) -> None:
    try:
        response = http.post(CHAT, json=_chat(prompt),
                             headers={"x-standin-mode": "truncated-stream"})
    except httpx.RemoteProtocolError:
        return
    assert response.status_code == 502  # mitmproxy could not read the whole upstream body


def test_gzip_bomb_is_small_on_the_wire(http: httpx.Client, prompt: str) -> None:
    with http.stream("POST", CHAT, json=_chat(prompt),
                     headers={"x-standin-mode": "bomb"}) as response:
        wire = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert len(wire) < 2_000_000
    assert struct.unpack("<I", wire[-4:])[0] == 1 << 30  # gzip ISIZE: 1 GiB uncompressed
    decoder = zlib.decompressobj(31)
    head = decoder.decompress(wire[:40_000], 32 * 1024 * 1024)
    assert len(head) == 32 * 1024 * 1024 and not head.strip(b"\x00")


def test_huge_json_body_streams_from_a_generator(http: httpx.Client, prompt: str) -> None:
    size, head, tail = 0, b"", b""
    with http.stream("POST", CHAT, json=_chat(prompt),
                     headers={"x-standin-mode": "huge"}) as response:
        for piece in response.iter_raw(1 << 20):
            head = head or piece[:200]
            tail = (tail + piece)[-200:]
            size += len(piece)
    assert size == int(response.headers["content-length"]) >= 100 * 1024 * 1024
    assert head.startswith(b'{"id": "chatcmpl-')
    assert tail.endswith(b"}") and b'"usage"' in tail


def test_huge_stream_repeats_a_content_event(http: httpx.Client, prompt: str) -> None:
    size, tail = 0, b""
    with http.stream("POST", CHAT, json=_chat(prompt, True),
                     headers={"x-standin-mode": "huge"}) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        for piece in response.iter_raw(1 << 20):
            tail = (tail + piece)[-200:]
            size += len(piece)
    assert size >= 100 * 1024 * 1024
    assert tail.endswith(b"data: [DONE]\n\n")


def _event_times(http: httpx.Client, method: str, url: str, body: object,
                 headers: dict[str, str], limit: int | None = None) -> list[float]:
    start = time.monotonic()
    times = []
    with http.stream(method, url, json=body, headers=headers) as response:
        assert response.status_code == 200
        for _ in response.iter_raw():
            times.append(time.monotonic() - start)
            if limit and len(times) >= limit:
                break
    return times


STREAMS = {
    "openai-sse": (CHAT, lambda p: _chat(p, True)),
    "gemini-json-array": ("https://generativelanguage.googleapis.com/v1beta/models/g:"
                          "streamGenerateContent",
                          lambda p: {"contents": [{"role": "user", "parts": [{"text": p}]}]}),
    "cohere-ndjson": ("https://api.cohere.com/v1/chat",
                      lambda p: {"message": p, "stream": True}),
    "bedrock-eventstream": ("https://bedrock-runtime.us-east-1.amazonaws.com/model/m/"
                            "converse-stream",
                            lambda p: {"messages": [{"role": "user", "content": [{"text": p}]}]}),
}


@pytest.mark.parametrize("kind", sorted(STREAMS))
def test_streams_arrive_incrementally(http: httpx.Client, kind: str, prompt: str) -> None:
    url, body = STREAMS[kind]
    times = _event_times(http, "POST", url, body(prompt), {"x-standin-delay-ms": "25"})
    assert len(times) > 15
    # The first event is sent at once, the others 25 ms apart: the proxy must not buffer.
    assert times[0] < 0.25 * times[-1]
    assert times[-1] - times[0] >= 0.8 * 0.025 * (len(times) - 2)


def test_slow_mode_spaces_events(http: httpx.Client, prompt: str) -> None:
    times = _event_times(http, "POST", CHAT, _chat(prompt, True),
                         {"x-standin-mode": "slow"}, limit=4)
    gaps = [b - a for a, b in zip(times, times[1:])]
    # The server sleeps SLOW_DELAY_MS between events. Under load one read can return late and the
    # next on time (a 0.1994 s gap seen for 0.25 s sleeps), so each gap shows the events are held
    # apart (a buffered stream gives ~0) and the whole span shows the sleeps were all taken.
    delay = SLOW_DELAY_MS / 1000
    assert min(gaps) >= 0.4 * delay
    assert times[-1] - times[0] >= 0.9 * delay * len(gaps)


@client_side
def sdk_texts_with_unknown_events(proxy, ca, prompt):
    """What the OpenAI Responses and the Anthropic SDKs make of streams with unknown events."""
    events = list(clients.openai_client(proxy, ca).responses.create(
        model="standin-unknown-events", input=prompt, stream=True))
    with clients.anthropic_client(proxy, ca).messages.stream(
            model="standin-unknown-events", max_tokens=64,
            messages=[{"role": "user", "content": prompt}]) as stream:
        anthropic_text = "".join(stream.text_stream)
    return {"response_event_types": sorted({e.type for e in events}),
            "response_text": events[-1].response.output_text, "anthropic_text": anthropic_text}


def test_unknown_events(http: httpx.Client, proxy: ProxyProcess, prompt: str) -> None:
    body = http.post(CHAT, json=_chat(prompt, True),
                     headers={"x-standin-mode": "unknown-events"}).text
    assert "event: standin.unknown" in body
    assert _sse_text(body.encode()) == expected_text(prompt)
    got = sdk_texts_with_unknown_events(proxy.url, proxy.ca_path, prompt)
    assert "response.standin_unknown.delta" in got["response_event_types"]
    assert got["response_text"] == expected_text(prompt)
    assert got["anthropic_text"] == expected_text(prompt, vendor="anthropic")


def test_interleaved_choices(proxy: ProxyProcess, prompt: str) -> None:
    texts = {0: "", 1: ""}
    first_content_index = None
    for chunk in openai_stream(proxy.url, proxy.ca_path, "standin-interleaved", prompt):
        for choice in chunk["choices"]:
            content = choice["delta"]["content"]
            if content and first_content_index is None:
                first_content_index = choice["index"]
            texts[choice["index"]] += content or ""
    assert texts == {0: expected_text(prompt, 0), 1: expected_text(prompt, 1)}
    assert first_content_index == 1  # not in index order


def test_error_in_openai_stream(proxy: ProxyProcess, prompt: str) -> None:
    with pytest.raises(ClientError, match="server had an error") as raised:
        openai_stream(proxy.url, proxy.ca_path, "standin-error-in-stream", prompt)
    assert raised.value.is_a("openai.APIError")


def test_a_verbatim_reply_longer_than_a_header_line_comes_back_whole(http: httpx.Client):
    """`reply_headers` splits a body over continuation headers (the stand-in reads 64 KiB a line):
    bench/same_prompt.py sends real answers of up to ~60 KB so, and one header refused them."""
    from tests.support.standin.server import reply_headers

    body = json.dumps({"answer": "".join(f"word{n} " for n in range(20_000))}).encode()
    headers = reply_headers(body)
    assert len(headers) > 2 and max(map(len, headers.values())) <= 60_000
    got = http.post(CHAT, json=_chat("hi"), headers=headers)
    assert got.status_code == 200 and got.content == body
