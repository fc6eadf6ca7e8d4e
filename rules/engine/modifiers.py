"""Field modifiers (`field|contains: x`): a registry dict from YAML name to implementation.

Each operator turns a column into a boolean mask, vectorised. Semantics follow Sigma:

- no modifier: equality (strings case-insensitive), a list of values is ORed, `null` matches missing;
- `contains`, `startswith`, `endswith`: substring tests, case-insensitive unless `cased`;
- `re`: Python regular expression, searched anywhere, case-sensitive (write `(?i)` to ignore case);
- `gt`, `gte`, `lt`, `lte`: numeric comparisons (a missing value never matches);
- `cidr`: the field is an IP address inside one of the networks;
- `exists`: `true` when the field has a value, `false` when it is missing;
- `fieldref`: equal to another field of the same event (e.g. `vendor|fieldref: upload_vendor`);
- flags: `all` (every value must match instead of any), `cased` (case-sensitive strings).

A missing value (NULL) never matches an operator, so `not` over a selection does match it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from typing import Callable

import numpy as np
import pandas as pd

from rules.engine.fields import BOOL
from rules.engine.fields import FLOAT
from rules.engine.fields import INT
from rules.engine.fields import STR
from rules.engine.fields import TIME

FLAGS = frozenset({"all", "cased"})


class Columns:
    """Column access for one frame, caching the lowered form of string columns (a rule set reuses
    the same few string fields many times; lowering a million strings once is enough)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._lowered: dict[str, pd.Series] = {}
        self._codes: dict[str, tuple[np.ndarray, int]] = {}

    def codes(self, name: str) -> tuple[np.ndarray, int]:
        """Dense int codes of a column (missing values get a code of their own), computed once:
        every rule groups by team and vendor, factorizing them once per frame is enough."""
        if name not in self._codes:
            codes, uniques = pd.factorize(self.frame[name], use_na_sentinel=False, sort=False)
            self._codes[name] = (codes.astype("int64"), max(len(uniques), 1))
        return self._codes[name]

    def raw(self, name: str) -> pd.Series:
        return self.frame[name]

    def text(self, name: str, cased: bool) -> pd.Series:
        column = self.frame[name]
        if cased:
            return column.astype("str") if column.dtype != "str" else column
        if name not in self._lowered:
            self._lowered[name] = column.astype("str").str.lower()
        return self._lowered[name]

    def false(self) -> pd.Series:
        return pd.Series(np.zeros(len(self.frame), dtype=bool), index=self.frame.index)


def _bool(mask: pd.Series) -> pd.Series:
    """A clean bool Series: missing values do not match."""
    if mask.dtype == bool:
        return mask
    return mask.fillna(False).astype(bool)


def _present(column: pd.Series) -> pd.Series:
    return column.notna()


@dataclass(frozen=True)
class Modifier:
    """One operator: `check(value, field_kind) -> problem or None`, `mask(columns, field, value, cased)`."""

    name: str
    check: Callable[[Any, str], str | None]
    mask: Callable[[Columns, str, Any, bool], pd.Series]


# -- checks -----------------------------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_equals(value: Any, kind: str) -> str | None:
    if value is None:
        return None
    if kind == BOOL and not isinstance(value, bool):
        return f"expects true or false, got {value!r}"
    if kind in (INT, FLOAT) and not _is_number(value):
        return f"expects a number, got {value!r}"
    if kind == STR and not isinstance(value, (str, int, float)):
        return f"expects a string, got {value!r}"
    if kind == TIME:
        return "time fields cannot be matched for equality"
    return None


def _check_substring(value: Any, kind: str) -> str | None:
    if kind != STR:
        return "applies to string fields only"
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return f"expects a string, got {value!r}"
    return None


def _check_regex(value: Any, kind: str) -> str | None:
    if kind != STR:
        return "applies to string fields only"
    if not isinstance(value, str):
        return f"expects a regular expression string, got {value!r}"
    try:
        re.compile(value)
    except re.error as exc:
        return f"invalid regular expression {value!r}: {exc}"
    return None


def _check_number(value: Any, kind: str) -> str | None:
    if kind not in (INT, FLOAT):
        return "applies to numeric fields only"
    if not _is_number(value):
        return f"expects a number, got {value!r}"
    return None


def _check_cidr(value: Any, kind: str) -> str | None:
    if kind != STR:
        return "applies to string fields only"
    try:
        ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return f"invalid network {value!r}"
    return None


def _check_exists(value: Any, kind: str) -> str | None:
    return None if isinstance(value, bool) else f"expects true or false, got {value!r}"


def _check_fieldref(value: Any, kind: str) -> str | None:
    # whether the referenced field exists is checked by the collection, which knows the logsource
    return None if isinstance(value, str) else f"expects a field name, got {value!r}"


# -- masks ------------------------------------------------------------------------------------

def _mask_equals(columns: Columns, field: str, value: Any, cased: bool) -> pd.Series:
    column = columns.raw(field)
    if value is None:
        return column.isna()
    if isinstance(value, bool):
        return _bool(column.astype("boolean") == value) if column.dtype != bool else column == value
    if _is_number(value) and column.dtype.kind in "iufb":
        return _bool(column == value)
    target = str(value) if cased else str(value).lower()
    return _bool(columns.text(field, cased) == target) & _present(column)


