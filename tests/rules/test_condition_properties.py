"""Property: any condition built from and/or/not/parentheses evaluates like Python's booleans."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from rules.engine.conditions import evaluate_condition
from rules.engine.conditions import parse_condition

NAMES = ["sel_a", "sel_b", "filter_c"]

expressions = st.recursive(
    st.sampled_from(NAMES),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(["and", "or"]), inner, inner),
    ),
    max_leaves=12,
)


def render(expr, parenthesise: bool) -> str:
    if isinstance(expr, str):
        return expr
    if expr[0] == "not":
        return f"not ({render(expr[1], parenthesise)})"
    left, right = render(expr[1], parenthesise), render(expr[2], parenthesise)
    return f"({left} {expr[0]} {right})"


def python_value(expr, values) -> bool:
    if isinstance(expr, str):
        return values[expr]
    if expr[0] == "not":
        return not python_value(expr[1], values)
    if expr[0] == "and":
        return python_value(expr[1], values) and python_value(expr[2], values)
    return python_value(expr[1], values) or python_value(expr[2], values)


ROWS = [dict(zip(NAMES, bits)) for bits in ((a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1))]
MASKS = {name: pd.Series([bool(row[name]) for row in ROWS]) for name in NAMES}


@settings(max_examples=200, deadline=None)
@given(expressions)
def test_condition_matches_python_semantics(expr):
    text = render(expr, True)
    result = evaluate_condition(parse_condition(text), MASKS.__getitem__, NAMES).tolist()
    assert result == [python_value(expr, {k: bool(v) for k, v in row.items()}) for row in ROWS], text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(NAMES), min_size=2, max_size=6), st.lists(st.sampled_from(["and", "or"]), min_size=5, max_size=5))
def test_precedence_without_parentheses(names, operators):
    """`and` binds tighter than `or`, as in Python."""
    text = names[0]
    py = f"v[{names[0]!r}]"
    for name, op in zip(names[1:], operators):
        text += f" {op} {name}"
        py += f" {op} v[{name!r}]"
    result = evaluate_condition(parse_condition(text), MASKS.__getitem__, NAMES).tolist()
    assert result == [bool(eval(py, {}, {"v": {k: bool(x) for k, x in row.items()}})) for row in ROWS]
