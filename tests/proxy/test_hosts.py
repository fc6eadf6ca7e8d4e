from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.proxy.hosts import FAMILIES
from agent.proxy.hosts import HostList
from agent.proxy.hosts import HostListError
from agent.proxy.hosts import normalise_host
from agent.proxy.hosts import normalise_path
from agent.writer.parsers import FAMILY_MODULES
from tests.writer.wire import host_list

DESIGN_VENDOR_IDS = {
    "openai", "azure-openai", "anthropic", "google", "aws-bedrock", "mistral", "cohere", "deepseek",
    "xai", "groq", "together", "fireworks", "perplexity", "openrouter", "huggingface",
    "qwen", "moonshot", "meta",  # added with their terms entries (issue #17)
}

MATCHES = [
    # host, method, path, vendor, endpoint, kind, family, model, stream
    ("api.openai.com", "POST", "/v1/chat/completions", "openai", "chat.completions", "generation", "openai", None, False),
    ("eu.api.openai.com", "POST", "/v1/responses", "openai", "responses", "generation", "openai", None, False),
    ("api.openai.com", "GET", "/v1/responses/resp_123", "openai", "responses", "generation", "openai", None, False),
    ("api.openai.com", "POST", "/v1/completions", "openai", "completions", "generation", "openai", None, False),
    ("api.openai.com", "POST", "/v1/embeddings", "openai", "embeddings", "other", "openai", None, False),
    ("api.openai.com", "POST", "/v1/files", "openai", "files.upload", "upload", "uploads", None, False),
    ("api.openai.com", "GET", "/v1/files/file-abc/content", "openai", "batch.results", "batch_results", "batches", None, False),
    ("api.openai.com", "POST", "/v1/uploads/upload_1/parts", "openai", "uploads.parts", "upload", "uploads", None, False),
    ("api.openai.com", "POST", "/v1/fine_tuning/jobs", "openai", "fine_tuning.jobs", "upload", "uploads", None, False),
    ("api.openai.com", "POST", "/v1/batches", "openai", "batches.create", "other", "metadata", None, False),
    ("myres.openai.azure.com", "POST", "/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21",
     "azure-openai", "chat.completions", "generation", "openai", "prod-gpt4o", False),
    ("myres.cognitiveservices.azure.com", "POST", "/openai/v1/chat/completions", "azure-openai", "chat.completions", "generation", "openai", None, False),
    ("myres.openai.azure.com", "POST", "/openai/responses?api-version=2025-04-01-preview", "azure-openai", "responses", "generation", "openai", None, False),
    ("myres.openai.azure.com", "POST", "/openai/files?api-version=2024-10-21", "azure-openai", "files.upload", "upload", "uploads", None, False),
    ("x.services.ai.azure.com", "POST", "/models/chat/completions", "azure-openai", "chat.completions", "generation", "openai", None, False),
    ("api.anthropic.com", "POST", "/v1/messages", "anthropic", "messages", "generation", "anthropic", None, False),
    ("api.anthropic.com", "POST", "/v1/complete", "anthropic", "complete", "generation", "anthropic", None, False),
    ("api.anthropic.com", "GET", "/v1/messages/batches/msgbatch_1/results", "anthropic", "batch.results", "batch_results", "batches", None, False),
    ("api.anthropic.com", "POST", "/v1/messages/batches", "anthropic", "messages.batches", "other", "metadata", None, False),
    ("generativelanguage.googleapis.com", "POST", "/v1beta/models/gemini-2.5-flash:generateContent", "google", "generateContent", "generation", "google", "gemini-2.5-flash", False),
    ("generativelanguage.googleapis.com", "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "google", "generateContent", "generation", "google", "gemini-2.5-flash", True),
    ("generativelanguage.googleapis.com", "POST", "/v1beta/tunedModels/my-tune:generateContent", "google", "generateContent", "generation", "google", "tunedModels/my-tune", False),
    ("generativelanguage.googleapis.com", "POST", "/v1beta/openai/chat/completions", "google", "chat.completions", "generation", "openai", None, False),
    ("generativelanguage.googleapis.com", "GET", "/download/v1beta/files/batch-1:download?alt=media", "google", "batch.results", "batch_results", "batches", None, False),
    ("us-central1-aiplatform.googleapis.com", "POST", "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash-001:streamGenerateContent",
     "google", "generateContent", "generation", "google", "gemini-2.0-flash-001", True),
    ("aiplatform.googleapis.com", "POST", "/v1beta1/publishers/google/models/gemini-2.5-pro:generateContent", "google", "generateContent", "generation", "google", "gemini-2.5-pro", False),
    ("aiplatform.eu.rep.googleapis.com", "POST", "/v1/projects/p/locations/eu/publishers/google/models/gemini-2.5-pro:generateContent", "google", "generateContent", "generation", "google", "gemini-2.5-pro", False),
    ("europe-west1-aiplatform.googleapis.com", "POST", "/v1/projects/p/locations/europe-west1/publishers/anthropic/models/claude-sonnet-4%405:streamRawPredict",
     "google", "messages", "generation", "anthropic", "claude-sonnet-4@5", True),
    ("us-central1-aiplatform.googleapis.com", "POST", "/v1/projects/p/locations/us-central1/endpoints/openapi/chat/completions", "google", "chat.completions", "generation", "openai", None, False),
    ("bedrock-runtime.us-east-1.amazonaws.com", "POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", "aws-bedrock", "converse", "generation", "bedrock", "anthropic.claude-3-haiku-20240307-v1:0", False),
    ("bedrock-runtime.eu-west-3.amazonaws.com", "POST", "/model/eu.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream", "aws-bedrock", "converse", "generation", "bedrock", "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", True),
    ("bedrock-runtime.us-west-2.amazonaws.com", "POST", "/model/meta.llama3-70b-instruct-v1%3A0/invoke", "aws-bedrock", "invoke", "generation", "bedrock", "meta.llama3-70b-instruct-v1:0", False),
    ("bedrock-runtime-fips.us-east-1.amazonaws.com", "POST", "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.anthropic.claude/invoke-with-response-stream",
     "aws-bedrock", "invoke", "generation", "bedrock", "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude", True),
    ("bedrock.us-east-1.amazonaws.com", "POST", "/model-customization-jobs", "aws-bedrock", "model-customization-jobs", "upload", "uploads", None, False),
    ("bedrock-mantle.us-east-1.api.aws", "POST", "/anthropic/v1/messages", "aws-bedrock", "messages", "generation", "anthropic", None, False),
    ("bedrock-runtime.us-east-1.amazonaws.com", "POST", "/openai/v1/chat/completions", "aws-bedrock", "chat.completions", "generation", "openai", None, False),
    ("api.mistral.ai", "POST", "/v1/chat/completions", "mistral", "chat.completions", "generation", "openai", None, False),
    ("api.mistral.ai", "POST", "/v1/fim/completions", "mistral", "fim.completions", "generation", "openai", None, False),
    ("api.mistral.ai", "GET", "/v1/files/f-1/content", "mistral", "batch.results", "batch_results", "batches", None, False),
    ("api.mistral.ai", "POST", "/v1/fine_tuning/jobs", "mistral", "fine_tuning.jobs", "upload", "uploads", None, False),
    ("api.cohere.com", "POST", "/v2/chat", "cohere", "chat", "generation", "cohere", None, False),
    ("api.cohere.ai", "POST", "/v1/chat", "cohere", "chat", "generation", "cohere", None, False),
    ("api.cohere.com", "POST", "/v1/generate", "cohere", "generate", "generation", "cohere", None, False),
    ("api.cohere.ai", "POST", "/compatibility/v1/chat/completions", "cohere", "chat.completions", "generation", "openai", None, False),
    ("api.cohere.com", "POST", "/v1/datasets?name=x&type=chat-finetune-input", "cohere", "datasets.upload", "upload", "uploads", None, False),
    ("api.deepseek.com", "POST", "/chat/completions", "deepseek", "chat.completions", "generation", "openai", None, False),
    ("api.deepseek.com", "POST", "/v1/chat/completions", "deepseek", "chat.completions", "generation", "openai", None, False),
    ("api.deepseek.com", "POST", "/anthropic/v1/messages", "deepseek", "messages", "generation", "anthropic", None, False),
    ("api.deepseek.com", "POST", "/beta/completions", "deepseek", "completions", "generation", "openai", None, False),
    ("api.x.ai", "POST", "/v1/responses", "xai", "responses", "generation", "openai", None, False),
    ("api.x.ai", "POST", "/v1/messages", "xai", "messages", "generation", "anthropic", None, False),
    ("api.groq.com", "POST", "/openai/v1/chat/completions", "groq", "chat.completions", "generation", "openai", None, False),
    ("api.together.xyz", "POST", "/v1/chat/completions", "together", "chat.completions", "generation", "openai", None, False),
    ("api.together.ai", "POST", "/v1/files/upload", "together", "files.upload", "upload", "uploads", None, False),
    ("api.fireworks.ai", "POST", "/inference/v1/chat/completions", "fireworks", "chat.completions", "generation", "openai", None, False),
    ("api.fireworks.ai", "POST", "/v1/accounts/acme/datasets/ds1:upload", "fireworks", "datasets.upload", "upload", "uploads", None, False),
    ("api.perplexity.ai", "POST", "/chat/completions", "perplexity", "chat.completions", "generation", "openai", None, False),
    ("api.perplexity.ai", "POST", "/v1/sonar", "perplexity", "chat.completions", "generation", "openai", None, False),
    ("openrouter.ai", "POST", "/api/v1/chat/completions", "openrouter", "chat.completions", "generation", "openai", None, False),
    ("router.huggingface.co", "POST", "/v1/chat/completions", "huggingface", "chat.completions", "generation", "openai", None, False),
    ("router.huggingface.co", "POST", "/hf-inference/models/openai-community/gpt2", "huggingface", "inference", "generation", "huggingface", "openai-community/gpt2", False),
    ("api-inference.huggingface.co", "POST", "/models/meta-llama/Llama-3.1-8B", "huggingface", "inference", "generation", "huggingface", "meta-llama/Llama-3.1-8B", False),
    ("abc123.us-east-1.aws.endpoints.huggingface.cloud", "POST", "/generate_stream", "huggingface", "generate", "generation", "huggingface", None, True),
    ("huggingface.co", "POST", "/api/datasets/acme/distilled-chats/commit/main", "huggingface", "datasets.commit", "upload", "uploads", None, False),
]


@pytest.mark.parametrize("host,method,path,vendor,endpoint,kind,family,model,stream", MATCHES)
def test_match(host, method, path, vendor, endpoint, kind, family, model, stream):
    route = host_list().match(host, path, method)
    assert route is not None
    assert (route.vendor, route.endpoint, route.kind, route.family) == (vendor, endpoint, kind, family)
    assert (route.deployment or route.model) == model
    assert route.stream is stream


@pytest.mark.parametrize(
    "host,method,path",
    [
        ("openai.com", "POST", "/v1/chat/completions"),
        ("api.openai.com.evil.example", "POST", "/v1/chat/completions"),
        ("evilopenai.azure.com", "POST", "/openai/deployments/x/chat/completions"),
        ("openai.azure.com", "POST", "/openai/deployments/x/chat/completions"),  # needs a resource label
        ("bedrock-runtime.amazonaws.com", "POST", "/model/x/converse"),
        ("bedrock-runtime.us-east-1.amazonaws.com.evil", "POST", "/model/x/converse"),
        ("www.google.com", "POST", "/v1beta/models/gemini:generateContent"),
        ("example.com", "POST", "/v1/messages"),
        # The Hub is also a website: only its API routes are recorded.
        ("huggingface.co", "POST", "/api/models/acme/model/commit/main"),
        ("huggingface.co", "GET", "/acme/model/resolve/main/model.safetensors"),
    ],
)
def test_no_match(host, method, path):
    assert host_list().match(host, path, method) is None


@pytest.mark.parametrize(
    "host,method,path,vendor",
    [
        ("api.openai.com", "GET", "/v1/chat/completions", "openai"),  # no route for this method
        ("api.openai.com", "POST", "/v2/chat/completions", "openai"),
        ("api.openai.com", "POST", "/v1/chat/completions/extra/segments", "openai"),
        ("api.anthropic.com", "POST", "/v1/models", "anthropic"),
        ("api.anthropic.com", "POST", "/v2/brand-new-endpoint", "anthropic"),
        ("myres.openai.azure.com", "POST", "/openai/assistants", "azure-openai"),
        ("bedrock-runtime.us-east-1.amazonaws.com", "POST", "/model/x/invoke-with-bidirectional-stream", "aws-bedrock"),
        ("api.cohere.com", "POST", "/v3/chat", "cohere"),
    ],
)
def test_a_known_vendor_host_on_an_unknown_path_is_recorded_as_unknown(host, method, path, vendor):
    route = host_list().match(host, path, method)
    assert route is not None
    assert (route.vendor, route.endpoint, route.kind, route.family) == (vendor, "unknown", "other", "metadata")


@pytest.mark.parametrize(
    "host,method,path",
    [
        ("api.openai.com", "GET", "/v1/batches/batch_abc"),  # status polls carry no output
        ("api.openai.com", "GET", "/v1/models"),
        ("myres.openai.azure.com", "GET", "/openai/files/file-1?api-version=2024-10-21"),
        ("api.anthropic.com", "GET", "/v1/messages/batches/msgbatch_1"),
        ("generativelanguage.googleapis.com", "GET", "/v1beta/models/gemini-2.5-flash"),
    ],
)
def test_known_routes_without_output_are_not_recorded(host, method, path):
    assert host_list().match(host, path, method) is None


def test_record_false_routes_are_validated_and_need_no_family():
    cat = HostList.load(extra=[{"id": "x", "hosts": ["a.example"], "routes": [
        {"method": "GET", "path": "/v1/jobs/{id}", "endpoint": "jobs.get", "record": False},
        {"path": "/v1/generate", "endpoint": "generate", "family": "openai"}]}])
    assert cat.match("a.example", "/v1/jobs/7", "GET") is None
    assert cat.match("a.example", "/v1//jobs/7/", "GET") is None
    assert cat.match("a.example", "/v1/jobs/7/logs", "GET").endpoint == "unknown"
    with pytest.raises(HostListError, match=r"routes\[0\].record: must be true or false"):
        HostList.load(extra=[{"id": "x", "hosts": ["a.example"], "routes": [
            {"path": "/v1/jobs", "endpoint": "jobs", "record": "no"}]}])


def test_unknown_paths_ignore_is_validated():
    with pytest.raises(HostListError, match="unknown_paths: 'sometimes' is not one of record, ignore"):
        HostList.load(extra=[{"id": "x", "hosts": ["a.example"], "unknown_paths": "sometimes",
                               "routes": [{"path": "/v1/x", "endpoint": "e", "family": "openai"}]}])


def test_host_case_and_trailing_dot_and_query_are_ignored():
    route = host_list().match("API.OpenAI.com.", "/v1/chat/completions?foo=bar", "post")
    assert route is not None and route.vendor == "openai"


# --- spelling: the route is found on the path as the vendor's server reads it -------------------

SPELLINGS = [
    # host, path as sent, vendor, endpoint, model
    ("myres.openai.azure.com", "//openai/deployments/prod/chat/completions?api-version=2024-10-21",
     "azure-openai", "chat.completions", "prod"),  # AzureOpenAI with azure_endpoint ending in /
    ("api.openai.com", "/v1//chat///completions", "openai", "chat.completions", None),
    ("api.openai.com", "/v1/./chat/completions", "openai", "chat.completions", None),
    ("api.openai.com", "/v1/files/../chat/completions", "openai", "chat.completions", None),
    ("api.openai.com", "/v1/chat/completions/", "openai", "chat.completions", None),
    ("api.openai.com", "/v1/chat/completions/.", "openai", "chat.completions", None),
    ("api.openai.com", "/%76%31/chat/%63ompletions", "openai", "chat.completions", None),
    ("api.openai.com", "/v1/chat%2Fcompletions", "openai", "chat.completions", None),  # decoded slash
    ("api.openai.com", "/v1/%2E%2E/v1/chat/completions", "openai", "chat.completions", None),
    ("API.OPENAI.COM", "/v1/chat/completions", "openai", "chat.completions", None),
    ("api.openai.com.", "/v1/chat/completions", "openai", "chat.completions", None),
    ("api.openai.com:443", "/v1/chat/completions", "openai", "chat.completions", None),
    ("api.openai.com.:443", "/v1/chat/completions", "openai", "chat.completions", None),
    ("api.anthropic.com:80", "/v1//messages", "anthropic", "messages", None),
    ("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash%3AgenerateContent",
     "google", "generateContent", "gemini-2.5-flash"),
    ("bedrock-runtime.us-east-1.amazonaws.com", "/model/anthropic.claude-v2%3A1//invoke",
     "aws-bedrock", "invoke", "anthropic.claude-v2:1"),
    # An encoded slash inside a Bedrock ARN stays part of the one model segment.
    ("bedrock-runtime.us-east-1.amazonaws.com", "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aapplication-inference-profile%2Fab/./converse",
     "aws-bedrock", "converse", "arn:aws:bedrock:us-east-1:1:application-inference-profile/ab"),
    ("bedrock-runtime.us-east-1.amazonaws.com", "/model/x%2541y/converse", "aws-bedrock", "converse", "x%41y"),
]


@pytest.mark.parametrize("host,path,vendor,endpoint,model", SPELLINGS)
def test_spelling_does_not_hide_a_route(host, path, vendor, endpoint, model):
    route = host_list().match(host, path, "POST")
    assert route is not None
    assert (route.vendor, route.endpoint, route.deployment or route.model) == (vendor, endpoint, model)


def test_long_and_repeated_paths_match_the_same_way():
    cat = HostList.load()
    long_path = "/v1/" + "./" * 400 + "chat/completions"  # longer than what the match cache keeps
    assert cat.match("api.openai.com", long_path, "POST").endpoint == "chat.completions"
    first = cat.match("api.openai.com", "/v1/responses/resp_1", "GET")
    assert cat.match("api.openai.com", "/v1/responses/resp_1?x=1", "GET") == first
    assert cat.match("api.openai.com", "/v1/responses/resp_1", "POST").endpoint == "unknown"  # method is part of it
    for i in range(20_000):  # the cache is bounded: it empties itself rather than grow
        cat.match("api.openai.com", f"/v1/files/file-{i}/content", "GET")
    assert len(cat._match_cache) <= 8192


def test_normalise_path_examples():
    assert normalise_path("/v1/chat/completions") == "/v1/chat/completions"
    assert normalise_path("//a//b/") == "/a/b"
    assert normalise_path("/a/../../b") == "/b"
    assert normalise_path("/a/%2e%2E/b") == "/b"
    assert normalise_path("/a%2fb/%25/%7e?x=/../") == "/a%2Fb/%25/~"
    assert normalise_path("/%%32%65/%3f%23") == "/%252e/%3F%23"  # decoded once, as a server does
    assert normalise_path("") == "/"
    assert normalise_path("relative/path") == "/relative/path"
    assert normalise_host("Api.OpenAI.com.:443") == "api.openai.com"
    assert normalise_host("[::1]:443") == "[::1]:443"


_UNRESERVED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"


@st.composite
def respelled(draw, path: str) -> str:
    """The same path as a server routes it, spelled with any mix of the evasions."""
    segments = path.split("/")[1:]
    out: list[str] = []
    for segment in segments:
        if draw(st.booleans()):
            out.append(draw(st.sampled_from([".", "", "decoy/..", "%2e", "x/%2E%2e"])))
        tokens = re.findall(r"%[0-9A-Fa-f]{2}|.", segment)  # existing escapes stay whole
        out.append("".join(
            f"%{ord(t):02{draw(st.sampled_from(['x', 'X']))}}" if t in _UNRESERVED and draw(st.booleans()) else t
            for t in tokens
        ))
    lead = "/" * draw(st.integers(1, 3))
    tail = draw(st.sampled_from(["", "/", "//", "/."]))
    return lead + "/".join(out) + tail


@st.composite
def respelled_host(draw, host: str) -> str:
    host = "".join(c.upper() if draw(st.booleans()) else c for c in host)
    return host + draw(st.sampled_from(["", ".", ":443", ":80", ".:443"]))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), case=st.sampled_from(MATCHES))
