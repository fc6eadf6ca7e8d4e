"""Matched spans in evidence bundles, end to end: outputs captured in the store, a dataset file
scanned by the real scanner, the rules evaluated, a bundle exported with the records' text and
verified offline. A span (or the text under it) changed, even with the manifest rewritten to
match, is caught and named."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile

import pytest
from sqlalchemy import select

from agent.reuse.normalise import normalise
from agent.reuse.outputs import SyncedOutputIndex
from agent.scan.scan import Scanner
from agent.store.models import Evidence
from agent.store.models import Finding
from rules.engine.evaluate import evaluate
from rules.evidence import MANIFEST
from rules.evidence import record_member
from rules.evidence import reuse_member
from rules.evidence.check import verify_bundle
from rules.evidence.export import write_bundle
from tests.scan.conftest import add_outputs
from tests.scan.conftest import answer

INTRO = "Here is a model answer you can train on:\n"


@pytest.fixture
def scanned(store, tmp_path):
    texts = [answer(700 + i, words=120) for i in range(4)]
    add_outputs(store, texts, team="distill")
    data = tmp_path / "train.jsonl"
    records = [{"messages": [{"role": "user", "content": f"question {i}"},
                             {"role": "assistant", "content": INTRO + text}]} for i, text in enumerate(texts[:3])]
    data.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    list(Scanner(store, SyncedOutputIndex(store, tmp_path / "index")).scan_paths([data]))
    now = dt.datetime.now(dt.timezone.utc)
    evaluate(store, now - dt.timedelta(days=2), now + dt.timedelta(hours=1))
    with store.session() as s:
        finding = s.scalars(select(Finding).join(Evidence, Evidence.finding_id == Finding.id)
                            .where(Evidence.kind == "reuse", Finding.rule_name == "outputs_in_dataset")).first()
        reuse_ids = [e.ref for e in s.scalars(select(Evidence).where(Evidence.finding_id == finding.id,
                                                                     Evidence.kind == "reuse"))]
    return store, finding.id, reuse_ids, data, texts


def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite(path, members):
    """Members written back with a manifest recomputed to match, as a careful forger would."""
    manifest = json.loads(members[MANIFEST])
    manifest["members"] = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                           for n, d in sorted(members.items()) if n != MANIFEST}
    members[MANIFEST] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def edit_json(members, name, change):
    data = json.loads(members[name])
    change(data)
    members[name] = json.dumps(data, ensure_ascii=False).encode()


def test_spans_travel_in_the_bundle_and_verify_against_the_record(scanned, tmp_path):
    store, finding_id, reuse_ids, data, texts = scanned
    assert reuse_ids
    out = tmp_path / "bundle.zip"
    write_bundle(store, [finding_id], out, with_records=True)
    check = verify_bundle(out)
    assert check.ok, check.problems
    members = members_of(out)
    reuse = json.loads(members[reuse_member(reuse_ids[0])])
    record = json.loads(members[record_member(reuse_ids[0])])
    [span] = reuse["spans"]
    text = record["fields"][span["field_index"]][1]
    assert span["start"] == len(INTRO) and normalise(text[span["start"]:span["end"]]) in {normalise(t) for t in texts}
    # the chained evidence carries the spans and the record hash too
    finding = json.loads(members[f"findings/{finding_id}.json"])
    detail = next(e["detail"] for e in finding["evidence"] if e["kind"] == "reuse" and e["ref"] == reuse_ids[0])
    assert detail["spans"] == reuse["spans"] and detail["record_sha256"] == reuse["record_sha256"]


def test_without_records_the_bundle_has_no_record_text(scanned, tmp_path):
    store, finding_id, reuse_ids, _, _ = scanned
    out = tmp_path / "bundle.zip"
    write_bundle(store, [finding_id], out)
    assert not any(name.startswith("records/") for name in members_of(out))
    assert verify_bundle(out).ok


def _tampered(scanned, tmp_path, change, member="reuse"):
    store, finding_id, reuse_ids, _, _ = scanned
    out = tmp_path / "bundle.zip"
    write_bundle(store, [finding_id], out, with_records=True)
    members = members_of(out)
    name = reuse_member(reuse_ids[0]) if member == "reuse" else record_member(reuse_ids[0])
    edit_json(members, name, change)
    rewrite(out, members)
    check = verify_bundle(out)
    assert not check.ok
    return check.problems, reuse_ids[0]


def test_a_moved_span_is_named(scanned, tmp_path):
    def move(reuse):
        reuse["spans"][0]["start"] += 7

    problems, reuse_id = _tampered(scanned, tmp_path, move)
    name = reuse_member(reuse_id)
    assert any(p.startswith(f"member {name}: spans is ") for p in problems)  # against the chain
    assert any(f"member {name}: span 1 (" in p and "another SHA-256" in p for p in problems)  # against the text
    assert any(f"member {name}: span 1 (" in p and "bundled fingerprints" in p for p in problems)


def test_a_span_credited_to_another_output_is_named(scanned, tmp_path):
    def other(reuse):
        reuse["spans"][0]["outputs"] = [o + 1 for o in reuse["spans"][0]["outputs"]]

    problems, reuse_id = _tampered(scanned, tmp_path, other)
    assert any(f"member {reuse_member(reuse_id)}: span 1 (" in p for p in problems)


def test_a_removed_span_is_named(scanned, tmp_path):
    problems, reuse_id = _tampered(scanned, tmp_path, lambda reuse: reuse["spans"].clear())
    assert any(f"member {reuse_member(reuse_id)}: holds 0 spans" in p for p in problems)


def test_the_record_text_changed_is_named(scanned, tmp_path):
    def change(record):
        path, text = record["fields"][1]
        record["fields"][1] = [path, text.replace(text[len(INTRO):len(INTRO) + 5], "XXXXX", 1)]

    problems, reuse_id = _tampered(scanned, tmp_path, change, member="record")
    assert any(f"member {record_member(reuse_id)}: fields differ from those of the raw record" in p for p in problems)


def test_the_raw_record_changed_is_named(scanned, tmp_path):
    import base64

    def change(record):
        raw = base64.b64decode(record["raw_base64"]).replace(b"question", b"QUESTION")
        record["raw_base64"] = base64.b64encode(raw).decode()

    problems, reuse_id = _tampered(scanned, tmp_path, change, member="record")
    assert any(f"member {record_member(reuse_id)}: the raw record does not hash to the record SHA-256" in p
               for p in problems)


def test_a_record_edited_since_the_scan_gives_no_text_and_says_why(scanned, tmp_path):
    store, finding_id, reuse_ids, data, _ = scanned
    data.write_text(data.read_text().replace("question", "Question"))
    out = tmp_path / "bundle.zip"
    write_bundle(store, [finding_id], out, with_records=True)
    record = json.loads(members_of(out)[record_member(reuse_ids[0])])
    assert "changed since the scan" in record["unavailable"] and "fields" not in record
    assert verify_bundle(out).ok  # nothing to check the spans against; the rest holds


def test_malformed_spans_are_named_not_raised(scanned, tmp_path):
    for bad in ([{"field": 1}], "spans", [{"field": "x", "field_index": 0, "start": 5, "end": 2, "outputs": [1],
                                          "words": 1, "text_sha256": "0" * 64}]):
        problems, reuse_id = _tampered(scanned, tmp_path, lambda reuse, bad=bad: reuse.__setitem__("spans", bad))
        assert any(p.startswith(f"member {reuse_member(reuse_id)}: span") for p in problems)


def test_overlapping_and_unsorted_spans_are_named(scanned, tmp_path):
    def overlap(reuse):
        first = dict(reuse["spans"][0])
        reuse["spans"].append({**first, "start": first["start"] + 1})

    problems, reuse_id = _tampered(scanned, tmp_path, overlap)
    assert any(f"member {reuse_member(reuse_id)}: span 2 (" in p and "overlaps" in p for p in problems)
