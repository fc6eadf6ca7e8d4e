"""The tamper-evident chain over findings and their evidence.

Every finding and evidence row gets the next `chain_seq` of **one** sequence shared by both
tables, and `chain_hash = sha256(previous link's hash | table | canonical row)`, where the
canonical row is the JSON of all its columns except `chain_hash` (keys sorted, times in UTC
ISO 8601, `chain_seq` included). Changing any column, inserting a row, deleting or reordering
links breaks the chain at a nameable link.

Appending is serialised: on PostgreSQL by `pg_advisory_xact_lock` (held until the transaction
ends), on SQLite by the write transaction itself (`store.write_session()` begins IMMEDIATE, so
a second writer waits for the lock). Two evaluators may run at once; the chain stays linear.

`chain_checkpoints` keep the chain verifiable when old links are pruned: a `prune` checkpoint
stores the seq and hash of the last deleted link, and verification starts from it. After each
append a `head` checkpoint records the newest link, so deleting the newest links is caught too,
and a `finding` checkpoint marks where each finding's links end, so an evidence bundle proves a
finding with its own links only.

A finding of a window that was still open is revised when the window is evaluated again
(`revise()`): the row as it was, in the exact canonical text that was hashed, moves to
`chain_revisions` at its original seq, and the row with its new values becomes a new link at
the head. Verification reads the revisions in seq order with the live rows, so every version of
a finding stays checkable and nothing in the chain is ever rewritten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import json
import math
from dataclasses import dataclass
from typing import Any
from typing import Iterator

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from agent.store.models import ChainCheckpoint
from agent.store.models import ChainRevision
from agent.store.models import Evidence
from agent.store.models import Finding

GENESIS = "0" * 64
TABLES = {"findings": Finding, "evidence": Evidence}
# pg_advisory_xact_lock key: "aiaudit chain" as a signed 64-bit integer (any constant would do;
# a fixed, documented one lets operators see who holds it in pg_locks).
ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"aiaudit chain").digest()[:8], "big", signed=True)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # SQLite hands back naive UTC
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def canonical(table: str, row: dict[str, Any]) -> str:
    model = TABLES[table]
    content = {c.name: _plain(row.get(c.name)) for c in model.__table__.columns if c.name != "chain_hash"}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def link_hash(previous: str, table: str, row: dict[str, Any]) -> str:
    return canonical_hash(previous, table, canonical(table, row))


def canonical_hash(previous: str, table: str, canonical_text: str) -> str:
    return hashlib.sha256(f"{previous}|{table}|{canonical_text}".encode()).hexdigest()


def row_dict(obj: Any) -> dict[str, Any]:
    return {c.name: getattr(obj, c.name) for c in type(obj).__table__.columns}


def _fill_defaults(obj: Any) -> None:
    """Give unset columns their defaults now: the hash must cover the row as it will be stored,
    and the database would otherwise fill them in only after the hash was taken."""
    for column in type(obj).__table__.columns:
        if getattr(obj, column.key) is None and column.default is not None and column.default.is_scalar:
            setattr(obj, column.key, column.default.arg)


def lock(session) -> None:
    """Serialise chain appends across processes for the rest of this transaction."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    # SQLite: the write transaction (BEGIN IMMEDIATE) already holds the database write lock.


def head(session) -> tuple[int, str]:
    """(seq, hash) of the newest link, or of the newest prune checkpoint when all were pruned."""
    best_seq, best_hash = 0, GENESIS
    for model in (Finding, Evidence, ChainRevision):
        seq = session.execute(select(func.max(model.chain_seq))).scalar()
        if seq is not None and seq > best_seq:
            best_seq = seq
            best_hash = session.execute(select(model.chain_hash).where(model.chain_seq == seq)).scalar()
    checkpoint = session.execute(select(ChainCheckpoint).order_by(ChainCheckpoint.seq.desc()).limit(1)).scalar()
    if checkpoint is not None and checkpoint.seq > best_seq:
        best_seq, best_hash = checkpoint.seq, checkpoint.chain_hash
    return best_seq, best_hash


def revise(session, table: str, obj: Any, now: dt.datetime) -> ChainRevision:
    """Keep the stored version of `obj` (a chained row about to be changed) at its seq; the caller
    then changes it and passes it to `append()` with the new rows, which gives it a new link.
    Call under the chain lock, before changing any attribute."""
    kept = ChainRevision(chain_seq=obj.chain_seq, table_name=table, row_id=obj.id,
                         canonical=canonical(table, row_dict(obj)), chain_hash=obj.chain_hash, revised_at=now)
    session.add(kept)
    return kept


