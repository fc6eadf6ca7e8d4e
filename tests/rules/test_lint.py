"""The linter reports every problem at once as `path:line: message`; the runtime loader fails
on the first with the same text."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.engine.collection import load_rules
from rules.engine.lint import check_paths
from rules.engine.model import RuleError

GOOD = """\
title: Test Rule
id: 7a1f8a52-3c1d-4d8e-9a57-0f2d3c4b5a69
name: test_rule
status: experimental
level: medium
description: A rule for the linter tests.
logsource:
  category: calls
detection:
  selection:
    vendor: openai
    model|startswith: gpt-
  filter:
    status|gte: 400
  condition: selection and not filter
correlation:
  type: event_count
  group-by: [team, vendor]
  timespan: 1h
  condition:
    gte: 10
"""


def write(tmp_path: Path, text: str, name: str = "site_rule.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    return [str(p) for p in check_paths([path])]


def test_good_rule_has_no_problems(tmp_path):
    assert problems(tmp_path, GOOD) == []


def test_duplicate_key_is_rejected_with_its_line(tmp_path):
    text = GOOD.replace("    vendor: openai\n", "    vendor: openai\n    vendor: anthropic\n")
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [
        f"{path}:12: duplicate key 'vendor' (first at line 11); the first one is kept",
    ]


def test_duplicate_selection_name_is_rejected(tmp_path):
    text = GOOD.replace("  filter:\n    status|gte: 400\n", "  filter:\n    status|gte: 400\n  filter:\n    status: 500\n")
    path = tmp_path / "site_rule.yml"
    assert f"{path}:15: duplicate key 'filter' (first at line 13); the first one is kept" in problems(tmp_path, text)


def test_unknown_top_level_field(tmp_path):
    text = GOOD.replace("level: medium\n", "level: medium\nseverity: high\n")
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [f"{path}:6: unknown field 'severity' in rule"]


def test_unknown_event_field(tmp_path):
    text = GOOD.replace("    vendor: openai\n", "    vendr: openai\n")
    result = problems(tmp_path, text)
    assert len(result) == 1
    assert result[0].startswith(f"{tmp_path / 'site_rule.yml'}:11: unknown field 'vendr' for logsource calls (known: ")


def test_bad_condition_names_line_and_column(tmp_path):
    text = GOOD.replace("condition: selection and not filter", "condition: selection and (not filter")
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [
        f"{path}:15: bad condition 'selection and (not filter': missing ')' (column 26)",
    ]


def test_condition_naming_a_missing_selection(tmp_path):
    text = GOOD.replace("condition: selection and not filter", "condition: selection and not filters")
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [
        f"{path}:15: condition refers to unknown selection 'filters'",
    ]


def test_bad_modifier(tmp_path):
    text = GOOD.replace("model|startswith: gpt-", "model|beginswith: gpt-")
    result = problems(tmp_path, text)
    assert len(result) == 1
    assert result[0].startswith(f"{tmp_path / 'site_rule.yml'}:12: model|beginswith: unknown modifier 'beginswith' (known: ")


def test_modifier_value_of_the_wrong_type(tmp_path):
    text = GOOD.replace("status|gte: 400", "status|gte: many")
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [f"{path}:14: status|gte: gte expects a number, got 'many'"]


def test_invalid_regex_and_cidr(tmp_path):
    text = GOOD.replace("    model|startswith: gpt-\n", "    model|re: 'gpt-(4'\n    client_ip|cidr: 10.0.0.0/33\n")
    result = problems(tmp_path, text)
    path = tmp_path / "site_rule.yml"
    assert result[0].startswith(f"{path}:12: model|re: re invalid regular expression 'gpt-(4'")
    assert result[1] == f"{path}:13: client_ip|cidr: cidr invalid network '10.0.0.0/33'"


def test_unknown_logsource(tmp_path):
    text = GOOD.replace("category: calls", "category: proxy")
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [
        f"{path}:8: unknown logsource 'proxy' (one of: calls, outputs, uploads, reuse_findings)",
    ]


def test_every_problem_is_reported_at_once(tmp_path):
    text = (GOOD.replace("level: medium", "level: severe")
            .replace("    vendor: openai\n", "    vendor: openai\n    vendor: openai\n")
            .replace("timespan: 1h", "timespan: 1 hour")
            .replace("id: 7a1f8a52-3c1d-4d8e-9a57-0f2d3c4b5a69", "id: not-a-uuid"))
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [
        f"{path}:2: id 'not-a-uuid' is not a UUID",
        f"{path}:5: invalid level 'severe' (one of: informational, low, medium, high, critical)",
        f"{path}:12: duplicate key 'vendor' (first at line 11); the first one is kept",
        f"{path}:20: invalid timespan '1 hour' (e.g. 30m, 1h, 1d)",
    ]


def test_missing_required_fields_and_yaml_syntax(tmp_path):
    path = write(tmp_path, "title: Only A Title\n", "a.yml")
    broken = write(tmp_path, "title: x\n  bad: [indent\n", "b.yml")
    result = [str(p) for p in check_paths([path, broken])]
    assert f"{path}:1: missing required field 'id'" in result
    assert f"{path}:1: missing required field 'detection'" in result
    assert any(r.startswith(f"{broken}:2: invalid YAML") for r in result)


def test_correlation_problems(tmp_path):
    text = GOOD.replace("type: event_count", "type: value_sum").replace("group-by: [team, vendor]", "group-by: [vendor]")
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [
        f"{path}:17: value_sum needs a 'field'",
        f"{path}:18: 'group-by' must include 'team': every finding belongs to a team",
    ]


def test_unused_selection_is_reported(tmp_path):
    text = GOOD.replace("condition: selection and not filter", "condition: selection")
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [f"{path}:14: selection 'filter' is not used by the condition"]


def test_duplicate_id_across_files(tmp_path):
    write(tmp_path, GOOD, "one.yml")
    write(tmp_path, GOOD.replace("name: test_rule", "name: test_rule_two"), "two.yml")
    result = [str(p) for p in check_paths([tmp_path])]
    assert result == [f"{tmp_path / 'two.yml'}:1: rule id '7a1f8a52-3c1d-4d8e-9a57-0f2d3c4b5a69' already used at {tmp_path / 'one.yml'}:1"]


def test_override_problems(tmp_path):
    text = "override:\n  rule: no_such_rule\n  disabled: true\n---\noverride:\n  rule: bulk_outputs_harvesting\n  level: extreme\n---\noverride:\n  rule: multi_sampling\n  colour: red\n  disabled: true\n"
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [
        f"{path}:1: override names unknown rule 'no_such_rule'",
        f"{path}:7: invalid level 'extreme' (one of: informational, low, medium, high, critical)",
        f"{path}:11: unknown field 'colour' in override",
    ]


def test_missing_path(tmp_path):
    missing = tmp_path / "nope"
    assert [str(p) for p in check_paths([missing])] == [f"{missing}:0: no such file or directory"]


def test_runtime_loader_fails_fast_with_the_same_message(tmp_path):
    text = GOOD.replace("category: calls", "category: proxy")
    path = write(tmp_path, text)
    first = str(check_paths([path])[0])
    with pytest.raises(RuleError) as raised:
        load_rules([path])
    assert str(raised.value) == first
    assert raised.value.problem.line == 8


def test_site_overrides_apply(tmp_path):
    write(tmp_path, "override:\n  rule: multi_sampling\n  disabled: true\n---\n"
                    "override:\n  rule: 15c8cf52-7042-46f4-9be3-4ebbf0aa1134\n  level: low\n"
                    "  exclude_teams: [ml-eval]\n  reason: nightly evaluation runs\n", "site.yml")
    rules = {r.name: r for r in load_rules([tmp_path])}
    assert rules["multi_sampling"].disabled and not rules["multi_sampling"].active
    assert rules["bulk_outputs_harvesting"].level.value == "low"
    assert rules["bulk_outputs_harvesting"].exclude_teams == ("ml-eval",)
    assert not rules["templated_prompting"].disabled


def test_fixtures_are_checked(tmp_path):
    fixtures = tmp_path / "fx"
    fixtures.mkdir()
    (fixtures / "pos.yml").write_text("since: 2026-11-16T00:00:00Z\nuntil: 2026-11-17T00:00:00Z\ncalls: []\n")
    (fixtures / "neg.yml").write_text("since: 2026-11-16T00:00:00Z\nuntil: 2026-11-17T00:00:00Z\nevents: []\n")
    text = GOOD.replace("status: experimental", "status: test") + "fixtures:\n  positive: fx/pos.yml\n  negative: fx/missing.yml\n"
    path = tmp_path / "site_rule.yml"
    assert problems(tmp_path, text) == [
        f"{fixtures / 'pos.yml'}:1: a positive fixture needs 'expect' (the group values of the finding)",
        f"{path}:1: a test rule needs positive and negative fixtures",
        f"{path}:24: negative fixture 'fx/missing.yml' not found",
    ]
    text = text.replace("fx/missing.yml", "fx/neg.yml")
    assert problems(tmp_path, text) == [
        f"{fixtures / 'neg.yml'}:3: unknown field 'events' in fixture",
        f"{fixtures / 'pos.yml'}:1: a positive fixture needs 'expect' (the group values of the finding)",
    ]


def test_alias_bombs_and_oversized_rule_files_are_problems_not_hangs(tmp_path):
    from rules.engine.lint import check_paths

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    bomb = tmp_path / "bomb.yml"
    bomb.write_text("\n".join(lines) + "\n")
    big = tmp_path / "big.yml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    messages = [str(p) for p in check_paths([bomb, big])]
    assert any(m.startswith(f"{bomb}:1: document expands to more than") for m in messages)
    assert any(m.startswith(f"{big}:0: larger than") for m in messages)
