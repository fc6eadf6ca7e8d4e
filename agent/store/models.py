"""The store's tables: the system of record every other part reads and writes.

Column names of `Call` match the fields of `aiaudit export calls` (docs/architecture.md); a field added there
is added here first. Times are stored as timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator

ID = String(26)  # agent.ids: 26 characters, time-sortable, unique across hosts


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite otherwise hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store times as aware UTC")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


UTC = UTCDateTime()
HASH = String(64)  # hex sha256


class Base(DeclarativeBase):
    pass


class Call(Base):
    """One request to an AI vendor seen by a proxy, with what it returned."""

    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    ts: Mapped[dt.datetime] = mapped_column(UTC, index=True)
    vendor: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[str] = mapped_column(String(64))
    # generation | batch_results | upload | other
    kind: Mapped[str] = mapped_column(String(16), default="generation")
    method: Mapped[str] = mapped_column(String(10), default="POST")
    path: Mapped[str] = mapped_column(Text, default="")  # redacted: no credentials in the query
    model: Mapped[str | None] = mapped_column(String(255))
    served_model: Mapped[str | None] = mapped_column(String(255))
    team: Mapped[str] = mapped_column(String(128), default="unattributed")
    attributed_by: Mapped[str] = mapped_column(String(16), default="none")
    user: Mapped[str | None] = mapped_column(String(255))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    api_key_sha256: Mapped[str | None] = mapped_column(HASH)
    status: Mapped[int | None] = mapped_column(Integer)
    streamed: Mapped[bool] = mapped_column(Boolean, default=False)
    request_n: Mapped[int | None] = mapped_column(Integer)
    logprobs: Mapped[bool] = mapped_column(Boolean, default=False)
    top_logprobs: Mapped[int | None] = mapped_column(Integer)
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    temperature: Mapped[float | None] = mapped_column(Float)
    template_signature: Mapped[str | None] = mapped_column(HASH)
    prompt_sha256: Mapped[str | None] = mapped_column(HASH)
    upload_purpose: Mapped[str | None] = mapped_column(String(64))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    outputs: Mapped[int] = mapped_column(Integer, default=0)
    output_chars: Mapped[int] = mapped_column(Integer, default=0)
    # per output, the parts its text holds (text, refusal, tool_arguments, code, reasoning)
    output_parts: Mapped[list | None] = mapped_column(JSON)
    parse_error: Mapped[str | None] = mapped_column(Text)
    # full text or an excerpt, only when privacy.store_text asks for it
    output_text: Mapped[str | None] = mapped_column(Text)
    request_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    response_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    proxy_host: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_calls_team_ts", "team", "ts"),
        Index("ix_calls_vendor_ts", "vendor", "ts"),
    )


class Output(Base):
    """One generated text of a call (kind=generated), or one text record of an upload
    (kind=uploaded), with its fingerprint. Raw text only under privacy.store_text."""

    __tablename__ = "outputs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ID, ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="generated")  # generated | uploaded
    ts: Mapped[dt.datetime] = mapped_column(UTC, index=True)
    word_count: Mapped[int] = mapped_column(Integer)
    char_count: Mapped[int] = mapped_column(Integer)
    exact_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    text: Mapped[str | None] = mapped_column(Text)
    # uploaded texts: when they were checked against the captured outputs
    matched_at: Mapped[dt.datetime | None] = mapped_column(UTC)

    __table_args__ = (
        UniqueConstraint("call_id", "kind", "idx", name="uq_outputs_call_kind_idx"),
        Index("ix_outputs_exact_hash", "exact_hash"),
    )


class DatasetFile(Base):
    """Scan state of one dataset file, so a restart neither rescans nor misses changes."""

    __tablename__ = "dataset_files"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    root: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mtime_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    inode: Mapped[int | None] = mapped_column(BigInteger)
    device: Mapped[int | None] = mapped_column(BigInteger)
    head_sha256: Mapped[str | None] = mapped_column(HASH)  # identity of the first bytes
    offset: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes consumed (appendable formats)
    records: Mapped[int] = mapped_column(BigInteger, default=0)  # records consumed so far
    bad_records: Mapped[int] = mapped_column(BigInteger, default=0)
    index_generation: Mapped[int] = mapped_column(BigInteger, default=0)  # outputs known when scanned
    state: Mapped[str] = mapped_column(String(16), default="new")  # new | ok | error | gone
    error: Mapped[str | None] = mapped_column(Text)
    scanned_at: Mapped[dt.datetime | None] = mapped_column(UTC)


class ScanUnit(Base):
    """A work unit of a cluster scan whose matches are recorded (agent.scan.cluster.resume): a
    scan interrupted and started again skips it while the file and the index are unchanged."""

    __tablename__ = "scan_units"
    __table_args__ = (UniqueConstraint("path", "unit", name="uq_scan_units_path_unit"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(64))  # WorkUnit.key: file | bytes:START-END | rows:GROUP
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    head_sha256: Mapped[str] = mapped_column(HASH)
    index_generation: Mapped[int] = mapped_column(BigInteger)  # SyncedOutputIndex.version when scanned
    lines: Mapped[int] = mapped_column(BigInteger, default=0)  # JSONL range: lines starting in it
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    bad_records: Mapped[int] = mapped_column(BigInteger, default=0)
    max_record: Mapped[int] = mapped_column(BigInteger, default=0)  # in the file's numbering
    max_end: Mapped[int] = mapped_column(BigInteger, default=0)
    done_at: Mapped[dt.datetime] = mapped_column(UTC)


class ReuseFinding(Base):
    """A dataset record that reuses captured outputs (one row per record, the scan fields of docs/architecture.md)."""

    __tablename__ = "reuse_findings"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    found_at: Mapped[dt.datetime] = mapped_column(UTC, index=True)
    source: Mapped[str] = mapped_column(String(16), default="dataset")  # dataset | upload
    # for source=upload: the upload call whose content reused the outputs
    upload_call_id: Mapped[str | None] = mapped_column(ID, index=True)
    path: Mapped[str] = mapped_column(Text)
    record: Mapped[int] = mapped_column(BigInteger)
    record_sha256: Mapped[str] = mapped_column(HASH)
    call_ids: Mapped[list] = mapped_column(JSON)
    output_ids: Mapped[list] = mapped_column(JSON)
    vendors: Mapped[list] = mapped_column(JSON)
    teams: Mapped[list] = mapped_column(JSON)
    output_coverage: Mapped[float] = mapped_column(Float)
    record_coverage: Mapped[float] = mapped_column(Float)
    matched_words: Mapped[int] = mapped_column(Integer)
    longest_run: Mapped[int] = mapped_column(Integer, default=0)
    reuse_class: Mapped[str] = mapped_column(String(32), default="")  # exact | excerpt | edited ...
    # where in the record the reused text sits: field paths (JSON path or column), and their side
    fields: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    role: Mapped[str] = mapped_column(String(16), default="unknown", server_default="unknown")  # response | prompt | unknown
    tier: Mapped[str] = mapped_column(String(16), default="", server_default="")  # verbatim | near-verbatim | similar
    # per field, the code-point ranges of the reused text and the outputs they match (agent.reuse.spans)
    spans: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")

    __table_args__ = (
        UniqueConstraint("path", "record", "record_sha256", name="uq_reuse_path_record_hash"),
    )


class Finding(Base):
    """A rule's verdict for one group (team, vendor, key ...) and window. Hash-chained."""

    __tablename__ = "findings"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(HASH, unique=True)  # same data, same finding
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    rule_name: Mapped[str] = mapped_column(String(128), default="")
    title: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))  # the rule's level
    severity: Mapped[str] = mapped_column(String(16))  # level weighed by the vendor's stance
    score: Mapped[float] = mapped_column(Float, default=0.0)
    team: Mapped[str] = mapped_column(String(128), index=True)
    vendor: Mapped[str | None] = mapped_column(String(64))
    group_key: Mapped[dict] = mapped_column(JSON)
    window_start: Mapped[dt.datetime] = mapped_column(UTC, index=True)
    window_end: Mapped[dt.datetime] = mapped_column(UTC)
    count: Mapped[int] = mapped_column(BigInteger, default=1)
    value: Mapped[float | None] = mapped_column(Float)
    clause: Mapped[str | None] = mapped_column(Text)
    clause_reviewed: Mapped[str | None] = mapped_column(String(32))
    stance: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTC)
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chain_hash: Mapped[str | None] = mapped_column(HASH)


