"""Issue 14: JSONL byte ranges, the dataset-side sketch, and checking new captures against files
already scanned (real SQLite stores, real files, the real detector)."""

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
from agent.scan.formats.jsonl_ranges import plan_ranges
from agent.scan.formats.jsonl_ranges import read_range
from agent.scan.incremental import sketch_dir
from agent.scan.readers import Record
from agent.scan.readers import read_records
from agent.scan.scan import Scanner
from agent.store.engine import open_store
from agent.store.identity import note_outputs_removed
from agent.store.models import ReuseFinding
from tests.scan.conftest import WORDS
from tests.scan.conftest import add_outputs
from tests.scan.conftest import answer

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def as_tuples(items):
    return [(i.number, i.fields, i.sha256, i.end_offset) if isinstance(i, Record) else (i.number, i.message)
            for i in items]


# ---- byte ranges --------------------------------------------------------------------------

jsonl_lines = st.lists(st.one_of(
    st.builds(lambda t: json.dumps({"t": t}), st.text(max_size=30)),
    st.just(""), st.just("   "), st.just("{broken"), st.just(json.dumps({"t": "dup"})),
    st.just(json.dumps({"t": "w " * 3000}))), max_size=40)


@FAST
@given(lines=jsonl_lines, target=st.integers(1, 20000), crlf=st.booleans(), tail=st.booleans())
def test_ranges_read_alone_give_exactly_the_whole_file_read(tmp_path_factory, lines, target, crlf, tail):
    path = tmp_path_factory.mktemp("r") / "d.jsonl"
    sep = "\r\n" if crlf else "\n"
    path.write_bytes((sep.join(lines) + (sep if tail and lines else "")).encode())
    ranges = plan_ranges(path, target)
    assert ranges[0].start == 0 and ranges[-1].end == path.stat().st_size
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:]))  # no gap, no overlap
    if path.stat().st_size == 0:
        return  # an empty file: one empty range, nothing to read
    whole = as_tuples(read_records(path))
    pieces = [item for r in ranges for item in as_tuples(read_range(path, r))]
    assert pieces == whole


def test_ranges_of_a_big_file_split_it_evenly_and_number_records_as_a_whole_read(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "w") as f:
        for i in range(60000):
            f.write(json.dumps({"i": i, "t": answer(i % 97, 20)}) + "\n" + ("\n" if i % 1000 == 0 else ""))
    ranges = plan_ranges(path, 1 << 20)
    assert len(ranges) == -(-path.stat().st_size // (1 << 20))
    numbers = [r.number for rng in ranges[3:5] for r in read_range(path, rng)]
    whole = [r.number for r in read_records(path)]
    start = whole.index(numbers[0])
    assert numbers == whole[start:start + len(numbers)]


# ---- the sketch ---------------------------------------------------------------------------


def filler(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) + rng.choice(["", "s", "ed", "ing"]) for _ in range(words))


@FAST
@given(seed=st.integers(0, 10**6), run=st.integers(20, 120), before=st.integers(0, 200), after=st.integers(0, 200))
def test_a_reused_run_of_20_words_or_more_is_always_a_candidate(seed, run, before, after):
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
    from agent.reuse.fingerprint import fingerprint

    query = sketch.top32(fingerprint(output).shingles)
    assert hit in data.candidates(query).tolist()


@FAST
@given(counts=st.lists(st.integers(0, 50), max_size=30), seed=st.integers(0, 99))
def test_a_sketch_is_read_back_as_written(tmp_path_factory, counts, seed):
    rng = np.random.default_rng(seed)
    numbers = np.cumsum(rng.integers(1, 4, len(counts))).astype(np.int64)
    ends = np.cumsum(rng.integers(0, 1 << 40, len(counts))).astype(np.int64)
    starts = np.concatenate(([0], ends))[:len(ends)].astype(np.int64)
    data = sketch.SketchData({"store_id": "s"}, rng.integers(0, 1 << 32, sum(counts), dtype=np.uint64).astype(np.uint32),
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
    path.write_bytes(b"AIAUDIT-SKETCH-1\n\xff\xff\xff\x7f{")
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
