"""`tests.support.remote_clients`: SDK clients made and called in the SDK clients' venv, used from
the test as if local; what comes back is what the client received."""

from __future__ import annotations

import pytest

from tests.support.client_side import ClientError
from tests.support.remote_clients import Record
from tests.support.remote_clients import clients
from tests.support.standin import expected_text
from tests.support.standin.harness import ProxyProcess

pytestmark = pytest.mark.e2e


def test_a_plain_call_reads_like_the_sdk(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.openai_client(proxy.url, proxy.ca_path)
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])
    assert reply.choices[0].message.content == expected_text(prompt)
    assert reply["choices"][0]["message"]["content"] == reply.choices[0].message.content
    assert isinstance(reply, Record) and reply.model == "gpt-4o"


def test_a_stream_comes_back_as_its_events(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.anthropic_client(proxy.url, proxy.ca_path)
    events = client.messages.create(model="claude-standin-1", max_tokens=64, stream=True,
                                    messages=[{"role": "user", "content": prompt}])
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == expected_text(prompt, vendor="anthropic")


def test_an_sdk_error_comes_back_as_a_client_error(proxy: ProxyProcess, prompt: str) -> None:
    client = clients.openai_client(proxy.url, proxy.ca_path, base_url=clients.OPENAI_COMPATIBLE_BASE_URLS["groq"])
    with pytest.raises(ClientError) as raised:
        client.chat.completions.create(model="llama", n=2, messages=[{"role": "user", "content": prompt}])
    assert raised.value.is_a("openai.BadRequestError")


def test_a_missing_attribute_is_an_attribute_error(proxy: ProxyProcess, prompt: str) -> None:
    reply = clients.openai_client(proxy.url, proxy.ca_path).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": prompt}])
    with pytest.raises(AttributeError):
        reply.no_such_field
