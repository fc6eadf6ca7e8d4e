"""One dataset record's matches as a reuse finding row: the shape both the scanner and upload
matching store (docs/architecture.md, "Scan fields").

It lives with reuse detection, not the scanner, because uploads are matched here too and the
import contracts keep `agent.reuse` below the scanner. A record is anything with its 1-based
`number` and the `sha256` of its raw bytes (the scanner's `Record` computes it on first use, so
only records that become findings are hashed).
"""

from __future__ import annotations

from typing import Protocol

from agent.reuse.matching import OutputMatch
from agent.reuse.roles import role_of_fields

CLASS_STRENGTH = ["edited", "embedded", "excerpt", "truncated", "reformatted", "exact"]
TIER_STRENGTH = ["short", "similar", "near-verbatim", "verbatim"]


class FoundRecord(Protocol):
    @property
    def number(self) -> int: ...

    @property
    def sha256(self) -> str: ...


def finding_row(path: str, record: FoundRecord, matches: list[OutputMatch], infos: dict) -> dict | None:
    """One record's matches as a reuse finding (docs/architecture.md, scan fields), or None if every matched
    output has been pruned from the store since it was indexed."""
    known = [m for m in matches if m.output_id in infos]
    if not known:
        return None
    calls = sorted({infos[m.output_id].call_id for m in known})
    strongest = max(known, key=lambda m: CLASS_STRENGTH.index(m.reuse_class) if m.reuse_class in CLASS_STRENGTH else -1)
    return {
        "path": path,
        "record": record.number,
        "record_sha256": record.sha256,
        "call_ids": calls,
        "output_ids": sorted(m.output_id for m in known),
        "vendors": sorted({infos[m.output_id].vendor for m in known}),
        "teams": sorted({infos[m.output_id].team for m in known}),
        "output_coverage": round(max(m.output_coverage for m in known), 4),
        "record_coverage": round(min(1.0, sum(m.record_coverage for m in known)), 4),
        "matched_words": int(sum(m.matched_words for m in known)),
        "longest_run": int(max(m.longest_run for m in known)),
        "reuse_class": "multiple" if len(known) > 1 else strongest.reuse_class,
        "fields": list(dict.fromkeys(str(f) for m in known for f in m.fields)),
        "role": role_of_fields([f for m in known for f in m.fields]),
        "tier": max((m.tier for m in known), key=lambda t: TIER_STRENGTH.index(t) if t in TIER_STRENGTH else -1),
    }
