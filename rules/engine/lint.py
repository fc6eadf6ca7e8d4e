"""`aiaudit rules check`: every problem in the rule files at once, as `path:line: message`.

The linter and the runtime loader share one parser (collection.py), so a file that passes here
loads at runtime, and the runtime's `RuleError` carries the same text as the first problem here.
The shipped rules are always read as context — a site override must name a rule that exists —
and are checked too. Selections the condition never uses are reported as well: they are almost
always a typo in the condition. Fixture files a rule names are read too (a broken fixture is a
rule that cannot prove itself), and a positive fixture must say what it `expect`s.
"""

from __future__ import annotations

from pathlib import Path

from rules.engine import conditions
from rules.engine.collection import parse_paths
from rules.engine.fixtures import load_fixture
from rules.engine.model import Problem
from rules.engine.model import RuleError


def check_paths(paths: list[Path]) -> list[Problem]:
    """All problems in the shipped rules and the given files/directories, in file order.
    An empty list means every rule loads; the CLI exits 1 when it is not empty."""
    result = parse_paths([Path(p) for p in paths])
    problems = list(result.problems)
    for rule in result.rules:
        detection = rule.detection
        used = _used_names(detection.condition_ast, detection.selections)
        for name in detection.selections:
            if name not in used:
                line = _selection_line(rule, name)
                problems.append(Problem(rule.location.path, line,
                                        f"selection {name!r} is not used by the condition"))
        for kind in ("positive", "negative"):
            path = getattr(rule.fixtures, kind)
            if path is None:
                continue
            try:
                fixture = load_fixture(path)
            except RuleError as error:
                problems.append(error.problem)
                continue
            if kind == "positive" and not fixture.expect:
                problems.append(Problem(path, 1, "a positive fixture needs 'expect' (the group values of the finding)"))
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (str(p.path), p.line))


def _used_names(node, selections) -> set[str]:
    if isinstance(node, conditions.Identifier):
        return {node.name}
    if isinstance(node, conditions.Quantified):
        return set(node.names(selections))
    if isinstance(node, conditions.Not):
        return _used_names(node.operand, selections)
    used: set[str] = set()
    for operand in node.operands:
        used |= _used_names(operand, selections)
    return used


def _selection_line(rule, name: str) -> int:
    for alternative in rule.detection.selections[name].alternatives:
        for match in alternative:
            if match.line:
                return match.line
    return rule.location.line
