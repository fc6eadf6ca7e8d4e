"""The fingerprint index of captured outputs, kept in step with the store.

The store is the system of record (one row per output with its fingerprint BLOB); the index is a
local, memory-mapped copy for fast lookups that any scanner rebuilds or extends from the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
LOOKBACK = 50_000  # ids below the highest indexed one that are checked for late commits


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
                break
            added += self.index.add(self._entries(rows))
        # Late arrivals: with several proxies writing to one PostgreSQL, ids come from a sequence
        # when a transaction starts inserting, not when it commits, so an output can become
        # visible after a higher id was already indexed. The watermark query above never looks
        # below max_output_id again, so the recent id range is checked for outputs the index
        # lacks. A transaction stays open seconds at most; LOOKBACK ids cover that at any
        # realistic capture rate while keeping this one cheap id-only query.
        top = self.index.max_output_id
        with self.store.session() as s:
            recent = s.scalars(
                select(Output.id)
                .where(Output.kind == "generated", Output.id <= top, Output.id > top - LOOKBACK)
            ).all()
        recent_ids = np.asarray(recent, dtype=np.uint64)
        late = recent_ids[~self.index.contains(recent_ids)].tolist() if len(recent_ids) else []
        for start in range(0, len(late), 1000):  # bound parameters per statement, as in describe()
            with self.store.session() as s:
                rows = s.execute(
                    select(Output.id, Output.fingerprint).where(Output.id.in_(late[start:start + 1000]))
                ).all()
            added += self.index.add(self._entries(rows))
        return added

    @staticmethod
    def _entries(rows) -> list[tuple[int, Fingerprint]]:
        entries = []
        for output_id, blob in rows:
            try:
                entries.append((output_id, Fingerprint.from_blob(blob)))
            except ValueError as e:
                # indexed as an empty text, so the watermark moves past it and the rest is indexed
                log.error("aiaudit: output %s has an unreadable fingerprint (%s); it cannot match", output_id, e)
                entries.append((output_id, fingerprint("")))
        return entries

    def indexed(self) -> int:
        return len(self.index)

    def stored(self) -> int:
        with self.store.session() as s:
            return s.scalar(select(func.count()).select_from(Output).where(Output.kind == "generated")) or 0

    @property
    def version(self) -> int:
        """Changes whenever outputs are added: a file scanned at another version is scanned again.

        The highest id alone would miss outputs that committed late below it (see sync), so the
        number of outputs indexed is folded in; the id keeps two states apart that hold equally
        many outputs (an index rebuilt after pruning). Fits a signed 64-bit column up to id 2^39.
        """
        return (self.index.max_output_id << 24) | (len(self.index) & 0xFFFFFF)

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