def _substring(method: str) -> Callable[[Columns, str, Any, bool], pd.Series]:
    def mask(columns: Columns, field: str, value: Any, cased: bool) -> pd.Series:
        column = columns.text(field, cased)
        target = str(value) if cased else str(value).lower()
        if method == "contains":
            result = column.str.contains(target, regex=False)
        elif method == "startswith":
            result = column.str.startswith(target)
        else:
            result = column.str.endswith(target)
        return _bool(result) & _present(columns.raw(field))

    return mask


def _over_distinct(column: pd.Series, test: Callable[[Any], bool]) -> pd.Series:
    """Apply a Python test once per distinct value and spread the answer to every row: a proxy
    sees a million calls but few distinct models, addresses or paths. Missing values: False."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    answers = np.zeros(len(uniques) + 1, dtype=bool)  # the last slot answers code -1 (missing)
    for i, value in enumerate(uniques):
        answers[i] = test(value)
    return pd.Series(answers[codes], index=column.index)


def _mask_regex(columns: Columns, field: str, value: Any, cased: bool) -> pd.Series:
    # Python's `re` on purpose (Arrow's RE2 lacks lookaround): the linter checks the same syntax
    pattern = re.compile(value)
    return _over_distinct(columns.raw(field), lambda text: pattern.search(str(text)) is not None)


def _compare(op: str) -> Callable[[Columns, str, Any, bool], pd.Series]:
    def mask(columns: Columns, field: str, value: Any, cased: bool) -> pd.Series:
        column = pd.to_numeric(columns.raw(field), errors="coerce")
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            if op == "gt":
                result = values > value
            elif op == "gte":
                result = values >= value
            elif op == "lt":
                result = values < value
            else:
                result = values <= value
        return pd.Series(result, index=column.index)

    return mask


def _mask_cidr(columns: Columns, field: str, value: Any, cased: bool) -> pd.Series:
    network = ipaddress.ip_network(str(value), strict=False)

    def inside(address: Any) -> bool:
        try:
            return ipaddress.ip_address(str(address).strip()) in network
        except ValueError:
            return False

    return _over_distinct(columns.raw(field), inside)


def _mask_exists(columns: Columns, field: str, value: Any, cased: bool) -> pd.Series:
    present = _present(columns.raw(field))
    return present if value else ~present


def _mask_fieldref(columns: Columns, field: str, value: Any, cased: bool) -> pd.Series:
    left, right = columns.raw(field), columns.raw(value)
    both = _present(left) & _present(right)
    if left.dtype.kind in "iufb" and right.dtype.kind in "iufb":
        return _bool(left == right) & both
    return _bool(columns.text(field, cased) == columns.text(value, cased)) & both


EQUALS = Modifier("equals", _check_equals, _mask_equals)

MODIFIERS: dict[str, Modifier] = {
    "contains": Modifier("contains", _check_substring, _substring("contains")),
    "startswith": Modifier("startswith", _check_substring, _substring("startswith")),
    "endswith": Modifier("endswith", _check_substring, _substring("endswith")),
    "re": Modifier("re", _check_regex, _mask_regex),
    "gt": Modifier("gt", _check_number, _compare("gt")),
    "gte": Modifier("gte", _check_number, _compare("gte")),
    "lt": Modifier("lt", _check_number, _compare("lt")),
    "lte": Modifier("lte", _check_number, _compare("lte")),
    "cidr": Modifier("cidr", _check_cidr, _mask_cidr),
    "exists": Modifier("exists", _check_exists, _mask_exists),
    "fieldref": Modifier("fieldref", _check_fieldref, _mask_fieldref),
}


def split_modifiers(modifiers: tuple[str, ...]) -> tuple[Modifier, set[str], list[str]]:
    """(the operator, the flags, problems) for a `field|a|b` key."""
    problems: list[str] = []
    flags: set[str] = set()
    operators: list[Modifier] = []
    for name in modifiers:
        if name in FLAGS:
            flags.add(name)
        elif name in MODIFIERS:
            operators.append(MODIFIERS[name])
        else:
            known = ", ".join(sorted(MODIFIERS) + sorted(FLAGS))
            problems.append(f"unknown modifier {name!r} (known: {known})")
    if len(operators) > 1:
        problems.append("at most one of " + ", ".join(m.name for m in operators) + " per field")
    return (operators[0] if operators else EQUALS), flags, problems


def match_mask(columns: Columns, field: str, modifiers: tuple[str, ...], values: tuple[Any, ...]) -> pd.Series:
    """The mask of one `field|modifiers: values` entry."""
    operator, flags, _ = split_modifiers(modifiers)
    cased = "cased" in flags
    if not values:
        return columns.false()
    result = None
    for value in values:
        mask = operator.mask(columns, field, value, cased)
        if result is None:
            result = mask
        elif "all" in flags:
            result = result & mask
        else:
            result = result | mask
    return result
