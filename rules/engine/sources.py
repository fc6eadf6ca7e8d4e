"""The rule files and terms catalogue a finding was judged by, kept as they were.

Rule files and rules/terms.yaml change over time; a finding must still be explainable by the
texts in force when it was evaluated. `attach_sources` names each draft's files by SHA-256 in
its aggregate evidence (which the chain covers), and `store_snapshots` keeps the bytes in
`source_snapshots` once per distinct content — so an evidence bundle can carry them and a
verifier can check the bytes against the chained digests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from sqlalchemy import select

from agent.store.models import SourceSnapshot


@dataclass(frozen=True)
class Source:
    kind: str  # rule | terms
    path: str
    sha256: str
    content: bytes

    def reference(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "sha256": self.sha256}


def _read(kind: str, path: Path, cache: dict[Path, Source | None]) -> Source | None:
    if path not in cache:
        try:
            content = path.read_bytes()
        except OSError:  # gone since the rules were loaded: the finding names no snapshot
            cache[path] = None
        else:
            cache[path] = Source(kind, str(path), hashlib.sha256(content).hexdigest(), content)
    return cache[path]


def attach_sources(drafts, rules: Iterable, terms_path: Path | None) -> dict[str, Source]:
    """Record in each draft's aggregate evidence the files behind it (the rule's file, any
    override files, the terms catalogue); returns the sources by digest."""
    cache: dict[Path, Source | None] = {}
    by_rule = {}
    for rule in rules:
        paths = [("rule", loc.path) for loc in [rule.location, *rule.overridden_by] if loc is not None]
        by_rule[rule.id] = paths
    terms = _read("terms", Path(terms_path), cache) if terms_path is not None else None
    used: dict[str, Source] = {}
    for draft in drafts:
        sources = [s for kind, path in dict.fromkeys(by_rule.get(draft.rule_id, []))
                   if (s := _read(kind, Path(path), cache)) is not None]
        if terms is not None:
            sources.append(terms)
        for item in draft.evidence:
            if item.kind == "aggregate":
                item.detail = item.detail.with_values(sources=[s.reference() for s in sources])
        used.update((s.sha256, s) for s in sources)
    return used


def store_snapshots(session, sources: Iterable[Source], now: dt.datetime) -> int:
    """Insert the sources the store does not hold yet; returns how many were new."""
    wanted = {s.sha256: s for s in sources}
    if not wanted:
        return 0
    held = set(session.execute(select(SourceSnapshot.sha256).where(SourceSnapshot.sha256.in_(list(wanted)))).scalars())
    new = [SourceSnapshot(sha256=s.sha256, kind=s.kind, path=s.path, content=s.content, first_used_at=now)
           for digest, s in wanted.items() if digest not in held]
    session.add_all(new)
    return len(new)
