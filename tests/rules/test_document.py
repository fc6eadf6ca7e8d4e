"""Parsing one rule document: timespans, and every mistake a problem at its line (one bad
document never stops the others from being checked)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.engine.collection import parse_paths
from rules.engine.document import parse_timespan

RULE = """\
title: Site Rule
id: 2c3d7a1e-0000-4000-8000-00000000000{n}
name: site_rule_{n}
status: experimental
level: {level}
description: A site's own rule.
logsource:
  category: {category}
detection:
  selection:
    {field}: openai
  condition: selection
"""


@given(st.integers(1, 10_000), st.sampled_from(["s", "m", "h", "d"]))
def test_a_timespan_is_a_count_of_seconds(n, unit):
    assert parse_timespan(f"{n}{unit}") == n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def test_what_is_not_a_timespan_is_none():
    assert [parse_timespan(t) for t in ("0d", "1w", "1.5h", "", "h", 3600, None, "01d")] == [None] * 8


def test_each_mistake_is_reported_at_its_line(tmp_path):
    good = RULE.format(n=1, level="low", category="calls", field="vendor")
    bad = [RULE.format(n=2, level="urgent", category="calls", field="vendor"),
           RULE.format(n=3, level="low", category="emails", field="vendor"),
           RULE.format(n=4, level="low", category="calls", field="no_such_field")]
    path = tmp_path / "site.yml"
    path.write_text("---\n".join([good, *bad]))
    result = parse_paths([path], include_builtin=False)
    assert [r.name for r in result.rules] == ["site_rule_1"]
    problems = [(p.line, p.message) for p in result.problems]
    assert len(problems) == 3 and all(line > 0 for line, _ in problems)
    assert any("urgent" in m for _, m in problems) and any("emails" in m for _, m in problems)
    assert any("no_such_field" in m for _, m in problems)
    lines = sorted(line for line, _ in problems)
    assert lines[0] > 12 and lines[-1] > 36  # the second, third and fourth documents
