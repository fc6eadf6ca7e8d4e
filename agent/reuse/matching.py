"""Finding captured outputs inside dataset records.

Records are processed in batches (about 2 MiB of text): all fields of all records are joined into
one buffer that is tokenised, hashed and looked up with a fixed number of numpy calls, because
per-record numpy overhead was half the time when records were handled one by one (reference §7).

Per record:
1. Exact layer, per field: raw-text hash equal to an output's -> "exact"; and, for fields (and
   multi-field records) as long as some indexed short output, the normalised token-sequence
   hash -> "reformatted". This is the only way outputs under SHORT_WORDS words match.
2. Shingle layer on the record's fields taken together (so an output split across fields is
   found): every 5-gram goes through the bitmap prefilter, then the sorted postings. Outputs with
   MIN_HITS_DENSE non-hot hits (MIN_HITS_WINNOWED from a winnowed segment) are candidates, and all
   candidates of the batch are aligned against their full 5-gram lists and scored together
   (scoring.score_many), then decided one by one (scoring.is_reuse, scoring.classify).
Every output that passes is reported, so a record holding two outputs yields two matches, except a
"similar" one that lies inside the words a stronger match of another output explains
(scoring.explained).

Records known only by their fingerprints (training uploads stored without text) go through the
same two layers (`match_fingerprints`): the batch is laid out from their 5-gram hashes, and the
exact layer takes their stored `exact` hash, since a fingerprint keeps no per-token hashes. Nor
does it tell the script of its text, which one rule needs (scoring.LONG_HOLES_SPACED, for
space-delimited text only): uploads are judged as CJK text is, by the laxer rule.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace

import numpy as np

from agent.reuse.fingerprint import Fingerprint
from agent.reuse.fingerprint import exact_hash
from agent.reuse.index import MIN_EXACT_WORDS
from agent.reuse.index import OutputIndex
from agent.reuse.memory import fewer_full_collections
from agent.reuse.memory import keep_freed_memory
from agent.reuse.normalise import ASCII_FOLD
from agent.reuse.normalise import prepare_with_hash
from agent.reuse.roles import PROMPT
from agent.reuse.roles import UNKNOWN
from agent.reuse.roles import role_of_fields
from agent.reuse.scoring import MIN_CHAIN
from agent.reuse.scoring import MIN_EVIDENCE_WORDS
from agent.reuse.scoring import SHORT
from agent.reuse.scoring import SHORT_WORDS
from agent.reuse.scoring import SIMILAR
from agent.reuse.scoring import VERBATIM
from agent.reuse.scoring import Score
from agent.reuse.scoring import classify
from agent.reuse.scoring import explained
from agent.reuse.scoring import is_reuse
from agent.reuse.scoring import score_many
from agent.reuse.scoring import tier
from agent.reuse.shingles import K
from agent.reuse.shingles import folded_token_hashes
from agent.reuse.shingles import is_echo
from agent.reuse.shingles import is_restated
from agent.reuse.shingles import ngram_hashes
from agent.reuse.sides import cached_role
from agent.reuse.sides import split_by_side

# Hits an output needs before it is verified. With every 5-gram posted, the decision rule needs
# MIN_CHAIN aligned hits anyway; with winnowed postings (~22 %) two hits, since a single shared
# 5-gram means nothing (15 % of unrelated records have one).
MIN_HITS_DENSE = MIN_CHAIN
MIN_HITS_WINNOWED = 2
# Candidates verified per record, most hits first: same-domain text shares a few 5-grams with
# many outputs. A record can hold at most one shingle-matched output per SHORT_WORDS words.
MAX_CANDIDATES = 32
BATCH_BYTES = 2 << 20  # measured best of 0.5-4 MiB

Fields = Sequence[tuple[str, str]]
LoadFingerprints = Callable[[list[int]], dict[int, Fingerprint]]


@dataclass(frozen=True, slots=True)
class OutputMatch:
    output_id: int
    output_coverage: float  # share of the output found in the record (non-boilerplate 5-grams)
    record_coverage: float  # share of the record's words that come from this output
    matched_words: int
    longest_run: int  # longest verbatim stretch, words
    span: float  # share of the output between its first and last matched words
    reuse_class: str  # exact | reformatted | truncated | excerpt | embedded | edited
    fields: tuple[str, ...]  # field paths holding the matched words
    role: str = UNKNOWN  # side of the record those fields are on: response | prompt | unknown
    tier: str = VERBATIM  # confidence: verbatim | near-verbatim | similar | short (scoring.tier)


@dataclass(slots=True)
class _Batch:
    paths: list[str]
    field_record: np.ndarray  # record index of each field
    field_tokens: np.ndarray  # (first token, end token) per field, batch token numbering
    record_tokens: np.ndarray  # (first token, end token) per record
    token_hash: np.ndarray
    ngram: np.ndarray  # ngram[i] starts at token i; only valid where valid[i]
    valid: np.ndarray
    text_hashes: np.ndarray
    size: int  # bytes of prepared text (estimated for fingerprints)
    # exact hash (n_fields, 2) of every field when the batch was built from fingerprints, which
    # carry no per-token hashes (token_hash is then empty); None for text batches
    field_exact: np.ndarray | None = None
    # per record: written in space-delimited words (scoring.is_reuse, LONG_HOLES_SPACED); None for
    # fingerprint batches, which carry no text: those are judged as CJK text is (the laxer rule)
    spaced: np.ndarray | None = None
    _record_fields: np.ndarray | None = None
    _prompt_fields: np.ndarray | None = None

    def prompt_fields(self) -> np.ndarray:
        """True for each field on the prompt side of its record (agent.reuse.roles)."""
        if self._prompt_fields is None:
            self._prompt_fields = np.fromiter(
                (cached_role(str(p), getattr(p, "speaker", None)) == PROMPT for p in self.paths),
                dtype=bool, count=len(self.paths))
        return self._prompt_fields

    def record_fields(self, number: int) -> tuple[int, int]:
        """[first, end) field numbers of a record (fields are in record order)."""
        if self._record_fields is None:
            self._record_fields = np.searchsorted(self.field_record, np.arange(len(self.record_tokens) + 1))
        return int(self._record_fields[number]), int(self._record_fields[number + 1])


class ReuseDetector:
    def __init__(self, index: OutputIndex, load_fingerprints: LoadFingerprints | None = None,
                 batch_bytes: int = BATCH_BYTES):
        """`load_fingerprints(ids)`, when given, supplies the full fingerprints used to verify
        candidates (e.g. from the store's BLOBs); otherwise the index's shingle store is used."""
        self.index = index
        self.load_fingerprints = load_fingerprints
        self.batch_bytes = batch_bytes
        keep_freed_memory()  # batches re-allocate the same temporaries: see memory.py

    def match(self, fields: Fields) -> list[OutputMatch]:
        """Outputs reused by one record, given as (field path, text) pairs."""
        return self.match_many([fields])[0]

    def match_many(self, records: Iterable[Fields]) -> list[list[OutputMatch]]:
        return list(self.match_stream(records))

    def match_stream(self, records: Iterable[Fields]) -> Iterator[list[OutputMatch]]:
        """Matches per record, in input order, batching records internally."""
        batch: list[Fields] = []
        # Batches are sized by a running estimate of record size, so that records are not
        # measured one by one on the hot path.
        per_batch = 64
        with fewer_full_collections():  # batches of records held while matched: see memory.py
            for fields in records:
                batch.append(fields)
                if len(batch) >= per_batch:
                    results, size = self._match_batch(batch)
                    yield from results
                    per_batch = max(1, min(1 << 16, int(self.batch_bytes * len(batch) / max(1, size))))
                    batch = []
            if batch:
                yield from self._match_batch(batch)[0]

    def match_fingerprints(self, fingerprints: Sequence[Fingerprint], path: str = "upload",
                           ) -> list[list[OutputMatch]]:
        """Outputs reused by records known only by their fingerprints (e.g. training uploads
        stored without text), each taken as a record with one field at `path`. Gives the same
        matches as `match([(path, text)])` on the text each fingerprint was made from, but for
        one rule: a fingerprint does not tell which script its text was in, so a heavy-edit match
        is judged as CJK text is, without the long-hole limit of space-delimited text
        (scoring.LONG_HOLES_SPACED); an upload may report a `similar` match its text would not."""
        results: list[list[OutputMatch]] = []
        per_batch = max(1, self.batch_bytes // (8 * 400))  # ~400 five-grams per typical record
        for start in range(0, len(fingerprints), per_batch):
            chunk = fingerprints[start:start + per_batch]
            results.extend(self._match_prepared(len(chunk), lambda: self._from_fingerprints(chunk, path)))
        return results

    # ---- batch pipeline --------------------------------------------------------------------

    def _tokenise(self, records: list[Fields]) -> _Batch:
        paths = [path for fields in records for path, _ in fields]
        prepared, raw_hashes = zip(*map(prepare_with_hash, [text for fields in records for _, text in fields])) \
            if paths else ((), ())
        field_rec = np.repeat(np.arange(len(records)), np.fromiter(map(len, records), np.int64, len(records)))
        lengths = np.fromiter(map(len, prepared), dtype=np.int64, count=len(prepared))
        field_start = np.cumsum(lengths + 1) - (lengths + 1)
        # empty first and last items put a space at both ends, as folded_token_hashes needs
        joined = b" ".join((b"", *prepared, b""))
        starts, token_hash = folded_token_hashes(joined.translate(ASCII_FOLD))
        field_tokens = np.stack((np.searchsorted(starts, field_start),
                                 np.searchsorted(starts, field_start + lengths)), axis=1)
        first_field = np.searchsorted(field_rec, np.arange(len(records)), "left")
        end_field = np.searchsorted(field_rec, np.arange(len(records)), "right")
        bounds = np.concatenate((field_tokens[:, 0], [len(token_hash)]))
        record_tokens = np.stack((bounds[first_field], bounds[end_field]), axis=1)
        # Fields with no tokens make consecutive records abut; records own [first, end).
        ngram = ngram_hashes(token_hash)
        # a 5-gram is valid when it does not run past the end of its record
        valid = np.ones(len(ngram), dtype=bool)
        tails = (record_tokens[:, 1, None] - np.arange(1, K)).ravel()
        valid[tails[(tails >= 0) & (tails < len(ngram))]] = False
        return _Batch(paths, field_rec, field_tokens, record_tokens, token_hash, ngram, valid,
                      np.array(raw_hashes, dtype=np.uint64), int(lengths.sum()),
                      spaced=_spaced(joined, field_start, field_rec, record_tokens))

    def _from_fingerprints(self, fingerprints: Sequence[Fingerprint], path: str) -> _Batch:
        """A batch of one-field records laid out as _tokenise would lay out their texts: each
        record owns word_count token positions, and its 5-grams sit at their first token's
        position (positions past a record's last 5-gram stay invalid)."""
        count = len(fingerprints)
        words = np.fromiter((fp.word_count for fp in fingerprints), dtype=np.int64, count=count)
        ends = np.cumsum(words)
        bounds = np.stack((ends - words, ends), axis=1)
        shingle_counts = np.fromiter((len(fp.shingles) for fp in fingerprints), dtype=np.int64, count=count)
        total = int(ends[-1]) if count else 0
        ngram = np.zeros(total, dtype=np.uint64)
        valid = np.zeros(total, dtype=bool)
        positions = np.repeat(bounds[:, 0] - np.cumsum(shingle_counts) + shingle_counts, shingle_counts) \
            + np.arange(int(shingle_counts.sum()))
        if len(positions):
            ngram[positions] = np.concatenate([fp.shingles for fp in fingerprints]).astype(np.uint64)
            valid[positions] = True
        field_exact = np.frombuffer(b"".join(fp.exact for fp in fingerprints), dtype="<u8") \
            .reshape(-1, 2).astype(np.uint64)
        text_hashes = np.fromiter((fp.text_hash for fp in fingerprints), dtype=np.uint64, count=count)
        return _Batch([path] * count, np.arange(count), bounds, bounds.copy(), np.empty(0, np.uint64),
                      ngram, valid, text_hashes, 6 * total, field_exact)

    def _match_batch(self, records: list[Fields]) -> tuple[list[list[OutputMatch]], int]:
        """Matches per record, and the batch's size in bytes."""
        if self.index.segments == [] or not records:
            return [[] for _ in records], sum(len(t) for fields in records for _, t in fields)
        batch = self._tokenise(records)
        return self._match_prepared(len(records), lambda: batch), batch.size

    def _match_prepared(self, count: int, make_batch: Callable[[], _Batch]) -> list[list[OutputMatch]]:
        if not self.index.segments or count == 0:
            return [[] for _ in range(count)]
        batch = make_batch()
        found: list[dict[int, OutputMatch]] = [{} for _ in range(count)]
        self._exact_layer(batch, found)
        self._shingle_layer(batch, found)
        return [sorted(matches.values(), key=lambda m: (-m.matched_words, m.output_id)) if matches else []
                for matches in found]

    def _exact_layer(self, batch: _Batch, found: list[dict[int, OutputMatch]]) -> None:
        field_words = batch.field_tokens[:, 1] - batch.field_tokens[:, 0]
        record_words = batch.record_tokens[:, 1] - batch.record_tokens[:, 0]
        fields = np.flatnonzero(field_words >= MIN_EXACT_WORDS)
        queries, ids = self.index.ids_with_text_hash(batch.text_hashes[fields])
        for query, output_id in zip(queries.tolist(), ids.tolist()):
            self._exact_match(batch, found, int(fields[query]), output_id, "exact", record_words)
        # Normalised token sequences of short fields and short multi-field records: the only way
        # outputs under SHORT_WORDS words match. Longer whole copies are recognised by the
        # shingle layer (a verbatim run over the whole output and the whole field), which keeps
        # this per-field hashing off the hot path; only lengths some short output has are hashed.
        short = np.isin(field_words, self.index.short_word_counts)
        spans = [tuple(batch.field_tokens[f]) for f in np.flatnonzero(short)]
        owners = [("field", int(f)) for f in np.flatnonzero(short)]
        for number in np.flatnonzero(np.isin(record_words, self.index.short_word_counts)):
            if np.count_nonzero(batch.field_record == number) > 1:
                spans.append(tuple(batch.record_tokens[number]))
                owners.append(("record", int(number)))
        if not spans:
            return
        if batch.field_exact is not None:  # one field per record: only field spans occur
            halves = batch.field_exact[[at for _, at in owners]]
        else:
            digests = b"".join(exact_hash(batch.token_hash[a:b]) for a, b in spans)
            halves = np.frombuffer(digests, dtype="<u8").reshape(-1, 2).astype(np.uint64)
        queries, ids = self.index.ids_with_exact(halves[:, 0], halves[:, 1])
        for query, output_id in zip(queries.tolist(), ids.tolist()):
            kind, at = owners[query]
            if kind == "field":
                self._exact_match(batch, found, at, output_id, "reformatted", record_words)
            elif output_id not in found[at]:
                words = int(record_words[at])
                paths = tuple(batch.paths[f] for f in np.flatnonzero(batch.field_record == at))
                found[at][output_id] = OutputMatch(output_id, 1.0, 1.0, words, words, 1.0, "reformatted", paths,
                                                   role_of_fields(paths), _whole_output_tier(words))

    def _exact_match(self, batch: _Batch, found: list[dict[int, OutputMatch]], field: int,
                     output_id: int, kind: str, record_words: np.ndarray) -> None:
        number = int(batch.field_record[field])
        paths = (batch.paths[field],)
        role = role_of_fields(paths)
        earlier = found[number].get(output_id)
        # "exact" is looked up first and wins over "reformatted", except that a copy on the
        # response side wins over one in the prompt
        if earlier is not None and (earlier.role != PROMPT or role == PROMPT):
            return
        words = int(batch.field_tokens[field, 1] - batch.field_tokens[field, 0])
        coverage = min(1.0, words / max(1, int(record_words[number])))
        found[number][output_id] = OutputMatch(output_id, 1.0, coverage, words, words, 1.0, kind, paths, role,
                                               _whole_output_tier(words))

    def _shingle_layer(self, batch: _Batch, found: list[dict[int, OutputMatch]]) -> None:
        positions = np.flatnonzero(self.index.prefilter(batch.ngram) & batch.valid)
        if len(positions) == 0:
            return
        hashes = batch.ngram[positions]
        owner = np.searchsorted(batch.record_tokens[:, 1], positions, "right")  # positions ascend here
        # Sorted queries walk the sorted postings in order: unsorted ones measured 5x slower on an
        # index of only 3.6 MB (every binary search a string of cache misses). Ordering by the top
        # 16 bits is as good for that (1.98 vs 1.83 ms per batch) and is a radix sort (0.2 ms
        # instead of 2.7 ms for a full argsort).
        order = np.argsort((hashes >> np.uint64(48)).astype(np.uint16), kind="stable")
        owner, hashes = owner[order], hashes[order]
        cold = ~self.index.is_hot(hashes)  # boilerplate never starts a candidate
        owner, hashes = owner[cold], hashes[cold]
        query, ids, winnowed = self.index.postings(hashes)
        if len(query) == 0:
            return
        hit_record = owner[query]
        record, output_id, size, thin = _count_pairs(hit_record, ids, winnowed, self.index.max_output_id)
        keep = size >= np.where(thin, MIN_HITS_WINNOWED, MIN_HITS_DENSE)
        record, output_id, size = record[keep], output_id[keep], size[keep]
        order = np.lexsort((-size, record))
        record_words = batch.record_tokens[:, 1] - batch.record_tokens[:, 0]
        limit = (MAX_CANDIDATES + record_words // SHORT_WORDS).tolist()
        candidates: list[tuple[int, int]] = []
        per_record: dict[int, int] = {}
        for r, i in zip(record[order].tolist(), output_id[order].tolist()):
            if i in found[r] or per_record.get(r, 0) >= limit[r]:
                continue
            per_record[r] = per_record.get(r, 0) + 1
            candidates.append((r, i))
        if candidates:
            self._verify(batch, candidates, found)

    def _output_shingles(self, ids: list[int]) -> dict[int, np.ndarray]:
        if self.load_fingerprints is None:
            return self.index.shingles_many(ids)
        loaded = self.load_fingerprints(ids)
        return {i: fp.shingles for i, fp in loaded.items()}

    def _verify(self, batch: _Batch, candidates: list[tuple[int, int]],
                found: list[dict[int, OutputMatch]]) -> None:
        """Align and score all candidates of the batch together (numpy over all hit pairs)."""
        shingles = self._output_shingles(sorted({i for _, i in candidates}))
        candidates = [(r, i) for r, i in candidates if len(shingles.get(i, ())) > 0]
        if not candidates:
            return  # outputs pruned from the store after indexing have nothing to verify
        cand_record = np.array([r for r, _ in candidates], dtype=np.int64)
        outputs = [shingles[i] for _, i in candidates]
        lengths = np.fromiter(map(len, outputs), dtype=np.int64, count=len(outputs))
        hot_start = np.concatenate(([0], np.cumsum(lengths)))
        all_out = np.concatenate(outputs).astype(np.uint64)
        # weak evidence: boilerplate, and echoes of the call's own prompt; runs are not credited
        # with the words of what the prompt said itself (restated)
        boilerplate = self.index.is_hot(all_out) | is_echo(all_out)
        echo = is_restated(all_out)
        # Every 5-gram of the candidate records keyed by (record, 40 bits of hash): one sort and
        # one searchsorted find all pairs of all candidates. 40 bits leave ~1e-4 chance pairs
        # per long record, which alignment ignores.
        records = np.unique(cand_record)
        first = batch.record_tokens[records, 0]
        sizes = np.maximum(0, batch.record_tokens[records, 1] - first - K + 1)
        positions = np.repeat(first - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
        owner = np.repeat(records, sizes).astype(np.uint64)
        keys = (owner << np.uint64(40)) | (batch.ngram[positions] >> np.uint64(24))
        order = np.argsort(keys, kind="stable")
        keys, positions = keys[order], positions[order]
        # Distinct keys with their runs, so one searchsorted (not a left and a right one) finds
        # every pair: that search over all candidates' shingles was the verification's main cost.
        run_first = np.flatnonzero(np.concatenate((np.ones(min(1, len(keys)), bool), keys[1:] != keys[:-1])))
        run_length = np.diff(np.append(run_first, len(keys)))
        distinct = keys[run_first]
        query_cand = np.repeat(np.arange(len(candidates)), lengths)
        queries = (cand_record[query_cand].astype(np.uint64) << np.uint64(40)) | (all_out >> np.uint64(24))
        at = np.searchsorted(distinct, queries).clip(0, max(0, len(distinct) - 1))
        hit = np.flatnonzero(distinct[at] == queries) if len(distinct) else np.empty(0, np.int64)
        counts = run_length[at[hit]]
        pair_query = np.repeat(hit, counts)
        pair_position = np.repeat(run_first[at[hit]] - (np.cumsum(counts) - counts), counts) + np.arange(len(pair_query))
        pair_cand = query_cand[pair_query]
        pair_output = pair_query - hot_start[pair_cand]
        pair_record = positions[pair_position] - batch.record_tokens[cand_record[pair_cand], 0]
        record_words = batch.record_tokens[cand_record, 1] - batch.record_tokens[cand_record, 0]
        side_cand, side_rec, side_out, side_hot, side_echo, side_start = split_by_side(
            batch, cand_record, pair_cand, pair_record, pair_output, boilerplate, echo, hot_start)
        count = len(candidates)
        results = score_many(side_cand, side_rec, side_out, side_hot, side_start, np.tile(record_words, 2),
                             side_echo)
        bounds = np.searchsorted(side_cand, np.arange(2 * count + 1))
        passed: dict[int, list[tuple[OutputMatch, Score]]] = {}
        for c, (number, output_id) in enumerate(candidates):
            output_words = int(lengths[c]) + K - 1
            # the response (or unknown) side first: a prompt-side match is the weaker finding
            spaced = batch.spaced is not None and bool(batch.spaced[number])
            side = next((at for at in (c, c + count) if is_reuse(results[at], output_words, spaced)), None)
            if side is None:
                continue
            result = results[side]
            paths, field_words = self._fields_of(batch, number, side_rec[bounds[side]:bounds[side + 1]])
            reuse_class = classify(result, field_words)
            if result.longest_run >= output_words and self._whole_field(batch, number, result, output_words):
                reuse_class = "reformatted"
            match = OutputMatch(output_id, result.output_coverage, result.record_coverage,
                                result.matched_words, result.longest_run, result.span, reuse_class, paths,
                                role_of_fields(paths), tier(result, reuse_class, output_words))
            passed.setdefault(number, []).append((match, result))
        for number, matches in passed.items():
            for match, result in matches:
                if match.tier == SIMILAR and any(explained(result, other) for m, other in matches if m is not match):
                    continue
                for same in self._aliases(match.output_id):
                    if same not in found[number]:
                        found[number][same] = replace(match, output_id=same)

    def _whole_field(self, batch: _Batch, number: int, result: Score, output_words: int) -> bool:
        """The verbatim run is exactly one whole field, or the whole record."""
        first, end = (int(x) for x in batch.record_tokens[number])
        if end - first == output_words and result.run_record_start == 0:
            return True
        fields = batch.field_tokens[slice(*batch.record_fields(number))]
        starts = fields[:, 0] - first
        return bool(np.any((starts == result.run_record_start) & (fields[:, 1] - fields[:, 0] == output_words)))

    def _fields_of(self, batch: _Batch, number: int, rec_pos: np.ndarray) -> tuple[tuple[str, ...], int]:
        """Paths of the record's fields holding these positions, and their word count."""
        low, high = batch.record_fields(number)
        if high - low == 1:  # most records: one field holds everything
            return (batch.paths[low],), int(batch.field_tokens[low, 1] - batch.field_tokens[low, 0])
        starts = batch.field_tokens[low:high, 0] - batch.record_tokens[number, 0]
        which = (np.searchsorted(starts, rec_pos, "right") - 1).clip(0)
        holding = np.flatnonzero(np.bincount(which, minlength=high - low)) + low
        words = int((batch.field_tokens[holding, 1] - batch.field_tokens[holding, 0]).sum())
        return tuple(batch.paths[f] for f in holding), words

    def _aliases(self, output_id: int) -> list[int]:
        """The output and every output with the same normalised words (indexed as aliases)."""
        if len(self.index.alias_keys) == 0:
            return [output_id]
        try:
            hi, lo = self.index.exact_of(output_id)
        except KeyError:
            return [output_id]
        _, ids = self.index.ids_with_exact(np.array([hi], np.uint64), np.array([lo], np.uint64))
        return sorted({output_id, *ids.tolist()})


def _spaced(joined: bytes, field_start: np.ndarray, field_rec: np.ndarray, record_tokens: np.ndarray) -> np.ndarray:
    """Per record: fewer CJK characters than half its tokens, i.e. words that spaces delimit.

    Kana, CJK ideographs and Hangul are U+3000-U+D7FF, three UTF-8 bytes led by 0xE3-0xED, so
    counting lead bytes needs no decoding. A Japanese, Chinese or Korean paragraph has more such
    characters than tokens, an English one none; a few quoted names leave a record spaced.
    `joined`: the fields joined as _tokenise joins them (field i at field_start[i] + 1)."""
    text = np.frombuffer(joined, dtype=np.uint8)
    # one comparison over the bytes, then only the few lead bytes (none in English) are placed:
    # a cumulative count over every byte cost a fifth of tokenising
    lead = np.flatnonzero(text >= 0xE3)
    lead = lead[text[lead] <= 0xED]
    field_of = np.searchsorted(field_start + 1, lead, "right") - 1  # the separators are spaces
    per_record = np.bincount(field_rec[field_of], minlength=len(record_tokens))
    return per_record * 2 < record_tokens[:, 1] - record_tokens[:, 0]


def _whole_output_tier(words: int) -> str:
    """Tier of an exact-layer match: the field (or record) holds the whole output, `words` long."""
    return SHORT if words < MIN_EVIDENCE_WORDS else VERBATIM


def _count_pairs(record: np.ndarray, output_id: np.ndarray, winnowed: np.ndarray,
                 max_output_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (record, output) pairs with enough hits to be candidates, with their hit counts
    and the output's posting density.

    Most hits come from phrases a record shares with a few outputs by chance and are spread thin
    over many pairs, so hits are first counted into hashed buckets (a bincount, no sort); only
    hits in buckets holding enough for a candidate are counted exactly. A bucket collision can
    only add pairs, with their exact (too low) counts, which the caller's threshold drops.
    """
    # key = (record, output, winnowed) packed in one integer; an output lives in one segment, so
    # its winnowed flag is the same on all of its hits and rides along in the lowest bit
    width = 2 * (max_output_id + 1)
    if (int(record.max(initial=0)) + 1) * width < 1 << 63:
        key = (record.astype(np.uint64) * np.uint64(width) + output_id.astype(np.uint64) * np.uint64(2)
               + winnowed.astype(np.uint64))
        bits = max(10, int(len(key)).bit_length())  # n to 2n buckets
        bucket = ((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)).astype(np.intp)
        # A bucket passes with the fewest hits any pair needs (exact counts are taken below and
        # checked by the caller). Gathering from a one-byte-per-bucket table rather than from
        # the int64 counts keeps the random reads in cache: 2.3 instead of 13.6 ms for 670 k hits.
        fewest = MIN_HITS_WINNOWED if winnowed.any() else MIN_HITS_DENSE
        heavy = (np.bincount(bucket, minlength=1 << bits) >= fewest)[bucket]
        keys = np.sort(key[heavy])
        # runs start where the key changes; an empty batch (no bucket reached `fewest`) has none
        first = np.flatnonzero(np.concatenate((np.ones(min(1, len(keys)), bool), keys[1:] != keys[:-1])))
        counts = np.diff(np.append(first, len(keys)))
        keys = keys[first]
        return ((keys // np.uint64(width)).astype(np.int64), (keys % np.uint64(width)) >> np.uint64(1), counts,
                (keys & np.uint64(1)).astype(bool))
    order = np.lexsort((output_id, record))
    record, output_id, winnowed = record[order], output_id[order], winnowed[order]
    change = np.flatnonzero((record[1:] != record[:-1]) | (output_id[1:] != output_id[:-1])) + 1
    first = np.concatenate((np.zeros(min(1, len(record)), np.int64), change))
    counts = np.diff(np.concatenate((first, [len(record)])))
    return record[first], output_id[first], counts, winnowed[first]


__all__ = ["OutputMatch", "ReuseDetector", "SHORT_WORDS"]
