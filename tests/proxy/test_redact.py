from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.proxy import redact as redact_module
from agent.proxy.redact import Credential
from agent.proxy.redact import redact_header_fields
from agent.proxy.redact import redact_url
from agent.proxy.redact import scrub_text

CANARY = "sk-proj-CANARYcanary0123456789abcdefXYZ"


def redact_headers(headers, extra_names=()):
    """Headers given as text, as mitmproxy's fields (latin-1 bytes) reach the redactor."""
    fields = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return redact_header_fields(fields, frozenset(name.lower() for name in extra_names))
AKID = "AKIAIOSFODNN7EXAMPLE"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def assert_no_secret(headers, *secrets):
    flat = repr(headers)
    for secret in secrets:
        assert secret not in flat


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
def test_bearer_in_any_case(name):
    headers, credential = redact_headers([(name, f"Bearer {CANARY}"), ("Content-Type", "application/json")])
    assert headers == ((name, "Bearer REDACTED"), ("Content-Type", "application/json"))
    assert credential == Credential("bearer", sha(CANARY))


@pytest.mark.parametrize(
    "name,kind",
    [("x-api-key", "x-api-key"), ("X-Api-Key", "x-api-key"), ("api-key", "api-key"), ("Api-Key", "api-key"),
     ("x-goog-api-key", "x-goog-api-key"), ("X-Goog-Api-Key", "x-goog-api-key")],
)
def test_key_headers(name, kind):
    headers, credential = redact_headers([(name, CANARY), ("anthropic-version", "2023-06-01")])
    assert headers[0] == (name, "REDACTED")
    assert credential == Credential(kind, sha(CANARY))


def test_sigv4_hashes_access_key_id_and_redacts_signature():
    value = (
        f"AWS4-HMAC-SHA256 Credential={AKID}/20260101/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
    )
    headers, credential = redact_headers(
        [("Authorization", value), ("X-Amz-Security-Token", "FwoGZXIvYXdzEJr//////////wEaDSECRET"), ("X-Amz-Date", "20260101T000000Z")]
    )
    assert credential == Credential("aws-sigv4", sha(AKID))
    assert headers[0][1] == (
        "AWS4-HMAC-SHA256 Credential=REDACTED/20260101/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, Signature=REDACTED"
    )
    assert headers[1] == ("X-Amz-Security-Token", "REDACTED")
    assert headers[2] == ("X-Amz-Date", "20260101T000000Z")
    assert_no_secret(headers, AKID, "fe5f80f7", "SECRET")


def test_cookies_proxy_auth_and_extra_names():
    headers, credential = redact_headers(
        [("Cookie", "session=abc"), ("Set-Cookie", "sid=1"), ("Proxy-Authorization", "Basic YWxpY2U6cHc="),
         ("X-Internal-Token", "tok123"), ("OpenAI-Organization", "org-1")],
        extra_names=["x-internal-token"],
    )
    assert dict(headers) == {
        "Cookie": "REDACTED", "Set-Cookie": "REDACTED", "Proxy-Authorization": "REDACTED",
        "X-Internal-Token": "REDACTED", "OpenAI-Organization": "org-1",
    }
    assert credential is None


def test_websocket_protocol_keys():
    headers, _ = redact_headers([("Sec-WebSocket-Protocol", f"realtime, openai-insecure-api-key.{CANARY}, openai-beta.realtime-v1")])
    assert headers[0][1] == "realtime, REDACTED, openai-beta.realtime-v1"


def test_vendor_key_header_wins_over_oauth_bearer():
    _, credential = redact_headers([("Authorization", "Bearer ya29.token-for-user"), ("x-goog-api-key", CANARY)])
    assert credential == Credential("x-goog-api-key", sha(CANARY))


@pytest.mark.parametrize(
    "url,expected,credential",
    [
        (f"/v1beta/models/gemini:generateContent?key={CANARY}&alt=sse",
         "/v1beta/models/gemini:generateContent?key=REDACTED&alt=sse", Credential("query-key", sha(CANARY))),
        (f"/x?alt=sse&API_KEY={CANARY}", "/x?alt=sse&API_KEY=REDACTED", Credential("query-key", sha(CANARY))),
        (f"/bucket/obj?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={AKID}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
         "&X-Amz-Signature=abcdef0123&X-Amz-Security-Token=tok",
         "/bucket/obj?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED"
         "&X-Amz-Security-Token=REDACTED", Credential("aws-sigv4", sha(AKID))),
        ("/o?sig=s1&Signature=s2&AWSAccessKeyId=AK&X-Goog-Signature=g&token=t&access_token=a&keep=1",
         "/o?sig=REDACTED&Signature=REDACTED&AWSAccessKeyId=REDACTED&X-Goog-Signature=REDACTED&token=REDACTED"
         "&access_token=REDACTED&keep=1", None),
        ("https://user:pa55@api.example.com/v1/x?a=1", "https://api.example.com/v1/x?a=1", None),
        ("/v1/chat/completions", "/v1/chat/completions", None),
        ("/openai/deployments/d/chat/completions?api-version=2024-10-21",
         "/openai/deployments/d/chat/completions?api-version=2024-10-21", None),
    ],
)
def test_redact_url(url, expected, credential):
    assert redact_url(url) == (expected, credential)


