from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from agent.scan import readers
from agent.scan.readers import SUPPORTED_SUFFIXES
from agent.scan.readers import FileReadError
from agent.scan.readers import Record
from agent.scan.readers import RecordError
from agent.scan.readers import read_records

CHAT = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"},
                     {"role": "assistant", "content": "Hello there."}]}
PROMPT = {"prompt": "Say hi", "completion": "Hi!"}
SHAREGPT = {"conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A."}]}
ALPACA = {"instruction": "Add", "input": "1 1", "output": "2", "meta": {"tags": ["x", {"deep": "y"}], "n": 3}}

EXPECTED_FIELDS = [
    [("messages[0].content", "Be brief."), ("messages[1].content", "Hi?"), ("messages[2].content", "Hello there.")],
    [("prompt", "Say hi"), ("completion", "Hi!")],
    [("conversations[0].value", "Q?"), ("conversations[1].value", "A.")],
    [("instruction", "Add"), ("input", "1 1"), ("output", "2"), ("meta.tags[0]", "x"), ("meta.tags[1].deep", "y")],
]


def patch_readers(monkeypatch, name, value):
    """Set a reader constant in every format module that bound it (each imports it by name)."""
    from agent.scan.readers import common
    from agent.scan.readers import json_array
    from agent.scan.readers import jsonl
    from agent.scan.readers import parquet
    from agent.scan.readers import table
    from agent.scan.readers import text

    for module in (readers, common, json_array, jsonl, parquet, table, text):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, value)

def compress(data: bytes, suffix: str) -> bytes:
    if suffix == ".gz":
        return gzip.compress(data)
    if suffix == ".zst":
        return zstandard.ZstdCompressor().compress(data)
    return data


def records_of(path: Path, **kwargs):
    return [r for r in read_records(path, **kwargs) if isinstance(r, Record)]


def errors_of(path: Path, **kwargs):
    return [r for r in read_records(path, **kwargs) if isinstance(r, RecordError)]


def test_supported_suffixes_cover_every_format_and_compression():
    for base in (".jsonl", ".json", ".csv", ".tsv", ".parquet", ".txt", ".md"):
        assert base in SUPPORTED_SUFFIXES
        assert base + ".gz" in SUPPORTED_SUFFIXES and base + ".zst" in SUPPORTED_SUFFIXES


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_jsonl_training_shapes_with_line_numbers(tmp_path, suffix):
    lines = [json.dumps(CHAT), "", json.dumps(PROMPT), json.dumps(SHAREGPT), "   ", json.dumps(ALPACA)]
    data = ("\n".join(lines) + "\n").encode()
    path = tmp_path / f"data.jsonl{suffix}"
    path.write_bytes(compress(data, suffix))
    found = records_of(path)
    assert [r.number for r in found] == [1, 3, 4, 6]  # physical lines; blank lines yield nothing
    assert [r.fields for r in found] == EXPECTED_FIELDS
    assert found[1].sha256 == hashlib.sha256(lines[2].encode()).hexdigest()
    assert found[-1].end_offset == len(data)


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_json_array_elements_are_records(tmp_path, suffix):
    path = tmp_path / f"data.json{suffix}"
    path.write_bytes(compress(json.dumps([CHAT, PROMPT, SHAREGPT, ALPACA], indent=2).encode(), suffix))
    found = records_of(path)
    assert [r.number for r in found] == [1, 2, 3, 4]
    assert [r.fields for r in found] == EXPECTED_FIELDS


def test_big_json_array_streams_across_chunks(tmp_path, monkeypatch):
    patch_readers(monkeypatch, "_CHUNK", 64)
    items = [{"text": f"item number {i} " + "x" * (i % 50), "n": 1.5 * i} for i in range(300)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(items))
    found = records_of(path)
    assert [r.number for r in found] == list(range(1, 301))
    assert found[123].fields == [("text", items[123]["text"])]
    assert [r.number for r in records_of(path, start_record=298)] == [299, 300]


