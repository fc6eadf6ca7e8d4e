"""Checking new captures against files already scanned, through their sketches (agent.scan.sketch).

A file read in full leaves a sketch beside the index. When outputs are captured afterwards and the
file itself has not changed (same size, mtime, inode and first bytes), the outputs added since its
scan are looked up in its sketch and only the records with two kept 5-grams of one of them
(sketch.GUARANTEED_HITS) are read back and matched: plain JSONL by their byte spans, Parquet by the
row groups that hold them, other formats by a read that matches only those record numbers. A sketch bound to another store, store state (prune), or file content is not
used: the file is read in full, as before sketches existed. Objects in object stores and Delta
table versions are sketched too (agent.scan.remote), under their URL and bound to their listed
identity (ETag or version, size, modified time) or table version instead of inode and mtime.
"""

from __future__ import annotations

import logging
import os
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select

from agent.reuse.scripts import TOKENISER
from agent.scan import sketch
from agent.scan.formats.jsonl_ranges import read_spans
from agent.scan.formats.parquet_groups import open_parquet
from agent.scan.formats.parquet_groups import plan_row_groups
from agent.scan.formats.parquet_groups import read_row_group
from agent.scan.readers import Record
from agent.scan.readers import RecordError
from agent.scan.readers import file_format
from agent.scan.readers import read_records
from agent.store.models import Output

log = logging.getLogger(__name__)


def sketch_dir(output_index) -> Path:
    """Beside the index, not in it (the index may be reset and rebuilt on its own)."""
    return Path(f"{output_index.index_dir}-sketches")


def binding(output_index, name: str, st: os.stat_result, head: str) -> dict:
    # the tokeniser too: a sketch's 5-grams must be cut as the outputs' are (scripts.TOKENISER)
    return {"store_id": output_index.identity.store_id, "removal_epoch": output_index.identity.removal_epoch,
            "tokeniser": TOKENISER, "path": name, "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns),
            "inode": int(st.st_ino), "head": head}


def builder_for(output_index, name: str, start_offset: int) -> sketch.SketchBuilder | None:
    """A builder for a read from `start_offset`: fresh for a full read; for a resumed (appended)
    read, one extending the sketch of what was read before, if that is intact, else none."""
    if start_offset == 0:
        return sketch.SketchBuilder()
    old = sketch.load(sketch.sketch_path(sketch_dir(output_index), name))
    if old is None or old.binding.get("store_id") != output_index.identity.store_id \
            or old.binding.get("tokeniser") != TOKENISER or not len(old.ends) \
            or int(old.ends[-1]) != start_offset:
        forget(output_index, name)
        return None
    return sketch.SketchBuilder(old)


def keep(output_index, builder: sketch.SketchBuilder, name: str, st: os.stat_result, head: str) -> None:
    try:
        sketch.save(builder.finish(binding(output_index, name, st, head)), sketch.sketch_path(sketch_dir(output_index), name))
    except OSError as e:  # no sketch: the next capture reads the file in full, as before
        log.warning("aiaudit: sketch of %s not written: %s", name, e.strerror or e)


def forget(output_index, name: str) -> None:
    try:
        sketch.sketch_path(sketch_dir(output_index), name).unlink(missing_ok=True)
    except OSError:
        pass


def new_output_hashes(output_index, scanned_at_version: int) -> sketch.NewOutputs:
    """The 5-grams of every indexed output above the highest id indexed when the file was
    scanned (version >> 24 is that id: SyncedOutputIndex.version), for sketch lookups."""
    since = scanned_at_version >> 24
    with output_index.store.session() as s:
        ids = s.scalars(select(Output.id).where(Output.kind == "generated", Output.id > since)
                        .order_by(Output.id)).all()
    shingles = output_index.index.shingles_many([int(i) for i in ids]) if ids else {}
    return sketch.NewOutputs.of(shingles.values())


def _only_newer_outputs_since(output_index, scanned_at_version: int) -> bool:
    """Whether every output captured since the file was scanned has an id above the highest one
    indexed then: the store still holds exactly as many outputs at or below it as the index did.
    Outputs that committed late below that id (concurrent writers), or a prune, make the ids no
    guide to what is new: the file is then read in full."""
    since, indexed_then = scanned_at_version >> 24, scanned_at_version & 0xFFFFFF
    with output_index.store.session() as s:
        held = s.scalar(select(func.count()).select_from(Output)
                        .where(Output.kind == "generated", Output.id <= since)) or 0
    return (held & 0xFFFFFF) == indexed_then


def candidates(scanner, path: Path | str, state, st, head: str):
    """(records to read back, bytes they span) from the file's sketch, or None when there is no
    sketch bound to this store and this file as it is: then the file is read in full."""
    output_index = scanner.output_index
    data = sketch.load(sketch.sketch_path(sketch_dir(output_index), str(path)))
    if data is None or data.binding != binding(output_index, str(path), st, head):
        return None
    if int(data.ends[-1] if len(data.ends) else 0) != state.offset and state.offset:
        return None  # the sketch does not cover what the state says was read
    if not _only_newer_outputs_since(output_index, state.index_generation):
        return None
    key = (output_index.version, state.index_generation)
    if key not in scanner.new_output_hashes:
        if len(scanner.new_output_hashes) >= 8:  # files scanned at many versions: keep it bounded
            scanner.new_output_hashes.clear()
        scanner.new_output_hashes[key] = new_output_hashes(output_index, state.index_generation)
    found = data.candidates(scanner.new_output_hashes[key])
    spans = [(int(data.starts[i]), int(data.ends[i]), int(data.numbers[i])) for i in found]
    return spans, sum(e - s for s, e, _ in spans)


def read_back(path: Path, spans: list[tuple[int, int, int]], source=None) -> Iterator[Record | RecordError]:
    """The records the sketch named, read as little of the file as its format allows: plain JSONL
    by byte spans, Parquet by the row groups holding them (`source`: the object already open, so
    an object store serves only its footer and those row groups), others by a full read that
    keeps only those record numbers."""
    kind, compression = file_format(path)
    if kind == "jsonl" and compression is None and source is None:
        yield from read_spans(path, spans)
        return
    wanted = {number for _, _, number in spans}
    if kind == "parquet" and compression is None:
        yield from _row_groups_back(path, wanted, source)
        return
    for item in read_records(path):
        if item.number in wanted:
            yield item


def _row_groups_back(path: Path, wanted: set[int], source=None) -> Iterator[Record]:
    numbers = sorted(wanted)
    source = open_parquet(path, source)
    for group in plan_row_groups(path, source):
        at = bisect_left(numbers, group.first_row)
        if at == len(numbers) or numbers[at] >= group.first_row + group.rows:
            continue  # no candidate in this row group: its pages are never read
        for record in read_row_group(path, group, source):
            if record.number in wanted:
                yield record
