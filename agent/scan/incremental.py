"""Checking new captures against files already scanned, through their sketches (agent.scan.sketch).

A file read in full leaves a sketch beside the index. When outputs are captured afterwards and the
file itself has not changed (same size, mtime, inode and first bytes), the outputs added since its
scan are looked up in its sketch and only the records sharing a 5-gram with them are read back
and matched: plain JSONL by their byte spans, other formats by a read that matches only those
record numbers. A sketch bound to another store, store state (prune), or file content is not
used: the file is read in full, as before sketches existed. Remote objects and Delta tables are
not sketched (a new version or object is read in full anyway; see issue 15 for range reads).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sqlalchemy import func
from sqlalchemy import select

from agent.scan import sketch
from agent.scan.formats.jsonl_ranges import read_spans
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
    return {"store_id": output_index.identity.store_id, "removal_epoch": output_index.identity.removal_epoch,
            "path": name, "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns), "inode": int(st.st_ino),
            "head": head}


def builder_for(output_index, name: str, start_offset: int) -> sketch.SketchBuilder | None:
    """A builder for a read from `start_offset`: fresh for a full read; for a resumed (appended)
    read, one extending the sketch of what was read before, if that is intact, else none."""
    if start_offset == 0:
        return sketch.SketchBuilder()
    old = sketch.load(sketch.sketch_path(sketch_dir(output_index), name))
    if old is None or old.binding.get("store_id") != output_index.identity.store_id or not len(old.ends) \
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


def new_output_hashes(output_index, scanned_at_version: int) -> np.ndarray:
    """Top-32-bit 5-gram hashes of every indexed output above the highest id indexed when the
    file was scanned (version >> 24 is that id: SyncedOutputIndex.version)."""
    since = scanned_at_version >> 24
    with output_index.store.session() as s:
        ids = s.scalars(select(Output.id).where(Output.kind == "generated", Output.id > since)
                        .order_by(Output.id)).all()
    if not ids:
        return np.empty(0, np.uint32)
    shingles = output_index.index.shingles_many([int(i) for i in ids])
    parts = [sketch.top32(v) for v in shingles.values() if len(v)]
    return sketch.sorted_unique(np.concatenate(parts)) if parts else np.empty(0, np.uint32)


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


def candidates(scanner, path: Path, state, st: os.stat_result, head: str):
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


def read_back(path: Path, spans: list[tuple[int, int, int]]) -> Iterator[Record | RecordError]:
    kind, compression = file_format(path)
    if kind == "jsonl" and compression is None:
        yield from read_spans(path, spans)
        return
    wanted = {number for _, _, number in spans}
    for item in read_records(path):
        if item.number in wanted:
            yield item