def test_json_object_is_one_record_and_json_lines_under_json_name(tmp_path):
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"data": {"answer": "forty two"}}, indent=2))
    assert [(r.number, r.fields) for r in records_of(single)] == [(1, [("data.answer", "forty two")])]
    lines = tmp_path / "lines.json"
    lines.write_text(json.dumps(PROMPT) + "\n" + json.dumps(SHAREGPT) + "\n")
    assert [r.number for r in records_of(lines)] == [1, 2]


@pytest.mark.parametrize(("kind", "delimiter"), [("csv", ","), ("tsv", "\t")])
@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_csv_and_tsv_rows_after_the_header(tmp_path, kind, delimiter, suffix):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["prompt", "response", ""])
    writer.writerow(["first", "multi\nline answer", "z"])
    writer.writerow(["", "second", ""])
    writer.writerow(["third", "with, comma\tand tab", "q"])
    path = tmp_path / f"data.{kind}{suffix}"
    path.write_bytes(compress(buffer.getvalue().encode(), suffix))
    found = records_of(path)
    assert [r.number for r in found] == [1, 2, 3]
    assert found[0].fields == [("prompt", "first"), ("response", "multi\nline answer"), ("column3", "z")]
    assert found[1].fields == [("response", "second")]
    assert found[2].fields[1] == ("response", "with, comma\tand tab")


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_parquet_string_columns_and_nested_structs(tmp_path, suffix):
    table = pa.table({
        "id": [1, 2, 3],
        "messages": [[{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}], [],
                     [{"role": "assistant", "content": "a3"}]],
        "text": ["t1", None, "t3"],
        "score": [0.1, 0.2, 0.3],
    })
    plain = tmp_path / "data.parquet"
    pq.write_table(table, plain, row_group_size=2)
    path = tmp_path / f"data.parquet{suffix}"
    if suffix:
        path.write_bytes(compress(plain.read_bytes(), suffix))
    found = records_of(path)
    assert [r.number for r in found] == [1, 2, 3]
    assert found[0].fields == [("messages[0].content", "q1"), ("messages[1].content", "a1"), ("text", "t1")]
    assert found[1].fields == []
    assert found[2].fields == [("messages[0].content", "a3"), ("text", "t3")]
    assert [r.number for r in records_of(path, start_record=2)] == [3]


@pytest.mark.parametrize("name", ["notes.txt", "notes.md", "notes.md.gz", "notes.txt.zst"])
def test_text_file_is_record_one_split_into_paragraphs(tmp_path, name):
    body = "# Title\n\nFirst paragraph\nstill first.\n\n\n\nSecond one.\n"
    path = tmp_path / name
    path.write_bytes(compress(body.encode(), Path(name).suffix))
    found = records_of(path)
    assert len(found) == 1 and found[0].number == 1
    assert found[0].fields == [("paragraph[0]", "# Title\n"), ("paragraph[1]", "First paragraph\nstill first.\n"),
                               ("paragraph[2]", "Second one.\n")]
    assert found[0].sha256 == hashlib.sha256(body.encode()).hexdigest()


def test_huge_text_file_is_several_records_numbered_one(tmp_path, monkeypatch):
    patch_readers(monkeypatch, "TEXT_RECORD_BYTES", 1000)
    path = tmp_path / "big.txt"
    path.write_text("".join(f"paragraph {i} " + "word " * 30 + "\n\n" for i in range(100)))
    found = records_of(path)
    assert len(found) > 5 and {r.number for r in found} == {1}
    assert sum(len(r.fields) for r in found) == 100


def test_jsonl_resumes_from_end_offset_after_appending(tmp_path):
    path = tmp_path / "grow.jsonl"
    path.write_text(json.dumps(PROMPT) + "\n" + json.dumps(CHAT) + "\n" + '{"prompt": "half')
    first = list(read_records(path))
    assert [r.number for r in first if isinstance(r, Record)] == [1, 2]
    assert isinstance(first[-1], RecordError) and "incomplete" in first[-1].message
    offset, last = first[-1].end_offset, 2
    assert offset == len(json.dumps(PROMPT)) + len(json.dumps(CHAT)) + 2
    with open(path, "a") as handle:
        handle.write(' written"}\n' + json.dumps(SHAREGPT) + "\n")
    resumed = list(read_records(path, start_offset=offset, start_record=last))
    assert [(r.number, r.fields) for r in resumed] == [(3, [("prompt", "half written")]), (4, EXPECTED_FIELDS[2])]
    assert resumed[-1].end_offset == path.stat().st_size
    assert list(read_records(path, start_offset=resumed[-1].end_offset, start_record=4)) == []


