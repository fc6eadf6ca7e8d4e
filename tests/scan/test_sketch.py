"""Issue 14: the dataset-side sketch, and checking new captures against files already scanned
(real SQLite stores, real files, the real detector). JSONL byte ranges: formats/test_jsonl_ranges.py."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select

from agent.reuse.outputs import SyncedOutputIndex
from agent.scan import sketch
from agent.scan.incremental import sketch_dir
from agent.scan.readers import Record
from agent.scan.scan import Scanner
from agent.store.engine import open_store
from agent.store.identity import note_outputs_removed
from agent.store.models import ReuseFinding
from tests.scan.conftest import WORDS
from tests.scan.conftest import add_outputs
from tests.scan.conftest import answer

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---- the sketch ---------------------------------------------------------------------------


def filler(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) + rng.choice(["", "s", "ed", "ing"]) for _ in range(words))


@FAST
@given(seed=st.integers(0, 10**6), run=st.integers(20, 120), before=st.integers(0, 200), after=st.integers(0, 200),
       others=st.integers(0, 3))
def test_a_reused_run_of_20_words_or_more_is_always_a_candidate(seed, run, before, after, others):
    """The docstring's guarantee: such a run leaves GUARANTEED_HITS kept 5-grams of its output in
    the record, so the record is read back at the threshold the check uses."""
    from agent.reuse.fingerprint import fingerprint

    rng = random.Random(seed)
    output = filler(rng, 300)
    words = output.split()
    at = rng.randint(0, len(words) - run)
    records = [[("t", filler(rng, 50))] for _ in range(5)]
    hit = rng.randint(0, 5)
    records.insert(hit, [("a", filler(rng, before)), ("b", f"{filler(rng, before)} {' '.join(words[at:at + run])} "
                                                        f"{filler(rng, after)}")])
    builder = sketch.SketchBuilder()
    for i, fields in enumerate(records):
        builder.add(i + 1, fields, 0)
    data = builder.finish({})
    outputs = [filler(rng, 200) for _ in range(others)]
    outputs.insert(rng.randint(0, others), output)
    query = sketch.NewOutputs.of([fingerprint(t).shingles for t in outputs])
    assert sketch.GUARANTEED_HITS == 2
    assert hit in data.candidates(query).tolist()


def brute_candidates(data: sketch.SketchData, outputs: list[np.ndarray], need: int) -> list[int]:
    """candidates() the slow way: per record, per output, count the kept hashes in it."""
    found, at = [], 0
    for index, count in enumerate(data.counts.tolist()):
        mine = data.hashes[at:at + count].tolist()
        at += count
        if any(sum(h in set(sketch.sketch_hash(o).tolist()) for h in mine) >= need for o in outputs):
            found.append(index)
    return found


@FAST
@given(counts=st.lists(st.integers(0, 12), max_size=20), n_outputs=st.integers(0, 5), need=st.integers(1, 3),
       seed=st.integers(0, 999))
def test_candidates_are_the_records_with_enough_hits_in_one_output(counts, n_outputs, need, seed):
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 1 << 64, 30, dtype=np.uint64)  # few distinct 5-grams: many shared, repeats
    outputs = [rng.choice(pool, rng.integers(0, 15)) for _ in range(n_outputs)]
    hashes = sketch.sketch_hash(rng.choice(pool, sum(counts))) if counts else np.empty(0, np.uint32)
    zeros = np.zeros(len(counts), np.int64)
    data = sketch.SketchData({}, hashes.astype(np.uint32), np.array(counts, np.int64), zeros, zeros, zeros)
    got = data.candidates(sketch.NewOutputs.of(outputs), need).tolist()
    assert got == brute_candidates(data, outputs, need)


def test_one_shared_5_gram_does_not_make_a_record_a_candidate():
    from agent.reuse.fingerprint import fingerprint

    rng = random.Random(4)
    output = filler(rng, 200)
    builder = sketch.SketchBuilder()
    builder.add(1, [("t", output)], 0)
    data = builder.finish({})
    kept = data.hashes[:1]
    lone = sketch.NewOutputs.of([np.array([int(kept[0]) << 40], np.uint64)])  # one of its kept 5-grams
    assert data.candidates(lone).tolist() == [] and data.candidates(lone, need=1).tolist() == [0]
    assert data.candidates(sketch.NewOutputs.of([fingerprint(output).shingles])).tolist() == [0]


@FAST
@given(sizes=st.lists(st.integers(0, 6), max_size=6).filter(any), seed=st.integers(0, 99))
def test_units_sketched_apart_and_merged_cover_the_file_and_keep_the_guarantee(sizes, seed):
    """What a worker builds for its unit (sketch.sketch_of_unit), merged: the records and spans of
    the whole file, and a planted run of 20 words is a candidate wherever the units were cut.
    (The kept hashes themselves may differ from a one-pass sketch: windows across a cut differ.)"""
    from agent.reuse.fingerprint import fingerprint

    rng = random.Random(seed)
    output = filler(rng, 100)
    total = sum(sizes)
    planted = rng.randint(1, total)
    records, end = [], 0
    for n in range(1, total + 1):
        end += rng.randint(1, 500)
        text = f"{filler(rng, 10)} {' '.join(output.split()[30:50])} {filler(rng, 5)}" if n == planted \
            else filler(rng, rng.randint(0, 60))
        records.append(Record(n, [("t", text)], end, "x"))
    whole = sketch.SketchBuilder()
    for r in records:
        whole.add(r.number, r.fields, r.end_offset)
    parts, at, start = [], 0, 0
    for size in sizes:
        unit = records[at:at + size]
        parts.append(sketch.sketch_of_unit(unit, start))
        at, start = at + size, unit[-1].end_offset if unit else start
    merged, expected = sketch.merge(parts, {"b": 1}), whole.finish({"b": 1})
    assert merged.binding == expected.binding and int(merged.counts.sum()) == len(merged.hashes)
    for name in ("numbers", "starts", "ends"):
        assert np.array_equal(getattr(merged, name), getattr(expected, name)), name
    assert planted - 1 in merged.candidates(sketch.NewOutputs.of([fingerprint(output).shingles])).tolist()


@FAST
@given(counts=st.lists(st.integers(0, 50), max_size=30), seed=st.integers(0, 99))
def test_a_sketch_is_read_back_as_written(tmp_path_factory, counts, seed):
    rng = np.random.default_rng(seed)
    numbers = np.cumsum(rng.integers(1, 4, len(counts))).astype(np.int64)
    ends = np.cumsum(rng.integers(0, 1 << 40, len(counts))).astype(np.int64)
    starts = np.concatenate(([0], ends))[:len(ends)].astype(np.int64)
    data = sketch.SketchData({"store_id": "s"}, rng.integers(0, 1 << sketch.HASH_BITS, sum(counts)).astype(np.uint32),
                             np.array(counts, np.int64), numbers, starts, ends)
    path = tmp_path_factory.mktemp("s") / "x.sketch"
    sketch.save(data, path)
    back = sketch.load(path)
    assert back is not None and back.binding == data.binding
    for name in ("hashes", "counts", "numbers", "starts", "ends"):
        assert np.array_equal(getattr(back, name), getattr(data, name)), name


def test_a_damaged_sketch_is_not_used(tmp_path):
    path = tmp_path / "x.sketch"
    assert sketch.load(path) is None
    path.write_bytes(b"AIAUDIT-SKETCH-2\n\xff\xff\xff\x7f{")
    assert sketch.load(path) is None
    path.write_bytes(b"AIAUDIT-SKETCH-1\n\x02\x00\x00\x00{}")  # the 32-bit format before: not read
    assert sketch.load(path) is None
    path.write_bytes(b"garbage")
    assert sketch.load(path) is None


# ---- checking new captures against scanned files ------------------------------------------


def corpus(path: Path, records: int, seed: int, plant: dict[int, str]) -> None:
    rng = random.Random(seed)
    with open(path, "w") as f:
        for n in range(1, records + 1):
            text = plant.get(n) or filler(rng, rng.randint(40, 160))
            f.write(json.dumps({"messages": [{"role": "user", "content": filler(rng, 12)},
                                             {"role": "assistant", "content": text}]}) + "\n")
            if n % 97 == 0:
                f.write("\n")  # blank lines count as lines


def found(store) -> list[tuple[str, int]]:
    with store.session() as s:
        return sorted((Path(p).name, r) for p, r in s.execute(select(ReuseFinding.path, ReuseFinding.record)))


def test_new_outputs_are_checked_by_sketch_with_the_recall_of_a_full_rescan(tmp_path):
    rng = random.Random(7)
    new = [filler(rng, 120) for _ in range(6)]
    words = [t.split() for t in new]
    plant = {  # reuse of 20 words and more, embedded in other text, and whole outputs
        40: f"As noted: {' '.join(words[0][10:30])} and so on.",
        333: new[1],
        1200: f"{filler(rng, 30)} {' '.join(words[2][50:110])}",
        1999: f"{' '.join(words[3][0:25])}",
    }
    data = tmp_path / "data"
    data.mkdir()
    corpus(data / "chat.jsonl", 2000, 1, plant)
    corpus(data / "other.jsonl", 500, 2, {})
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": [filler(rng, 60) for _ in range(50)] + [new[4]]}), data / "rows.parquet")

    early = open_store(f"sqlite:///{tmp_path / 'early.db'}")
    add_outputs(early, [answer(i) for i in range(5)])
    output_index = SyncedOutputIndex(early, tmp_path / "early-index")
    lines: list[str] = []
    first = list(Scanner(early, output_index, on_error=lines.append).scan_paths([data]))
    assert [r.state for r in first] == ["scanned"] * 3 and found(early) == []
    covered = sum((data / n).stat().st_size for n in ("chat.jsonl", "other.jsonl"))
    sketches = sum(p.stat().st_size for p in sketch_dir(output_index).glob("*.sketch"))
    assert sketches <= 0.10 * covered, (sketches, covered)

    add_outputs(early, new)
    second = list(Scanner(early, output_index, on_error=lines.append).scan_paths([data]))
    assert [r.state for r in second] == ["checked"] * 3
    read_back = sum(r.bytes for r in second if r.path.endswith(".jsonl"))
    assert read_back < 0.02 * covered  # only the candidate records
    assert not lines

    late = open_store(f"sqlite:///{tmp_path / 'late.db'}")
    add_outputs(late, [answer(i) for i in range(5)] + new)
    list(Scanner(late, SyncedOutputIndex(late, tmp_path / "late-index"), on_error=lines.append).scan_paths([data]))
    assert found(early) == found(late)
    line = {n: n + (n - 1) // 97 for n in plant}  # a blank line follows every 97th record
    # (the 20- and 25-word excerpts of records 40 and 1999 are below what the detector reports,
    # in a full scan as well: the sketch's recall is the full scan's, which the equality checks)
    assert {("chat.jsonl", line[333]), ("chat.jsonl", line[1200]), ("rows.parquet", 51)} <= set(found(early))

    # nothing new: unchanged, nothing read
    third = list(Scanner(early, output_index, on_error=lines.append).scan_paths([data]))
    assert [r.state for r in third] == ["unchanged"] * 3


def test_a_changed_file_or_another_store_state_is_read_in_full(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    add_outputs(store, [answer(1)])
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    path = tmp_path / "d.jsonl"
    corpus(path, 300, 3, {})
    scanner = Scanner(store, output_index, on_error=lambda line: None)
    assert [r.state for r in scanner.scan_paths([path])] == ["scanned"]
    # appended, with new outputs: read as today (the sketch is extended or rebuilt, never trusted stale)
    with open(path, "a") as f:
        f.write(json.dumps({"t": answer(2)}) + "\n")
    add_outputs(store, [answer(2)])
    [again] = list(scanner.scan_paths([path]))
    assert again.state == "scanned" and again.new_findings == 1
    # outputs removed (prune moves the removal epoch): the sketch's binding no longer holds
    with store.write_session() as s:
        note_outputs_removed(s)
    add_outputs(store, [answer(3)])
    catalog2 = SyncedOutputIndex(store, tmp_path / "index")
    [after] = list(Scanner(store, catalog2, on_error=lambda line: None).scan_paths([path]))
    assert after.state == "scanned"
    # a damaged sketch: read in full, no error
    for p in sketch_dir(catalog2).glob("*.sketch"):
        p.write_bytes(b"\x00" * 10)
    add_outputs(store, [answer(4)])
    [damaged] = list(Scanner(store, catalog2, on_error=lambda line: None).scan_paths([path]))
    assert damaged.state == "scanned" and not damaged.errors


@FAST
@given(values=st.one_of(st.lists(st.integers(0, 2**32 - 1), max_size=200),
                        st.lists(st.integers(0, 3), max_size=200),  # dense duplicates
                        st.just([]), st.just([7]), st.just([2**32 - 1] * 50)))
def test_sorted_unique_is_np_unique(values):
    array = np.asarray(values, dtype=np.uint32)
    assert np.array_equal(sketch.sorted_unique(array), np.unique(array))
    assert sketch.sorted_unique(array).dtype == np.uint32


def test_sorted_unique_on_a_large_array():
    array = np.random.default_rng(3).integers(0, 2**20, 300_000).astype(np.uint32)  # many repeats
    assert np.array_equal(sketch.sorted_unique(array), np.unique(array))


class _CountingFile:
    """A file object that counts the bytes read through it (what an object store would serve)."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")
        self.read_bytes = 0

    def read(self, n=-1):
        data = self._f.read(n)
        self.read_bytes += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self._f, name)


