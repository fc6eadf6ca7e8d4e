"""Training uploads stored only as fingerprints, matched against the captured outputs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from agent.ids import new_id
from agent.reuse import fingerprint
from agent.reuse.uploads import match_uploads
from agent.store.models import Call
from agent.store.models import Output
from agent.store.models import ReuseFinding
from tests.scan.conftest import answer


def add_upload(store, records: list[str], vendor: str = "anthropic") -> str:
    """An upload call as the writer records it: one `uploaded` output (fingerprint, no text) per
    text record of the training file."""
    now = dt.datetime.now(dt.timezone.utc)
    call_id = new_id()
    with store.write_session() as s:
        s.add(Call(id=call_id, ts=now, vendor=vendor, host="api.anthropic.com", endpoint="files",
                   kind="upload", path="/v1/files?purpose=fine-tune", team="platform", outputs=0,
                   output_chars=0, upload_purpose="fine-tune"))
        s.flush()
        for idx, text in enumerate(records):
            fp = fingerprint(text)
            s.add(Output(call_id=call_id, idx=idx, kind="uploaded", ts=now, word_count=fp.word_count,
                         char_count=len(text), exact_hash=fp.exact, fingerprint=fp.to_blob()))
    return call_id


def findings(store) -> list[ReuseFinding]:
    with store.session() as s:
        return list(s.scalars(select(ReuseFinding).order_by(ReuseFinding.record)))


def test_an_upload_holding_a_captured_output_is_a_finding(captured):
    store, output_index, texts, call_ids = captured
    training = [
        f"Summarise the report. {texts[4]}",  # holds captured output 5
        answer(9000),  # unrelated text of the same vocabulary
    ]
    upload_call = add_upload(store, training)

    assert match_uploads(store, output_index) == 1
    [finding] = findings(store)
    assert finding.source == "upload"
    assert finding.upload_call_id == upload_call
    assert finding.record == 1  # the upload's first text record
    assert finding.call_ids == [call_ids[4]]
    assert finding.vendors == ["openai"]
    assert finding.path == "api.anthropic.com/v1/files"
    assert finding.reuse_class in {"embedded", "exact"}

    with store.session() as s:
        checked = s.scalars(select(Output.matched_at).where(Output.kind == "uploaded")).all()
    assert len(checked) == 2 and all(t is not None for t in checked)

    assert match_uploads(store, output_index) == 0  # already checked: nothing new
    assert len(findings(store)) == 1


def test_uploads_match_exact_and_reformatted_copies_by_fingerprint(captured):
    store, output_index, texts, call_ids = captured
    upload_call = add_upload(store, [texts[0], texts[7].upper().replace(". ", ".\n\n")])
    assert match_uploads(store, output_index) == 2
    rows = findings(store)
    assert [(f.record, f.call_ids, f.reuse_class) for f in rows] == [
        (1, [call_ids[0]], "exact"), (2, [call_ids[7]], "reformatted")]
    assert {f.upload_call_id for f in rows} == {upload_call}
    assert match_uploads(store, output_index) == 0


def test_an_unreadable_upload_fingerprint_blocks_nothing(captured, caplog):
    """A corrupt BLOB, or one claiming more 5-grams than its words allow, is said and skipped;
    the uploads after it are still matched."""
    import struct

    import numpy as np

    store, output_index, texts, call_ids = captured
    upload_call = add_upload(store, ["placeholder one", "placeholder two", f"Intro. {texts[2]}"])
    overrun = fingerprint(texts[1])
    header = struct.Struct("<BBIQ16sI")
    too_many = header.pack(1, 5, 3, overrun.text_hash, overrun.exact, len(overrun.shingles)) \
        + np.ascontiguousarray(overrun.shingles, dtype="<u8").tobytes()
    with store.write_session() as s:
        rows = s.scalars(select(Output).where(Output.call_id == upload_call).order_by(Output.idx)).all()
        rows[0].fingerprint = b"\x01garbage"
        rows[1].fingerprint = too_many
    assert match_uploads(store, output_index) == 1
    assert [f.call_ids for f in findings(store)] == [[call_ids[2]]]
    assert sum("unreadable fingerprint" in r.message for r in caplog.records) == 2
    assert match_uploads(store, output_index) == 0  # all three were marked checked
