from __future__ import annotations

import mmap
import random

import numpy as np
import pytest

from agent.reuse import fingerprint
from agent.reuse.index import OutputIndex
from agent.reuse.matching import ReuseDetector
from tests.reuse.texts import BOILERPLATE
from tests.reuse.texts import answer
from tests.reuse.texts import answers


def _entries(texts, first_id=1):
    return [(first_id + i, fingerprint(t)) for i, t in enumerate(texts)]


def _is_memory_mapped(array: np.ndarray) -> bool:
    base = array
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None) if not isinstance(base, mmap.mmap) else None
    return False


def _excerpt_record(text: str) -> list[tuple[str, str]]:
    words = text.split()
    return [("prompt", "summarise"), ("answer", " ".join(words[20:70]))]


def test_new_index_is_empty(tmp_path):
    index = OutputIndex.open(tmp_path / "idx")
    assert len(index) == 0 and index.max_output_id == 0
    assert ReuseDetector(index).match([("a", answer(random.Random(1)))]) == []


def test_add_creates_memory_mapped_delta_segments(tmp_path):
    texts = answers(1, 20)
    index = OutputIndex.open(tmp_path)
    assert index.add(_entries(texts[:10])) == 10
    assert index.add(_entries(texts[10:], 11)) == 10
    assert len(index) == 20 and index.max_output_id == 20
    assert len(index.segments) == 2
    assert _is_memory_mapped(index.segments[0].post_hash)
    assert _is_memory_mapped(index.segments[0].shingles)


def test_ids_already_indexed_are_skipped(tmp_path):
    texts = answers(2, 10)
    index = OutputIndex.open(tmp_path)
    index.add(_entries(texts[:6]))
    assert index.add(_entries(texts)) == 4  # ids 1..6 are known; 7..10 are new
    assert len(index) == 10 and index.max_output_id == 10


def test_duplicate_ids_in_one_add_are_refused(tmp_path):
    index = OutputIndex.open(tmp_path)
    fp = fingerprint(answer(random.Random(3)))
    with pytest.raises(ValueError):
        index.add([(5, fp), (5, fp)])


@pytest.mark.parametrize("winnow_above", [1_000_000, 0])
def test_results_survive_compaction_and_reopening(tmp_path, winnow_above):
    texts = answers(4, 30)
    index = OutputIndex.open(tmp_path, winnow_above=winnow_above)
    for first in range(0, 30, 10):
        index.add(_entries(texts[first:first + 10], first + 1))
    records = [_excerpt_record(texts[i]) for i in range(0, 30, 3)]
    before = ReuseDetector(index).match_many(records)
    assert [[m.output_id for m in found] for found in before] == [[i + 1] for i in range(0, 30, 3)]
    index.compact()
    assert len(index.segments) == 1 and len(index) == 30
    assert ReuseDetector(index).match_many(records) == before
    reopened = OutputIndex.open(tmp_path, winnow_above=winnow_above)
    assert len(reopened) == 30 and reopened.max_output_id == 30
    assert ReuseDetector(reopened).match_many(records) == before
    names = {p.name for p in tmp_path.iterdir() if p.name.startswith("seg-")}
    assert len(names) == 1  # merged-away segments are deleted


def test_too_many_deltas_trigger_compaction(tmp_path):
    texts = answers(5, 12)
    index = OutputIndex.open(tmp_path, max_deltas=3)
    for i, text in enumerate(texts):
        index.add(_entries([text], i + 1))
        assert len(index.segments) <= 4
    assert len(index) == 12


def test_winnowing_switches_on_past_the_size_threshold(tmp_path):
    texts = answers(6, 40, words=300)
    full = OutputIndex.open(tmp_path / "full")
    full.add(_entries(texts))
    thin = OutputIndex.open(tmp_path / "thin", winnow_above=20)
    thin.add(_entries(texts[:20]))
    thin.add(_entries(texts[20:], 21))
    assert not full.winnowed and thin.winnowed
    thin.compact()  # the base is rebuilt winnowed now that the index is past the threshold
    density = thin.postings_count() / full.postings_count()
    assert 0.15 < density < 0.3
    assert thin.ram_bytes() < full.ram_bytes()
    record = _excerpt_record(texts[33])
    assert [m.output_id for m in ReuseDetector(thin).match(record)] == [34]


@pytest.mark.parametrize(("winnow_above", "batches"), [
    (1_000_000, [30]), (1_000_000, [15, 15]), (0, [30]),
    (0, [15, 15, "compact"]),  # winnowed postings alone undercount: compaction counts full lists
])
def test_boilerplate_shared_by_many_outputs_is_hot(tmp_path, winnow_above, batches):
    rng = random.Random(7)
    texts = [answer(rng, 120, boilerplate=True) for _ in range(30)]
    index = OutputIndex.open(tmp_path, hot_outputs=20, winnow_above=winnow_above)
    added = 0
    for batch in batches:
        if batch == "compact":
            index.compact()
        else:
            index.add(_entries(texts[added:added + batch], added + 1))
            added += batch
    boilerplate = fingerprint(BOILERPLATE).shingles
    assert index.is_hot(boilerplate).all()
    assert not index.is_hot(fingerprint(texts[0]).shingles[:50]).any()
    # a record holding only boilerplate (plus unrelated words) starts no candidate
    record = [("a", f"{answer(random.Random(99), 60)} {BOILERPLATE} {BOILERPLATE}")]
    assert ReuseDetector(index).match(record) == []
    # ...while a real copy ending in the same boilerplate is still found
    assert [m.output_id for m in ReuseDetector(index).match([("a", texts[4])])] == [5]


