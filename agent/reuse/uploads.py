"""Training uploads seen by the proxy, checked against the captured outputs.

The writer stores each text record of a fine-tuning upload as an `uploaded` output with its
fingerprint. Here each is matched against the index of generated outputs, by fingerprint, so this
works with `privacy.store_text: none`; a match becomes a reuse finding with `source=upload` that
names the upload call, which the rules turn into "outputs uploaded to a training endpoint" and,
across vendors, "cross-vendor distillation".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from agent.ids import new_id
from agent.reuse import Fingerprint
from agent.reuse import fingerprint
from agent.reuse.findings import finding_row
from agent.reuse.outputs import SyncedOutputIndex
from agent.reuse.shingles import K
from agent.store.engine import Store
from agent.store.models import Call
from agent.store.models import Output
from agent.store.models import ReuseFinding

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True, slots=True)
class UploadedRecord:
    """An uploaded text as a found record: its place in the upload (1-based) and a digest."""

    number: int
    sha256: str


def _readable(output_id: int, blob: bytes) -> Fingerprint:
    """The upload's fingerprint; an unreadable one (or one with more 5-grams than its words
    allow, which would overrun its place in the batch) is said once and matched as empty, so it
    is marked checked and never blocks the uploads after it."""
    try:
        fp = Fingerprint.from_blob(blob)
        if len(fp.shingles) > max(0, fp.word_count - K + 1):
            raise ValueError(f"{len(fp.shingles)} five-grams for {fp.word_count} words")
        return fp
    except ValueError as e:
        log.error("aiaudit: uploaded text %s has an unreadable fingerprint (%s); it cannot match", output_id, e)
        return fingerprint("")


def match_uploads(store: Store, output_index: SyncedOutputIndex) -> int:
    """Check every uploaded text not yet checked; returns how many new findings were recorded."""
    output_index.sync()
    detector = output_index.detector()
    new = 0
    while True:
        with store.session() as s:
            rows = s.execute(
                select(Output.id, Output.call_id, Output.idx, Output.fingerprint, Call.host, Call.path)
                .join(Call, Call.id == Output.call_id)
                .where(Output.kind == "uploaded", Output.matched_at.is_(None))
                .order_by(Output.id).limit(BATCH)
            ).all()
        if not rows:
            return new
        fingerprints = [_readable(r.id, r.fingerprint) for r in rows]
        results = detector.match_fingerprints(fingerprints)
        found = []
        for row, matches in zip(rows, results):
            if not matches:
                continue
            infos = output_index.describe({m.output_id for m in matches})
            digest = hashlib.sha256(f"{row.call_id}:{row.idx}".encode()).hexdigest()
            record = UploadedRecord(number=row.idx + 1, sha256=digest)
            finding = finding_row(f"{row.host}{row.path.split('?')[0]}", record, matches, infos)
            if finding is not None:
                finding.update(id=new_id(), found_at=dt.datetime.now(dt.timezone.utc), source="upload",
                               upload_call_id=row.call_id)
                found.append(finding)
        with store.write_session() as s:
            if found:
                ins = (postgresql.insert if store.dialect == "postgresql" else sqlite.insert)(ReuseFinding)
                stmt = ins.on_conflict_do_nothing(index_elements=["path", "record", "record_sha256"])
                new += len(s.connection().execute(stmt.returning(ReuseFinding.id), found).all())
            s.execute(update(Output).where(Output.id.in_([r.id for r in rows]))
                      .values(matched_at=dt.datetime.now(dt.timezone.utc)))
