"""Property-based: whatever body a vendor sends, as one piece or as a stream, the client receives
exactly those bytes through the audited proxy, the call is recorded, and the proxy keeps running."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.support.raw_http import httpx_client

pytestmark = pytest.mark.e2e

ENDPOINTS = [
    ("https://api.openai.com/v1/chat/completions", "text/event-stream"),
    ("https://api.openai.com/v1/chat/completions", "application/json"),
    ("https://api.anthropic.com/v1/messages", "text/event-stream"),
    ("https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse-stream", "application/vnd.amazon.eventstream"),
    ("https://generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent?alt=sse", "text/event-stream"),
    ("https://api.cohere.com/v1/chat", "application/stream+json"),
]

sse_like = st.lists(
    st.one_of(
        st.builds(lambda d: b"data: " + d + b"\n\n", st.binary(max_size=200)),
        st.sampled_from([b"data: [DONE]\n\n", b": keep-alive\n\n", b"event: message_stop\ndata: {}\n\n",
                         b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\r\n\r\n', b"\r", b"\n"]),
        st.binary(max_size=64),
    ),
    max_size=30,
).map(b"".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(sse_like, st.binary(max_size=4096)), endpoint=st.sampled_from(ENDPOINTS),
       cuts=st.lists(st.integers(min_value=1, max_value=4096), max_size=6))
def test_fuzzed_bodies_pass_through_unchanged_and_are_recorded(audit, body, endpoint, cuts):
    url, content_type = endpoint
    request = json.dumps({"model": "fuzz", "stream": True, "messages": [{"role": "user", "content": "x"}]}).encode()
    headers = {"x-standin-reply": base64.b64encode(body).decode(), "x-standin-reply-type": content_type,
               "x-standin-reply-split": ",".join(map(str, cuts)), "content-type": "application/json",
               "authorization": "Bearer sk-fuzz"}
    mark = audit.marker()
    with httpx_client(audit.proxy_url(), audit.proxy.ca_path, timeout=30) as http:
        with http.stream("POST", url, content=request, headers=headers) as r:
            received = b"".join(r.iter_raw())
            assert r.status_code == 200
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(body).hexdigest()
    [call] = audit.wait_calls(mark, 1, timeout=30)
    assert call.status == 200 and call.response_bytes == len(body)