@FAST
@given(rows=st.integers(1, 60), group=st.integers(1, 25), picks=st.lists(st.integers(1, 60), max_size=5))
def test_parquet_candidates_are_read_back_from_their_row_groups_only(tmp_path_factory, rows, group, picks):
    """read_back of a Parquet file gives exactly the named records a full read gives, reading
    only the row groups that hold them (through an open file, as for an object store)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from agent.scan.incremental import read_back
    from agent.scan.readers import read_records

    path = tmp_path_factory.mktemp("pq") / "rows.parquet"
    pq.write_table(pa.table({"text": [f"{answer(n)} row {n}" for n in range(rows)]}), path, row_group_size=group)
    wanted = {n for n in picks if n <= rows}
    spans = [(0, 0, n) for n in sorted(wanted)]
    whole = [(r.number, r.fields, r.sha256) for r in read_records(path) if r.number in wanted]
    source = _CountingFile(path)
    try:
        back = [(r.number, r.fields, r.sha256) for r in read_back(path, spans, source=source)]
    finally:
        source.close()
    assert back == whole


def test_a_parquet_candidate_costs_its_row_group_not_the_file(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from agent.scan.incremental import read_back

    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"text": [f"{answer(n)} row {n}" for n in range(2000)]}), path, row_group_size=200,
                   compression="none")
    source = _CountingFile(path)
    try:
        [record] = read_back(path, [(0, 0, 1150)], source=source)
    finally:
        source.close()
    assert record.number == 1150 and record.fields[0][1].endswith("row 1149")
    # one row group of ten, and pyarrow's first read at the end (the footer, 64 KiB)
    assert source.read_bytes < 0.2 * path.stat().st_size