def test_unterminated_but_complete_last_line_is_read_but_not_consumed(tmp_path):
    path = tmp_path / "tail.jsonl"
    path.write_text(json.dumps(PROMPT) + "\n" + json.dumps(SHAREGPT))
    found = records_of(path)
    assert [r.number for r in found] == [1, 2]
    assert found[1].end_offset == found[0].end_offset == len(json.dumps(PROMPT)) + 1


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_jsonl_resumes_by_uncompressed_offset(tmp_path, suffix):
    lines = [json.dumps({"text": f"line {i}"}) for i in range(10)]
    path = tmp_path / f"data.jsonl{suffix}"
    path.write_bytes(compress(("\n".join(lines) + "\n").encode(), suffix))
    everything = records_of(path)
    resumed = records_of(path, start_offset=everything[5].end_offset, start_record=6)
    assert [r.number for r in resumed] == [7, 8, 9, 10]
    assert resumed == everything[6:]


def test_csv_resumes_from_end_offset(tmp_path):
    path = tmp_path / "grow.csv"
    path.write_text("q,a\nq1,a1\nq2,a2\n")
    first = records_of(path)
    with open(path, "a") as handle:
        handle.write('q3,"a3\nmore"\n')
    resumed = records_of(path, start_offset=first[-1].end_offset, start_record=first[-1].number)
    assert [(r.number, r.fields) for r in resumed] == [(3, [("q", "q3"), ("a", "a3\nmore")])]


def test_malformed_jsonl_lines_are_reported_and_skipped(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([json.dumps(PROMPT), "{not json", '{"a": 1,}', json.dumps(SHAREGPT), "[1, 2"]) + "\n")
    result = list(read_records(path))
    assert [(type(r).__name__, r.number) for r in result] == [
        ("Record", 1), ("RecordError", 2), ("RecordError", 3), ("Record", 4), ("RecordError", 5)]
    for error in result[1:3]:
        assert "expected one JSON value per line" in error.message and "\n" not in error.message


def test_malformed_csv_rows_are_reported_and_skipped(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n1,2,3\nonly\n4,5\n")
    result = list(read_records(path))
    assert [(type(r).__name__, r.number) for r in result] == [
        ("Record", 1), ("RecordError", 2), ("RecordError", 3), ("Record", 4)]
    assert "expected 2 cells" in result[1].message and "found 3" in result[1].message


def test_malformed_json_array_stops_with_a_message(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[{"a": "one"}, {"a": "two"} {"a": "three"}]')
    result = list(read_records(path))
    assert [type(r).__name__ for r in result] == ["Record", "Record", "RecordError"]
    assert result[2].number == 3 and "expected ','" in result[2].message


def test_overlong_line_is_skipped_with_bounded_memory(tmp_path, monkeypatch):
    patch_readers(monkeypatch, "MAX_RECORD_BYTES", 1000)
    patch_readers(monkeypatch, "_CHUNK", 256)
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(PROMPT) + "\n" + json.dumps({"t": "x" * 50_000}) + "\n" + json.dumps(SHAREGPT) + "\n")
    result = list(read_records(path))
    assert [(type(r).__name__, r.number) for r in result] == [("Record", 1), ("RecordError", 2), ("Record", 3)]
    assert "over the" in result[1].message and "skipped" in result[1].message
    assert result[2].end_offset == path.stat().st_size


def test_fifty_megabyte_line_is_skipped(tmp_path):
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as handle:
        handle.write(b'{"t": "before"}\n{"t": "')
        block = b"y" * (1 << 20)
        for _ in range(50):
            handle.write(block)
        handle.write(b'"}\n{"t": "after"}\n')
    result = list(read_records(path))
    assert [(type(r).__name__, r.number) for r in result] == [("Record", 1), ("RecordError", 2), ("Record", 3)]
    assert result[2].fields == [("t", "after")]


def test_invalid_utf8_is_decoded_with_replacement_and_reported_once(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"t": "café"}\n{"t": "naïve"}\n'.encode("latin-1"))
    result = list(read_records(path))
    assert [type(r).__name__ for r in result] == ["RecordError", "Record", "Record"]
    assert "not valid UTF-8" in result[0].message
    assert result[1].fields == [("t", "caf\ufffd")]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.jsonl", b"", "empty file"),
    ("empty.csv", b"", "empty file"),
    ("blob.jsonl", bytes(range(256)) * 4, "binary"),
    ("blob.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("utf16.csv", "a,b\n1,2\n".encode("utf-16"), "UTF-16"),
    ("fake.parquet", b"not parquet at all", "not a Parquet file"),
    ("broken.jsonl.gz", b"\x1f\x8b\x08\x00garbage-garbage", "cannot read"),
    ("broken.jsonl.zst", b"\x28\xb5\x2f\xfdgarbage", "cannot read"),
    ("data.xlsx", b"PK\x03\x04", "unsupported file type"),
    ("header-only-blank.csv", b"\n\n", "no header row"),
])
def test_bad_files_raise_one_clear_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileReadError) as caught:
        list(read_records(path))
    text = str(caught.value)
    assert message in text and text.startswith(str(path)) and "\n" not in text


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileReadError, match="no such file"):
        list(read_records(tmp_path / "gone.jsonl"))
    folder = tmp_path / "dir.jsonl"
    folder.mkdir()
    with pytest.raises(FileReadError, match="directory"):
        list(read_records(folder))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.jsonl"
    path.write_text(json.dumps(PROMPT) + "\n")
    path.chmod(0)
    with pytest.raises(FileReadError, match="permission denied"):
        list(read_records(path))


