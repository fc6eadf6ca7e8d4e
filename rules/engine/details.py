"""The details of one evidence row, typed: what the engine records, what the report shows.

The engine builds these (drafts.py), the store keeps them as JSON in `evidence.detail`, and the
report reads them back (dashboard/build.py) and shows their attributes. The JSON is part of the
evidence chain (agent/store/chain.py) and of `evidence export` bundles, so it must not change
shape: `from_json(...).to_json()` gives back exactly the keys and values it was given, a null
kept as null and an absent key kept absent, in the same order. Keys this engine does not name
(a rule's own fields, group keys, what a later engine adds) are kept in `extra`.

The attribute types are what this engine writes; a stored value of another type (an older row,
a hand-edited store) is read as it is, never refused: the report's filters show any value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import ClassVar
from typing import TypeVar

D = TypeVar("D", bound="Details")


@dataclass(frozen=True, kw_only=True)
class Details:
    """Base of every kind: the keys it does not name, and the order the keys were recorded in."""

    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    recorded: tuple[str, ...] = ()  # every key of the JSON, in order (named ones and extra ones)

    NAMED: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        own = {f for f in cls.__dict__.get("__annotations__", {}) if not f.isupper()}
        cls.NAMED = frozenset(getattr(cls, "NAMED", frozenset()) | own)

    @classmethod
    def from_json(cls: type[D], data: Mapping[str, Any]) -> D:
        named = {k: v for k, v in data.items() if k in cls.NAMED}
        extra = {k: v for k, v in data.items() if k not in cls.NAMED}
        return cls(**named, extra=extra, recorded=tuple(data))

    def to_json(self) -> dict[str, Any]:
        return {key: self.lookup(key) for key in self.recorded}

    def names(self) -> tuple[str, ...]:
        """The keys recorded, named or not."""
        return self.recorded

    def lookup(self, name: str) -> Any:
        """A key's value, named or extra; None when it was not recorded."""
        if name in self.NAMED:
            return getattr(self, name)
        return self.extra.get(name)

    def with_values(self: D, **values: Any) -> D:
        """These keys set (added after the recorded ones when new)."""
        return type(self).from_json({**self.to_json(), **values})

    def under(self: D, defaults: Mapping[str, Any]) -> D:
        """`defaults` completed by these details: a key recorded here wins (recorded order:
        the defaults' keys first, as the engine has always merged them)."""
        return type(self).from_json({**defaults, **self.to_json()})


@dataclass(frozen=True, kw_only=True)
class AggregateDetails(Details):
    """The firing window of a correlation, with the full counts and the terms behind the
    severity: one per finding."""

    rule: str | None = None
    correlation: str | None = None  # event_count | value_count | value_sum
    field: str | None = None  # the field counted or summed
    group: dict[str, Any] | None = None
    window_start: str | None = None  # ISO 8601, UTC
    window_end: str | None = None
    timespan: str | None = None
    window_complete: bool | None = None  # False: the window was still open when evaluated
    value: float | None = None
    events: int | None = None
    threshold: float | None = None
    condition: str | None = None  # the threshold as the rule states it
    baseline: float | None = None
    baseline_windows: int | None = None
    models: list[str] | None = None
    events_listed: int | None = None
    references: list[str] | None = None
    weigh_by_stance: bool | None = None
    sources: list[dict[str, Any]] | None = None  # the terms documents kept with the finding
    # how the vendor's terms were read (rules/engine/terms.py, ResolvedStance.citation)
    stance: str | None = None
    terms_source: str | None = None
    clause: str | None = None
    clause_reviewed: str | None = None
    terms_url: str | None = None
    terms_confidence: str | None = None
    terms_document: str | None = None
    terms_section: str | None = None
    terms_version: str | None = None
    terms_quote: str | None = None
    terms_summary: str | None = None


@dataclass(frozen=True, kw_only=True)
class CallDetails(Details):
    """A call (or an upload call, or a call an output belongs to) listed as an event."""

    ts: str | None = None
    team: str | None = None
    vendor: str | None = None
    model: str | None = None
    endpoint: str | None = None
    kind: str | None = None
    status: int | None = None
    outputs: int | None = None
    completion_tokens: int | None = None
    user: str | None = None
    client_ip: str | None = None
    upload_purpose: str | None = None
    request_bytes: int | None = None
    call_id: str | None = None  # an upload named by a reuse finding; an output's call
    output_id: int | None = None
    word_count: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReuseDetails(Details):
    """A dataset or upload record that reuses captured outputs (a stored reuse finding)."""

    ts: str | None = None
    team: str | None = None
    vendor: str | None = None
    source: str | None = None  # dataset | upload
    path: str | None = None
    record: int | None = None  # 1-based (docs/architecture.md, "Scan fields")
    record_sha256: str | None = None
    spans: list[dict[str, Any]] | None = None  # agent/reuse/spans.py
    output_coverage: float | None = None
    record_coverage: float | None = None
    matched_words: int | None = None
    reuse_class: str | None = None
    tier: str | None = None
    role: str | None = None
    fields: list[str] | None = None
    call_ids: list[str] | None = None  # the first CALL_IDS_CAP
    call_ids_total: int | None = None
    reused_calls: int | None = None
    upload_call_id: str | None = None
    upload_vendor: str | None = None
    upload_purpose: str | None = None


@dataclass(frozen=True, kw_only=True)
class OtherDetails(Details):
    """A kind this engine does not make (a later engine's): every key is extra."""


KINDS: dict[str, type[Details]] = {"aggregate": AggregateDetails, "call": CallDetails, "upload": CallDetails,
                                   "reuse": ReuseDetails}


def details_of(kind: str, data: Mapping[str, Any] | None) -> Details:
    """The stored JSON of an evidence row of `kind` as its typed details; a row whose detail is
    not an object (hand-edited) is read as no details."""
    return KINDS.get(kind, OtherDetails).from_json(data if isinstance(data, Mapping) else {})
