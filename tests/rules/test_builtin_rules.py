"""Every shipped rule against its fixtures: the positive one must fire (with the expected group),
the negative one must not — through frames (no database) and through a real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from agent.store.models import Finding
from rules.engine.collection import BUILTIN_DIR
from rules.engine.collection import load_rules
from rules.engine.evaluate import evaluate
from rules.engine.evaluate import run_rules
from rules.engine.fixtures import insert_records
from rules.engine.fixtures import load_fixture
from rules.engine.fixtures import matches_expectation
from rules.engine.frames import frames_from_records
from rules.engine.lint import check_paths
from rules.engine.model import Status

RULES = load_rules()
CASES = [pytest.param(rule, kind, id=f"{rule.name}-{kind}") for rule in RULES for kind in ("positive", "negative")]


def test_shipped_rules_lint_clean():
    assert [str(p) for p in check_paths([])] == []


def test_every_shipped_rule_has_both_fixtures():
    files = sorted(BUILTIN_DIR.glob("*.yml"))
    assert len(files) >= 9
    by_file = {rule.location.path.resolve(): rule for rule in RULES}
    missing = []
    for path in files:
        rule = by_file.get(path.resolve())
        if rule is None:
            missing.append(f"{path.name}: not loaded")
            continue
        for kind in ("positive", "negative"):
            fixture = getattr(rule.fixtures, kind)
            if fixture is None or not Path(fixture).is_file():
                missing.append(f"{path.name}: no {kind} fixture")
        if rule.fixtures.positive and not load_fixture(rule.fixtures.positive).expect:
            missing.append(f"{path.name}: positive fixture has no 'expect'")
    assert missing == [], "every shipped rule needs a positive (with expect) and a negative fixture"


def test_shipped_rules_are_tested_status():
    assert {rule.status for rule in RULES} <= {Status.TEST, Status.STABLE}


def _fired(drafts, rule, fixture):
    mine = [d for d in drafts if d.rule_id == rule.id]
    return mine, any(matches_expectation(d.group_key, d.team, d.vendor, fixture.expect) for d in mine)


@pytest.mark.parametrize("rule, kind", CASES)
def test_fixture_on_frames(rule, kind):
    fixture = load_fixture(getattr(rule.fixtures, kind))
    drafts = run_rules([rule], frames_from_records(fixture.records), fixture.since, fixture.until)
    mine, expected = _fired(drafts, rule, fixture)
    if kind == "positive":
        assert expected, f"{rule.name} did not fire on {fixture.path}: {[d.group_key for d in mine]}"
    else:
        assert mine == [], f"{rule.name} fired on its negative fixture: {[(d.group_key, d.value) for d in mine]}"


@pytest.mark.parametrize("rule, kind", CASES)
def test_fixture_through_store(rule, kind, store):
    fixture = load_fixture(getattr(rule.fixtures, kind))
    with store.write_session() as session:
        insert_records(session, fixture.records)
    result = evaluate(store, fixture.since, fixture.until)
    mine, expected = _fired(result.findings, rule, fixture)
    with store.session() as session:
        stored = session.execute(select(Finding).where(Finding.rule_id == rule.id)).scalars().all()
    if kind == "positive":
        assert expected and len(stored) == len(mine) >= 1
        assert all(f.title == rule.title for f in stored)
    else:
        assert mine == [] and stored == []


def test_readme_lists_every_shipped_rule():
    readme = (BUILTIN_DIR.parent / "README.md").read_text()
    table = readme.split("## Shipped rules", 1)[1].split("\n## ", 1)[0]
    for rule in RULES:
        assert f"| `{rule.name}` | {rule.level.value} |" in table, rule.name