def test_unreadable_file_reports_permission(tmp_path, monkeypatch):
    path = tmp_path / "secret.jsonl"
    path.write_text(json.dumps(PROMPT) + "\n")
    real_open = open

    def deny(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(FileReadError, match="permission denied"):
        list(read_records(path))


def test_truncated_file_behind_resume_offset(tmp_path):
    path = tmp_path / "shrunk.jsonl"
    path.write_text(json.dumps(PROMPT) + "\n")
    with pytest.raises(FileReadError, match="past the end"):
        list(read_records(path, start_offset=10_000, start_record=50))


def test_records_read_before_a_corrupt_tail_are_kept(tmp_path):
    good = gzip.compress(("\n".join(json.dumps({"t": f"row {i}"}) for i in range(20_000)) + "\n").encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(good[: len(good) * 2 // 3])
    seen = []
    with pytest.raises(FileReadError, match="cannot read"):
        for item in read_records(path):
            seen.append(item)
    assert len(seen) > 1000 and all(isinstance(r, Record) for r in seen)


def test_record_digest_is_computed_from_the_raw_bytes_on_first_use(tmp_path):
    line = json.dumps(PROMPT).encode()
    path = tmp_path / "one.jsonl"
    path.write_bytes(b"\n" + line + b"\r\n")
    [record] = records_of(path)
    assert record.sha256 == hashlib.sha256(line).hexdigest()  # without the "\r"
    assert record == Record(2, record.fields, len(line) + 3, hashlib.sha256(line).hexdigest())
    assert Record(1, [], 0, raw=b"x").sha256 == hashlib.sha256(b"x").hexdigest()
    with pytest.raises(ValueError):
        Record(1, [], 0)


def test_jsonl_values_with_surrounding_whitespace_and_bad_lines(tmp_path):
    path = tmp_path / "spaced.jsonl"
    path.write_bytes(b'  {"text": "leading"}\n{"text": "trailing"} \t\n{"text": "ok"}\n{"text": \n[1, 2] x\n')
    found = list(read_records(path))
    assert [(r.number, r.fields) for r in found if isinstance(r, Record)] == [
        (1, [("text", "leading")]), (2, [("text", "trailing")]), (3, [("text", "ok")])]
    errors = [r for r in found if isinstance(r, RecordError)]
    assert [e.number for e in errors] == [4, 5]
    assert "Expecting value" in errors[0].message and "Extra data" in errors[1].message
