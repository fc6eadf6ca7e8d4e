"""Capture fidelity through a real mitmdump with the official SDKs (issue 11): no call escapes by
the spelling of its path or host, and a vendor call on a path no route knows is still recorded."""

from __future__ import annotations

import pytest

from tests.support.client_side import client_side
from tests.support.raw_http import httpx_client
from tests.support.standin import expected_text

pytestmark = pytest.mark.e2e


@client_side
def azure_chat_with_double_slash(proxy, ca, prompt, stream):
    """An AzureOpenAI client whose base URL is the resource endpoint with its trailing slash plus
    `/openai`, as `AZURE_OPENAI_ENDPOINT + "/openai"` gives: every call goes to `//openai/...`.
    (openai 3.x strips the slash from `azure_endpoint` itself; older releases did not.)"""
    import openai

    client = openai.AzureOpenAI(base_url="https://standin-resource.openai.azure.com/" + "/openai",
                                api_version="2024-10-21", api_key=clients.FAKE_KEYS["azure-openai"], max_retries=0,
                                http_client=clients.httpx_client(proxy, ca))
    messages = [{"role": "user", "content": prompt}]
    if stream:
        chunks = client.chat.completions.create(model="prod-gpt4o", messages=messages, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return client.chat.completions.create(model="prod-gpt4o", messages=messages).choices[0].message.content


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_azure_path_with_a_double_slash_is_recorded(audit, prompt, stream):
    mark = audit.marker()
    text = azure_chat_with_double_slash(audit.proxy_url(), audit.proxy.ca_path, prompt, stream)
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
    with httpx_client(audit.proxy_url(), audit.proxy.ca_path) as http:
        # httpx would tidy some spellings itself; a raw target keeps the path as written.
        request = http.build_request("POST", url, json={"model": "m", "max_tokens": 16,
                                                        "messages": [{"role": "user", "content": "hi"}]})
        request.url = request.url.copy_with(raw_path=("/" + sent_path).encode())
        response = http.send(request)
    [call] = audit.wait_calls(mark, 1)
    assert call.path == "/" + sent_path  # stored as sent: the flow was not rewritten
    assert (call.vendor, call.endpoint, call.kind) == (vendor, endpoint, "generation")
    assert call.status == response.status_code


def test_host_header_case_trailing_dot_and_port_are_recognised(audit):
    mark = audit.marker()
    with httpx_client(audit.proxy_url(), audit.proxy.ca_path) as http:
        response = http.post("https://api.openai.com/v1/chat/completions", headers={"Host": "API.OpenAI.com.:443"},
                             json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    [call] = audit.wait_calls(mark, 1)
    assert (call.vendor, call.endpoint, call.status) == ("openai", "chat.completions", response.status_code)


def test_a_vendor_call_on_an_unknown_path_is_recorded_with_its_sizes(audit):
    mark = audit.marker()
    body = b'{"model": "gpt-4o", "input": "a brand-new endpoint"}'
    with httpx_client(audit.proxy_url(), audit.proxy.ca_path) as http:
        response = http.post("https://api.openai.com/v1/brand-new/generate", content=body,
                             headers={"content-type": "application/json"})
    [call] = audit.wait_calls(mark, 1)
    assert (call.vendor, call.endpoint, call.kind, call.status) == ("openai", "unknown", "other", response.status_code)
    assert call.model == "gpt-4o"
    assert call.request_bytes == len(body)
    assert call.response_bytes == len(response.content) > 0


# --- Bedrock text families through boto3 (issue 11: Jurassic, legacy Claude streams, Cohere n=2)

BEDROCK_FAMILIES = [
    # (model id, request body builder, generations)
    ("anthropic.claude-v2:1", lambda p: {"prompt": f"\n\nHuman: {p}\n\nAssistant:", "max_tokens_to_sample": 200}, 1),
    ("ai21.j2-ultra-v1", lambda p: {"prompt": p, "maxTokens": 200, "numResults": 2}, 2),
    ("ai21.jamba-1-5-large-v1:0", lambda p: {"messages": [{"role": "user", "content": p}], "n": 2}, 2),
    ("cohere.command-text-v14", lambda p: {"prompt": p, "max_tokens": 200, "num_generations": 2}, 2),
    ("cohere.command-r-plus-v1:0", lambda p: {"message": p, "max_tokens": 200}, 1),
    ("meta.llama3-1-70b-instruct-v1:0", lambda p: {"prompt": p, "max_gen_len": 200}, 1),
    ("mistral.mixtral-8x7b-instruct-v0:1", lambda p: {"prompt": f"<s>[INST] {p} [/INST]", "max_tokens": 200}, 1),
    ("amazon.titan-text-express-v1", lambda p: {"inputText": p, "textGenerationConfig": {"maxTokenCount": 200}}, 1),
    ("us.amazon.nova-lite-v1:0", lambda p: {"messages": [{"role": "user", "content": [{"text": p}]}]}, 1),
    ("us.deepseek.r1-v1:0", lambda p: {"prompt": p, "max_tokens": 200}, 1),
]


@client_side
def bedrock_invoke(proxy, ca, model, body, stream):
    """The chunks a stream delivered, or the body of a plain invoke, as the client received them."""
    client = clients.bedrock_client(proxy, ca)
    if stream:
        events = client.invoke_model_with_response_stream(modelId=model, body=body)["body"]
        return [json.loads(e["chunk"]["bytes"]) for e in events if "chunk" in e]
    return client.invoke_model(modelId=model, body=body)["body"].read()


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
@pytest.mark.parametrize("model,build,generations", BEDROCK_FAMILIES, ids=[m.split(":")[0] for m, *_ in BEDROCK_FAMILIES])
def test_bedrock_family_gives_one_output_per_generation(audit, prompt, model, build, generations, stream):
    import json

    if stream and model.startswith("ai21.j2"):
        pytest.skip("Jurassic-2 has no streaming API")
    mark = audit.marker()
    request = build(prompt)
    # The stand-in answers the prompt string as sent (chat templates included).
    said = next((request[k] for k in ("prompt", "inputText", "message") if k in request), prompt)
    received = bedrock_invoke(audit.proxy_url(), audit.proxy.ca_path, model, json.dumps(request), stream)
    if stream:
        assert received  # botocore checked every frame's CRCs on the way
    [call] = audit.wait_calls(mark, 1)
    texts = [expected_text(said, i, vendor="aws-bedrock") for i in range(generations)]
    assert (call.vendor, call.endpoint, call.model, call.streamed) == ("aws-bedrock", "invoke", model, stream)
    assert call.parse_error is None, call.parse_error
    assert call.request_n == call.outputs == generations
    assert call.output_text == "\n".join(texts)
    assert call.output_parts == [["text"]] * generations
    assert [o.idx for o in audit.outputs(call.id)] == list(range(generations))
