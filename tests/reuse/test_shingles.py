from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from agent.reuse.shingles import winnow


def chosen_by_definition(hashes: list[int], window: int) -> list[int]:
    """Each window's minimum, the rightmost on ties, each position once, ascending."""
    if len(hashes) <= window:
        return [len(hashes) - 1 - hashes[::-1].index(min(hashes))] if hashes else []
    picked = set()
    for start in range(len(hashes) - window + 1):
        part = hashes[start:start + window]
        picked.add(start + window - 1 - part[::-1].index(min(part)))
    return sorted(picked)


@given(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 3), max_size=80), st.integers(1, 10))
def test_winnow_keeps_each_windows_rightmost_minimum_once(hashes, window):
    found = winnow(np.array(hashes, dtype=np.uint64), window)
    assert found.dtype == np.int64
    assert found.tolist() == chosen_by_definition(hashes, window)
