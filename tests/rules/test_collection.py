"""Rule collections: the shipped rules load, a site file adds to them, overrides change a rule by
id or name, and a reused id, an override of no rule or a missing path is a problem with its place."""

from __future__ import annotations

import pytest

from rules.engine.collection import load_rules
from rules.engine.collection import parse_paths
from rules.engine.collection import rule_files
from rules.engine.model import Level
from rules.engine.model import RuleError

SITE_RULE = """\
title: Site Rule
id: 2c3d7a1e-0000-4000-8000-000000000001
name: site_rule
status: experimental
level: low
description: A site's own rule.
logsource:
  category: calls
detection:
  selection:
    vendor: openai
  condition: selection
"""


def test_the_shipped_rules_load_with_unique_ids_and_names():
    rules = load_rules()
    assert len(rules) >= 14 and len({r.id for r in rules}) == len(rules) == len({r.name for r in rules})


def test_a_site_file_adds_a_rule_and_an_override_changes_one(tmp_path):
    (tmp_path / "site.yml").write_text(SITE_RULE + "---\noverride:\n  rule: multi_sampling\n  level: high\n"
                                       "  exclude_teams: [lab]\n  reason: sampling is the product\n")
    rules = {r.name: r for r in load_rules([tmp_path])}
    assert rules["site_rule"].level is Level.LOW
    assert rules["multi_sampling"].level is Level.HIGH and rules["multi_sampling"].exclude_teams == ("lab",)


def test_problems_name_their_file_and_line(tmp_path):
    site = tmp_path / "site.yml"
    site.write_text(SITE_RULE + "---\n" + SITE_RULE.replace("name: site_rule", "name: other_rule")
                    + "---\noverride:\n  rule: no_such_rule\n  disabled: true\n")
    problems = [str(p) for p in parse_paths([site, tmp_path / "missing"], include_builtin=False).problems]
    assert any(p.endswith("missing:0: no such file or directory") for p in problems)
    assert any(f"{site}:" in p and "rule id '2c3d7a1e-0000-4000-8000-000000000001' already used" in p for p in problems)
    assert any("override names unknown rule 'no_such_rule'" in p for p in problems)
    with pytest.raises(RuleError):
        load_rules([site])


def test_a_file_named_twice_is_read_once(tmp_path):
    (tmp_path / "a.yml").write_text(SITE_RULE)
    files, problems = rule_files([tmp_path, tmp_path / "a.yml"])
    assert files == [tmp_path / "a.yml"] and problems == []