def append(session, rows: list[tuple[str, Any]], now: dt.datetime | None = None) -> int:
    """Chain and insert `rows` ((table, new ORM object) in chain order, not yet in the session,
    or a stored row just given to `revise()`): takes the chain lock, gives each its chain_seq and
    chain_hash, inserts findings before evidence (the foreign key), and moves the head
    checkpoint. Call inside the write transaction. Returns the new head seq."""
    lock(session)
    session.flush()  # revisions first: head() must see the seqs they keep
    now = now or dt.datetime.now(dt.timezone.utc)
    seq, previous = head(session)
    first_new = seq + 1
    ends: list[tuple[int, str]] = []  # (seq, hash) of the last link of each new finding but the last
    for table, obj in rows:
        if table == "findings" and seq >= first_new:  # the previous finding's links end here
            ends.append((seq, previous))
        seq += 1
        _fill_defaults(obj)
        obj.chain_seq = seq
        obj.chain_hash = None
        obj.chain_hash = previous = link_hash(previous, table, row_dict(obj))
    if rows:
        for table in ("findings", "evidence"):
            session.add_all([obj for name, obj in rows if name == table])
            session.flush()
        # A checkpoint after each finding keeps an evidence bundle's chain proof to the finding's
        # own links (evidence/export.py) instead of the whole batch.
        session.add_all([ChainCheckpoint(seq=s, chain_hash=h, reason="finding", created_at=now) for s, h in ends])
        session.merge(ChainCheckpoint(seq=seq, chain_hash=previous, reason="head", created_at=now))
    return seq


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_break: str | None


def _links(session) -> Iterator[tuple[int, str, dict, str | None]]:
    """Every chained row of both tables and every kept revision, in chain_seq order, streamed:
    (seq, table, row, canonical text for a revision else None)."""

    def stream(name: str, model) -> Iterator[tuple[int, str, dict, None]]:
        statement = select(model.__table__).where(model.chain_seq.is_not(None)).order_by(model.chain_seq)
        for row in session.execute(statement.execution_options(yield_per=2000)).mappings():
            yield row["chain_seq"], name, dict(row), None

    def revisions() -> Iterator[tuple[int, str, dict, str]]:
        statement = select(ChainRevision.__table__).order_by(ChainRevision.chain_seq)
        for row in session.execute(statement.execution_options(yield_per=2000)).mappings():
            yield row["chain_seq"], row["table_name"], {"id": row["row_id"], **row}, row["canonical"]

    streams = [stream(name, model) for name, model in TABLES.items()] + [revisions()]
    return heapq.merge(*streams, key=lambda item: item[0])


def revision_problem(seq: int, table: str, row: dict, text: str) -> str | None:
    """A kept revision must be the canonical text of that very row at that very seq."""
    if table not in TABLES:
        return f"revision of unknown table {table!r}"
    try:
        content = json.loads(text)
    except ValueError:
        return "revision text is not JSON"
    if not isinstance(content, dict) or content.get("chain_seq") != seq or content.get("id") != row["id"]:
        return "revision does not belong to this seq and row"
    return None


def verify(store) -> VerifyResult:
    """Recompute the chain; the first broken link is named as `seq N <table> <id>: what`."""
    with store.session() as session:
        for name, model in TABLES.items():
            stray = session.execute(select(model.id).where(model.chain_seq.is_(None)).limit(1)).scalar()
            if stray is not None:
                return VerifyResult(False, 0, f"{name} {stray}: row is not in the chain (inserted outside the engine?)")
        checkpoints = {c.seq: c for c in session.execute(select(ChainCheckpoint)).scalars()}
        checked = 0
        previous: str | None = None
        expected = None
        last_seq = 0
        for seq, table, row, revision in _links(session):
            where = f"seq {seq} {table} {row['id']}" + (" (earlier version)" if revision is not None else "")
            if previous is None:  # the first link: from genesis, or from the prune checkpoint before it
                if seq == 1:
                    previous = GENESIS
                elif seq - 1 in checkpoints and checkpoints[seq - 1].reason == "prune":
                    previous = checkpoints[seq - 1].chain_hash
                else:  # only a prune checkpoint says the links before were removed on purpose
                    return VerifyResult(False, checked, f"{where}: links 1..{seq - 1} are missing and no prune checkpoint covers them (deleted?)")
            elif seq != expected:
                if seq < expected:
                    return VerifyResult(False, checked, f"{where}: seq {seq} used twice")
                return VerifyResult(False, checked, f"{where}: link(s) {expected}..{seq - 1} missing (deleted?)")
            if revision is not None:
                problem = revision_problem(seq, table, row, revision)
                if problem:
                    return VerifyResult(False, checked, f"{where}: {problem}")
                computed = canonical_hash(previous, table, revision)
            else:
                computed = link_hash(previous, table, row)
            if row["chain_hash"] != computed:
                return VerifyResult(False, checked, f"{where}: hash mismatch (row changed, or inserted into the chain)")
            checkpoint = checkpoints.get(seq)
            if checkpoint is not None and checkpoint.chain_hash != computed:
                return VerifyResult(False, checked, f"{where}: does not match checkpoint {seq} (chain rewritten?)")
            previous, expected, last_seq = computed, seq + 1, seq
            checked += 1
        newest = max(checkpoints, default=0)
        everything_pruned = last_seq == 0 and newest and checkpoints[newest].reason == "prune"
        if newest > last_seq and not everything_pruned:
            kind = checkpoints[newest].reason
            return VerifyResult(False, checked, f"seq {last_seq + 1}: links {last_seq + 1}..{newest} missing "
                                                f"({kind} checkpoint {newest} exists; newest links deleted?)")
        return VerifyResult(True, checked, None)


