"""The condition parser: precedence, parentheses, quantifiers, and errors with their column."""

from __future__ import annotations

import pandas as pd
import pytest

from rules.engine.conditions import And
from rules.engine.conditions import ConditionError
from rules.engine.conditions import Identifier
from rules.engine.conditions import Not
from rules.engine.conditions import Or
from rules.engine.conditions import Quantified
from rules.engine.conditions import evaluate_condition
from rules.engine.conditions import parse_condition
from rules.engine.conditions import referenced_problems

A, B, C = Identifier("a"), Identifier("b"), Identifier("c")


@pytest.mark.parametrize("text, tree", [
    ("a", A),
    ("a and b or c", Or((And((A, B)), C))),
    ("a or b and c", Or((A, And((B, C))))),
    ("not a and b", And((Not(A), B))),
    ("not (a and b)", Not(And((A, B)))),
    ("a and (b or c)", And((A, Or((B, C))))),
    ("a AND NOT b", And((A, Not(B)))),
    ("not not a", Not(Not(A))),
    ("1 of sel_*", Quantified(1, "sel_*")),
    ("all of filter_*", Quantified(None, "filter_*")),
    ("any of them", Quantified(1, "them")),
    ("2 of them", Quantified(2, "them")),
    ("selection and not 1 of filter_*", And((Identifier("selection"), Not(Quantified(1, "filter_*"))))),
    ("((a))", A),
])
def test_parse(text, tree):
    assert parse_condition(text) == tree


@pytest.mark.parametrize("text, message", [
    ("", "empty condition (column 1)"),
    ("a and", "expected a selection name, '(' or 'not' (column 6)"),
    ("(a or b", "missing ')' (column 8)"),
    ("a or b)", "unexpected ')' (column 7)"),
    ("a b", "unexpected 'b' (column 3)"),
    ("or a", "unexpected 'or' (column 1)"),
    ("sel_*", "wildcard 'sel_*' needs '1 of' or 'all of' (column 1)"),
    ("x of sel_*", "expected a number, 'all' or 'any' before 'of', got 'x' (column 1)"),
    ("1 of", "expected 'them' or a name pattern after 'of' (column 5)"),
    ("1 of and", "expected 'them' or a name pattern after 'of', got 'and' (column 6)"),
    ("a | b", "unexpected character '|' (column 3)"),
])
def test_errors_name_the_column(text, message):
    with pytest.raises(ConditionError) as raised:
        parse_condition(text)
    assert str(raised.value) == message


def test_references_are_checked():
    tree = parse_condition("selection and not 1 of filter_* and other")
    assert referenced_problems(tree, ["selection", "x"]) == [
        "condition pattern 'filter_*' matches no selection",
        "condition refers to unknown selection 'other'",
    ]


MASKS = {
    "sel_a": pd.Series([True, True, False, False]),
    "sel_b": pd.Series([True, False, True, False]),
    "filter_x": pd.Series([False, True, False, False]),
    "_private": pd.Series([False, False, False, True]),
}


def run(text):
    return evaluate_condition(parse_condition(text), MASKS.__getitem__, MASKS).tolist()


@pytest.mark.parametrize("text, expected", [
    ("sel_a and sel_b", [True, False, False, False]),
    ("sel_a or sel_b", [True, True, True, False]),
    ("sel_a and not filter_x", [True, False, False, False]),
    ("1 of sel_*", [True, True, True, False]),
    ("all of sel_*", [True, False, False, False]),
    ("not 1 of sel_* or _private", [False, False, False, True]),
    ("1 of them", [True, True, True, False]),  # `_private` is not part of `them`
    ("2 of them", [True, True, False, False]),
    ("(sel_a or sel_b) and not filter_x", [True, False, True, False]),
])
def test_evaluate(text, expected):
    assert run(text) == expected