def test_any_respelling_of_a_known_call_finds_the_same_route(data, case):
    host, method, path, *_ = case
    plain, _, query = path.partition("?")
    want = host_list().match(host, path, method)
    spelled = data.draw(respelled(plain)) + (f"?{query}" if query else "")
    got = host_list().match(data.draw(respelled_host(host)), spelled, method)
    assert got == want, spelled


@settings(max_examples=300, deadline=None)
@given(path=st.text(alphabet=st.sampled_from("/.%2eEfF5aA?#~-_x"), max_size=40))
def test_normalise_path_is_idempotent_and_never_climbs_above_root(path):
    once = normalise_path(path)
    assert normalise_path(once) == once
    assert once.startswith("/") and "//" not in once
    assert "/../" not in once + "/" and "/./" not in once + "/"


def test_vendor_ids_cover_design():
    assert host_list().vendor_ids() == DESIGN_VENDOR_IDS


def test_every_family_has_a_parser():
    assert set(FAMILY_MODULES) == FAMILIES


def test_extra_entries_take_precedence_and_add_vendors():
    cat = HostList.load(
        extra=[
            {"id": "openai", "hosts": ["llm-gw.corp.example"], "routes": [{"use": "openai-v1", "prefix": "/openai/v1"}]},
            {"id": "internal-llm", "hosts": ["api.openai.com"],
             "routes": [{"path": "/v1/chat/completions", "endpoint": "chat.completions", "family": "openai"}]},
        ]
    )
    assert cat.match("llm-gw.corp.example", "/openai/v1/responses", "POST").vendor == "openai"
    assert cat.match("api.openai.com", "/v1/chat/completions", "POST").vendor == "internal-llm"
    assert cat.match("api.openai.com", "/v1/responses", "POST").vendor == "openai"  # falls through
    assert "internal-llm" in cat.vendor_ids()


