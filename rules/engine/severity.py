"""How bad a finding is, and how much risk a team carries.

Finding score (0–100) = the rule level's base score x the weight of the vendor's stance on
training with outputs, plus a small bonus for how far the value went past its threshold:

    level:   informational 10, low 30, medium 50, high 70, critical 90
    stance:  prohibits 1.0, unknown 0.75, restricts 0.55, permits 0.3, pulled towards unknown
             by how the clause was seen (terms.stance_weight): a secondary quote moves it 80 %
             of the way from unknown, a text not found not at all
    excess:  up to +9 (log2 of value / threshold), never enough to cross a whole level alone

so the same reuse of outputs rates lower from a vendor whose terms permit training than from one
that prohibits it, and `unknown` (not confirmed either way) sits between. Rules about our own
hygiene (`weigh_by_stance: false`, e.g. unattributed traffic) keep their level's score.
The severity label is the score's band: >= 80 critical, >= 60 high, >= 40 medium, >= 20 low,
else informational.

Team risk (0–100) combines the team's findings so the worst one dominates and further ones add
with decreasing weight (a noisy-OR where the k-th worst finding counts 0.25^(k-1)): one high
finding keeps a team high, several push it towards critical. Informational findings (score
< 20) are context, listed with the team but not counted — Sigma's "enrichment, no alerting" — so
a team that only fine-tunes a vendor's model in the normal way stays at none.
Risk level: 0 none, < 40 low, < 60 medium, < 80 high, else critical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Iterable

import pandas as pd

from rules.engine.model import Level
from rules.engine.model import Stance
from rules.engine.terms import stance_weight

LEVEL_SCORE: dict[Level, float] = {
    Level.INFORMATIONAL: 10.0,
    Level.LOW: 30.0,
    Level.MEDIUM: 50.0,
    Level.HIGH: 70.0,
    Level.CRITICAL: 90.0,
}
EXCESS_BONUS_MAX = 9.0
RANK_DAMPING = 0.25
INFORMATIONAL_BELOW = 20.0


def finding_score(level: Level, stance: Stance | None, weigh_by_stance: bool = True,
                  value: float | None = None, threshold: float | None = None,
                  confidence: str | None = None) -> float:
    """`confidence` (primary | secondary | not-found) of the clause behind `stance`; None
    weighs the stance as if read first-hand."""
    weight = stance_weight(stance, confidence) if weigh_by_stance else 1.0
    score = LEVEL_SCORE[level] * weight
    if value is not None and threshold and threshold > 0 and value > threshold and math.isfinite(value):
        score += min(EXCESS_BONUS_MAX, 3.0 * math.log2(value / threshold))
    return round(min(score, 100.0), 2)


def severity_of(score: float) -> Level:
    if score >= 80:
        return Level.CRITICAL
    if score >= 60:
        return Level.HIGH
    if score >= 40:
        return Level.MEDIUM
    if score >= 20:
        return Level.LOW
    return Level.INFORMATIONAL


def risk_level(score: float) -> str:
    if score <= 0:
        return "none"
    if score < 40:
        return "low"
    if score < 60:
        return "medium"
    if score < 80:
        return "high"
    return "critical"


def combine(scores: Iterable[float]) -> float:
    """Noisy-OR of finding scores, worst first, each later one damped by rank; informational
    scores (< 20) do not count."""
    remaining = 1.0
    for rank, score in enumerate(sorted((s for s in scores if s >= INFORMATIONAL_BELOW), reverse=True)):
        remaining *= 1.0 - (score / 100.0) * (RANK_DAMPING ** rank)
    return round(100.0 * (1.0 - remaining), 1)


@dataclass(frozen=True)
class RiskFinding:
    """One finding as it explains a team's risk."""

    finding_id: str | None
    rule_id: str
    rule_name: str
    title: str
    severity: str
    score: float
    vendor: str | None
    stance: str | None
    clause: str | None
    clause_reviewed: str | None
    window_start: Any
    count: int


@dataclass
class TeamRisk:
    team: str
    score: float
    level: str
    findings: list[RiskFinding] = field(default_factory=list)  # worst first

    @property
    def clauses(self) -> list[str]:
        """The distinct vendor clauses the team's findings touch, worst finding first."""
        return list(dict.fromkeys(f.clause for f in self.findings if f.clause))


def _records(findings: Any) -> list[dict]:
    if isinstance(findings, pd.DataFrame):
        return findings.to_dict("records")
    records = []
    for item in findings:
        if isinstance(item, dict):
            records.append(item)
        else:  # an ORM Finding, or any object with the same attributes
            records.append({k: getattr(item, k, None) for k in (
                "id", "rule_id", "rule_name", "title", "severity", "score", "team", "vendor", "stance",
                "clause", "clause_reviewed", "window_start", "count")})
    return records


def team_risk(findings: Any, teams: Iterable[str] = ()) -> list[TeamRisk]:
    """Risk per team from findings (a DataFrame of the `findings` table, or a list of ORM rows or
    dicts with its columns), highest risk first; `teams` adds teams without findings at `none`."""
    by_team: dict[str, list[RiskFinding]] = {team: [] for team in teams}
    for record in _records(findings):
        team = record.get("team") or "unattributed"
        count = record.get("count")
        by_team.setdefault(team, []).append(RiskFinding(
            finding_id=record.get("id"), rule_id=record.get("rule_id", ""), rule_name=record.get("rule_name", ""),
            title=record.get("title", ""), severity=record.get("severity", ""),
            score=float(record.get("score") or 0.0), vendor=record.get("vendor"), stance=record.get("stance"),
            clause=record.get("clause"), clause_reviewed=record.get("clause_reviewed"),
            window_start=record.get("window_start"), count=int(count) if count is not None and count == count else 1,
        ))
    result = []
    for team, items in by_team.items():
        items.sort(key=lambda f: (-f.score, str(f.rule_name), str(f.window_start)))
        score = combine(f.score for f in items)
        result.append(TeamRisk(team=team, score=score, level=risk_level(score), findings=items))
    result.sort(key=lambda r: (-r.score, r.team))
    return result
