"""Every vendor family through a real mitmdump with the capture addon, driven by the official SDKs:
each call must land in the store with the right vendor, model, streamed flag, token counts, team,
user, and (store_text: full) the exact output text the client received. The SDKs run in their own
venv (the `@client_side` functions); the proxy runs from the product's."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import TEAM_KEY
from tests.support.client_side import client_side
from tests.support.sdk_clients import OPENAI_COMPATIBLE_BASE_URLS
from tests.support.standin import expected_text
from tests.support.standin import expected_usage

pytestmark = pytest.mark.e2e

OPENAI_COMPATIBLE = {k: v for k, v in OPENAI_COMPATIBLE_BASE_URLS.items() if k != "cohere"}
BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def check(call, *, vendor, endpoint, model, streamed, prompt, usage=True, user="nobody", team="unattributed"):
    assert call.vendor == vendor
    assert call.endpoint == endpoint
    assert call.model == model
    assert call.streamed is streamed
    assert call.status == 200
    assert call.parse_error is None
    assert (call.team, call.user) == (team, user)
    assert call.outputs == 1
    assert call.output_text == expected_text(prompt, vendor=vendor)
    if usage:
        want = expected_usage(prompt, vendor=vendor)
        assert (call.prompt_tokens, call.completion_tokens) == (want.prompt_tokens, want.completion_tokens)


@client_side
def openai_chat_text(proxy, ca, prompt, stream, model="gpt-4o-mini", azure=False, **client_options):
    """The text an OpenAI(-compatible) chat client received, streamed or not."""
    if azure:
        client = clients.azure_openai_client(proxy, ca, **client_options)
    else:
        client = clients.openai_client(proxy, ca, **client_options)
    messages = [{"role": "user", "content": prompt}]
    if stream:
        chunks = client.chat.completions.create(model=model, messages=messages, stream=True,
                                                stream_options={"include_usage": True})
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return client.chat.completions.create(model=model, messages=messages).choices[0].message.content


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_openai_chat(audit, prompt, stream):
    mark = audit.marker()
    text = openai_chat_text(audit.proxy_url(), audit.proxy.ca_path, prompt, stream)
    [call] = audit.wait_calls(mark, 1)
    assert text == call.output_text
    check(call, vendor="openai", endpoint="chat.completions", model="gpt-4o-mini", streamed=stream, prompt=prompt)
    [out] = audit.outputs(call.id)
    assert out.kind == "generated" and out.word_count > 10 and out.text == text


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_openai_responses(audit, prompt, stream):
    @client_side
    def responses_text(proxy, ca, prompt, stream):
        client = clients.openai_client(proxy, ca)
        if stream:
            events = list(client.responses.create(model="gpt-4.1", input=prompt, stream=True))
            return next(e.response.output_text for e in events if e.type == "response.completed")
        return client.responses.create(model="gpt-4.1", input=prompt).output_text

    mark = audit.marker()
    text = responses_text(audit.proxy_url(), audit.proxy.ca_path, prompt, stream)
    [call] = audit.wait_calls(mark, 1)
    assert text == call.output_text
    check(call, vendor="openai", endpoint="responses", model="gpt-4.1", streamed=stream, prompt=prompt)


@client_side
def openai_chat(proxy, ca, prompt, extra_headers=None, **client_options):
    """The whole chat completion an OpenAI client received, as a dict."""
    client = clients.openai_client(proxy, ca, **client_options)
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}],
                                          extra_headers=extra_headers)


def test_openai_n_and_logprobs(audit, prompt):
    @client_side
    def three_choices(proxy, ca, prompt):
        client = clients.openai_client(proxy, ca)
        return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}],
                                              n=3, logprobs=True, top_logprobs=5)

    mark = audit.marker()
    result = three_choices(audit.proxy_url(), audit.proxy.ca_path, prompt)
    [call] = audit.wait_calls(mark, 1)
    assert (call.request_n, call.logprobs, call.top_logprobs, call.outputs) == (3, True, 5, 3)
    assert call.output_text.split("\n") == [c["message"]["content"] for c in result["choices"]]
    assert [o.idx for o in audit.outputs(call.id)] == [0, 1, 2]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_azure_openai_records_the_deployment(audit, prompt, stream):
    mark = audit.marker()
    text = openai_chat_text(audit.proxy_url(), audit.proxy.ca_path, prompt, stream, model="prod-gpt4o", azure=True)
    [call] = audit.wait_calls(mark, 1)
    assert call.output_text == text
    check(call, vendor="azure-openai", endpoint="chat.completions", model="prod-gpt4o", streamed=stream, prompt=prompt)


@pytest.mark.parametrize("vendor", sorted(OPENAI_COMPATIBLE))
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_openai_compatible_vendors(audit, prompt, vendor, stream):
    mark = audit.marker()
    text = openai_chat_text(audit.proxy_url(), audit.proxy.ca_path, prompt, stream, model=f"{vendor}-model",
                            base_url=OPENAI_COMPATIBLE[vendor])
    [call] = audit.wait_calls(mark, 1)
    assert call.output_text == text
    check(call, vendor=vendor, endpoint="chat.completions", model=f"{vendor}-model", streamed=stream, prompt=prompt)


def test_deepseek_reasoning_is_the_last_part_of_the_output(audit, prompt):
    @client_side
    def reasoner(proxy, ca, prompt, base_url):
        client = clients.openai_client(proxy, ca, base_url=base_url)
        return client.chat.completions.create(model="deepseek-reasoner", messages=[{"role": "user", "content": prompt}])

    mark = audit.marker()
    result = reasoner(audit.proxy_url(), audit.proxy.ca_path, prompt, OPENAI_COMPATIBLE["deepseek"])
    [call] = audit.wait_calls(mark, 1)
    message = result["choices"][0]["message"]
    reasoning = message.get("reasoning_content")
    assert reasoning and call.output_text == f"{message['content']}\n{reasoning}"
    assert call.output_parts == [["text", "reasoning"]]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_messages(audit, prompt, stream):
    @client_side
    def message_text(proxy, ca, prompt, stream):
        client = clients.anthropic_client(proxy, ca)
        kwargs = dict(model="claude-standin-1", max_tokens=512, messages=[{"role": "user", "content": prompt}])
        if stream:
            with client.messages.stream(**kwargs) as s:
                return "".join(s.text_stream)
        return client.messages.create(**kwargs).content[0].text

    mark = audit.marker()
    text = message_text(audit.proxy_url("carol"), audit.proxy.ca_path, prompt, stream)
    [call] = audit.wait_calls(mark, 1)
    assert call.output_text == text
    check(call, vendor="anthropic", endpoint="messages", model="claude-standin-1", streamed=stream, prompt=prompt,
          user="carol", team="support")
    assert call.max_tokens == 512


@client_side
def gemini_text(proxy, ca, prompt, stream=False, vertexai=False):
    client = clients.genai_client(proxy, ca, vertexai=vertexai)
    if stream:
        return "".join(c.text or "" for c in client.models.generate_content_stream(model="gemini-2.5-flash",
                                                                                   contents=prompt))
    return client.models.generate_content(model="gemini-2.5-flash", contents=prompt).text


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_gemini(audit, prompt, stream):
    mark = audit.marker()
    text = gemini_text(audit.proxy_url(), audit.proxy.ca_path, prompt, stream)
    [call] = audit.wait_calls(mark, 1)
    assert call.output_text == text
    check(call, vendor="google", endpoint="generateContent", model="gemini-2.5-flash", streamed=stream, prompt=prompt)


def test_vertex_express_mode(audit, prompt):
    mark = audit.marker()
    text = gemini_text(audit.proxy_url(), audit.proxy.ca_path, prompt, vertexai=True)
    [call] = audit.wait_calls(mark, 1)
    assert call.vendor == "google" and call.host.endswith("aiplatform.googleapis.com")
    assert call.output_text == text and call.model == "gemini-2.5-flash"


@client_side
def bedrock_text(proxy, ca, prompt, operation, model):
    """The text boto3 received from one bedrock-runtime operation."""
    client = clients.bedrock_client(proxy, ca)
    messages = [{"role": "user", "content": [{"text": prompt}]}]
    anthropic_body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256,
                                 "messages": [{"role": "user", "content": prompt}]})
    if operation == "converse":
        return client.converse(modelId=model, messages=messages)["output"]["message"]["content"][0]["text"]
    if operation == "converse_stream":
        events = client.converse_stream(modelId=model, messages=messages)["stream"]
        return "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    if operation == "invoke_model":
        return json.loads(client.invoke_model(modelId=model, body=anthropic_body)["body"].read())["content"][0]["text"]
    text = ""
    for event in client.invoke_model_with_response_stream(modelId=model, body=anthropic_body)["body"]:
        inner = json.loads(event["chunk"]["bytes"])
        if inner.get("type") == "content_block_delta":
            text += inner["delta"].get("text", "")
    return text


@pytest.mark.parametrize("operation", ["converse", "converse_stream", "invoke_model",
                                       "invoke_model_with_response_stream"])
def test_bedrock(audit, prompt, operation):
    mark = audit.marker()
    text = bedrock_text(audit.proxy_url(), audit.proxy.ca_path, prompt, operation, BEDROCK_MODEL)
    [call] = audit.wait_calls(mark, 1)
    endpoint = "converse" if operation.startswith("converse") else "invoke"
    check(call, vendor="aws-bedrock", endpoint=endpoint, model=BEDROCK_MODEL, streamed="stream" in operation,
          prompt=prompt)
    assert call.output_text == text


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_cohere_v2(audit, prompt, stream):
    @client_side
    def chat_text(proxy, ca, prompt, stream):
        client = clients.cohere_client(proxy, ca)
        messages = [{"role": "user", "content": prompt}]
        if stream:
            return "".join(e.delta.message.content.text for e in client.chat_stream(model="command-a-03-2025",
                                                                                    messages=messages)
                           if e.type == "content-delta")
        return client.chat(model="command-a-03-2025", messages=messages).message.content[0].text

    mark = audit.marker()
    text = chat_text(audit.proxy_url(), audit.proxy.ca_path, prompt, stream)
    [call] = audit.wait_calls(mark, 1)
    assert call.output_text == text
    check(call, vendor="cohere", endpoint="chat", model="command-a-03-2025", streamed=stream, prompt=prompt)


def test_cohere_v1_stream(audit, prompt):
    @client_side
    def v1_stream_text(proxy, ca, prompt):
        client = clients.cohere_client(proxy, ca, v2=False)
        return "".join(e.text for e in client.chat_stream(message=prompt, model="command-r")
                       if e.event_type == "text-generation")

    mark = audit.marker()
    text = v1_stream_text(audit.proxy_url(), audit.proxy.ca_path, prompt)
    [call] = audit.wait_calls(mark, 1)
    assert call.vendor == "cohere" and call.streamed and call.output_text == text


def test_openai_batch_results_count_every_line(audit):
    @client_side
    def batch_output_lines(proxy, ca):
        client = clients.openai_client(proxy, ca)
        lines = "\n".join(json.dumps({"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions",
                                      "body": {"model": "gpt-4o-mini",
                                               "messages": [{"role": "user", "content": f"item {i}"}]}})
                          for i in range(12))
        upload = client.files.create(file=("input.jsonl", lines.encode()), purpose="batch")
        batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                      completion_window="24h")
        batch = client.batches.retrieve(batch.id)
        return client.files.content(batch.output_file_id).text.splitlines()

    mark = audit.marker()
    content = batch_output_lines(audit.proxy_url(), audit.proxy.ca_path)
    calls = audit.wait_calls(mark, 3)  # upload, batch creation, result download (status polls are not calls)
    results = [c for c in calls if c.endpoint == "batch.results"]
    assert len(results) == 1
    [result] = results
    assert result.kind == "batch_results" and result.outputs == len(content) == 12
    texts = [json.loads(line)["response"]["body"]["choices"][0]["message"]["content"] for line in content]
    assert result.output_text.split("\n") == texts
    assert len(audit.outputs(result.id)) == 12


def test_anthropic_batch_results_count_every_line(audit, prompt):
    @client_side
    def batch_results(proxy, ca, prompt):
        client = clients.anthropic_client(proxy, ca)
        requests = [{"custom_id": f"r{i}", "params": {"model": "claude-standin-1", "max_tokens": 64,
                                                      "messages": [{"role": "user", "content": f"{prompt} {i}"}]}}
                    for i in range(5)]
        batch = client.messages.batches.create(requests=requests)
        return list(client.messages.batches.results(batch.id))

    mark = audit.marker()
    results = batch_results(audit.proxy_url(), audit.proxy.ca_path, prompt)
    calls = audit.wait_calls(mark, 2)  # batch creation and result download
    [result] = [c for c in calls if c.endpoint == "batch.results"]
    assert result.vendor == "anthropic" and result.outputs == len(results) == 5


def test_fine_tuning_upload_is_recorded_with_its_texts(audit):
    @client_side
    def upload_and_fine_tune(proxy, ca):
        client = clients.openai_client(proxy, ca)
        records = [{"messages": [{"role": "user", "content": f"question {i} about glaciers"},
                                 {"role": "assistant", "content": f"glaciers move slowly, answer number {i}"}]}
                   for i in range(4)]
        training = "\n".join(json.dumps(r) for r in records).encode()
        upload = client.files.create(file=("train.jsonl", training), purpose="fine-tune")
        return client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=upload.id).id

    mark = audit.marker()
    assert upload_and_fine_tune(audit.proxy_url(), audit.proxy.ca_path)
    calls = audit.wait_calls(mark, 2)
    upload_call = next(c for c in calls if c.kind == "upload" and c.endpoint == "files.upload")
    assert upload_call.upload_purpose == "fine-tune"
    uploaded = [o for o in audit.outputs(upload_call.id) if o.kind == "uploaded"]
    assert len(uploaded) == 4 and all("glaciers" in o.text for o in uploaded)
    assert any(c.endpoint == "fine_tuning.jobs" for c in calls)


def test_key_attribution_takes_precedence(audit, prompt):
    mark = audit.marker()
    openai_chat(audit.proxy_url("carol"), audit.proxy.ca_path, prompt, api_key=TEAM_KEY,
                extra_headers={"X-Team": "claimed-by-header"})
    [call] = audit.wait_calls(mark, 1)
    assert (call.team, call.user) == ("research", "carol")


def test_header_attribution_when_nothing_else_matches(audit, prompt):
    mark = audit.marker()
    openai_chat(audit.proxy_url("dave"), audit.proxy.ca_path, prompt, extra_headers={"X-Team": "data-eng"})
    [call] = audit.wait_calls(mark, 1)
    assert (call.team, call.user) == ("data-eng", "dave")


def test_network_attribution_with_curl(audit, prompt, tmp_path):
    import subprocess

    mark = audit.marker()
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]})
    result = subprocess.run(
        ["curl", "-sS", "--interface", "127.0.0.2", "-x", audit.proxy_url("erin"), "--cacert",
         str(audit.proxy.ca_path), "-H", "content-type: application/json", "-H", "authorization: Bearer sk-x",
         "-d", body, "https://api.openai.com/v1/chat/completions"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["choices"][0]["message"]["content"] == expected_text(prompt, vendor="openai")
    [call] = audit.wait_calls(mark, 1)
    assert (call.team, call.client_ip, call.user) == ("finance", "127.0.0.2", "erin")
