"""The detection `condition`: a small recursive-descent parser (pyparsing is not a dependency).

Grammar, lowest precedence first (Sigma's order: `or` < `and` < `not`):

    expr     := and_expr ("or" and_expr)*
    and_expr := unary ("and" unary)*
    unary    := "not" unary | atom
    atom     := "(" expr ")" | quantity "of" target | IDENTIFIER
    quantity := INTEGER | "all" | "any"
    target   := "them" | PATTERN          (PATTERN: an identifier with `*` wildcards)

`1 of sel_*` holds when at least one selection named like `sel_*` matches, `all of filter_*`
when all of them do, `them` means every selection except those whose name starts with `_`.
Evaluation is vectorised: each identifier stands for a boolean pandas Series.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Callable
from typing import Iterable

_TOKEN = re.compile(r"\s*(?:(?P<paren>[()])|(?P<word>[A-Za-z0-9_*\-.]+))")
_KEYWORDS = {"and", "or", "not", "of", "them", "all", "any"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-.]*$")
_PATTERN = re.compile(r"^[A-Za-z0-9_*\-.]+$")


class ConditionError(ValueError):
    """A condition that does not parse; `column` is 1-based within the condition string."""

    def __init__(self, message: str, column: int):
        super().__init__(f"{message} (column {column})")
        self.column = column


@dataclass(frozen=True)
class Identifier:
    name: str


@dataclass(frozen=True)
class Quantified:
    quantity: int | None  # None: all
    target: str  # "them" or a pattern

    def names(self, available: Iterable[str]) -> list[str]:
        if self.target == "them":
            return sorted(n for n in available if not n.startswith("_"))
        return sorted(n for n in available if fnmatch.fnmatchcase(n, self.target))


@dataclass(frozen=True)
class Not:
    operand: "Node"


@dataclass(frozen=True)
class And:
    operands: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    operands: tuple["Node", ...]


Node = Identifier | Quantified | Not | And | Or


def _tokenize(text: str) -> list[tuple[str, int]]:
    tokens: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            offending = text[pos:].lstrip()[:1]
            column = len(text) - len(text[pos:].lstrip()) + 1
            raise ConditionError(f"unexpected character {offending!r}", column)
        token = match.group("paren") or match.group("word")
        tokens.append((token, match.start(match.lastgroup) + 1))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0].lower() if self.pos < len(self.tokens) else None

    def column(self) -> int:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else len(self.text) + 1

    def take(self) -> tuple[str, int]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise ConditionError("empty condition", 1)
        node = self.expr()
        if self.pos < len(self.tokens):
            token, column = self.tokens[self.pos]
            raise ConditionError(f"unexpected {token!r}", column)
        return node

    def expr(self) -> Node:
        operands = [self.and_expr()]
        while self.peek() == "or":
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.unary()]
        while self.peek() == "and":
            self.take()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Node:
        if self.peek() == "not":
            self.take()
            return Not(self.unary())
        return self.atom()

    def atom(self) -> Node:
        if self.pos >= len(self.tokens):
            raise ConditionError("expected a selection name, '(' or 'not'", self.column())
        token, column = self.take()
        lowered = token.lower()
        if token == "(":
            node = self.expr()
            if self.peek() != ")":
                raise ConditionError("missing ')'", self.column())
            self.take()
            return node
        if token == ")":
            raise ConditionError("unexpected ')'", column)
        if self.peek() == "of":
            if lowered in ("all",):
                quantity = None
            elif lowered == "any":
                quantity = 1
            elif lowered.isdigit() and int(lowered) > 0:
                quantity = int(lowered)
            else:
                raise ConditionError(f"expected a number, 'all' or 'any' before 'of', got {token!r}", column)
            self.take()
            if self.pos >= len(self.tokens):
                raise ConditionError("expected 'them' or a name pattern after 'of'", self.column())
            target, target_column = self.take()
            if target.lower() == "them":
                return Quantified(quantity, "them")
            if target.lower() in _KEYWORDS or not _PATTERN.match(target) or target in "()":
                raise ConditionError(f"expected 'them' or a name pattern after 'of', got {target!r}", target_column)
            return Quantified(quantity, target)
        if lowered in _KEYWORDS:
            raise ConditionError(f"unexpected {token!r}", column)
        if "*" in token:
            raise ConditionError(f"wildcard {token!r} needs '1 of' or 'all of'", column)
        if not _IDENTIFIER.match(token):
            raise ConditionError(f"invalid selection name {token!r}", column)
        return Identifier(token)


def parse_condition(text: str) -> Node:
    """Parse a condition; raises ConditionError naming the column at fault."""
    if not isinstance(text, str):
        raise ConditionError("the condition must be a string", 1)
    return _Parser(text).parse()


def referenced_problems(node: Node, available: Iterable[str]) -> list[str]:
    """Names that refer to no selection, and patterns that match none."""
    names = set(available)
    problems: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Identifier):
            if n.name not in names:
                problems.append(f"condition refers to unknown selection {n.name!r}")
        elif isinstance(n, Quantified):
            if not n.names(names):
                problems.append(f"condition pattern {n.target!r} matches no selection")
        elif isinstance(n, Not):
            walk(n.operand)
        else:
            for operand in n.operands:
                walk(operand)

    walk(node)
    return problems


def evaluate_condition(node: Node, selection_mask: Callable[[str], "object"], available: Iterable[str]):
    """Combine the selections' boolean Series as the condition says.

    `selection_mask(name)` returns the Series for one selection; it is called once per name
    (callers cache), and the result supports `&`, `|` and `~`.
    """
    names = sorted(available)

    def walk(n: Node):
        if isinstance(n, Identifier):
            return selection_mask(n.name)
        if isinstance(n, Not):
            return ~walk(n.operand)
        if isinstance(n, And):
            result = walk(n.operands[0])
            for operand in n.operands[1:]:
                result = result & walk(operand)
            return result
        if isinstance(n, Or):
            result = walk(n.operands[0])
            for operand in n.operands[1:]:
                result = result | walk(operand)
            return result
        members = [selection_mask(name) for name in n.names(names)]
        if n.quantity is None:
            result = members[0]
            for mask in members[1:]:
                result = result & mask
            return result
        if n.quantity == 1:
            result = members[0]
            for mask in members[1:]:
                result = result | mask
            return result
        total = members[0].astype("int64")
        for mask in members[1:]:
            total = total + mask.astype("int64")
        return total >= n.quantity

    return walk(node)
