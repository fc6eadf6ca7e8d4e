"""A file's incremental sketch (agent.scan.sketch) from the parts its units' workers built.

Each worker sketches the records of its unit as a local scan would (the same builder), numbered
as the unit numbers them. The client joins the parts in file order: record numbers shifted by
the records before the unit (as its findings are), and the first record's span starting where
the previous part's last record ended (a local builder starts every span at the previous
record's end, a worker can only start it at its range). A file whose units were not all sketched
in this run (some were recorded by an interrupted run) gets no sketch: it is read in full when
it must be checked again, as before sketches existed.
"""

from __future__ import annotations

import numpy as np

from agent.scan.sketch import SketchData


def join(parts: list[tuple[SketchData, int]], binding: dict) -> SketchData:
    """The sketch of a whole file from (part, record number shift) in file order."""
    hashes, counts, numbers, starts, ends = [], [], [], [], []
    last_end = 0
    for part, shift in parts:
        if not len(part.counts):
            continue
        part_starts = part.starts.copy()
        part_starts[0] = last_end
        hashes.append(part.hashes)
        counts.append(part.counts)
        numbers.append(part.numbers + shift)
        starts.append(part_starts)
        ends.append(part.ends)
        last_end = int(part.ends[-1])

    def joined(arrays: list[np.ndarray], dtype) -> np.ndarray:
        return np.concatenate(arrays).astype(dtype) if arrays else np.empty(0, dtype)

    return SketchData(binding, joined(hashes, np.uint32), joined(counts, np.int64), joined(numbers, np.int64),
                      joined(starts, np.int64), joined(ends, np.int64))