@pytest.mark.parametrize(
    "secret",
    [
        CANARY, "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345", "AIzaSyA1234567890abcdefghijklmnopqrstu",
        AKID, "hf_abcdefghijklmnopqrstuvwxyzABCD", "gsk_abcdefghijklmnopqrstuvwx", "xai-abcdefghijklmnopqrstuvwx",
        "pplx-abcdefghijklmnopqrstuvwx", "sk-or-v1-0123456789abcdef0123456789abcdef", "sk-abcdefghijklmnopqrstuvwx",
        "ya29.a0AfH6SMBx-abcdefghijklmnop",
    ],
)
def test_scrub_text(secret):
    text = f"401 Incorrect API key provided: {secret}. See https://x.example/?key={secret}"
    scrubbed = scrub_text(text)
    assert secret not in scrubbed
    assert scrubbed.startswith("401 Incorrect API key provided: REDACTED")


def test_scrub_text_bearer_and_plain_text_untouched():
    assert scrub_text("header was Bearer abc.def-ghi_123") == "header was Bearer REDACTED"
    assert scrub_text("Authorization: Token auth_tokens/0a1b2c3d4e5f6g7h8i9j") == "Authorization: Token REDACTED"
    for harmless in ("the task-list has 12 items", "exceeds the token limitation of the model", "run task-abcdefghijklmnopqrstuvwxyz now", "ask-me-anything-abcdefghijklmnop"):
        assert scrub_text(harmless) == harmless


def test_redaction_is_cheap():
    import time

    headers = [("Host", "api.openai.com"), ("Authorization", f"Bearer {CANARY}"), ("Content-Type", "application/json"),
               ("User-Agent", "OpenAI/Python 1.50"), ("Accept", "application/json"), ("X-Stainless-Lang", "python")]
    started = time.perf_counter()
    for _ in range(2000):
        redact_headers(headers)
        redact_url("/v1/chat/completions")
    assert (time.perf_counter() - started) / 2000 < 50e-6


_HEADER_NAMES = st.sampled_from(["Authorization", "authorization", "X-Api-Key", "api-key", "X-Goog-Api-Key", "Cookie",
                                 "set-cookie", "Proxy-Authorization", "X-Amz-Security-Token", "Sec-WebSocket-Protocol",
                                 "X-Internal-Token", "Content-Type", "Host", "User-Agent", "x-team"])
_HEADER_VALUES = st.one_of(st.sampled_from([f"Bearer {CANARY}", CANARY, "", "  ", "Basic YWxpY2U6cHc=", "Token abc",
                                            f"realtime, openai-insecure-api-key.{CANARY}", "application/json",
                                            f"AWS4-HMAC-SHA256 Credential={AKID}/x, Signature=ab12"]),
                           st.binary(max_size=16).map(lambda b: b.decode("latin-1")))


@given(st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=8),
       st.sampled_from([frozenset(), frozenset({"x-internal-token", "x-team"})]))
def test_every_secret_header_is_redacted_and_the_rest_kept_as_sent(headers, extra):
    fields = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    out, credential = redact_header_fields(fields, extra)
    assert redact_header_fields(fields, extra) == (out, credential)  # names and values now remembered
    assert [name for name, _ in out] == [name for name, _ in headers]
    for (name, sent), (_, kept) in zip(headers, out):
        lowered = name.lower()
        if lowered in redact_module._INSPECTED:
            assert CANARY not in kept and AKID not in kept
            if lowered in redact_module._SECRET_HEADERS and lowered != "authorization":
                assert kept == "REDACTED"
        elif lowered in extra:
            assert kept == "REDACTED"
        else:
            assert kept == sent  # not a secret header: kept as sent, whatever it holds
    assert credential is None or any(name.lower() in redact_module._INSPECTED for name, _ in headers)


@given(st.sampled_from(sorted(redact_module._INSPECTED)), _HEADER_VALUES)
def test_a_remembered_redaction_is_the_one_made_afresh(lowered, value):
    first = redact_module._redact_value(lowered, value)
    assert redact_module._redact_value(lowered, value) == first == redact_module._redact_value_uncached(lowered, value)


def test_the_remembered_redactions_stay_bounded():
    for n in range(redact_module._VALUES_MAX + 10):
        redact_module._redact_value("authorization", f"Bearer sk-{n:040d}")
        assert len(redact_module._VALUES) <= redact_module._VALUES_MAX
    assert redact_module._redact_value("x-api-key", CANARY)[1].sha256 == hashlib.sha256(CANARY.encode()).hexdigest()


def test_headers_that_carry_no_key_are_not_remembered():
    """A set-cookie is new on every response: remembering it would only push the keys out."""
    redact_module._VALUES.clear()
    for n in range(20):
        redact_module._redact_value("set-cookie", f"__cf_bm={n}; path=/")
        redact_module._redact_value("cookie", f"session={n}")
        redact_module._redact_value("authorization", f"Bearer sk-{n:040d}" + "x" * redact_module._VALUE_CHARS_MAX)
    assert redact_module._VALUES == {}
    redact_module._redact_value("authorization", f"Bearer {CANARY}")
    assert len(redact_module._VALUES) == 1
