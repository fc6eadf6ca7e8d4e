"""Each field modifier on a small frame: strings are case-insensitive unless `cased`, NULL never
matches an operator, lists are ORed unless `all`."""

from __future__ import annotations

import pandas as pd
import pytest

from rules.engine.fields import CALL_FIELDS
from rules.engine.frames import normalise
from rules.engine.model import Logsource
from rules.engine.modifiers import MODIFIERS
from rules.engine.modifiers import Columns
from rules.engine.modifiers import match_mask
from rules.engine.modifiers import split_modifiers

FRAME = normalise(pd.DataFrame({
    "ts": ["2026-11-16T10:00:00Z"] * 5,
    "model": ["gpt-4o-mini", "GPT-4O", "claude-sonnet-4", None, "gemini-2.5-pro"],
    "client_ip": ["10.20.1.5", "10.21.0.1", "192.168.1.9", None, "not-an-ip"],
    "outputs": [1, 8, 500, None, 0],
    "logprobs": [True, False, True, None, False],
    "vendor": ["openai", "openai", "anthropic", "openai", "google"],
    "served_model": [None, None, None, None, None],
    "team": ["a", "b", "c", "d", "e"],
    "user": ["openai", "x", "ANTHROPIC", None, "y"],
}), Logsource.CALLS, list(CALL_FIELDS))


def mask(key, *values):
    field, *mods = key.split("|")
    return match_mask(Columns(FRAME), field, tuple(mods), values).tolist()


@pytest.mark.parametrize("key, values, expected", [
    ("model", ["gpt-4o"], [False, True, False, False, False]),
    ("model", ["GPT-4O-MINI", "gemini-2.5-pro"], [True, False, False, False, True]),
    ("model", [None], [False, False, False, True, False]),
    ("model|contains", ["4o"], [True, True, False, False, False]),
    ("model|contains|cased", ["4o"], [True, False, False, False, False]),
    ("model|contains|all", ["gpt", "mini"], [True, False, False, False, False]),
    ("model|startswith", ["gpt-", "claude"], [True, True, True, False, False]),
    ("model|endswith", ["-pro"], [False, False, False, False, True]),
    ("model|re", ["^gpt-4o$"], [False, False, False, False, False]),
    ("model|re", ["(?i)^gpt-4o$"], [False, True, False, False, False]),
    ("model|re", ["sonnet-[0-9]"], [False, False, True, False, False]),
    ("outputs", [8], [False, True, False, False, False]),
    ("outputs|gt", [1], [False, True, True, False, False]),
    ("outputs|gte", [1], [True, True, True, False, False]),
    ("outputs|lt", [1], [False, False, False, False, True]),
    ("outputs|lte", [8], [True, True, False, False, True]),
    ("client_ip|cidr", ["10.20.0.0/16"], [True, False, False, False, False]),
    ("client_ip|cidr", ["10.0.0.0/8", "192.168.0.0/16"], [True, True, True, False, False]),
    ("logprobs", [True], [True, False, True, False, False]),
    ("logprobs", [False], [False, True, False, False, True]),
    ("model|exists", [True], [True, True, True, False, True]),
    ("model|exists", [False], [False, False, False, True, False]),
    ("vendor|fieldref", ["user"], [True, False, True, False, False]),
    ("vendor|fieldref|cased", ["user"], [True, False, False, False, False]),
    ("vendor|fieldref", ["served_model"], [False, False, False, False, False]),
])
def test_modifier(key, values, expected):
    assert mask(key, *values) == expected


def test_registry_names_every_operator():
    assert set(MODIFIERS) == {"contains", "startswith", "endswith", "re", "gt", "gte", "lt", "lte",
                              "cidr", "exists", "fieldref"}


def test_split_modifiers_reports_unknown_and_conflicting():
    _, _, problems = split_modifiers(("contains", "startswith", "wat"))
    assert problems[0].startswith("unknown modifier 'wat'")
    assert problems[1] == "at most one of contains, startswith per field"


@pytest.mark.parametrize("name, value, kind, problem", [
    ("gt", "ten", "int", "expects a number, got 'ten'"),
    ("gt", 1, "str", "applies to numeric fields only"),
    ("contains", "x", "int", "applies to string fields only"),
    ("re", "(", "str", "invalid regular expression '(': missing ), unterminated subpattern at position 0"),
    ("cidr", "10.0.0.0/40", "str", "invalid network '10.0.0.0/40'"),
    ("exists", "yes", "str", "expects true or false, got 'yes'"),
])
def test_value_checks(name, value, kind, problem):
    assert MODIFIERS[name].check(value, kind) == problem


def test_regex_is_pythons():
    """Lookaround is Python syntax that Arrow's RE2 would reject; the linter accepts it, so must we."""
    assert mask("model|re", r"^gpt-(?!4o-mini)") == [False, False, False, False, False]
    assert mask("model|re", r"(?i)^gpt-(?!4o-mini)") == [False, True, False, False, False]
