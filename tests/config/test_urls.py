"""agent.config.urls: which configured locations are URLs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent.config.urls import is_url


def test_cloud_urls_are_urls_and_paths_are_not():
    assert all(is_url(u) for u in ("s3://b/p", "gs://b", "abfs://c@a.dfs.core.windows.net/x", "az://c/p",
                                   "hf://datasets/o/n", "S3://B/p"))
    assert not any(is_url(p) for p in ("", "data/x.jsonl", "/abs", "file:///x", "C:\\d", "s3:/x", "://x"))


@given(st.text(max_size=30))
def test_any_text_is_answered_without_error(text):
    assert is_url(text) == ("://" in text and text.split("://", 1)[0].lower() != "file"
                            and text[0:1].isascii() and text[0:1].isalpha()
                            and all(c.isascii() and (c.isalnum() or c in "+.-") for c in text.split("://", 1)[0]))
