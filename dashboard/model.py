"""The report model: everything a weekly report shows, as plain data.

`dashboard.build` fills it from the store, `dashboard.render` turns it into HTML, JSON and CSV.
Lists are already in display order (worst first, then by name), so rendering never sorts and
the same data always gives the same files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from dashboard.weeks import IsoWeek
from rules.engine.details import AggregateDetails
from rules.engine.details import Details
from rules.engine.details import details_of

SEVERITIES = ("critical", "high", "medium", "low", "informational")  # worst first


def team_slug(team: str) -> str:
    """A file name for a team page that is safe for any team name: lowercase ASCII letters,
    digits and dashes, plus a short hash of the exact name so that names differing only in
    punctuation or case never share a page."""
    readable = re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-")[:40].strip("-") or "team"
    digest = hashlib.sha256(team.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{readable}-{digest}"


def iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Remediation:
    headline: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class EvidenceItem:
    """One stored evidence row; `detail` is the engine's typed details of it, read back from the
    stored JSON (rules/engine/details.py)."""

    kind: str  # aggregate | call | reuse | upload | anything a later engine adds
    ref: str | None
    detail: Details

    @classmethod
    def stored(cls, kind: str, ref: str | None, data: Any) -> EvidenceItem:
        return cls(kind, ref, details_of(kind, data))


@dataclass
class FindingView:
    id: str
    rule_id: str
    rule_name: str
    title: str
    severity: str
    score: float
    team: str
    team_slug: str
    vendor: str | None
    window_start: dt.datetime
    window_end: dt.datetime
    count: int
    value: float | None
    stance: str | None
    clause: str | None
    clause_reviewed: str | None
    group: dict[str, Any]
    remediation: Remediation
    evidence: list[EvidenceItem] = field(default_factory=list)

    def evidence_of(self, kind: str) -> list[EvidenceItem]:
        return [e for e in self.evidence if e.kind == kind]

    @property
    def aggregate(self) -> AggregateDetails | None:
        rows = [e.detail for e in self.evidence_of("aggregate") if isinstance(e.detail, AggregateDetails)]
        return rows[0] if rows else None

    @property
    def terms(self) -> dict[str, Any]:
        """How the clause was read (document, section, version, confidence), as recorded with the
        finding when it was evaluated; empty for findings stored before confidence was kept."""
        detail = self.aggregate or AggregateDetails()
        return {key: detail.lookup(f"terms_{key}") or "" for key in ("confidence", "document", "section", "version", "url")}

    @property
    def other_evidence(self) -> list[EvidenceItem]:
        return [e for e in self.evidence if e.kind not in ("aggregate", "call", "reuse", "upload")]

    @property
    def group_extra(self) -> list[tuple[str, Any]]:
        """Group values besides team and vendor (template signature, upload vendor ...)."""
        return [(k, v) for k, v in sorted(self.group.items()) if k not in ("team", "vendor")]


@dataclass(frozen=True)
class Usage:
    """Calls and output volume of one vendor (model None) or one vendor's model."""

    vendor: str
    model: str | None
    calls: int
    outputs: int
    output_tokens: int
    output_chars: int


@dataclass(frozen=True)
class DatasetReuse:
    """Dataset files (or uploads) whose records reuse a team's captured outputs this week."""

    source: str  # dataset | upload
    path: str
    records: int
    vendors: tuple[str, ...]
    matched_words: int
    mean_output_coverage: float
    max_record_coverage: float


@dataclass(frozen=True)
class WeekPoint:
    """One week of the trend: the report's week and the weeks before it."""

    week: str
    calls: int
    output_tokens: int
    findings: dict[str, int]  # severity -> findings stored for that week
    risk_score: float | None = None  # team pages only


@dataclass(frozen=True)
class DayPoint:
    day: dt.date
    calls: int
    outputs: int


