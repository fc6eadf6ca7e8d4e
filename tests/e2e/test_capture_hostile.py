"""Bad input through the real proxy: the call is still recorded with parse_error saying why, the
client gets exactly the bytes the vendor sent, the proxy keeps running. No secret reaches any file
aiaudit writes. Streams are not held back."""

from __future__ import annotations

import hashlib
import json
import time

import httpx
import pytest

from tests.e2e.conftest import all_files
from tests.support.client_side import client_side
from tests.support.raw_http import httpx_client

pytestmark = pytest.mark.e2e
CHAT = "https://api.openai.com/v1/chat/completions"


def body(prompt: str, stream: bool = False) -> dict:
    b = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}
    if stream:
        b["stream"] = True
    return b


def raw_digest(client: httpx.Client, url: str, payload: bytes, headers: dict) -> tuple[str, int]:
    """(sha256, length) of the body bytes exactly as they came off the wire."""
    h = hashlib.sha256()
    n = 0
    try:
        with client.stream("POST", url, content=payload, headers=headers) as r:
            for chunk in r.iter_raw():
                h.update(chunk)
                n += len(chunk)
    except httpx.RemoteProtocolError:  # a stream the vendor cut short: compare what arrived
        pass
    return h.hexdigest(), n


@pytest.mark.parametrize(
    ("mode", "stream", "error"),
    [
        ("malformed-json", False, "invalid JSON"),
        ("binary-garbage", False, ""),
        ("truncated-stream", True, ""),
        ("unknown-events", True, None),
        ("gzip", False, None),
        ("deflate", True, None),
        ("br", False, None),
        ("zstd", True, None),
        ("bomb", False, "exceeds"),
        ("huge", False, ""),
    ],
)
def test_bad_bodies_are_recorded_and_passed_through_unchanged(audit, prompt, mode, stream, error):
    headers = {"x-standin-mode": mode, "authorization": "Bearer sk-hostile", "content-type": "application/json"}
    payload = json.dumps(body(prompt, stream)).encode()
    mark = audit.marker()
    with httpx_client(audit.proxy_url(), audit.proxy.ca_path, timeout=120) as via_proxy:
        got = raw_digest(via_proxy, CHAT, payload, headers)
    deadline = time.monotonic() + 10
    while audit.standin.sent_for(payload) is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the stand-in notes what it sent once its handler returns
    assert got == audit.standin.sent_for(payload), f"{mode}: the client did not get the vendor's bytes"
    [call] = audit.wait_calls(mark, 1, timeout=60)
    assert call.vendor == "openai"
    if error is None:
        assert call.parse_error is None, call.parse_error
        assert call.outputs == 1
    else:
        assert call.parse_error, f"{mode}: no parse_error recorded"
        assert error in call.parse_error
        assert "\n" not in call.parse_error


def test_streams_are_not_held_back(audit, prompt):
    """With 150 ms between events, the first event must reach the client long before the last."""
    mark = audit.marker()
    with httpx_client(audit.proxy_url(), audit.proxy.ca_path) as client:
        t0 = time.perf_counter()
        arrivals = []
        with client.stream("POST", CHAT, json=body(prompt, True),
                           headers={"x-standin-delay-ms": "150", "authorization": "Bearer sk-x"}) as r:
            for chunk in r.iter_raw():
                if chunk:
                    arrivals.append(time.perf_counter() - t0)
    assert len(arrivals) > 5
    assert arrivals[-1] - arrivals[0] > 0.15 * (len(arrivals) - 3)
    assert arrivals[0] < 1.0
    [call] = audit.wait_calls(mark, 1)
    assert call.streamed and call.parse_error is None


CANARIES = {
    "bearer": "sk-proj-CANARYbearer9f8e7d6c5b4a",
    "x-api-key": "sk-ant-CANARYxapikey1a2b3c4d",
    "api-key": "CANARYazureapikey5e6f7a8b9c",
    "x-goog-api-key": "AIzaCANARYgoogheader0a1b2c3d",
    "query-key": "AIzaCANARYqueryparam4e5f6a7b",
    "aws-akid": "AKIACANARYAWS0000001",
    "aws-secret": "CANARYawssecret/key+0000000000000000000",
    "aws-token": "CANARYawssessiontoken0000000000",
    "cookie": "CANARYcookievalue777",
    "proxy-password": "CANARYproxypassword55",
    "extra": "CANARYextraheader42",
}


@client_side
def bedrock_converse_with_canaries(proxy, ca, prompt, canaries):
    """boto3 signs with canary credentials (and a session token) through the proxy."""
    import boto3
    from botocore.config import Config

    bedrock = boto3.client("bedrock-runtime", region_name="us-east-1", verify=ca,
                           aws_access_key_id=canaries["aws-akid"], aws_secret_access_key=canaries["aws-secret"],
                           aws_session_token=canaries["aws-token"],
                           config=Config(proxies={"https": proxy}, retries={"total_max_attempts": 1}))
    return bedrock.converse(modelId="amazon.nova-lite-v1:0",
                            messages=[{"role": "user", "content": [{"text": prompt}]}])["output"]


def test_no_secret_reaches_any_file(audit, prompt):
    mark = audit.marker()
    url = audit.proxy_url("canary-user", CANARIES["proxy-password"])
    with httpx_client(url, audit.proxy.ca_path) as http:
        http.post(CHAT, json=body(prompt), headers={"authorization": f"Bearer {CANARIES['bearer']}",
                                                    "cookie": f"session={CANARIES['cookie']}"})
        http.post("https://api.anthropic.com/v1/messages",
                  json={"model": "claude-standin-1", "max_tokens": 16,
                        "messages": [{"role": "user", "content": prompt}]},
                  headers={"X-Api-Key": CANARIES["x-api-key"], "anthropic-version": "2023-06-01"})
        http.post("https://standin-resource.openai.azure.com/openai/deployments/d1/chat/completions"
                  "?api-version=2024-10-21", json=body(prompt), headers={"API-KEY": CANARIES["api-key"]})
        http.post("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
                  json={"contents": [{"parts": [{"text": prompt}]}]},
                  headers={"x-goog-api-key": CANARIES["x-goog-api-key"]})
        http.post("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
                  f"?key={CANARIES['query-key']}", json={"contents": [{"parts": [{"text": prompt}]}]})
    bedrock_converse_with_canaries(url, audit.proxy.ca_path, prompt, CANARIES)
    calls = audit.wait_calls(mark, 6)
    assert {c.vendor for c in calls} == {"openai", "anthropic", "azure-openai", "google", "aws-bedrock"}
    # keys became hashes, which is what attribution needs
    hashed = {c.api_key_sha256 for c in calls}
    assert hashlib.sha256(CANARIES["bearer"].encode()).hexdigest() in hashed
    assert hashlib.sha256(CANARIES["query-key"].encode()).hexdigest() in hashed
    assert hashlib.sha256(CANARIES["aws-akid"].encode()).hexdigest() in hashed
    leaks = []
    for path in all_files(audit.work):
        if path.suffix in (".pem", ".p12", ".cer"):
            continue
        data = path.read_bytes()
        for name, canary in CANARIES.items():
            if canary.encode() in data:
                leaks.append(f"{name} in {path.relative_to(audit.work)}")
    assert leaks == []
    google = [c for c in calls if c.vendor == "google" and "key=" in c.path]
    assert google and all("key=REDACTED" in c.path for c in google)
