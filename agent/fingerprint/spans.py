"""Where in a matched record the reused text sits: per field, the character ranges of the words
that come from each matched output.

A word is matched when it sits in a word 5-gram that the output also holds (compared on the top
40 bits of the hash, as the matcher pairs them, so an output's echo marks do not matter), the
record's fields taken together as the matcher takes them. An output too short to have 5-grams
(matched by the exact layer) covers every field whose words, or the record whose words, equal
its own. Within a field the ranges are sorted and never overlap: where several outputs cover the
same words, one range names them all.

Ranges are Unicode code-point offsets [start, end) into the field's text as read (the JSON string
value after decoding, the CSV cell), as Python slices it; a span names its field by path and by
its place in the reader's list of the record's fields (`field_index`), since paths may repeat. Spans are computed only for records
that already matched, from the matched outputs' stored 5-grams: no cost on the scan's hot path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.fingerprint.fingerprint import exact_hash
from agent.fingerprint.located import LocatedTokens
from agent.fingerprint.located import locate_tokens
from agent.fingerprint.shingles import K
from agent.fingerprint.shingles import ngram_hashes

_TOP40 = np.uint64(24)


@dataclass(frozen=True, slots=True)
class OutputWords:
    """What spans need of a matched output: its 5-gram hashes and its exact (word-sequence) hash."""
    shingles: np.ndarray
    exact: bytes


@dataclass(frozen=True, slots=True)
class Span:
    field: str  # the field's path (JSON path or column), as in the finding's `fields`
    start: int  # code points into the field's text
    end: int
    outputs: tuple[int, ...]  # the matched outputs these words come from, ascending
    words: int  # normalised words inside the range
    number: int = 0  # which of the record's fields (its place in the reader's list): paths may repeat

    def as_json(self, text: str) -> dict:
        piece = text[self.start:self.end].encode("utf-8", "surrogatepass")
        return {"field": self.field, "field_index": self.number, "start": self.start, "end": self.end, "outputs": list(self.outputs),
                "words": self.words, "text_sha256": hashlib.sha256(piece).hexdigest()}


def _covered(grams: np.ndarray, tokens: int, words: OutputWords) -> np.ndarray:
    """Per record token: inside a 5-gram the output holds (`grams`: the record's 5-grams, top 40 bits)."""
    covered = np.zeros(tokens, dtype=bool)
    if len(words.shingles) == 0 or len(grams) == 0:
        return covered
    own = np.sort(words.shingles.astype(np.uint64) >> _TOP40)  # duplicates do not matter to searchsorted
    at = np.searchsorted(own, grams).clip(0, len(own) - 1)
    hit = np.flatnonzero(own[at] == grams)
    if len(hit):
        change = np.zeros(tokens + 1, dtype=np.int64)
        change[hit] += 1  # hit positions are distinct, so no np.add.at (slow) is needed
        change[hit + K] -= 1
        covered = np.cumsum(change[:-1]) > 0
    return covered


def _whole(located: list[LocatedTokens], words: OutputWords, record_hashes: np.ndarray) -> np.ndarray:
    """Per record token: in a field (or a record) whose words are exactly the output's."""
    covered = np.zeros(len(record_hashes), dtype=bool)
    if len(record_hashes) and exact_hash(record_hashes) == words.exact:
        covered[:] = True
        return covered
    at = 0
    for field in located:
        if len(field) and exact_hash(field.hashes) == words.exact:
            covered[at:at + len(field)] = True
        at += len(field)
    return covered


def record_spans(fields: Sequence[tuple[str, str]], outputs: Mapping[int, OutputWords]) -> list[Span]:
    """The spans of a record's fields covered by these outputs, in field order then by start."""
    if not fields or not outputs:
        return []
    located = [locate_tokens(text) for _, text in fields]
    record_hashes = (np.concatenate([f.hashes for f in located]) if located else np.empty(0, np.uint64))
    ids = sorted(outputs)
    cover = np.zeros((len(ids), len(record_hashes)), dtype=bool)
    grams = ngram_hashes(record_hashes) >> _TOP40
    for row, output_id in enumerate(ids):
        words = outputs[output_id]
        cover[row] = _covered(grams, len(record_hashes), words) if len(words.shingles) else \
            _whole(located, words, record_hashes)
    spans: list[Span] = []
    at = 0
    for number, ((path, text), field) in enumerate(zip(fields, located)):
        spans += _field_spans(number, str(path), len(text), field, cover[:, at:at + len(field)], ids)
        at += len(field)
    return spans


def _field_spans(number: int, path: str, length: int, field: LocatedTokens, cover: np.ndarray,
                 ids: list[int]) -> list[Span]:
    """Runs of tokens covered by the same outputs, as ranges; ranges that would overlap (two tokens
    from one original character, as NFKC makes of "½") are merged, naming both runs' outputs.
    Vectorised over tokens: a per-token Python loop cost 2 ms per matched record."""
    if cover.shape[1] == 0 or not cover.any():
        return []
    # one group number per distinct set of outputs, -1 for tokens no output covers
    if len(ids) < 63:  # the set's bits as one integer (records match a handful of outputs)
        bits = (cover.astype(np.int64) << np.arange(len(ids), dtype=np.int64)[:, None]).sum(axis=0)
        group = np.where(bits == 0, -1, bits)
    else:
        sets, group = np.unique(cover.T, axis=0, return_inverse=True)
        group = group.reshape(-1)
        empty = np.flatnonzero(~sets.any(axis=1))
        if len(empty):
            group = np.where(group == empty[0], -1, group)
    first = (group >= 0) & np.concatenate(([True], group[1:] != group[:-1]))
    firsts = np.flatnonzero(first)
    # a run goes on while the group stays the same
    stop = np.flatnonzero((group >= 0) & np.concatenate((group[1:] != group[:-1], [True]))) + 1
    starts = np.clip(field.starts[firsts], 0, length)
    ends = np.clip(np.maximum.accumulate(field.ends)[stop - 1], 0, length)  # ends never go back: safe
    words = stop - firsts
    spans: list[list] = []  # [start, end, outputs, words]
    keys = group[firsts].tolist()
    for start, end, at, count, key in zip(starts.tolist(), ends.tolist(), firsts.tolist(), words.tolist(), keys):
        owners = ({ids[row] for row in range(len(ids)) if key >> row & 1} if len(ids) < 63
                  else {ids[row] for row in np.flatnonzero(cover[:, at]).tolist()})
        end = max(start, end)
        if spans and start < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
            spans[-1][2] |= owners
            spans[-1][3] += count
        else:
            spans.append([start, end, owners, count])
    return [Span(path, start, end, tuple(sorted(owners)), words, number) for start, end, owners, words in spans
            if end > start]


def detector_outputs(detector, output_ids: Sequence[int]) -> dict[int, OutputWords]:
    """OutputWords of these outputs from what the detector verifies with (the store's
    fingerprints when it loads them, else the index's shingle store); unknown ids are left out."""
    ids = sorted({int(i) for i in output_ids})
    if detector.load_fingerprints is not None:
        return {i: OutputWords(fp.shingles, fp.exact) for i, fp in detector.load_fingerprints(ids).items()}
    shingles = detector.index.shingles_many(ids)
    found: dict[int, OutputWords] = {}
    for output_id in ids:
        try:
            halves = detector.index.exact_of(output_id)
        except KeyError:
            continue
        found[output_id] = OutputWords(shingles.get(output_id, np.empty(0, np.uint64)),
                                       np.array(halves, dtype="<u8").tobytes())
    return found


def spans_json(fields: Sequence[tuple[str, str]], outputs: Mapping[int, OutputWords]) -> list[dict]:
    """record_spans as stored and exported (each with the SHA-256 of the text it covers)."""
    return [span.as_json(fields[span.number][1]) for span in record_spans(fields, outputs)]
