"""The output index: memory-mapped sorted numpy segments, merged LSM-style.

A directory holds a base segment plus small delta segments (one per `add`), a bitmap prefilter,
the sorted "hot" hashes and `manifest.json`, which names the live files. Writers stage every file
under a temporary name and publish by atomically replacing the manifest; files the new manifest no
longer names are deleted afterwards. Readers therefore always see a complete generation (an open
memory map survives the deletion of its file on POSIX). Writers serialise on an flock, and
re-read the manifest under it, so a second writer never loses the first one's segments.

Memory: every posting is (uint64 hash, uint32 ordinal) = 12 bytes. Up to `winnow_above` outputs
every distinct 5-gram of an output is posted; beyond, new and compacted segments post only the
winnowed 5-grams (w = 8, ~22 %), which still guarantees a hit in every shared run of 12 words. The
full 5-gram list of every output stays in the segment's on-disk shingle store, so candidates are
always verified against all their shingles (no caller callback needed; ReuseDetector can take one
anyway). At 300 words an output costs ~66 postings * 12 B + ~61 B of per-output arrays + the
bitmap (<= 2^32 bits) ~ 0.9 KB of RAM at 10 M outputs.

Hot hashes are 5-grams held by more than `hot_outputs` outputs, i.e. boilerplate ("let me know
if you have any other questions"). They never start a candidate and do not count as evidence.
They are counted on full 5-gram lists: on `add`, the new outputs' lists plus the postings already
indexed; on `compact`, every output's list (an even sample past HOT_SAMPLE outputs). Postings
alone would not do once winnowed: a boilerplate sentence keeps only ~22 % of its 5-grams there.
Tiered merging: small deltas merge with each other, the base is rewritten only when the deltas
hold a tenth of its outputs (a base rewrite sorts all postings: minutes at 10 M outputs).
Outputs whose normalised text equals an earlier output's are indexed as aliases without postings,
so a prompt run a hundred times does not turn its own answer into "boilerplate".
Ids are not required to arrive in order: with several proxies on one PostgreSQL sequence an output
can commit after higher ids were indexed, so `add` takes any id not yet indexed, segments' id
ranges may overlap (lookups search every segment), and merging re-sorts by id.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.reuse import segment as seg
from agent.reuse.fingerprint import Fingerprint

MANIFEST = "manifest.json"
MIN_EXACT_WORDS = 3  # one- and two-word outputs ("Yes", "Positive") equal too many fields by chance
FORMAT_VERSION = 1
_SEGMENT_NAME = re.compile(r"^seg-\d{8}$")


@dataclass(frozen=True, slots=True)
class Generation:
    number: int
    segments: tuple[str, ...]
    winnowed: tuple[bool, ...]
    bitmap: str | None
    bitmap_bits: int
    hot: str | None
    max_output_id: int
    next_segment: int
    # where the outputs come from, as the caller describes it: {"store": identity of the source,
    # "anchor": a marker of the source's state}; None for an index made before bindings existed
    binding: dict | None = None

    def to_json(self) -> dict:
        return {"version": FORMAT_VERSION, "generation": self.number, "segments": list(self.segments),
                "winnowed": list(self.winnowed), "bitmap": self.bitmap, "bitmap_bits": self.bitmap_bits,
                "hot": self.hot, "max_output_id": self.max_output_id, "next_segment": self.next_segment,
                "binding": self.binding}

    @classmethod
    def from_json(cls, data: dict) -> Generation:
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"output index format {data.get('version')!r} is not {FORMAT_VERSION}")
        return cls(data["generation"], tuple(data["segments"]), tuple(data["winnowed"]), data["bitmap"],
                   data["bitmap_bits"], data["hot"], data["max_output_id"], data["next_segment"],
                   data.get("binding"))


class BindingChanged(Exception):
    """The index was rebound to another source (or state) by another process meanwhile."""


EMPTY = Generation(0, (), (), None, 0, None, 0, 1)
HOT_SAMPLE = 200_000  # outputs whose full 5-gram lists are counted to find boilerplate at compaction


def _distinct_shingles(data: seg.SegmentData, step: int) -> np.ndarray:
    """Each output's distinct 5-grams, for every `step`-th output of a segment, concatenated.
    Aliases (repeats of an earlier output) are left out: a repeated answer is not boilerplate."""
    flags = np.asarray(data.flags)
    parts = [np.unique(data.shingles_of(ordinal)) for ordinal in range(0, len(data), step)
             if not flags[ordinal] & seg.ALIAS]
    return np.concatenate(parts) if parts else np.empty(0, np.uint64)


def _frequent(hashes: np.ndarray, threshold: int) -> np.ndarray:
    """Hashes occurring more than `threshold` times."""
    if len(hashes) == 0:
        return np.empty(0, np.uint64)
    ordered = np.sort(hashes)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, len(ordered)))
    return ordered[starts[counts > threshold]]


class OutputIndex:
    def __init__(self, directory: Path, *, winnow_above: int, hot_outputs: int, max_deltas: int):
        self.directory = directory
        self.winnow_above = winnow_above
        self.hot_outputs = hot_outputs
        self.max_deltas = max_deltas
        self._generation = EMPTY
        self.segments: list[seg.SegmentData] = []
        self._bitmap = np.zeros(1, np.uint8)
        self._bitmap_shift = np.uint64(63)
        self.hot = np.empty(0, np.uint64)
        self._hot_top = np.zeros(1, dtype=bool)  # top bits of the hot hashes, see is_hot
        self._hot_shift = np.uint64(63)
        self.short_word_counts = np.empty(0, np.int64)  # lengths of outputs matched as whole fields only
        self.alias_keys = np.empty(0, np.uint64)

    @classmethod
    def open(cls, directory: Path, *, winnow_above: int = 1_000_000, hot_outputs: int = 20,
             max_deltas: int = 8) -> OutputIndex:
        """Open (creating if missing) the index in `directory`.

        winnow_above: index size (outputs) past which postings are winnowed.
        hot_outputs: a 5-gram posted by more outputs than this is boilerplate.
        max_deltas: delta segments tolerated before `add` compacts.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        index = cls(directory, winnow_above=winnow_above, hot_outputs=hot_outputs, max_deltas=max_deltas)
        index.refresh()
        return index

    # ---- reading ---------------------------------------------------------------------------

    def _read_manifest(self) -> Generation:
        try:
            return Generation.from_json(json.loads((self.directory / MANIFEST).read_text()))
        except FileNotFoundError:
            return EMPTY

    def refresh(self) -> bool:
        """Load the newest published generation; True if it changed."""
        for attempt in range(5):
            generation = self._read_manifest()
            if generation.number == self._generation.number and (generation.number or not self.segments):
                return False
            try:
                self._load(generation)
                return True
            except FileNotFoundError:  # a writer replaced this generation while we opened it
                time.sleep(0.01 * (attempt + 1))
        self._load(self._read_manifest())
        return True

    def _load(self, generation: Generation) -> None:
        segments = [seg.load(self.directory / name) for name in generation.segments]
        bitmap = (np.asarray(np.load(self.directory / generation.bitmap, mmap_mode="r"))
                  if generation.bitmap else np.zeros(1, np.uint8))
        hot = np.load(self.directory / generation.hot) if generation.hot else np.empty(0, np.uint64)
        self.segments = segments
        self._bitmap = bitmap
        self._bitmap_shift = np.uint64(64 - max(generation.bitmap_bits, 3))
        self.hot = hot
        top_bits = int(min(24, max(16, np.ceil(np.log2(max(len(hot), 1) * 64)))))
        self._hot_shift = np.uint64(64 - top_bits)
        self._hot_top = np.zeros(1 << top_bits, dtype=bool)
        self._hot_top[(np.asarray(hot, dtype=np.uint64) >> self._hot_shift).astype(np.int64)] = True
        self.short_word_counts = np.unique(np.concatenate(
            [np.asarray(s.words)[(np.asarray(s.flags) & seg.SHORT) != 0] for s in segments] or [np.empty(0, np.uint32)]))
        self.short_word_counts = self.short_word_counts[self.short_word_counts >= MIN_EXACT_WORDS].astype(np.int64)
        # first halves of exact hashes held by more than one output (repeated outputs)
        self.alias_keys = np.unique(np.concatenate(
            [np.asarray(s.exact)[(np.asarray(s.flags) & seg.ALIAS) != 0, 0] for s in segments]
            or [np.empty(0, np.uint64)])).astype(np.uint64)
        self._generation = generation

    def __len__(self) -> int:
        return sum(len(s) for s in self.segments)

    @property
    def max_output_id(self) -> int:
        """The highest id indexed (lower ids may still arrive late, see add)."""
        return self._generation.max_output_id

    @property
    def generation(self) -> int:
        return self._generation.number

    @property
    def winnowed(self) -> bool:
        return any(self._generation.winnowed)

    @property
    def binding(self) -> dict | None:
        """Where the indexed outputs come from (see Generation.binding)."""
        return self._generation.binding

    def ram_bytes(self) -> int:
        """Bytes of the structures every lookup touches (excludes the on-disk shingle store)."""
        return sum(s.ram_bytes() for s in self.segments) + self._bitmap.nbytes + self.hot.nbytes

    def postings_count(self) -> int:
        return sum(len(s.post_hash) for s in self.segments)

    # ---- lookups used by the matcher -------------------------------------------------------

    def prefilter(self, hashes: np.ndarray) -> np.ndarray:
        """False where a hash is certainly not posted (and not hot)."""
        if not self.segments:
            return np.zeros(len(hashes), dtype=bool)
        # bit numbers are below 2^32: viewed as int64 (free), the gather skips numpy's uint64
        # index conversion, which doubled its cost
        bit = (hashes >> self._bitmap_shift).view(np.int64)
        return ((self._bitmap[bit >> 3] >> (bit & 7).astype(np.uint8)) & 1).astype(bool)

    def is_hot(self, hashes: np.ndarray) -> np.ndarray:
        if len(self.hot) == 0:
            return np.zeros(len(hashes), dtype=bool)
        # The hot set is small: a table of its hashes' top bits (in cache) rules out nearly all
        # queries before the binary search (0.14 instead of 2.3 ms for 55 k queries, 470 hot).
        hot = np.flatnonzero(self._hot_top[(hashes >> self._hot_shift).view(np.int64)])
        found = np.zeros(len(hashes), dtype=bool)
        if len(hot):
            where = np.searchsorted(self.hot, hashes[hot])
            where[where == len(self.hot)] = 0
            found[hot] = self.hot[where] == hashes[hot]
        return found

    def postings(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query index, output id, posted from a winnowed segment) for every posting of each
        query hash."""
        found_q, found_id, found_winnowed = [], [], []
        for segment, winnowed in zip(self.segments, self._generation.winnowed):
            posted = segment.post_hash
            if len(posted) == 0:
                continue
            left = np.searchsorted(posted, queries, "left")
            hit = np.flatnonzero(posted[np.minimum(left, len(posted) - 1)] == queries)
            if len(hit) == 0:
                continue
            first = left[hit]
            # the end of each hash's postings: searched for only where there is a second one
            counts = np.ones(len(hit), dtype=np.int64)
            more = np.flatnonzero(posted[np.minimum(first + 1, len(posted) - 1)] == queries[hit])
            more = more[first[more] + 1 < len(posted)]
            counts[more] = np.searchsorted(posted, queries[hit[more]], "right") - first[more]
            total = int(counts.sum())
            # posting positions first[h] + 0..count-1 for each hit query, flattened
            at = np.repeat(first - (np.cumsum(counts) - counts), counts) + np.arange(total)
            found_q.append(np.repeat(hit, counts))
            found_id.append(segment.ids[segment.post_ord[at]])
            found_winnowed.append(np.full(total, winnowed))
        if not found_q:
            return np.empty(0, np.int64), np.empty(0, np.uint64), np.empty(0, bool)
        if len(found_q) == 1:
            return found_q[0], found_id[0], found_winnowed[0]
        return np.concatenate(found_q), np.concatenate(found_id), np.concatenate(found_winnowed)

    def _where(self, output_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(segment number, ordinal) of each id; segment -1 where it is not indexed. Segments'
        id ranges may overlap (an id that committed late lands in a later delta), so every
        segment is searched; there are at most max_deltas + 1 of them."""
        ids = np.asarray(output_ids, dtype=np.uint64)
        where = np.full(len(ids), -1, dtype=np.int64)
        ordinals = np.zeros(len(ids), dtype=np.int64)
        for number, segment in enumerate(self.segments):
            if len(segment) == 0:
                continue
            at = np.searchsorted(segment.ids, ids).clip(0, len(segment) - 1)
            hit = segment.ids[at] == ids
            where[hit] = number
            ordinals[hit] = at[hit]
        return where, ordinals

    def contains(self, output_ids: np.ndarray) -> np.ndarray:
        """True for each id that is indexed."""
        return self._where(output_ids)[0] >= 0

    def _locate(self, output_id: int) -> tuple[seg.SegmentData, int] | None:
        where, ordinals = self._where(np.array([output_id], dtype=np.uint64))
        if where[0] < 0:
            return None
        return self.segments[int(where[0])], int(ordinals[0])

    def shingles_many(self, output_ids: list[int]) -> dict[int, np.ndarray]:
        """Full 5-gram lists of many outputs (missing ids are left out)."""
        ids = np.asarray(output_ids, dtype=np.uint64)
        where, ordinals = self._where(ids)
        found: dict[int, np.ndarray] = {}
        for number in np.unique(where[where >= 0]).tolist():
            segment = self.segments[number]
            mine = where == number
            chosen = ordinals[mine]
            starts, ends = segment.offsets[chosen].tolist(), segment.offsets[chosen + 1].tolist()
            for output_id, start, end in zip(ids[mine].tolist(), starts, ends):
                found[output_id] = segment.shingles[start:end]
        return found

    def shingles(self, output_id: int) -> np.ndarray:
        found = self._locate(output_id)
        if found is None:
            raise KeyError(output_id)
        segment, ordinal = found
        return np.asarray(segment.shingles_of(ordinal))

    def word_count(self, output_id: int) -> int:
        found = self._locate(output_id)
        if found is None:
            raise KeyError(output_id)
        return int(found[0].words[found[1]])

    def exact_of(self, output_id: int) -> tuple[int, int]:
        found = self._locate(output_id)
        if found is None:
            raise KeyError(output_id)
        row = found[0].exact[found[1]]
        return int(row[0]), int(row[1])

    def ids_with_exact(self, exact_hi: np.ndarray, exact_lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query index, output id) of every output whose exact hash equals a query."""
        found_q, found_id = [], []
        for segment in self.segments:
            left = np.searchsorted(segment.exact_key, exact_hi, "left")
            right = np.searchsorted(segment.exact_key, exact_hi, "right")
            for query in np.flatnonzero(right > left):
                ordinals = segment.exact_ord[left[query]:right[query]]
                same = segment.exact[ordinals, 1] == exact_lo[query]
                for ordinal in ordinals[same]:
                    found_q.append(int(query))
                    found_id.append(int(segment.ids[ordinal]))
        return np.array(found_q, dtype=np.int64), np.array(found_id, dtype=np.uint64)

    def ids_with_text_hash(self, text_hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found_q, found_id = [], []
        for segment in self.segments:
            left = np.searchsorted(segment.text_key, text_hashes, "left")
            right = np.searchsorted(segment.text_key, text_hashes, "right")
            for query in np.flatnonzero(right > left):
                for ordinal in segment.text_ord[left[query]:right[query]]:
                    found_q.append(int(query))
                    found_id.append(int(segment.ids[ordinal]))
        return np.array(found_q, dtype=np.int64), np.array(found_id, dtype=np.uint64)

    # ---- writing ---------------------------------------------------------------------------

    @contextmanager
    def _writer(self) -> Iterator[None]:
        with open(self.directory / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.refresh()
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def reset(self, binding: dict | None) -> None:
        """Drop every indexed output and bind the (now empty) index to `binding`."""
        with self._writer():
            g = self._generation
            self._publish(Generation(g.number + 1, (), (), None, 0, None, 0, g.next_segment, binding))

    def add(self, entries: Iterable[tuple[int, Fingerprint]], binding: dict | None = None) -> int:
        """Index new outputs as one delta segment; returns how many were added.

        Ids already indexed are skipped, so re-feeding outputs after a crash is safe. Ids below
        `max_output_id` are accepted: with several writers on one PostgreSQL sequence, a
        transaction holding a lower id can commit after a higher one was indexed. Compacts when
        deltas pile up. `binding`, when given, replaces the recorded one; its "store" must be
        the one recorded, else BindingChanged (another process rebound the index meanwhile).
        """
        with self._writer():
            current = self._generation.binding
            if binding is not None and current is not None and current.get("store") != binding.get("store"):
                raise BindingChanged(f"index in {self.directory} is bound to {current.get('store')}")
            binding = binding if binding is not None else current
            offered = sorted((int(i), fp) for i, fp in entries)
            if not offered:
                return 0
            known = self.contains(np.fromiter((i for i, _ in offered), dtype=np.uint64, count=len(offered)))
            fresh = [entry for entry, indexed in zip(offered, known.tolist()) if not indexed]
            if not fresh:
                return 0
            unique_ids = {i for i, _ in fresh}
            if len(unique_ids) != len(fresh):
                raise ValueError("duplicate output ids in one add()")
            winnowed = len(self) + len(fresh) > self.winnow_above
            data = seg.build(fresh, self._indexed_before(fresh), winnowed)
            name = f"seg-{self._generation.next_segment:08d}"
            seg.write(data, self.directory, name)
            new_hot = self._grow_hot(data)
            segments = [*self.segments, data]
            bitmap_name, bits = self._write_bitmap(segments, hot=new_hot, extend=data)
            hot_name = self._write_hot(new_hot)
            self._publish(Generation(
                self._generation.number + 1, (*self._generation.segments, name),
                (*self._generation.winnowed, winnowed), bitmap_name, bits, hot_name,
                max(self.max_output_id, fresh[-1][0]), self._generation.next_segment + 1, binding))
            if len(self.segments) - 1 > self.max_deltas:
                # Tiered: rewriting the base costs a sort of all postings, so it is merged only
                # once the deltas hold a tenth of its outputs; until then deltas merge together.
                if sum(len(s) for s in self.segments[1:]) * 10 < len(self.segments[0]):
                    self._merge_deltas()
                else:
                    self._compact()
            return len(fresh)

    def compact(self) -> None:
        """Merge all segments into one base segment (re-winnowing if the size now calls for it)."""
        with self._writer():
            self._compact()

    def _compact(self) -> None:
        if len(self.segments) <= 1 and all(w == (len(self) > self.winnow_above) for w in self._generation.winnowed):
            return
        winnowed = len(self) > self.winnow_above
        same_mode = all(w == winnowed for w in self._generation.winnowed)
        data = seg.merge(self.segments, winnowed, same_mode)
        name = f"seg-{self._generation.next_segment:08d}"
        seg.write(data, self.directory, name)
        hot = self._count_hot(data)
        bitmap_name, bits = self._write_bitmap([data], hot=hot, extend=None)
        hot_name = self._write_hot(hot)
        self._publish(Generation(self._generation.number + 1, (name,), (winnowed,), bitmap_name, bits,
                                 hot_name, self.max_output_id, self._generation.next_segment + 1,
                                 self._generation.binding))

    def _merge_deltas(self) -> None:
        winnowed = len(self) > self.winnow_above
        same_mode = all(w == winnowed for w in self._generation.winnowed[1:])
        data = seg.merge(self.segments[1:], winnowed, same_mode)
        name = f"seg-{self._generation.next_segment:08d}"
        seg.write(data, self.directory, name)
        g = self._generation
        # Postings only shrink (re-winnowing) or stay, so the bitmap and hot set remain valid.
        self._publish(Generation(g.number + 1, (g.segments[0], name), (g.winnowed[0], winnowed), g.bitmap,
                                 g.bitmap_bits, g.hot, g.max_output_id, g.next_segment + 1, g.binding))

    def _indexed_before(self, entries: list[tuple[int, Fingerprint]]) -> np.ndarray:
        halves = np.frombuffer(b"".join(fp.exact for _, fp in entries), dtype="<u8").reshape(-1, 2)
        found = np.zeros(len(entries), dtype=bool)
        queries, _ = self.ids_with_exact(halves[:, 0].astype(np.uint64), halves[:, 1].astype(np.uint64))
        found[queries] = True
        return found

    def _count_hot(self, data: seg.SegmentData) -> np.ndarray:
        """Hot set of a fully merged index, from full 5-gram lists (postings may be winnowed and
        would miss most 5-grams of a boilerplate sentence). Past HOT_SAMPLE outputs an even
        sample is counted against a proportionally lower threshold (never below 3), so only
        phrases in more than ~hot_outputs * N / HOT_SAMPLE outputs are recognised then."""
        step = max(1, -(-len(data) // HOT_SAMPLE))
        threshold = max(3, self.hot_outputs // step) if step > 1 else self.hot_outputs
        return np.union1d(_frequent(_distinct_shingles(data, step), threshold),
                          _frequent(np.asarray(data.post_hash), self.hot_outputs)).astype(np.uint64)

    def _grow_hot(self, delta: seg.SegmentData) -> np.ndarray:
        """Hot set after adding `delta`: a 5-gram is hot once the outputs of the delta (full
        lists) plus the postings elsewhere hold it more than hot_outputs times. Counts only
        grow, so earlier hot hashes stay hot."""
        hashes = np.sort(_distinct_shingles(delta, 1))
        if len(hashes) == 0:
            return self.hot
        starts = np.flatnonzero(np.concatenate(([True], hashes[1:] != hashes[:-1])))
        distinct = hashes[starts]
        counts = np.diff(np.append(starts, len(hashes)))
        for segment in self.segments:
            counts = counts + (np.searchsorted(segment.post_hash, distinct, "right")
                               - np.searchsorted(segment.post_hash, distinct, "left"))
        return np.union1d(self.hot, distinct[counts > self.hot_outputs]).astype(np.uint64)

    def _write_bitmap(self, segments: list[seg.SegmentData], *, hot: np.ndarray,
                      extend: seg.SegmentData | None) -> tuple[str, int]:
        postings = sum(len(s.post_hash) for s in segments)
        # ~16 bits per posting keeps the pass rate of misses near 6 %; 2^32 bits (512 MB) at most.
        bits = int(min(32, max(16, int(np.ceil(np.log2(max(postings, 1) * 16))))))
        reuse = extend is not None and bits == self._generation.bitmap_bits and self._generation.bitmap
        bitmap = np.array(self._bitmap) if reuse else np.zeros(1 << (bits - 3), dtype=np.uint8)
        shift = np.uint64(64 - bits)
        for segment in ([extend] if reuse else segments):
            hashes = np.asarray(segment.post_hash)
            if len(hot):
                hashes = hashes[~np.isin(hashes, hot)]
            bit = hashes >> shift
            np.bitwise_or.at(bitmap, bit >> np.uint64(3),
                             np.left_shift(1, (bit & np.uint64(7)).astype(np.uint8)).astype(np.uint8))
        name = f"bitmap-{self._generation.number + 1:08d}.npy"
        self._save_array(name, bitmap)
        return name, bits

    def _write_hot(self, hot: np.ndarray) -> str:
        name = f"hot-{self._generation.number + 1:08d}.npy"
        self._save_array(name, hot)
        return name

    def _save_array(self, name: str, array: np.ndarray) -> None:
        staging = self.directory / f".tmp-{name}"
        with open(staging, "wb") as handle:
            np.save(handle, array)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, self.directory / name)

    def _publish(self, generation: Generation) -> None:
        staging = self.directory / f".tmp-{MANIFEST}"
        staging.write_text(json.dumps(generation.to_json()))
        with open(staging, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staging, self.directory / MANIFEST)
        self._load(generation)
        self._remove_unlisted(generation)

    def _remove_unlisted(self, generation: Generation) -> None:
        live = {*generation.segments, generation.bitmap, generation.hot, MANIFEST, ".lock"}
        for path in self.directory.iterdir():
            if path.name in live:
                continue
            # staged files (".tmp-") can only be left over from a crashed writer: we hold the lock
            if _SEGMENT_NAME.match(path.name) or path.name.startswith(("bitmap-", "hot-", ".tmp-")):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
