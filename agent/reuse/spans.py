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

from agent.reuse.fingerprint import exact_hash
from agent.reuse.located import locate_fields
from agent.reuse.shingles import K
from agent.reuse.shingles import ngram_hashes

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


def record_spans(fields: Sequence[tuple[str, str]], outputs: Mapping[int, OutputWords]) -> list[Span]:
    """The spans of a record's fields covered by these outputs, in field order then by start."""
    return spans_many([fields], [list(outputs)], outputs)[0]


def spans_many(records: Sequence[Sequence[tuple[str, str]]], matched: Sequence[Sequence[int]],
               outputs: Mapping[int, OutputWords]) -> list[list[Span]]:
    """record_spans of many records at once (record i against the outputs matched[i] that
    `outputs` knows), with a fixed number of numpy calls per batch rather than per record: per
    record they cost more than matching it."""
    texts = [text for fields in records for _, text in fields]
    field_record = np.repeat(np.arange(len(records)), [len(f) for f in records]).astype(np.int64)
    starts, ends, hashes, field_bounds = locate_fields(texts)
    first_field = np.concatenate(([0], np.cumsum([len(f) for f in records]))).astype(np.int64)
    record_bounds = field_bounds[first_field]  # first token of each record, and the end
    tokens = len(hashes)
    # pairs (record, output) and the output's bit within its record
    pair_record, pair_output, pair_bit, record_ids = [], [], [], []
    for number, ids in enumerate(matched):
        known = sorted({int(i) for i in ids if int(i) in outputs})
        record_ids.append(known)
        for bit, output_id in enumerate(known):
            pair_record.append(number)
            pair_output.append(output_id)
            pair_bit.append(bit)
    widest = max((len(ids) for ids in record_ids), default=0)
    cover = np.zeros((tokens, max(1, widest)), dtype=bool)
    if pair_record and tokens:
        _cover_by_shingles(cover, hashes, record_bounds, pair_record, pair_output, pair_bit, outputs)
        for number, output_id, bit in zip(pair_record, pair_output, pair_bit):
            if len(outputs[output_id].shingles) == 0:
                _cover_whole(cover, bit, hashes, field_bounds[first_field[number]:first_field[number + 1] + 1],
                             outputs[output_id].exact)
    found: list[list[Span]] = [[] for _ in records]
    if not cover.any():
        return found
    group = _groups(cover)
    field_of_token = np.repeat(np.arange(len(texts)), np.diff(field_bounds))
    new_field = np.zeros(tokens, dtype=bool)
    new_field[field_bounds[:-1][field_bounds[:-1] < tokens]] = True
    change = new_field | np.concatenate(([True], group[1:] != group[:-1]))
    firsts = np.flatnonzero((group >= 0) & change)
    last = np.flatnonzero((group >= 0) & np.concatenate((change[1:], [True])))
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    # ends never go back within a field; fields are laid end to end so that none leaks into the next
    offset = (np.cumsum(lengths + 1) - (lengths + 1))[field_of_token]
    run_end = np.maximum.accumulate(np.minimum(ends, lengths[field_of_token]) + offset) - offset
    field = field_of_token[firsts]
    run_start = np.minimum(np.maximum(starts[firsts], 0), lengths[field])
    run_stop = np.minimum(np.maximum(run_end[last], 0), lengths[field])
    words = last - firsts + 1
    narrow = cover.shape[1] < 63  # then a run's group is its outputs' bits (see _groups)
    keys = group[firsts].tolist() if narrow else firsts.tolist()
    merged: dict[int, list[list]] = {}
    for f, begin, stop, count, key in zip(field.tolist(), run_start.tolist(), run_stop.tolist(), words.tolist(),
                                        keys):
        ids = record_ids[int(field_record[f])]
        owners = ({ids[b] for b in range(len(ids)) if key >> b & 1} if narrow
                  else {ids[b] for b in np.flatnonzero(cover[key]).tolist()})
        spans = merged.setdefault(f, [])
        stop = max(begin, stop)
        if spans and begin < spans[-1][1]:  # two tokens from one original character ("½")
            spans[-1][1] = max(spans[-1][1], stop)
            spans[-1][2] |= owners
            spans[-1][3] += count
        else:
            spans.append([begin, stop, owners, count])
    for f, spans in merged.items():
        number = int(field_record[f])
        local = f - int(first_field[number])
        path = str(records[number][local][0])
        found[number] += [Span(path, b, e, tuple(sorted(o)), n, local) for b, e, o, n in spans if e > b]
    return found


