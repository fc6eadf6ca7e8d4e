"""What a rule is once loaded: dataclasses and ordered enums, independent of YAML and pandas.

A rule (Sigma-like) names a log source, a detection (named selections combined by a condition)
and an aggregation over fixed windows (`correlation`). Problems found while loading carry the
file and line they come from, so both the linter and the runtime loader can name them.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any


@functools.total_ordering
class _OrderedEnum(enum.Enum):
    """Enum members compare by declaration order, so `level >= Level.HIGH` reads naturally."""

    def __lt__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        members = list(type(self))
        return members.index(self) < members.index(other)


class Level(_OrderedEnum):
    """How much a hit matters on its own (Sigma semantics).

    informational: context only, never an alert; low: worth a look in the weekly report;
    medium: the team lead should explain it; high: compliance should follow up this week;
    critical: a likely breach of a vendor's terms, act now.
    """

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Status(_OrderedEnum):
    """Maturity. New rules start `experimental`; `test` and `stable` must prove themselves with
    fixtures; `deprecated` rules are loaded (so overrides naming them still resolve) but not run."""

    DEPRECATED = "deprecated"
    EXPERIMENTAL = "experimental"
    TEST = "test"
    STABLE = "stable"


class Stance(enum.Enum):
    """A vendor's terms on using its outputs to train models (rules/terms.yaml)."""

    PROHIBITS = "prohibits"
    UNKNOWN = "unknown"
    RESTRICTS = "restricts"
    PERMITS = "permits"


class Logsource(enum.Enum):
    """The event streams a rule can read (see rules.engine.fields for their columns)."""

    CALLS = "calls"
    OUTPUTS = "outputs"
    UPLOADS = "uploads"
    REUSE_FINDINGS = "reuse_findings"


class CorrelationType(enum.Enum):
    EVENT_COUNT = "event_count"  # matching events per group and window
    VALUE_COUNT = "value_count"  # distinct values of `field` per group and window
    VALUE_SUM = "value_sum"  # sum of `field` per group and window


@dataclass(frozen=True)
class Location:
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rule file; `str()` is the `path:line: message` the CLI prints."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class RuleError(ValueError):
    """Raised by the runtime loader on the first problem, with the linter's exact wording."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class FieldMatch:
    """`field|mod1|mod2: values` — one key of a selection map. Values are ORed unless `all`."""

    field: str
    modifiers: tuple[str, ...]
    values: tuple[Any, ...]
    line: int = 0


@dataclass(frozen=True)
class Selection:
    """A named search identifier: a list of alternatives (OR), each a map of matches (AND)."""

    name: str
    alternatives: tuple[tuple[FieldMatch, ...], ...]


@dataclass(frozen=True)
class Detection:
    selections: dict[str, Selection]
    condition: str
    condition_ast: Any  # rules.engine.conditions.Node


@dataclass(frozen=True)
class Baseline:
    """Compare a window with the same group's own history: `statistic` of the per-window value
    over the `windows` windows just before it (windows without events count as 0)."""

    windows: int
    statistic: str = "median"  # median | mean | max


@dataclass(frozen=True)
class Threshold:
    """The correlation condition. Plain bounds (`gt`, `gte`, `lt`, `lte`, `eq`, `neq`) compare the
    window value; with a baseline, `gt: {factor, floor}` means value > max(factor * baseline, floor)."""

    bounds: dict[str, float]
    factor: float | None = None
    floor: float | None = None


@dataclass(frozen=True)
class Correlation:
    type: CorrelationType
    group_by: tuple[str, ...]
    timespan_s: int
    timespan: str
    threshold: Threshold
    field: str | None = None
    baseline: Baseline | None = None
    min_events: int = 0  # a floor on matching events, whatever the type (e.g. value_count)


@dataclass(frozen=True)
class Fixtures:
    positive: Path | None
    negative: Path | None


@dataclass
class Rule:
    title: str
    id: str
    name: str
    status: Status
    level: Level
    description: str
    logsource: Logsource
    detection: Detection
    correlation: Correlation
    references: tuple[str, ...] = ()
    falsepositives: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    fixtures: Fixtures = Fixtures(None, None)
    # False for rules about our own hygiene (unattributed traffic): no vendor clause is at stake.
    weigh_by_stance: bool = True
    location: Location | None = None
    # set by site overrides
    disabled: bool = False
    exclude_teams: tuple[str, ...] = ()
    overridden_by: list[Location] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return not self.disabled and self.status is not Status.DEPRECATED


@dataclass(frozen=True)
class Override:
    """A site document `override: {rule, disabled?, level?, exclude_teams?}` (see collection.py)."""

    rule: str  # id or name
    disabled: bool | None
    level: Level | None
    exclude_teams: tuple[str, ...]
    location: Location
