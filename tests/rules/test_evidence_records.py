"""Record text for bundles: read back from the dataset file, kept only if it still hashes to the
stored record SHA-256, otherwise the reason."""

from __future__ import annotations

import base64
import hashlib
import json

from agent.scan.readers import Record
from agent.scan.readers import read_records
from rules.evidence.records import raw_matches
from rules.evidence.records import record_text


def sha_of(path, number):
    return next(r.sha256 for r in read_records(path) if isinstance(r, Record) and r.number == number)


def test_a_json_lines_record_keeps_its_fields_and_raw_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"a": "one"}) + "\n" + json.dumps({"messages": [{"role": "assistant", "content": "two"}]}) + "\n")
    found = record_text(str(path), 2, sha_of(path, 2))
    assert found["fields"] == [["messages[0].content", "two"]] and found["format"] == "jsonl"
    raw = base64.b64decode(found["raw_base64"])
    assert raw_matches(raw, found["record_sha256"]) and json.loads(raw)["messages"][0]["content"] == "two"


def test_a_csv_record_keeps_its_fields_only(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("prompt,completion\nhi,there\nq,the answer\n")
    found = record_text(str(path), 2, sha_of(path, 2))
    assert found["fields"] == [["prompt", "q"], ["completion", "the answer"]] and "raw_base64" not in found


def test_a_changed_or_missing_record_says_why(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"a": "one"}) + "\n")
    sha = sha_of(path, 1)
    path.write_text(json.dumps({"a": "One"}) + "\n")
    assert "changed since the scan" in record_text(str(path), 1, sha)["unavailable"]
    assert "changed since the scan" in record_text(str(path), 7, sha)["unavailable"]
    assert record_text(str(tmp_path / "gone.jsonl"), 1, sha)["unavailable"] == "no such file"
    assert "unsupported file type" in record_text(str(tmp_path / "x.exe"), 1, sha)["unavailable"]
    assert not raw_matches(b"x", hashlib.sha256(b"y").hexdigest())
