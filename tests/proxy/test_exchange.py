"""The plain data of an exchange: headers are found whatever their case, and the first wins."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.proxy.exchange import RequestSnapshot
from agent.proxy.exchange import ResponseSnapshot
from agent.proxy.exchange import header_value


def test_a_header_is_found_in_any_case_and_the_first_one_wins():
    headers = (("Content-Type", "application/json"), ("X-Team", "a"), ("x-team", "b"))
    assert header_value(headers, "content-type") == "application/json"
    assert header_value(headers, "X-TEAM") == "a" and header_value(headers, "missing") is None
    request = RequestSnapshot("POST", "https", "api.openai.com", 443, "/v1/x", headers, b"{}", 1.0)
    assert request.header("x-team") == "a"
    assert ResponseSnapshot(200, (("Retry-After", "3"),), b"").header("retry-after") == "3"


@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=6), st.text(max_size=8))
def test_header_value_is_the_first_case_insensitive_match(headers, name):
    expected = next((v for k, v in headers if k.lower() == name.lower()), None)
    assert header_value(tuple(headers), name) == expected
