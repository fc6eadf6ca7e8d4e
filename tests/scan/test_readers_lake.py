"""Issue 14 inputs the readers take: .bz2/.xz compressed text and hive-partitioned Parquet
directories written by pyarrow."""

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
from tests.scan.conftest import scanned

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
