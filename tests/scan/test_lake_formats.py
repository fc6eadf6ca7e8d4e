"""Issue 14 formats, written by the real libraries: Delta tables by `deltalake`, Hugging Face
datasets by `datasets.save_to_disk`, hive-partitioned Parquet by pyarrow, and .bz2/.xz text."""

from __future__ import annotations

import bz2
import json
import lzma
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from agent.scan.readers import Record
from agent.scan.readers import read_records
from agent.scan.scan import Scanner
from tests.scan.conftest import answer
from tests.support.client_side import client_side


@client_side
def save_dataset(path, columns):
    """`datasets.Dataset.from_dict(columns).save_to_disk(path)`, run where `datasets` is installed
    (the clients' venv: its fsspec range is not the product's); returns the files it wrote."""
    import os

    import datasets

    datasets.Dataset.from_dict(columns).save_to_disk(path)
    return sorted(os.listdir(path))


def scanned(store, output_index, *paths):
    results = list(Scanner(store, output_index, on_error=lambda line: None).scan_paths([Path(p) for p in paths]))
    return results, sorted((Path(f["path"]).name, f["record"]) for r in results for f in r.findings)


# ---- compressed text ----------------------------------------------------------------------

_COMPRESS = {".bz2": bz2.compress, ".xz": lzma.compress}

line_texts = st.lists(st.one_of(st.just(""), st.text(max_size=40), st.sampled_from(["x" * 5000, "dup", "dup"])),
                      max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=line_texts, suffix=st.sampled_from(sorted(_COMPRESS)))
def test_bz2_and_xz_jsonl_read_as_the_plain_file_does(tmp_path_factory, texts, suffix):
    """Empty, tiny, duplicate and big records: the same records, numbers and hashes as plain."""
    base = tmp_path_factory.mktemp("c")
    body = "".join(json.dumps({"t": t}) + "\n" if t else "\n" for t in texts).encode()
    plain, packed = base / "d.jsonl", base / f"d.jsonl{suffix}"
    plain.write_bytes(body)
    packed.write_bytes(_COMPRESS[suffix](body))

    def items(path):
        try:
            return [(i.number, i.fields, i.sha256) if isinstance(i, Record) else i.message
                    for i in read_records(path)]
        except Exception as e:  # an empty file is a FileReadError for both
            return type(e).__name__

    assert items(packed) == items(plain)


