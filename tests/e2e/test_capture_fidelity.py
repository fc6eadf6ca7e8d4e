"""Capture fidelity through a real mitmdump with the official SDKs (issue 11): no call escapes by
the spelling of its path or host, and a vendor call on a path no route knows is still recorded."""

from __future__ import annotations

import pytest

from agent.standin import clients
from agent.standin import expected_text

pytestmark = pytest.mark.e2e


def azure_client_with_double_slash(audit):
    """An AzureOpenAI client whose base URL is the resource endpoint with its trailing slash plus
    `/openai`, as `AZURE_OPENAI_ENDPOINT + "/openai"` gives: every call goes to `//openai/...`.
    (openai 3.x strips the slash from `azure_endpoint` itself; older releases did not.)"""
    import openai

    return openai.AzureOpenAI(base_url="https://standin-resource.openai.azure.com/" + "/openai",
                              api_version="2024-10-21", api_key=clients.FAKE_KEYS["azure-openai"], max_retries=0,
                              http_client=clients.httpx_client(audit.proxy_url(), audit.proxy.ca_path))


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_azure_path_with_a_double_slash_is_recorded(audit, prompt, stream):
    mark = audit.marker()
    client = azure_client_with_double_slash(audit)
    messages = [{"role": "user", "content": prompt}]
    if stream:
        chunks = client.chat.completions.create(model="prod-gpt4o", messages=messages, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        text = client.chat.completions.create(model="prod-gpt4o", messages=messages).choices[0].message.content
    [call] = audit.wait_calls(mark, 1)
    assert call.path.startswith("//openai/deployments/prod-gpt4o/")  # what the SDK really sent
    assert (call.vendor, call.endpoint, call.model, call.status) == ("azure-openai", "chat.completions", "prod-gpt4o", 200)
    assert call.parse_error is None and call.outputs == 1
    assert call.output_text == text == expected_text(prompt, vendor="azure-openai")


SPELLINGS = [
    # (URL as sent, vendor, endpoint): what mitmproxy forwards is what the client wrote
    ("https://api.openai.com//v1//chat/completions", "openai", "chat.completions"),
    ("https://api.openai.com/v1/chat/%63ompletions", "openai", "chat.completions"),
    ("https://api.openai.com/v1/chat%2Fcompletions", "openai", "chat.completions"),
    ("https://api.openai.com:443/v1/chat/completions/", "openai", "chat.completions"),
    ("https://api.anthropic.com/v1/%6D%65ssages", "anthropic", "messages"),
]


@pytest.mark.parametrize("url,vendor,endpoint", SPELLINGS, ids=[u.split("//", 1)[1] for u, *_ in SPELLINGS])
def test_odd_spellings_are_recognised_and_forwarded_unchanged(audit, url, vendor, endpoint):
    mark = audit.marker()
    sent_path = url.split("/", 3)[3]
    with clients.httpx_client(audit.proxy_url(), audit.proxy.ca_path) as http:
        # httpx would tidy some spellings itself; a raw target keeps the path as written.
        request = http.build_request("POST", url, json={"model": "m", "max_tokens": 16,
                                                        "messages": [{"role": "user", "content": "hi"}]})
        request.url = request.url.copy_with(raw_path=("/" + sent_path).encode())
        response = http.send(request)
    [call] = audit.wait_calls(mark, 1)
    assert call.path == "/" + sent_path  # stored as sent: the flow was not rewritten
    assert (call.vendor, call.endpoint, call.kind) == (vendor, endpoint, "generation")
    assert call.status == response.status_code


def test_a_vendor_call_on_an_unknown_path_is_recorded_with_its_sizes(audit):
    mark = audit.marker()
    body = b'{"model": "gpt-4o", "input": "a brand-new endpoint"}'
    with clients.httpx_client(audit.proxy_url(), audit.proxy.ca_path) as http:
        response = http.post("https://api.openai.com/v1/brand-new/generate", content=body,
                             headers={"content-type": "application/json"})
    [call] = audit.wait_calls(mark, 1)
    assert (call.vendor, call.endpoint, call.kind, call.status) == ("openai", "unknown", "other", response.status_code)
    assert call.model == "gpt-4o"
    assert call.request_bytes == len(body)
    assert call.response_bytes == len(response.content) > 0
