"""Retention: raw text and metadata expire separately, in small batches.

Raw text (`calls.output_text`, `outputs.text`) usually has the shorter life: it is the privacy
risk, and fingerprints alone keep reuse detectable. Metadata (calls with their outputs and
fingerprints, reuse findings, files long gone) goes later; findings and their evidence go with
it through the evidence chain's own pruning, which leaves a checkpoint so what remains still
verifies. Every statement touches at most BATCH rows, so a large prune neither holds a long lock
(other writers keep going between batches) nor builds one huge transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update

from agent.store.engine import Store
from agent.store.identity import note_outputs_removed
from agent.store.models import Call
from agent.store.models import DatasetFile
from agent.store.models import Output
from agent.store.models import ReuseFinding

BATCH = 2000


@dataclass
class PruneReport:
    text_cleared_calls: int = 0
    text_cleared_outputs: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    chain_checkpoint: int = 0


def _batched(store: Store, select_ids, apply) -> int:
    total = 0
    while True:
        with store.write_session() as s:
            ids = list(s.scalars(select_ids.limit(BATCH)))
            if not ids:
                return total
            total += apply(s, ids)


def _delete_outputs(session, ids: list[int]) -> int:
    note_outputs_removed(session)  # same transaction: an index holding these ids is now stale
    return session.execute(delete(Output).where(Output.id.in_(ids))).rowcount


def _delete_calls(session, ids: list[str]) -> int:
    # their outputs go with them (ON DELETE CASCADE): normally none is left by then, but one
    # stamped later than its call would be, and the index must learn of its removal too
    if session.scalar(select(Output.id).where(Output.call_id.in_(ids)).limit(1)) is not None:
        note_outputs_removed(session)
    return session.execute(delete(Call).where(Call.id.in_(ids))).rowcount


def prune(store: Store, *, raw_text_days: int, metadata_days: int, now: dt.datetime | None = None) -> PruneReport:
    now = now or dt.datetime.now(dt.timezone.utc)
    report = PruneReport()
    # metadata first: rows about to be deleted need no text clearing
    if metadata_days:
        cut = now - dt.timedelta(days=metadata_days)
        from agent.store.chain import prune_chain_older_than

        report.chain_checkpoint = prune_chain_older_than(store, cut).checkpoint_seq
        report.deleted["reuse_findings"] = _batched(
            store, select(ReuseFinding.id).where(ReuseFinding.found_at < cut),
            lambda s, ids: s.execute(delete(ReuseFinding).where(ReuseFinding.id.in_(ids))).rowcount)
        report.deleted["outputs"] = _batched(
            store, select(Output.id).where(Output.ts < cut), _delete_outputs)
        report.deleted["calls"] = _batched(store, select(Call.id).where(Call.ts < cut), _delete_calls)
        report.deleted["dataset_files"] = _batched(
            store, select(DatasetFile.id).where(DatasetFile.state == "gone", DatasetFile.scanned_at < cut),
            lambda s, ids: s.execute(delete(DatasetFile).where(DatasetFile.id.in_(ids))).rowcount)
    if raw_text_days:
        cut = now - dt.timedelta(days=raw_text_days)
        report.text_cleared_calls = _batched(
            store, select(Call.id).where(Call.ts < cut, Call.output_text.is_not(None)),
            lambda s, ids: s.execute(update(Call).where(Call.id.in_(ids)).values(output_text=None)).rowcount)
        report.text_cleared_outputs = _batched(
            store, select(Output.id).where(Output.ts < cut, Output.text.is_not(None)),
            lambda s, ids: s.execute(update(Output).where(Output.id.in_(ids)).values(text=None)).rowcount)
    return report