def test_corrupt_xz_is_one_file_error_after_the_records_before_it(tmp_path):
    good = "".join(json.dumps({"t": answer(i)}) + "\n" for i in range(3000)).encode()
    packed = lzma.compress(good)
    path = tmp_path / "d.jsonl.xz"
    path.write_bytes(packed[: len(packed) // 2] + b"\x00" * 64)
    got = []
    with pytest.raises(Exception) as raised:
        for item in read_records(path):
            got.append(item)
    assert str(raised.value).startswith(f"{path}: cannot read (xz)")
    assert got and all(isinstance(i, Record) for i in got)


def test_empty_and_truncated_compressed_files_are_one_line_each_and_the_scan_goes_on(captured, tmp_path):
    import zstandard

    store, output_index, texts, _ = captured
    data = tmp_path / "data"
    data.mkdir()
    packers = {".zst": zstandard.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
    body = "".join(json.dumps({"t": t}) + "\n" for t in [answer(60 + i) for i in range(400)]).encode()
    for suffix, pack in packers.items():
        (data / f"good{suffix[1:]}.jsonl{suffix}").write_bytes(pack((json.dumps({"t": texts[1]}) + "\n").encode()))
        (data / f"zero{suffix[1:]}.jsonl{suffix}").write_bytes(b"")
        (data / f"nothing{suffix[1:]}.jsonl{suffix}").write_bytes(pack(b""))
        whole = pack(body)
        (data / f"cut{suffix[1:]}.jsonl{suffix}").write_bytes(whole[: len(whole) // 2])
    lines: list[str] = []
    results = list(Scanner(store, output_index, on_error=lines.append).scan_paths([data]))
    by_name = {Path(r.path).name: r for r in results}
    assert len(results) == 12
    for suffix in packers:
        tag = suffix[1:]
        assert by_name[f"good{tag}.jsonl{suffix}"].state == "scanned"
        assert [f["record"] for f in by_name[f"good{tag}.jsonl{suffix}"].findings] == [1]
        for bad in ("zero", "nothing", "cut"):
            assert by_name[f"{bad}{tag}.jsonl{suffix}"].state == "error", bad
            said = [line for line in lines if line.startswith(str(data / f"{bad}{tag}.jsonl{suffix}") + ": ")]
            assert len(said) == 1, (bad, suffix, lines)
    assert sum(r.state == "error" for r in results) == 9
    assert not any("Traceback" in line for line in lines)


def test_reuse_in_a_bz2_file_is_found(captured, tmp_path):
    store, output_index, texts, _ = captured
    path = tmp_path / "train.jsonl.bz2"
    path.write_bytes(bz2.compress("".join(json.dumps({"c": t}) + "\n" for t in ["hi", texts[3]]).encode()))
    _, found = scanned(store, output_index, path)
    assert found == [("train.jsonl.bz2", 2)]


# ---- Hugging Face datasets ----------------------------------------------------------------


def test_a_dataset_saved_by_datasets_is_read_row_by_row(captured, tmp_path):
    store, output_index, texts, _ = captured
    rows = [answer(500 + i) for i in range(40)]
    rows[17] = f"Summary: {texts[2]}"
    rows[33] = texts[5]
    written = save_dataset(tmp_path / "hf", {"id": list(range(40)), "text": rows,
                                             "chat": [[{"role": "assistant", "content": r}] for r in rows]})
    assert "dataset_info.json" in written and "state.json" in written
    arrow_files = sorted((tmp_path / "hf").glob("*.arrow"))
    assert arrow_files, "save_to_disk wrote no .arrow file"
    results, found = scanned(store, output_index, tmp_path / "hf")
    assert found == [(arrow_files[0].name, 18), (arrow_files[0].name, 34)]
    assert not [r for r in results if r.state == "error"]
    # the same rows in the arrow file read as Records numbered 1.. with the text columns' fields
    records = [i for i in read_records(arrow_files[0]) if isinstance(i, Record)]
    assert [r.number for r in records] == list(range(1, 41))
    assert ("text", rows[17]) in records[17].fields and ("chat[0].content", rows[17]) in [
        (str(k), v) for k, v in records[17].fields]


def test_a_truncated_arrow_file_is_a_file_error_not_a_crash(tmp_path):
    save_dataset(tmp_path / "hf", {"text": [answer(i) for i in range(200)]})
    arrow = next((tmp_path / "hf").glob("*.arrow"))
    arrow.write_bytes(arrow.read_bytes()[:3000])
    with pytest.raises(Exception) as raised:
        list(read_records(arrow))
    assert str(raised.value).startswith(f"{arrow}: ") and "Arrow" in str(raised.value)


# ---- Delta Lake ---------------------------------------------------------------------------


def test_a_delta_table_is_read_at_its_version_and_findings_name_it(captured, tmp_path):
    import deltalake
    import pyarrow as pa

    store, output_index, texts, _ = captured
    table = tmp_path / "lake" / "events"
    first = [answer(700 + i) for i in range(20)]
    first[4] = texts[1]
    deltalake.write_deltalake(str(table), pa.table({"n": list(range(20)), "text": first}))
    results, _ = scanned(store, output_index, tmp_path / "lake")
    assert [(r.path, r.state) for r in results] == [(f"{table}@v0", "scanned")]
    assert [(f["path"], f["record"]) for f in results[0].findings] == [(f"{table}@v0", 5)]
    # the same version is not read again
    again, _ = scanned(store, output_index, tmp_path / "lake")
    assert [r.state for r in again] == ["unchanged"] and again[0].findings
    # an append is a new version, read again; its findings name version 1
    deltalake.write_deltalake(str(table), pa.table({"n": [20, 21], "text": ["short", texts[7]]}), mode="append")
    later, _ = scanned(store, output_index, table)
    assert [(r.path, r.state) for r in later] == [(f"{table}@v1", "scanned")]
    assert sorted(f["record"] for f in later[0].findings) == [5, 22]
    # a delete leaves dead data files behind: they are not read (the walk does not enter the table)
    deltalake.DeltaTable(str(table)).delete("n = 4")
    latest, _ = scanned(store, output_index, tmp_path / "lake")
    assert [(r.path, r.state) for r in latest] == [(f"{table}@v2", "scanned")]
    # the delete rewrote the first file, now the newest: in commit order it comes after the
    # appended one, and the finding names the row of version 2 that holds the text
    from agent.scan.formats.delta import read_table

    [number] = [f["record"] for f in latest[0].findings]
    rows = {r.number: dict(r.fields) for r in read_table(deltalake.DeltaTable(str(table)), "t")}
    assert rows[number]["text"] == texts[7] and len(rows) == 21


def test_a_file_event_inside_a_delta_table_reads_the_table(captured, tmp_path):
    """The watcher hands over a changed log or data file: the table is what is read."""
    import deltalake
    import pyarrow as pa

    store, output_index, texts, _ = captured
    table = tmp_path / "t"
    deltalake.write_deltalake(str(table), pa.table({"text": [texts[0]]}))
    log_file = next((table / "_delta_log").glob("*.json"))
    output_index.sync()  # as the watcher does before it hands files over
    result = Scanner(store, output_index, on_error=lambda line: None).scan_file(log_file, tmp_path)
    assert result.path == f"{table}@v0" and [f["record"] for f in result.findings] == [1]


def test_a_broken_delta_log_is_one_error_line(captured, tmp_path):
    store, output_index, _, _ = captured
    table = tmp_path / "lake" / "t"
    (table / "_delta_log").mkdir(parents=True)
    (table / "_delta_log" / "00000000000000000000.json").write_text("{not json\n")
    lines: list[str] = []
    results = list(Scanner(store, output_index, on_error=lines.append).scan_paths([tmp_path / "lake"]))
    assert [r.state for r in results] == ["error"]
    assert len(lines) == 1 and lines[0].startswith(f"{table}: ") and "Delta" in lines[0]


# ---- partitioned Parquet ------------------------------------------------------------------


def test_a_hive_partitioned_parquet_directory_is_read_file_by_file(captured, tmp_path):
    import pyarrow as pa
    import pyarrow.dataset as pads

    store, output_index, texts, _ = captured
    rows = [answer(900 + i) for i in range(30)]
    rows[3], rows[26] = texts[4], texts[8]
    pads.write_dataset(pa.table({"day": [f"2024-01-0{1 + i % 3}" for i in range(30)], "text": rows}),
                       str(tmp_path / "pq"), format="parquet", partitioning=["day"], partitioning_flavor="hive")
    results, found = scanned(store, output_index, tmp_path / "pq")
    assert len(results) == 3 and all(r.state == "scanned" for r in results)
    hit = {(Path(f["path"]).parent.name, f["record"]) for r in results for f in r.findings}
    # rows 3 and 26 are in days 1 (i%3==0) and 3 (i%3==2), rows 2 and 9 within their partitions
    assert hit == {("day=2024-01-01", 2), ("day=2024-01-03", 9)}
