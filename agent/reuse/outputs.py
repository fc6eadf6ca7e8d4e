"""The fingerprint index of captured outputs, kept in step with the store.

The store is the system of record (one row per output with its fingerprint BLOB); the index is a
local, memory-mapped copy for fast lookups that any scanner rebuilds or extends from the store.

The index belongs to one store, in one state. It records the store's identity (id and removal
epoch, agent/store/identity.py) and an anchor: the highest output id it holds with that output's
call id. Before every sync the binding is checked; an index made for another store, before
outputs were removed (prune), or for a state the store no longer has (the anchor's output is
missing or belongs to another call: a backup was restored, or the file was replaced by a copy
that went its own way) is rebuilt from the store, never used. Ids alone could not tell: every
store numbers its outputs from 1, and a restored store reuses the ids it had lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func
from sqlalchemy import select

from agent.config import data_home
from agent.reuse import Fingerprint
from agent.reuse import fingerprint
from agent.reuse.index import BindingChanged
from agent.reuse.index import OutputIndex
from agent.reuse.matching import ReuseDetector
from agent.reuse.scripts import TOKENISER
from agent.reuse.upgrade import is_current
from agent.reuse.upgrade import may_hold_cut_script
from agent.reuse.upgrade import remade
from agent.store.engine import Store
from agent.store.identity import read_identity
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


def default_index_dir(store_id: str) -> Path:
    """scanner.index_dir when it is not set: one index per store, in the data home."""
    return data_home() / "stores" / store_id / "index"


class SyncedOutputIndex:
    def __init__(self, store: Store, index_dir: Path | None = None) -> None:
        """`index_dir` None: the store's own default directory (default_index_dir)."""
        self.store = store
        self.identity = read_identity(store)
        self.index_dir = Path(index_dir) if index_dir is not None else default_index_dir(self.identity.store_id)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.index = OutputIndex.open(self.index_dir)
        self._info: dict[int, OutputInfo] = {}
        self.rebuilds = 0
        self.kept_old_tokeniser = 0  # old-tokeniser fingerprints that could not be remade

    # -- the binding of the index to this store --

    def _store_binding(self) -> dict:
        return {"store_id": self.identity.store_id, "removal_epoch": self.identity.removal_epoch,
                "tokeniser": TOKENISER}

    def _stale(self) -> str | None:
        """Why the index may not be used with the store as it is now, or None."""
        binding = self.index.binding
        if binding is None:
            return "records no store (made by an earlier version)" if len(self.index) else None
        made_for = binding.get("store") or {}
        if made_for.get("store_id") != self.identity.store_id:
            return f"was built from store {made_for.get('store_id')}, not this one ({self.identity.store_id})"
        if made_for.get("removal_epoch") != self.identity.removal_epoch:
            return "was built before outputs were removed from the store (prune)"
        if made_for.get("tokeniser") != TOKENISER:
            return f"was built with tokeniser {made_for.get('tokeniser', 1)}, not {TOKENISER}"
        anchor = binding.get("anchor")
        if anchor:
            with self.store.session() as s:
                call_id = s.scalar(select(Output.call_id).where(Output.id == anchor["output_id"]))
            if call_id != anchor["call_id"]:
                return (f"holds output {anchor['output_id']}, which the store "
                        f"{'no longer has' if call_id is None else 'now gives to another call'}: "
                        "the store is at another state than the index (a restored backup?)")
        return None

    def check_binding(self) -> None:
        """Rebuild (start empty, bound to this store) an index that may not be used here."""
        self.identity = read_identity(self.store)  # prune moves the epoch under a running watcher
        self.index.refresh()
        why = self._stale()
        if why is None:
            if self.index.binding is None:
                self.index.reset({"store": self._store_binding(), "anchor": None})
            return
        log.warning("aiaudit: rebuilding the output index in %s: it %s", self.index_dir, why)
        self.index.reset({"store": self._store_binding(), "anchor": None})
        self._info.clear()
        self.rebuilds += 1

    def _binding_after(self, rows) -> dict:
        """The binding once `rows` (id, fingerprint, call id) are indexed: its anchor moves to
        the highest id, which is always visible to a later check (the store committed it)."""
        anchor = (self.index.binding or {}).get("anchor")
        top = max(rows, key=lambda row: row[0])
        if anchor is None or top[0] > anchor["output_id"]:
            anchor = {"output_id": int(top[0]), "call_id": top[2]}
        return {"store": self._store_binding(), "anchor": anchor}

    def _add(self, rows) -> int:
        try:
            return self.index.add(self._entries(rows), binding=self._binding_after(rows))
        except BindingChanged:  # another process rebound the shared directory: check again
            self.check_binding()
            return self.index.add(self._entries(rows), binding=self._binding_after(rows))

    # -- keeping up with the store --

    def sync(self) -> int:
        """Index generated outputs stored since the last sync; returns how many were added."""
        self.check_binding()
        added = 0
        while True:
            with self.store.session() as s:
                rows = s.execute(
                    select(Output.id, Output.fingerprint, Output.call_id)
                    .where(Output.kind == "generated", Output.id > self.index.max_output_id)
                    .order_by(Output.id)
                    .limit(SYNC_BATCH)
                ).all()
            if not rows:
                break
            added += self._add(rows)
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
                    select(Output.id, Output.fingerprint, Output.call_id).where(Output.id.in_(late[start:start + 1000]))
                ).all()
            if rows:
                added += self._add(rows)
        return added

    def _entries(self, rows) -> list[tuple[int, Fingerprint]]:
        entries = []
        for output_id, blob, _call_id in rows:
            try:
                entries.append((output_id, Fingerprint.from_blob(blob)))
            except ValueError as e:
                # indexed as an empty text, so the watermark moves past it and the rest is indexed
                log.error("aiaudit: output %s has an unreadable fingerprint (%s); it cannot match", output_id, e)
                entries.append((output_id, fingerprint("")))
        return self._current(entries)

    def _current(self, entries: list[tuple[int, Fingerprint]]) -> list[tuple[int, Fingerprint]]:
        """Fingerprints of an earlier tokeniser remade from the stored text where it is whole
        (fingerprint/upgrade.py); the others are kept and counted."""
        old = [i for i, (_, fp) in enumerate(entries) if not is_current(fp)]
        kept = 0
        for start in range(0, len(old), 1000):  # bound parameters per statement, as in describe()
            chunk = old[start:start + 1000]
            with self.store.session() as s:
                stored = {row[0]: row[1:] for row in s.execute(
                    select(Output.id, Output.text, Output.char_count)
                    .where(Output.id.in_([entries[i][0] for i in chunk])))}
            for i in chunk:
                output_id, fp = entries[i]
                text, char_count = stored.get(output_id, (None, 0))
                again = remade(fp, text)
                if again is not None:
                    entries[i] = (output_id, again)
                elif may_hold_cut_script(fp, char_count or 0):
                    kept += 1
        if kept:
            log.warning("aiaudit: %d outputs look Chinese or Japanese and were fingerprinted one token per "
                        "character by an earlier version, without their text stored: they match "
                        "byte-for-byte copies only", kept)
        self.kept_old_tokeniser += kept
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
