"""A dataset tree with reuse in every shape a cluster scan splits (JSONL and CSV byte ranges,
Parquet row groups) or keeps whole (small CSV, text, gzip), and the findings of a store in comparable form."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from agent.scan.cluster.units import plan_units
from agent.scan.cluster.units import split_tail
from agent.scan.walk import iter_files
from agent.store.models import DatasetFile
from agent.store.models import ReuseFinding
from agent.store.models import ScanUnit
from tests.scan.conftest import add_outputs
from tests.scan.conftest import answer

RANGE_BYTES = 16 << 10  # the big files below split into a few dozen units


def make_tree(root: Path, texts: list[str], big_records: int = 1500) -> Path:
    root.mkdir(parents=True)
    with (root / "big.jsonl").open("w") as f:
        for i in range(big_records):
            if i % 97 == 5:
                f.write("{not json\n")
            if i % 131 == 0:
                f.write("\n")
            text = texts[i % len(texts)] if i % 11 == 0 else answer(10_000 + i, 30)
            if i % 33 == 0:  # an excerpt inside other text
                text = answer(20_000 + i, 20) + " " + " ".join(texts[(i // 33) % len(texts)].split()[:40])
            f.write(json.dumps({"id": i, "messages": [{"role": "user", "content": f"q{i}"},
                                                      {"role": "assistant", "content": text}]}) + "\n")
    rows = [texts[i % len(texts)] if i % 13 == 0 else answer(30_000 + i, 25) for i in range(900)]
    (root / "sub").mkdir()
    pq.write_table(pa.table({"text": rows, "n": list(range(len(rows)))}), root / "sub" / "t.parquet",
                   row_group_size=100)
    with (root / "sub" / "small.csv").open("w") as f:
        f.write("id,text\n")
        for i in range(40):
            f.write(f'{i},"{texts[i % len(texts)] if i % 5 == 0 else answer(40_000 + i, 20)}"\n')
    with (root / "sub" / "big.csv").open("w", newline="") as f:  # split in ranges; quoted newlines
        table = csv.writer(f, lineterminator="\n")
        table.writerow(["id", "text", "note"])
        for i in range(400):
            text = texts[i % len(texts)] if i % 9 == 0 else answer(70_000 + i, 25)
            if i % 4 == 0:  # paragraphs in one cell: a range's guessed start can fall inside it
                text = text.replace(". ", ".\n\n", 3)
            table.writerow([i, text, 'a "quoted" word' if i % 6 == 0 else ""])
            if i % 57 == 3:
                f.write('5" screen,broken "row\n\n')
    with gzip.open(root / "sub" / "z.jsonl.gz", "wt") as f:
        for i in range(30):
            f.write(json.dumps({"text": texts[i % len(texts)] if i % 4 == 0 else answer(50_000 + i, 20)}) + "\n")
    (root / "notes.txt").write_text(texts[0] + "\n\n" + answer(60_000) + "\n")
    with (root / "sub" / "zz.jsonl").open("w") as f:  # last in the walk: its ranges are the scan's tail
        for i in range(120):
            f.write(json.dumps({"text": texts[i % len(texts)] if i % 7 == 0 else answer(80_000 + i, 40)}) + "\n")
    return root


@pytest.fixture
def lake(store, tmp_path):
    """(store, texts, local tree, cluster tree): the two trees are byte-identical copies."""
    texts = [answer(i) for i in range(15)]
    add_outputs(store, texts)
    local = make_tree(tmp_path / "local", texts)
    on_cluster = tmp_path / "cluster"
    shutil.copytree(local, on_cluster)
    return store, texts, local, on_cluster


def findings(store, root: Path) -> list[tuple]:
    """Every finding under `root`, by path relative to it: what a user would compare."""
    with store.session() as s:
        rows = s.scalars(select(ReuseFinding).where(ReuseFinding.path.startswith(str(root) + "/"))).all()
    return sorted((str(Path(r.path).relative_to(root)), r.record, r.record_sha256, tuple(r.call_ids),
                   tuple(r.output_ids), r.reuse_class, r.tier, r.role, tuple(r.fields), r.matched_words,
                   r.output_coverage, r.record_coverage, json.dumps(r.spans, sort_keys=True)) for r in rows)


def file_states(store, root: Path) -> list[tuple]:
    with store.session() as s:
        rows = s.scalars(select(DatasetFile).where(DatasetFile.path.startswith(str(root) + "/"))).all()
    return sorted((str(Path(r.path).relative_to(root)), r.size, r.offset, r.records, r.bad_records, r.state,
                   r.index_generation) for r in rows)


TAIL_MIN_PIECE = RANGE_BYTES // 8  # the tests' scans cut their last units in pieces this small at least


def planned_units(root: Path, range_bytes: int = RANGE_BYTES, workers: int = 2,
                  min_piece: int = TAIL_MIN_PIECE) -> list:
    """Every unit a cluster scan of `root` plans on `workers` workers, tail pieces included."""
    units = [u for path in iter_files(root) for u in plan_units(path, path.stat().st_size, range_bytes)]
    return split_tail(units, workers, min_piece)


def units_left(store, root: Path, range_bytes: int = RANGE_BYTES, workers: int = 2,
               min_piece: int = TAIL_MIN_PIECE) -> int:
    """Units a scan of `root` started now must run: every unit of a file not completed, less the
    units marked as recorded (a completed file is unchanged: none of its units run)."""
    left = 0
    with store.session() as s:
        for unit in planned_units(root, range_bytes, workers, min_piece):
            row = s.scalars(select(DatasetFile).where(DatasetFile.path == unit.path)).first()
            if row is not None and row.state == "ok" and row.index_generation != -1:
                continue
            marked = s.scalars(select(ScanUnit.unit).where(ScanUnit.path == unit.path,
                                                           ScanUnit.unit == unit.key)).first()
            left += marked is None
    return left
