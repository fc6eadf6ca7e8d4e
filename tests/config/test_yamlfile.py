"""The one YAML loader, in both modes: raise-first (configuration, the host catalogue) and
collect-all (rule files)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.config.yamlfile import MAX_NODES
from agent.config.yamlfile import load_documents
from agent.config.yamlfile import load_text
from agent.errors import UserError
from agent.proxy.hosts import HostList
from agent.proxy.hosts import HostListError

DUPLICATE = "a: 1\nb:\n  c: 2\n  c: 3\nd: [1, 2]\n"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(6))


def test_raise_first_names_the_file_and_both_lines():
    with pytest.raises(UserError, match=r"^x.yaml:4: duplicate key 'c' \(first defined on line 3\)"):
        load_text(DUPLICATE, "x.yaml")


def test_collect_all_keeps_the_first_value_and_reads_on():
    problems: list = []
    doc, second = load_documents(DUPLICATE + "---\ne: 5\ne: 6\n", "x.yaml", problems)
    assert doc["b"] == {"c": 2} and doc["d"] == [1, 2] and second == {"e": 5}
    assert [line for line, _ in problems] == [4, 8]


def test_lines_are_kept_in_both_modes():
    doc = load_text(DUPLICATE.replace("  c: 3\n", ""), "x.yaml")
    assert doc.line_of("d") == 4 and doc["b"].line_of("c") == 3 and doc["d"].line_of(1) == 4
    [again] = load_documents(DUPLICATE.replace("  c: 3\n", ""), "x.yaml", [])
    assert again.line_of("d") == 4


def test_an_alias_bomb_is_refused_in_both_modes():
    with pytest.raises(UserError, match=f"more than {MAX_NODES} nodes"):
        load_text(BOMB, "bomb.yaml")
    problems: list = []
    assert load_documents(BOMB, "bomb.yaml", problems) == []
    assert problems and "nodes" in problems[0][1]


def test_the_host_catalogue_rejects_a_duplicate_key_with_its_line():
    text = "vendors:\n  - id: acme\n    hosts: [api.acme.test]\n    hosts: [other.test]\n    routes: []\n"
    with pytest.raises(HostListError, match=r"hosts.yaml:4: duplicate key 'hosts'"):
        HostList.load(text=text)


def test_the_shipped_host_catalogue_has_no_duplicate_keys():
    assert HostList.load().vendor_ids()


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_collect_all_never_raises_and_every_problem_has_a_line(text):
    problems: list = []
    documents = load_documents(text, "any.yaml", problems)
    assert isinstance(documents, list)
    assert all(isinstance(line, int) and line >= 0 and message for line, message in problems)


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_raise_first_fails_only_with_a_one_line_user_error(text):
    try:
        load_text(text, "any.yaml")
    except UserError as e:
        assert str(e).startswith("any.yaml:") and "\n" not in str(e)
