"""The synced output index keeps the index in step with the store, late commits included."""

from __future__ import annotations

import datetime as dt
import json

from agent.ids import new_id
from agent.reuse import fingerprint
from agent.scan.scan import Scanner
from agent.store.models import Call
from agent.store.models import Output
from tests.scan.conftest import answer


def add_output_with_id(store, output_id: int, text: str) -> str:
    """An output whose id was drawn before others committed: what a slow proxy transaction on a
    shared PostgreSQL sequence leaves behind."""
    call_id = new_id()
    now = dt.datetime.now(dt.timezone.utc)
    fp = fingerprint(text)
    with store.write_session() as s:
        s.add(Call(id=call_id, ts=now, vendor="mistral", host="api.mistral.ai", endpoint="chat.completions",
                   team="ops", outputs=1, output_chars=len(text)))
        s.flush()
        s.add(Output(id=output_id, call_id=call_id, idx=0, kind="generated", ts=now, word_count=fp.word_count,
                     char_count=len(text), exact_hash=fp.exact, fingerprint=fp.to_blob()))
    return call_id


def test_an_output_that_commits_below_the_watermark_is_indexed(tmp_path, captured):
    store, output_index, _, _ = captured
    add_output_with_id(store, 100, answer(100))
    assert output_index.sync() == 13 and output_index.index.max_output_id == 100
    version = output_index.version

    late_text = answer(50)
    late_call = add_output_with_id(store, 50, late_text)
    assert not output_index.index.contains([50])[0]
    assert output_index.sync() == 1
    assert output_index.index.contains([50])[0] and output_index.index.max_output_id == 100
    assert output_index.version != version  # files scanned before are scanned again
    assert output_index.sync() == 0 and output_index.indexed() == output_index.stored() == 14

    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps({"text": late_text}) + "\n")
    [result] = Scanner(store, output_index).scan_paths([path])
    assert result.new_findings == 1
    assert [f["call_ids"] for f in result.findings] == [[late_call]]


def test_a_file_scanned_before_a_late_output_is_scanned_again(tmp_path, captured):
    store, output_index, _, _ = captured
    add_output_with_id(store, 100, answer(100))
    late_text = answer(60)
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps({"text": late_text}) + "\n")
    assert [r.new_findings for r in Scanner(store, output_index).scan_paths([path])] == [0]
    add_output_with_id(store, 60, late_text)
    [result] = Scanner(store, output_index).scan_paths([path])
    # an output that committed below the highest id is not "new" by its id: the file's sketch
    # cannot tell what to check, so the file is read in full (agent.scan.incremental)
    assert result.state == "scanned" and result.new_findings == 1