@dataclass(frozen=True)
class PruneResult:
    checkpoint_seq: int  # the last pruned link; 0 when nothing was pruned
    findings: int
    evidence: int


def prune_chain_before(store, seq: int, now: dt.datetime | None = None) -> PruneResult:
    """Delete the links with chain_seq < `seq` and record a checkpoint so the rest verifies.

    A finding is never separated from its evidence: when the cut falls inside a finding's
    evidence, the cut moves back to that finding (it is kept whole)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    with store.write_session() as session:
        lock(session)
        cut = seq
        while True:  # each move can put another finding across the cut; the cut only moves back
            straddling = session.execute(
                select(func.min(Finding.chain_seq)).join(Evidence, Evidence.finding_id == Finding.id)
                .where(Finding.chain_seq < cut, Evidence.chain_seq >= cut)
            ).scalar()
            # a revised finding sits at a later link than its older evidence: keep that evidence too
            moved = session.execute(
                select(func.min(Evidence.chain_seq)).join(Finding, Evidence.finding_id == Finding.id)
                .where(Finding.chain_seq >= cut, Evidence.chain_seq < cut)
            ).scalar()
            earlier = min((s for s in (straddling, moved) if s is not None), default=None)
            if earlier is None:
                break
            cut = earlier
        last = cut - 1
        if last < 1:
            return PruneResult(0, 0, 0)
        last_hash = None
        for model in (Finding, Evidence, ChainRevision):
            found = session.execute(select(model.chain_hash).where(model.chain_seq == last)).scalar()
            if found is not None:
                last_hash = found
        if last_hash is None:
            existing = session.get(ChainCheckpoint, last)
            if existing is None:
                return PruneResult(0, 0, 0)  # nothing there: already pruned or never existed
            last_hash = existing.chain_hash
        evidence = session.execute(delete(Evidence).where(Evidence.chain_seq <= last)).rowcount
        findings = session.execute(delete(Finding).where(Finding.chain_seq <= last)).rowcount
        session.execute(delete(ChainRevision).where(ChainRevision.chain_seq <= last))
        # a pruned finding's own checkpoint proves nothing any more; `head` ones stay, since
        # published reports name them (anchor.py)
        session.execute(delete(ChainCheckpoint).where(ChainCheckpoint.seq < last, ChainCheckpoint.reason == "finding"))
        checkpoint = session.get(ChainCheckpoint, last)
        if checkpoint is None:
            session.add(ChainCheckpoint(seq=last, chain_hash=last_hash, created_at=now, reason="prune"))
        elif checkpoint.reason != "prune":
            session.execute(update(ChainCheckpoint).where(ChainCheckpoint.seq == last).values(reason="prune"))
        return PruneResult(last, findings, evidence)


def prune_chain_older_than(store, before: dt.datetime) -> PruneResult:
    """Prune the findings created before `before` (with their evidence); for `aiaudit prune`."""
    with store.session() as session:
        first_kept = session.execute(select(func.min(Finding.chain_seq)).where(Finding.created_at >= before)).scalar()
        if first_kept is None:
            first_kept = (session.execute(select(func.max(Finding.chain_seq))).scalar() or 0) + 1
            evidence_max = session.execute(select(func.max(Evidence.chain_seq))).scalar() or 0
            first_kept = max(first_kept, evidence_max + 1)
    return prune_chain_before(store, first_kept)
