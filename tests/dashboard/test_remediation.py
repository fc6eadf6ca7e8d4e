"""Advice is given for built-in rules by name (a name that is no rule is a typo), and any other
rule (a site's own, or a built-in one without its own advice yet) gets the general advice."""

from __future__ import annotations

from pathlib import Path

from dashboard.remediation import BY_RULE
from dashboard.remediation import GENERAL
from dashboard.remediation import remediation_for

BUILTIN = Path(__file__).resolve().parents[2] / "rules" / "builtin"


def test_advice_names_built_in_rules_only():
    names = {p.stem for p in BUILTIN.glob("*.yml")}
    assert set(BY_RULE) <= names and len(BY_RULE) >= 10
    assert all(remediation_for(n) is BY_RULE[n] for n in BY_RULE)


def test_a_site_rule_gets_the_general_advice_with_steps():
    advice = remediation_for("our_own_rule")
    assert advice is GENERAL and advice.headline and advice.steps
    assert all(r.headline and len(r.steps) >= 2 for r in BY_RULE.values())
