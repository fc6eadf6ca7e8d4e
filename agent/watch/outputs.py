"""The fingerprint index of captured outputs, kept in step with the store.

The store is the system of record (one row per output with its fingerprint BLOB); the index is a
local, memory-mapped copy for fast lookups that any scanner rebuilds or extends from the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select

from agent.fingerprint import Fingerprint
from agent.fingerprint import fingerprint
from agent.fingerprint.index import OutputIndex
from agent.fingerprint.matching import ReuseDetector
from agent.store.engine import Store
from agent.store.models import Call
from agent.store.models import Output

log = logging.getLogger(__name__)

SYNC_BATCH = 5000


@dataclass(frozen=True, slots=True)
class OutputInfo:
    output_id: int
    call_id: str
    vendor: str
    team: str


class OutputCatalog:
    def __init__(self, store: Store, index_dir: Path) -> None:
        self.store = store
        self.index_dir = Path(index_dir)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.index = OutputIndex.open(self.index_dir)
        self._info: dict[int, OutputInfo] = {}

    def sync(self) -> int:
        """Index generated outputs stored since the last sync; returns how many were added."""
        added = 0
        while True:
            with self.store.session() as s:
                rows = s.execute(
                    select(Output.id, Output.fingerprint)
                    .where(Output.kind == "generated", Output.id > self.index.max_output_id)
                    .order_by(Output.id)
                    .limit(SYNC_BATCH)
                ).all()
            if not rows:
                return added
            entries = []
            for output_id, blob in rows:
                try:
                    entries.append((output_id, Fingerprint.from_blob(blob)))
                except ValueError as e:
                    # indexed as an empty text, so the watermark moves past it and the rest is indexed
                    log.error("aiaudit: output %s has an unreadable fingerprint (%s); it cannot match", output_id, e)
                    entries.append((output_id, fingerprint("")))
            added += self.index.add(entries)

    def indexed(self) -> int:
        return len(self.index)

    def stored(self) -> int:
        with self.store.session() as s:
            return s.scalar(select(func.count()).select_from(Output).where(Output.kind == "generated")) or 0

    @property
    def version(self) -> int:
        """Changes whenever outputs are added: a file scanned at another version is scanned again."""
        return self.index.max_output_id

    def detector(self) -> ReuseDetector:
        return ReuseDetector(self.index)

    def describe(self, output_ids: set[int]) -> dict[int, OutputInfo]:
        """Which call, vendor and team produced each output (outputs pruned since are absent)."""
        missing = [i for i in output_ids if i not in self._info]
        for start in range(0, len(missing), 1000):
            chunk = missing[start : start + 1000]
            with self.store.session() as s:
                rows = s.execute(
                    select(Output.id, Output.call_id, Call.vendor, Call.team)
                    .join(Call, Call.id == Output.call_id)
                    .where(Output.id.in_(chunk))
                ).all()
            for output_id, call_id, vendor, team in rows:
                self._info[output_id] = OutputInfo(output_id, call_id, vendor, team)
        return {i: self._info[i] for i in output_ids if i in self._info}