def test_repeated_outputs_are_aliases_not_boilerplate(tmp_path):
    text = answer(random.Random(8), 150)
    index = OutputIndex.open(tmp_path, hot_outputs=5)
    index.add([(i, fingerprint(text)) for i in range(1, 31)])
    assert len(index.hot) == 0
    found = ReuseDetector(index).match(_excerpt_record(text))
    assert sorted(m.output_id for m in found) == list(range(1, 31))


def test_reader_sees_a_writers_new_generation(tmp_path):
    texts = answers(9, 20)
    writer = OutputIndex.open(tmp_path, max_deltas=1)
    writer.add(_entries(texts[:10]))
    reader = OutputIndex.open(tmp_path)
    assert len(reader) == 10
    writer.add(_entries(texts[10:15], 11))
    writer.add(_entries(texts[15:], 16))  # third segment: compacts and deletes the old files
    assert len(reader) == 10  # still readable through its memory maps
    assert ReuseDetector(reader).match(_excerpt_record(texts[2]))[0].output_id == 3
    assert reader.refresh() and len(reader) == 20
    assert not reader.refresh()
    assert ReuseDetector(reader).match(_excerpt_record(texts[17]))[0].output_id == 18


def test_second_writer_does_not_lose_the_first_writers_segments(tmp_path):
    texts = answers(10, 10)
    first = OutputIndex.open(tmp_path)
    second = OutputIndex.open(tmp_path)
    first.add(_entries(texts[:5]))
    second.add(_entries(texts[5:], 6))  # re-reads the manifest under the lock first
    assert len(OutputIndex.open(tmp_path)) == 10


def test_ram_per_output_stays_under_a_kilobyte_when_winnowed(tmp_path):
    index = OutputIndex.open(tmp_path, winnow_above=0)
    index.add(_entries(answers(11, 200, words=300)))
    bitmap = index._bitmap.nbytes
    assert (index.ram_bytes() - bitmap) / len(index) < 1000


def test_small_deltas_merge_together_before_touching_the_base(tmp_path):
    texts = answers(12, 115)
    index = OutputIndex.open(tmp_path, max_deltas=3)
    index.add(_entries(texts[:100]))
    base = index._generation.segments[0]
    for i in range(100, 108):
        index.add(_entries([texts[i]], i + 1))
        assert index._generation.segments[0] == base  # 8 delta outputs < 10 % of the base
        assert len(index.segments) <= 4
    for i in range(108, 115):
        index.add(_entries([texts[i]], i + 1))
    assert len(index) == 115
    assert index._generation.segments[0] != base or len(index.segments) == 1
    found = ReuseDetector(index).match_many([_excerpt_record(texts[i]) for i in (5, 103, 114)])
    assert [[m.output_id for m in f] for f in found] == [[6], [104], [115]]


def test_ids_that_arrive_late_are_indexed(tmp_path):
    texts = answers(11, 30)
    index = OutputIndex.open(tmp_path, max_deltas=2)
    index.add(_entries(texts[10:20], 11))  # ids 11..20 commit first
    assert index.max_output_id == 20
    assert index.contains(np.array([5, 11, 20, 21], dtype=np.uint64)).tolist() == [False, True, True, False]
    assert index.add([(5, fingerprint(texts[4])), (12, fingerprint(texts[11]))]) == 1  # 12 is known
    assert index.max_output_id == 20 and len(index) == 11
    assert index.add(_entries(texts[:10])) == 9  # 1..10 late, 5 already there
    assert index.add(_entries(texts[:20])) == 0  # re-feeding is idempotent
    index.add(_entries(texts[20:], 21))  # a third delta: the deltas are merged, ids out of order
    assert len(index.segments) < 4 and len(index) == 30
    assert index.contains(np.arange(1, 32, dtype=np.uint64)).tolist() == [True] * 30 + [False]
    records = [_excerpt_record(t) for t in texts]
    expected = [[i + 1] for i in range(30)]
    assert [[m.output_id for m in found] for found in ReuseDetector(index).match_many(records)] == expected
    index.compact()
    assert len(index.segments) == 1 and np.all(np.diff(index.segments[0].ids.astype(np.int64)) > 0)
    assert [[m.output_id for m in found] for found in ReuseDetector(index).match_many(records)] == expected
    for i in (1, 5, 15, 30):
        assert np.array_equal(index.shingles(i), fingerprint(texts[i - 1]).shingles)
        assert index.word_count(i) == fingerprint(texts[i - 1]).word_count
