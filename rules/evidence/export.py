"""Build an evidence bundle from the store (`aiaudit evidence export`)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from typing import Iterable

from sqlalchemy import select

from agent.store import chain
from agent.store.models import Call
from agent.store.models import ChainCheckpoint
from agent.store.models import ChainRevision
from agent.store.models import Evidence
from agent.store.models import Finding
from agent.store.models import Output
from agent.store.models import ReuseFinding
from agent.store.models import SourceSnapshot
from rules.evidence import FORMAT
from rules.evidence import MANIFEST
from rules.evidence import PROOF
from rules.evidence import call_member
from rules.evidence import finding_member
from rules.evidence import fingerprint_member
from rules.evidence import reuse_member
from rules.evidence import source_member
from rules.evidence import terms_member

# Raw text stays in the store (fingerprints prove a match), and so does the API key's hash: the
# bundle says which team a call was attributed to, not which key made it.
CALL_EXCLUDED = ("output_text", "api_key_sha256")


class ExportError(ValueError):
    """A finding that cannot be exported (unknown id, not in the chain); the message names it."""


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode()


def _row(obj: Any, exclude: Iterable[str] = ()) -> dict[str, Any]:
    return {k: chain._plain(v) for k, v in chain.row_dict(obj).items() if k not in exclude}


def _output_json(output: Output) -> dict[str, Any]:
    row = _row(output, exclude=("text", "fingerprint", "exact_hash"))
    row["exact_hash"] = output.exact_hash.hex() if output.exact_hash is not None else None
    row["fingerprint_base64"] = base64.b64encode(output.fingerprint or b"").decode()
    row["fingerprint_sha256"] = hashlib.sha256(output.fingerprint or b"").hexdigest()
    return row


def _terms_entries(snapshot: bytes | None, names: set[str]) -> tuple[str, dict[str, Any]]:
    """The catalogue entries `names` (and what they pass through to) from the snapshot kept with
    the finding, or from the current catalogue when the store kept none."""
    from rules.engine.terms import load_terms

    if snapshot is None:
        catalogue, as_of = load_terms(), "current catalogue (no snapshot was stored with this finding)"
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "vendors.yaml"
            path.write_bytes(snapshot)
            try:
                catalogue, as_of = load_terms(path), "snapshot stored with the finding"
            except ValueError as e:
                return f"snapshot stored with the finding (not readable: {e})", {}
    wanted = set(names)
    for name in list(wanted):
        if name in catalogue:
            wanted |= {p.terms for p in catalogue[name].pass_through}
    entries = {name: dataclasses.asdict(catalogue[name]) for name in sorted(wanted) if name in catalogue}
    return as_of, entries


def build_bundle(store, finding_ids: list[str], now: dt.datetime | None = None) -> dict[str, bytes]:
    """Every member but the manifest is built here; `write_bundle` adds the manifest."""
    members: dict[str, bytes] = {}
    with store.session() as session:
        findings = {f.id: f for f in session.execute(select(Finding).where(Finding.id.in_(finding_ids))).scalars()}
        for finding_id in finding_ids:
            if finding_id not in findings:
                raise ExportError(f"finding {finding_id} is not in the store")
            if findings[finding_id].chain_seq is None:
                raise ExportError(f"finding {finding_id} is not in the evidence chain")
        evidence = list(session.execute(select(Evidence).where(Evidence.finding_id.in_(finding_ids))
                                        .order_by(Evidence.chain_seq)).scalars())
        by_finding: dict[str, list[Evidence]] = {}
        for row in evidence:
            by_finding.setdefault(row.finding_id, []).append(row)

        call_ids: set[str] = set()
        reuse_ids: set[str] = set()
        output_ids: set[int] = set()
        sources: set[str] = set()
        for finding_id in finding_ids:
            rows = by_finding.get(finding_id, [])
            members[finding_member(finding_id)] = _json({"finding": _row(findings[finding_id]),
                                                         "evidence": [_row(e) for e in rows]})
            for e in rows:
                if e.kind in ("call", "upload") and e.ref:
                    call_ids.add(e.ref)
                elif e.kind == "reuse" and e.ref:
                    reuse_ids.add(e.ref)
                if isinstance(e.detail, dict) and isinstance(e.detail.get("output_id"), int):
                    output_ids.add(e.detail["output_id"])
                if e.kind == "aggregate":
                    sources |= {s.get("sha256") for s in e.detail.get("sources", []) if isinstance(s, dict)}

        for reuse in session.execute(select(ReuseFinding).where(ReuseFinding.id.in_(sorted(reuse_ids)))).scalars():
            members[reuse_member(reuse.id)] = _json(_row(reuse))
            call_ids |= set(reuse.call_ids or [])
            output_ids |= {int(i) for i in (reuse.output_ids or [])}
            if reuse.upload_call_id:
                call_ids.add(reuse.upload_call_id)
        for call in session.execute(select(Call).where(Call.id.in_(sorted(call_ids)))).scalars():
            members[call_member(call.id)] = _json(_row(call, exclude=CALL_EXCLUDED))
        outputs = select(Output).where(Output.id.in_(sorted(output_ids)) | Output.call_id.in_(sorted(call_ids)))
        for output in session.execute(outputs).scalars():
            members[fingerprint_member(output.id)] = _json(_output_json(output))

        snapshots = {s.sha256: s for s in session.execute(
            select(SourceSnapshot).where(SourceSnapshot.sha256.in_(sorted(s for s in sources if s)))).scalars()}
        for snapshot in snapshots.values():
            members[source_member(snapshot.sha256, snapshot.kind)] = bytes(snapshot.content)
        for finding_id in finding_ids:
            members[terms_member(finding_id)] = _json(_terms_of(findings[finding_id], by_finding.get(finding_id, []),
                                                                snapshots))
        members[PROOF] = _json(_proof(session, findings.values(), evidence))
    return members


def _terms_of(finding: Finding, rows: list[Evidence], snapshots: dict) -> dict[str, Any]:
    aggregate = next((e.detail for e in rows if e.kind == "aggregate"), {}) or {}
    cited = {k: aggregate.get(k) for k in ("stance", "terms_source", "clause", "clause_reviewed", "terms_url",
                                           "terms_confidence", "terms_document", "terms_section", "terms_version",
                                           "terms_quote", "terms_summary") if k in aggregate}
    terms_sha = next((s.get("sha256") for s in aggregate.get("sources", [])
                      if isinstance(s, dict) and s.get("kind") == "terms"), None)
    snapshot = snapshots.get(terms_sha)
    names = {n for n in (finding.vendor, aggregate.get("terms_source")) if n}
    as_of, entries = _terms_entries(bytes(snapshot.content) if snapshot is not None else None, names)
    return {"finding_id": finding.id, "cited": cited, "catalogue_sha256": terms_sha, "entries_as_of": as_of,
            "entries": entries, "note": "Summaries and quotes of vendor terms; not legal advice."}


def _proof(session, findings: Iterable[Finding], evidence: list[Evidence]) -> dict[str, Any]:
    """Chain segments, one per run of bundled links: from just before a finding's first link to
    the first checkpoint at or after its last one (a finding's own checkpoint, normally).
    Segments that touch are merged; rows of other findings inside one are included whole, since
    they are hashed too."""
    # A finding of a window that was open when first evaluated was revised since (chain.revise):
    # its current row sits at a later link than some of its evidence, so a finding's run of
    # links spans from the first of its rows to the last.
    first_of: dict[str, int] = {}
    last_of: dict[str, int] = {}
    for e in evidence:
        first_of[e.finding_id] = min(first_of.get(e.finding_id, e.chain_seq), e.chain_seq)
        last_of[e.finding_id] = max(last_of.get(e.finding_id, 0), e.chain_seq)
    findings = list(findings)
    owner = {e.id: e.finding_id for e in evidence} | {f.id: f.id for f in findings}
    for offset in range(0, len(owner), 500):  # the earlier versions belong to the finding's run too
        chunk = list(owner)[offset:offset + 500]
        for row_id, seq in session.execute(select(ChainRevision.row_id, ChainRevision.chain_seq)
                                           .where(ChainRevision.row_id.in_(chunk))):
            fid = owner[row_id]
            first_of[fid] = min(first_of.get(fid, seq), seq)
    ranges = sorted((min(f.chain_seq, first_of.get(f.id, f.chain_seq)), max(f.chain_seq, last_of.get(f.id, 0)))
                    for f in findings)
    bundled = {f.chain_seq for f in findings} | {e.chain_seq for e in evidence}
    segments: list[dict[str, Any]] = []
    for first, last in ranges:
        if segments and first <= segments[-1]["end_seq"] + 1:
            if last <= segments[-1]["end_seq"]:
                continue
            first = segments.pop()["start"]["seq"] + 1
        checkpoint = session.execute(select(ChainCheckpoint).where(ChainCheckpoint.seq >= last)
                                     .order_by(ChainCheckpoint.seq).limit(1)).scalar()
        end = checkpoint.seq if checkpoint is not None else chain.head(session)[0]
        segments.append({
            "start": {"seq": first - 1, "hash": _hash_at(session, first - 1)},
            "end_seq": end,
            "checkpoint": ({"seq": checkpoint.seq, "chain_hash": checkpoint.chain_hash, "reason": checkpoint.reason,
                            "created_at": chain._plain(checkpoint.created_at)} if checkpoint is not None else None),
        })
    for segment in segments:
        links = []
        for table, model in chain.TABLES.items():
            rows = session.execute(select(model).where(model.chain_seq > segment["start"]["seq"],
                                                       model.chain_seq <= segment["end_seq"])).scalars()
            links += [{"seq": r.chain_seq, "table": table, "row": _row(r)} for r in rows if r.chain_seq not in bundled]
        # earlier versions of revised rows hold their links as the exact text that was hashed
        kept = session.execute(select(ChainRevision).where(ChainRevision.chain_seq > segment["start"]["seq"],
                                                           ChainRevision.chain_seq <= segment["end_seq"])).scalars()
        links += [{"seq": r.chain_seq, "table": r.table_name, "revision": r.canonical,
                   "row": {"id": r.row_id, "chain_seq": r.chain_seq, "chain_hash": r.chain_hash}} for r in kept]
        segment["other_links"] = sorted(links, key=lambda link: link["seq"])
    return {"segments": segments}


def _hash_at(session, seq: int) -> str:
    if seq <= 0:
        return chain.GENESIS
    for model in (*chain.TABLES.values(), ChainRevision):
        found = session.execute(select(model.chain_hash).where(model.chain_seq == seq)).scalar()
        if found is not None:
            return found
    checkpoint = session.get(ChainCheckpoint, seq)
    if checkpoint is None:
        raise ExportError(f"link {seq} before the findings is gone and no checkpoint covers it")
    return checkpoint.chain_hash


def manifest(members: dict[str, bytes], finding_ids: list[str], now: dt.datetime) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "created_at": now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "findings": list(finding_ids),
        "members": {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                    for name, data in sorted(members.items())},
        "note": "Check with `aiaudit evidence verify THIS.zip`; needs no store.",
    }


def manifest_bytes(head: dict[str, Any]) -> bytes:
    """What a manifest's signature covers: the manifest without its signature, canonical JSON."""
    unsigned = {k: v for k, v in head.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def write_bundle(store, finding_ids: list[str], out: Path, now: dt.datetime | None = None,
                 signing_key=None) -> dict[str, Any]:
    """Write the bundle to `out` (whole or not at all), its manifest signed with `signing_key`
    (the site's Ed25519 key, report.signing_key) when given; returns the manifest."""
    from rules.engine.anchor import sign

    now = now or dt.datetime.now(dt.timezone.utc)
    finding_ids = list(dict.fromkeys(finding_ids))
    members = build_bundle(store, finding_ids, now)
    head = manifest(members, finding_ids, now)
    if signing_key is not None:
        head["signature"] = sign(signing_key, manifest_bytes(head))
    stamp = now.astimezone(dt.timezone.utc).timetuple()[:6]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for name, data in [(MANIFEST, _json(head)), *sorted(members.items())]:
                bundle.writestr(zipfile.ZipInfo(name, date_time=stamp), data, compress_type=zipfile.ZIP_DEFLATED)
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return head
