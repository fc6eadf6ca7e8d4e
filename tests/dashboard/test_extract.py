"""The Babel extractor of rule titles: every built-in rule's title, with its line."""

from __future__ import annotations

import io
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from dashboard.extract import rule_titles

BUILTIN = Path(__file__).resolve().parents[2] / "rules" / "builtin"


def extract(text: str) -> list[tuple[int, None, str, list[str]]]:
    return list(rule_titles(io.BytesIO(text.encode("utf-8")), (), (), {}))


def test_every_builtin_rule_title_is_extracted_at_its_line():
    files = sorted(BUILTIN.glob("*.yml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        titles = [d["title"] for d in yaml.safe_load_all(text) if isinstance(d, dict) and "title" in d]
        found = extract(text)
        assert [message for _, _, message, _ in found] == titles, path
        for line, _, message, _ in found:
            assert text.splitlines()[line - 1].startswith("title:"), (path, line)


def test_documents_without_a_title_and_nested_titles_give_nothing():
    assert extract("") == []
    assert extract("---\n- a\n- b\n") == []
    assert extract("name: x\ndetection:\n  title: not a rule title\n") == []
    assert [m for _, _, m, _ in extract("title: One\n---\ntitle: Two\n---\ntitle: ''\n")] == ["One", "Two"]


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60))
def test_any_title_text_comes_back_as_written(title):
    document = yaml.safe_dump({"title": title, "name": "r"}, allow_unicode=True)
    found = extract(document)
    assert [m for _, _, m, _ in found] == ([title] if title else [])