@pytest.mark.parametrize(
    "entry,message",
    [
        ({"id": "Bad Id", "hosts": ["a.example"], "routes": []}, "extra vendors[0]: id: 'Bad Id'"),
        ({"id": "x", "hosts": [], "routes": []}, "(id 'x'): hosts: must be a non-empty list"),
        ({"id": "x", "hosts": ["a.example"], "routes": []}, "(id 'x'): routes: must be a non-empty list"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"path": "/v1/x", "endpoint": "e", "family": "nope"}]},
         "routes[0].family: 'nope' is not one of"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"path": "/v1/x", "endpoint": "e", "family": "openai", "kind": "k"}]},
         "routes[0].kind: 'k' is not one of"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"path": "/v1/x", "family": "openai"}]},
         "routes[0].endpoint: is required"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"path": "/v1/x", "endpoint": "e", "family": "openai", "method": "FETCH"}]},
         "routes[0].method"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"endpoint": "e", "family": "openai"}]},
         "routes[0]: needs exactly one of path or path_regex"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"path_regex": "(", "endpoint": "e", "family": "openai"}]},
         "routes[0].path: invalid pattern"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"use": "nope"}]}, "routes[0].use: unknown route set 'nope'"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"use": ["a"]}]}, "routes[0].use: unknown route set ['a']"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"path": "/x", "endpoint": "e", "family": ["openai"]}]},
         "routes[0].family: ['openai'] is not one of"),
        ({"id": "x", "hosts": "a.example", "routes": [{"use": "openai-v1"}]}, "hosts: must be a non-empty list"),
        ("just a string", "extra vendors[0]: entry: must be a mapping"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"path": "/x", "endpoint": "e", "family": "openai", "colour": 1}]},
         "routes[0]: unknown field(s) colour"),
        ({"id": "x", "hosts": ["a.example"], "routes": [{"use": "openai-v1"}], "extra_field": 1},
         "entry: unknown field(s) extra_field"),
    ],
)
def test_invalid_extra_entries_are_named(entry, message):
    with pytest.raises(HostListError) as info:
        HostList.load(extra=[entry])
    assert message in str(info.value)


def test_invalid_document():
    with pytest.raises(HostListError, match="'vendors' list"):
        HostList.load(text="route_sets: {}\n")


def test_match_is_cheap():
    import time

    cat = host_list()
    probes = [(h, p, m) for h, m, p, *_ in MATCHES] + [("www.example.com", "/index.html", "GET")] * 20
    started = time.perf_counter()
    for _ in range(100):
        for host, path, method in probes:
            cat.match(host, path, method)
    per_call = (time.perf_counter() - started) / (100 * len(probes))
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} µs per match"


YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
              st.sampled_from(["openai", "POST", "/v1/x", "generation", "openai-v1", "{model}", "a.example"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["id", "hosts", "routes", "use", "prefix", "path", "path_regex",
                                                             "endpoint", "family", "kind", "method", "stream"]), inner, max_size=6)),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(entry=YAML_VALUES)
def test_arbitrary_extra_entries_load_or_raise_host_list_error(entry):
    try:
        HostList.load(extra=[entry])
    except HostListError as exc:
        assert str(exc).startswith("extra vendors")