@dataclass
class TeamReport:
    team: str
    slug: str
    rank: int
    risk_level: str
    risk_score: float
    calls: int
    outputs: int
    output_tokens: int
    output_chars: int
    vendors: list[Usage]
    models: list[Usage]
    findings: list[FindingView]
    datasets: list[DatasetReuse]
    history: list[WeekPoint]
    days: list[DayPoint]

    @property
    def top_finding(self) -> FindingView | None:
        return self.findings[0] if self.findings else None

    def findings_by_severity(self) -> dict[str, int]:
        counts = {s: 0 for s in SEVERITIES}
        for f in self.findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        return counts


@dataclass(frozen=True)
class VendorExposure:
    vendor: str
    name: str
    calls: int
    outputs: int
    output_tokens: int
    teams: tuple[str, ...]
    findings: int
    stance: str  # prohibits | restricts | permits | unknown
    scope: str
    clause: str
    clause_reviewed: str
    terms_source: str
    terms_url: str
    terms_document: str
    terms_section: str = ""
    terms_version: str = ""
    confidence: str = ""  # primary | secondary | not-found: how the clause was read


@dataclass
class ReportModel:
    week: IsoWeek
    generated_at: dt.datetime
    complete: bool  # False when the week had not ended when the report was built
    teams: list[TeamReport]
    vendors: list[VendorExposure]
    findings: list[FindingView]  # every finding of the week, worst first
    history: list[WeekPoint]  # oldest first, this week last
    days: list[DayPoint]
    calls: int
    outputs: int
    output_tokens: int
    # the evidence chain head this report publishes (rules.engine.anchor.published_head)
    chain: dict[str, Any] | None = None

    @property
    def period_start(self) -> dt.datetime:
        return self.week.start

    @property
    def period_end(self) -> dt.datetime:
        return self.week.end

    def findings_by_severity(self) -> dict[str, int]:
        counts = {s: 0 for s in SEVERITIES}
        for f in self.findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        return counts

    def top_findings(self, n: int = 10) -> list[FindingView]:
        return self.findings[:n]

    def to_json(self) -> dict[str, Any]:
        """report.json (the contract in docs/architecture.md; extend only)."""
        return {
            "week": self.week.label,
            "period": {"start": iso(self.period_start), "end": iso(self.period_end)},
            "generated_at": iso(self.generated_at),
            "teams": [
                {
                    "team": t.team,
                    "risk_level": t.risk_level,
                    "risk_score": t.risk_score,
                    "calls": t.calls,
                    "output_tokens": t.output_tokens,
                    "vendors": {u.vendor: {"calls": u.calls, "output_tokens": u.output_tokens} for u in t.vendors},
                    "findings": [
                        {"rule_id": f.rule_id, "severity": f.severity, "vendor": f.vendor, "count": f.count,
                         "title": f.title}
                        for f in t.findings
                    ],
                }
                for t in self.teams
            ],
            "findings": [finding_json(f) for f in self.findings],
            **({"chain": self.chain} if self.chain is not None else {}),
        }


def finding_json(f: FindingView) -> dict[str, Any]:
    return {
        "id": f.id,
        "rule_id": f.rule_id,
        "rule_name": f.rule_name,
        "title": f.title,
        "severity": f.severity,
        "score": f.score,
        "team": f.team,
        "vendor": f.vendor,
        "window_start": iso(f.window_start),
        "window_end": iso(f.window_end),
        "count": f.count,
        "value": f.value,
        "stance": f.stance,
        "clause": f.clause,
        "clause_reviewed": f.clause_reviewed,
        "clause_confidence": f.terms["confidence"] or None,
        "clause_source": {k: v for k, v in f.terms.items() if k != "confidence" and v} or None,
        "group": f.group,
        "remediation": {"headline": f.remediation.headline, "steps": list(f.remediation.steps)},
        "evidence": [{"kind": e.kind, "ref": e.ref, "detail": e.detail.to_json()} for e in f.evidence],
    }
