"""Which vendor and which operation a request is for: by the Host the client asked for + path."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from . import vendor_anthropic
from . import vendor_bedrock
from . import vendor_cohere
from . import vendor_google
from . import vendor_huggingface
from . import vendor_openai
from . import vendor_openai_files
from .call import Call
from .call import Reply
from .call import error_reply

_HOSTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), vendor) for pattern, vendor in [
        (r"((us|eu|ae)\.)?api\.openai\.com", "openai"),
        (r"[\w-]+\.(openai\.azure\.(com|us|cn)|cognitiveservices\.azure\.com"
         r"|services\.ai\.azure\.com|ai\.azure\.com)", "azure-openai"),
        (r"api\.anthropic\.com", "anthropic"),
        (r"generativelanguage\.googleapis\.com", "google"),
        (r"([\w-]+-)?aiplatform\.googleapis\.com|aiplatform\.(us|eu)\.rep\.googleapis\.com",
         "google"),
        (r"bedrock-runtime(-fips)?\.[\w-]+\.(amazonaws\.com(\.cn)?|api\.aws)", "aws-bedrock"),
        (r"(api|codestral)\.mistral\.ai", "mistral"),
        (r"api\.cohere\.(com|ai)", "cohere"),
        (r"api\.deepseek\.com", "deepseek"),
        (r"(us\.)?api\.x\.ai", "xai"),
        (r"api\.groq\.com", "groq"),
        (r"api\.together\.(xyz|ai)", "together"),
        (r"api\.fireworks\.ai", "fireworks"),
        (r"api\.perplexity\.ai", "perplexity"),
        (r"openrouter\.ai", "openrouter"),
        (r"(router\.|api-inference\.)?huggingface\.co", "huggingface"),
    ]
]

VENDORS = frozenset(vendor for _, vendor in _HOSTS)


def vendor_for_host(host: str) -> str | None:
    host = host.lower().rstrip(".")
    return next((vendor for pattern, vendor in _HOSTS if pattern.fullmatch(host)), None)


_BEDROCK = re.compile(
    r"/model/(?P<model>[^/]+)/(?P<op>converse|converse-stream|invoke|invoke-with-response-stream)")
_GOOGLE = re.compile(
    r"/[\w.]+/(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/[^/]+/)?"
    r"(?:models|tunedModels)/(?P<model>[^/:]+):(?P<method>\w+)")
_HUB_COMMIT = re.compile(r"/api/datasets/(?P<repo>.+)/commit/(?P<rev>[^/]+)")
_HUB_PREUPLOAD = re.compile(r"/api/datasets/(?P<repo>.+)/preupload/(?P<rev>[^/]+)")
_ANTHROPIC_BATCH = re.compile(
    r"(?:/anthropic)?/v1/messages/batches/(?P<id>[^/]+)(?P<results>/results)?")
_AZURE_DEPLOYMENT = re.compile(
    r"/openai/deployments/(?P<deployment>[^/]+)/(?P<op>chat/completions|completions|embeddings)")
_OPENAI_OPERATION = re.compile(
    r"(?P<prefix>(?:/[\w.-]+)*?)/(?P<op>chat/completions|completions|embeddings"
    r"|responses(?:/(?P<response>[^/]+))?"
    r"|files(?:/(?P<file>[^/]+)(?P<content>/content)?)?|batches(?:/(?P<batch>[^/]+))?"
    r"|fine_tuning/jobs)")

_OPENAI_HANDLERS: dict[str, Callable[[Call, str | None], Reply]] = {
    "chat/completions": vendor_openai.chat_completions,
    "completions": vendor_openai.completions,
    "responses": vendor_openai.responses,
    "embeddings": vendor_openai.embeddings,
}


def dispatch(call: Call) -> Reply:
    vendor = vendor_for_host(call.host)
    if vendor is None:
        return error_reply(404, f"stand-in: no vendor answers for host {call.host!r}")
    call.vendor = vendor
    path = call.path
    if vendor == "azure-openai":
        # Azure's front end merges repeated slashes: the OpenAI SDK sends `//openai/...` when
        # azure_endpoint ends with `/`, and gets a 200.
        path = re.sub("/{2,}", "/", path)
    post = call.method == "POST"

    if vendor == "aws-bedrock" and (m := _BEDROCK.fullmatch(path)):
        return vendor_bedrock.dispatch(call, unquote(m["model"]), m["op"])
    if vendor == "google" and (m := _GOOGLE.fullmatch(path)):
        return vendor_google.dispatch(call, unquote(m["model"]), m["method"])
    if call.host.lower() == "huggingface.co":
        if post and (m := _HUB_COMMIT.fullmatch(path)):
            return vendor_huggingface.commit(call, m["repo"], m["rev"])
        if post and (m := _HUB_PREUPLOAD.fullmatch(path)):
            return vendor_huggingface.preupload(call, m["repo"])
        return error_reply(404, "stand-in: unknown Hub path")
    if vendor in ("anthropic", "deepseek"):
        if post and path in ("/v1/messages", "/anthropic/v1/messages"):
            return vendor_anthropic.messages(call)
        if post and path in ("/v1/messages/batches", "/anthropic/v1/messages/batches"):
            return vendor_anthropic.create_batch(call)
        if not post and (m := _ANTHROPIC_BATCH.fullmatch(path)):
            if m["results"]:
                return vendor_anthropic.batch_results(call, m["id"])
            return vendor_anthropic.get_batch(call, m["id"])
    if vendor == "cohere" and post:
        if path == "/v2/chat":
            return vendor_cohere.chat_v2(call)
        if path == "/v1/chat":
            return vendor_cohere.chat_v1(call)
    if vendor == "azure-openai" and path.startswith("/openai/") and not path.startswith(
            "/openai/v1/") and "api-version" not in call.query:
        return error_reply(404, "Resource not found")
    if vendor == "azure-openai" and post and (m := _AZURE_DEPLOYMENT.fullmatch(path)):
        model = str(call.json.get("model") or m["deployment"])
        return _OPENAI_HANDLERS[m["op"]](call, model)
    if vendor not in ("anthropic", "aws-bedrock") and (m := _OPENAI_OPERATION.fullmatch(path)):
        return _openai_operation(call, m)
    return error_reply(404, f"stand-in: unknown path {call.method} {path} for {vendor}")


def _openai_operation(call: Call, m: re.Match[str]) -> Reply:
    op, post = m["op"], call.method == "POST"
    if op in _OPENAI_HANDLERS and post:
        return _OPENAI_HANDLERS[op](call, None)
    if m["response"] and not post:
        return vendor_openai.retrieve_response(call, m["response"])
    if op == "files" and post:
        return vendor_openai_files.upload_file(call)
    if m["file"] and not post:
        if m["content"]:
            return vendor_openai_files.file_content(call, m["file"])
        return vendor_openai_files.get_file(call, m["file"])
    if op == "batches" and post:
        return vendor_openai_files.create_batch(call)
    if m["batch"] and not post:
        return vendor_openai_files.get_batch(call, m["batch"])
    if op == "fine_tuning/jobs" and post:
        return vendor_openai_files.create_fine_tuning_job(call)
    return error_reply(405, f"stand-in: {call.method} not supported on {call.path}")
