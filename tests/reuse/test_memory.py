from __future__ import annotations

import gc
import sys

import pytest

from agent.reuse.index import OutputIndex
from agent.reuse.matching import ReuseDetector
from agent.reuse.memory import FULL_COLLECTION_THRESHOLD
from agent.reuse.memory import fewer_full_collections
from agent.reuse.memory import keep_freed_memory


def test_full_collections_are_rarer_only_while_a_scan_runs():
    before = gc.get_threshold()
    with fewer_full_collections():
        raised = gc.get_threshold()
        with fewer_full_collections():  # a second scan at the same time
            assert gc.get_threshold() == raised
        assert gc.get_threshold() == raised
    assert raised == (before[0], before[1], max(before[2], FULL_COLLECTION_THRESHOLD))
    assert gc.get_threshold() == before


def test_an_abandoned_match_stream_restores_the_threshold(tmp_path):
    before = gc.get_threshold()
    stream = ReuseDetector(OutputIndex.open(tmp_path)).match_stream([[("a", "text")]] * 3)
    next(stream)
    assert gc.get_threshold()[2] >= FULL_COLLECTION_THRESHOLD
    stream.close()
    assert gc.get_threshold() == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_malloc_tuning_applies_once():
    assert keep_freed_memory() == keep_freed_memory()