def _cover_by_shingles(cover: np.ndarray, hashes: np.ndarray, record_bounds: np.ndarray, pair_record: list[int],
                       pair_output: list[int], pair_bit: list[int], outputs: Mapping[int, OutputWords]) -> None:
    """Mark, for every (record, output) pair, the record's tokens inside a 5-gram the output
    holds: all pairs in one sorted lookup of (output, 40-bit 5-gram) keys."""
    grams = ngram_hashes(hashes) >> _TOP40
    distinct = sorted({o for o in pair_output if len(outputs[o].shingles)})
    if not distinct or len(grams) == 0:
        return
    code = {o: n for n, o in enumerate(distinct)}
    keys = np.sort(np.concatenate([(np.uint64(code[o]) << np.uint64(40))
                                   | (outputs[o].shingles.astype(np.uint64) >> _TOP40) for o in distinct]))
    chosen = [n for n, o in enumerate(pair_output) if o in code]
    record = np.array([pair_record[n] for n in chosen], dtype=np.int64)
    output = np.array([code[pair_output[n]] for n in chosen], dtype=np.uint64)
    bit = np.array([pair_bit[n] for n in chosen], dtype=np.int64)
    first = record_bounds[record]
    count = np.maximum(0, record_bounds[record + 1] - first - K + 1)  # 5-grams inside the record
    total = int(count.sum())
    if total == 0:
        return
    pair = np.repeat(np.arange(len(chosen)), count)
    position = np.repeat(first - (np.cumsum(count) - count), count) + np.arange(total)
    queries = (output[pair] << np.uint64(40)) | grams[position]
    at = np.searchsorted(keys, queries).clip(0, len(keys) - 1)
    hit = keys[at] == queries
    position, hit_bit = position[hit], bit[pair[hit]]
    width = cover.shape[1]
    size = (cover.shape[0] + 1) * width
    change = np.bincount(position * width + hit_bit, minlength=size) - \
        np.bincount((position + K) * width + hit_bit, minlength=size)
    cover |= np.cumsum(change.reshape(-1, width)[:-1], axis=0) > 0


def _cover_whole(cover: np.ndarray, bit: int, hashes: np.ndarray, bounds: np.ndarray, exact: bytes) -> None:
    """An output without 5-grams: the record's fields (or the record) whose words are its words."""
    first, end = int(bounds[0]), int(bounds[-1])
    if end > first and exact_hash(hashes[first:end]) == exact:
        cover[first:end, bit] = True
        return
    for low, high in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if high > low and exact_hash(hashes[low:high]) == exact:
            cover[low:high, bit] = True


def _groups(cover: np.ndarray) -> np.ndarray:
    """Per token, a number for its set of outputs (-1: none)."""
    if cover.shape[1] < 63:
        bits = (cover.astype(np.int64) << np.arange(cover.shape[1], dtype=np.int64)).sum(axis=1)
        return np.where(bits == 0, -1, bits)
    sets, group = np.unique(cover, axis=0, return_inverse=True)
    group = group.reshape(-1)
    empty = np.flatnonzero(~sets.any(axis=1))
    return np.where(group == empty[0], -1, group) if len(empty) else group


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


def attach_spans(rows: list[dict], records: Sequence[Sequence[tuple[str, str]]], detector) -> None:
    """Set row["spans"] for finding rows (reuse.findings.finding_row) of these records, all at once."""
    if not rows:
        return
    wanted = [row["output_ids"] for row in rows]
    outputs = detector_outputs(detector, [i for ids in wanted for i in ids])
    for row, fields, spans in zip(rows, records, spans_many(records, wanted, outputs)):
        row["spans"] = [span.as_json(fields[span.number][1]) for span in spans]
