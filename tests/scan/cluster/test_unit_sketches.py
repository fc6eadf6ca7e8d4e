"""A file's sketch joined from its units' parts (built by the worker's scan of each unit) has the
records of the sketch a local scan of the file leaves: the same numbers and byte spans. The
hashes differ near unit edges (winnowing runs over a batch of records, and a unit starts a new
batch) and keep the same guarantee; test_run checks that new captures are found through it."""

from __future__ import annotations

import json

import numpy as np

from agent.scan import incremental
from agent.scan import sketch
from agent.scan.cluster.task import scan_unit
from agent.scan.cluster.units import plan_units
from agent.scan.scan import Scanner
from tests.scan.conftest import answer


def same_records(a: sketch.SketchData, b: sketch.SketchData) -> bool:
    return all(np.array_equal(getattr(a, n), getattr(b, n)) for n in ("numbers", "starts", "ends"))


def test_parts_of_ranges_joined_are_the_local_sketch(captured, tmp_path):
    store, output_index, texts, _ = captured
    path = tmp_path / "d.jsonl"
    with path.open("w") as f:
        for i in range(400):
            f.write(json.dumps({"text": texts[i % len(texts)] if i % 9 == 0 else answer(500 + i)}) + "\n")
            if i % 70 == 0:
                f.write("\n{broken\n")
    list(Scanner(store, output_index, on_error=lambda line: None).scan_paths([path]))
    local = sketch.load(sketch.sketch_path(incremental.sketch_dir(output_index), str(path)))
    assert local is not None and len(local.counts) == 400
    units = plan_units(path, path.stat().st_size, 4096)
    assert len(units) > 5
    parts, before = [], 0
    for unit in units:
        got = scan_unit(unit, output_index.detector())
        parts.append((got.sketch, before))
        before += got.lines
    joined = sketch.merge([p for p, _ in parts], {}, shifts=[b for _, b in parts])
    assert same_records(joined, local)
    assert joined.counts.sum() > 0.9 * local.counts.sum() and (joined.counts > 0).sum() == (local.counts > 0).sum()


def test_nothing_joined_is_an_empty_sketch():
    empty = sketch.merge([], {"path": "x"})
    assert empty.binding == {"path": "x"} and not len(empty.counts) and empty.hashes.dtype == np.uint32

