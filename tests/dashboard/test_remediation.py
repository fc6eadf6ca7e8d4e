"""Every built-in rule has its own advice, by name (a name that is no rule is a typo), and any
other rule (a site's own) gets the general advice."""

from __future__ import annotations

from pathlib import Path

from dashboard.remediation import BY_RULE
from dashboard.remediation import GENERAL
from dashboard.remediation import remediation_for

BUILTIN = Path(__file__).resolve().parents[2] / "rules" / "builtin"


def test_every_built_in_rule_has_its_own_advice_and_no_other_name_does():
    names = {p.stem for p in BUILTIN.glob("*.yml")}
    assert len(names) >= 10
    assert set(BY_RULE) == names
    assert all(remediation_for(n) is BY_RULE[n] for n in BY_RULE)


def test_a_site_rule_gets_the_general_advice_with_steps():
    advice = remediation_for("our_own_rule")
    assert advice is GENERAL and advice.headline and advice.steps
    assert all(r.headline and len(r.steps) >= 2 for r in BY_RULE.values())