class Evidence(Base):
    """What a finding rests on: a call, a reuse finding, an upload, a window aggregate."""

    __tablename__ = "evidence"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    finding_id: Mapped[str] = mapped_column(ID, ForeignKey("findings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # call | reuse | upload | aggregate
    ref: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTC)
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chain_hash: Mapped[str | None] = mapped_column(HASH)


class ChainCheckpoint(Base):
    """The chain head at a moment, so pruning old links keeps the rest verifiable."""

    __tablename__ = "chain_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chain_hash: Mapped[str] = mapped_column(HASH)
    created_at: Mapped[dt.datetime] = mapped_column(UTC)
    reason: Mapped[str] = mapped_column(String(32), default="prune")


class ChainRevision(Base):
    """A finding or evidence row as it was before an open window's re-evaluation revised it.

    The revised row moves to a new link at the head of the chain; its earlier content stays here,
    at its original `chain_seq`, as the exact canonical text that was hashed, so the chain still
    verifies link by link (agent/store/chain.py)."""

    __tablename__ = "chain_revisions"

    chain_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                           autoincrement=False)
    table_name: Mapped[str] = mapped_column(String(16))  # findings | evidence
    row_id: Mapped[str] = mapped_column(ID, index=True)
    canonical: Mapped[str] = mapped_column(Text)
    chain_hash: Mapped[str] = mapped_column(HASH)
    revised_at: Mapped[dt.datetime] = mapped_column(UTC)


class AlertOutbox(Base):
    """One alert for one sink, kept until the sink has taken it (agent/alerts/outbox.py)."""

    __tablename__ = "alert_outbox"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(HASH, unique=True)  # sha256(finding, sink, severity)
    sink: Mapped[str] = mapped_column(String(64))
    finding_id: Mapped[str | None] = mapped_column(ID, index=True)
    event: Mapped[str] = mapped_column(String(16))  # new | escalated
    severity: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTC)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTC)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTC)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTC)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTC)

    __table_args__ = (Index("ix_alert_outbox_due", "delivered_at", "next_attempt_at"),
                      Index("ix_alert_outbox_sink", "sink", "delivered_at"))


class AlertState(Base):
    """Small named state of the alerting side: the scheduler's last run, per host."""

    __tablename__ = "alert_state"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTC)


class CaptureCounter(Base):
    """Capture accounting per proxy: captured = stored + pending + dropped{reason}.

    Keyed by the proxy's identity (agent.writer.proxy_identity), not its host name, which several
    proxies may share; `proxy_host` is what the proxy was called when it last counted. Rows
    counted before proxies had identities carry the host name as their `proxy_id`.
    """

    __tablename__ = "capture_counters"

    proxy_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # captured | stored | dropped:<reason>
    proxy_host: Mapped[str] = mapped_column(String(255))
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTC)


class ProxyHeartbeat(Base):
    """What each proxy's writer last reported: its backlog, its lag and its store errors.

    One row per proxy identity, rewritten every few seconds while the writer can reach the store.
    `error*` is the store error still happening at `seen_at` (null when healthy); `last_error*` is
    the most recent error that has cleared, kept as history.
    """

    __tablename__ = "proxy_heartbeats"

    proxy_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    journal_dir: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTC)
    seen_at: Mapped[dt.datetime] = mapped_column(UTC)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTC)  # set by a clean shutdown
    interval_s: Mapped[float] = mapped_column(Float)
    backlog_records: Mapped[int] = mapped_column(BigInteger, default=0)
    backlog_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    oldest_pending_at: Mapped[dt.datetime | None] = mapped_column(UTC)
    lag_s: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    error_since: Mapped[dt.datetime | None] = mapped_column(UTC)
    error_seen_at: Mapped[dt.datetime | None] = mapped_column(UTC)
    error_count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_since: Mapped[dt.datetime | None] = mapped_column(UTC)
    last_error_cleared_at: Mapped[dt.datetime | None] = mapped_column(UTC)
    last_error_count: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[dict] = mapped_column(JSON)  # the rest: pid, journal corruption, quarantined ...


class Heartbeat(Base):
    """Latest state a long-running component reported (the watcher; proxies use ProxyHeartbeat)."""

    __tablename__ = "heartbeats"

    component: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTC)


class StoreIdentity(Base):
    """Which store this is (one row, made with the schema), and its removal epoch: state kept
    beside the database (the output index, a journal) records both and is not used with another
    store, or after outputs were removed (prune) since it was made."""

    __tablename__ = "store_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    store_id: Mapped[str] = mapped_column(String(36))  # a uuid4
    created_at: Mapped[dt.datetime] = mapped_column(UTC)
    removal_epoch: Mapped[int] = mapped_column(BigInteger, default=0)  # + 1 whenever outputs are deleted
class SourceSnapshot(Base):
    """A rule file or terms catalogue exactly as it was when a finding was evaluated, by its
    SHA-256 (findings' chained aggregate evidence names the digests, which binds these bytes to
    the chain). Evidence bundles carry them, so a finding can be judged on the rules it met."""

    __tablename__ = "source_snapshots"

    sha256: Mapped[str] = mapped_column(HASH, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # rule | terms
    path: Mapped[str] = mapped_column(Text)  # where it was read from the first time
    content: Mapped[bytes] = mapped_column(LargeBinary)
    first_used_at: Mapped[dt.datetime] = mapped_column(UTC)
