"""Reuse-detection benchmark: recall per reuse class, false positives, throughput and index RAM.

    python bench/reuse_detection.py [--quick] [--workdir DIR]

Builds its own ground truth from a synthetic generator of assistant-style English answers about
software operations. Outputs and negatives are drawn from the same vocabulary, sentence templates
and boilerplate pool (openers, closers, caveats), so negatives share many 5-grams with outputs;
"unrelated" negatives come from a second domain. Dataset records reuse outputs in every class
aiaudit must catch (exact, reformatted, truncated, excerpt, embedded, 10 %/25 % word edits, two
outputs in one record) and are written in every supported format. Reports, in the same run:
aiaudit's recall and false positives per format, datasketch MinHashLSH (threshold 0.5, 128
permutations, word 5-grams) on the same JSONL records, and the floor (read + JSON parse + split of
the same bytes), with ratios; and RAM per indexed output with winnowing switched on by size,
extrapolated to 10 M outputs.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import numpy as np
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.reuse import fingerprint  # noqa: E402
from agent.reuse.fingerprint import Fingerprint  # noqa: E402
from agent.reuse.fingerprint import exact_hash  # noqa: E402
from agent.reuse.index import OutputIndex  # noqa: E402
from agent.reuse.matching import ReuseDetector  # noqa: E402
from agent.reuse.shingles import mix64  # noqa: E402
from agent.reuse.shingles import ngram_hashes  # noqa: E402
from agent.reuse.spans import attach_spans  # noqa: E402
from agent.scan.readers import Record  # noqa: E402
from agent.scan.readers import read_records  # noqa: E402
from agent.scan.readers import string_fields  # noqa: E402
from agent.scan.scan import COMMIT_EVERY as SCAN_COMMIT_EVERY  # noqa: E402

CLASSES = ("exact", "reformatted", "truncated", "excerpt", "embedded", "edit10", "edit25", "two")
NEGATIVES = ("same_domain", "boilerplate", "unrelated")
TARGETS = {"exact": 1.0, "reformatted": 1.0, "truncated": 1.0, "excerpt": 1.0, "embedded": 1.0,
           "two": 1.0, "edit10": 0.98, "edit25": 0.9}

# ---- synthetic text ------------------------------------------------------------------------

NOUNS = """server client request response cache database table index query cluster node container
image volume service endpoint token key secret certificate proxy gateway load balancer queue topic
message consumer producer worker job pipeline build artifact release branch commit repository
module package dependency library function method class object variable parameter argument
config file directory path log metric alert dashboard threshold latency throughput error exception
timeout retry backoff connection socket port protocol header payload schema field column row
record batch stream buffer thread process memory disk network bandwidth replica shard partition
snapshot backup migration version deployment rollback namespace cluster policy role permission
user account session cookie password hash signature encryption storage bucket object region zone
instance template variable environment secret vault runtime interpreter compiler test fixture
mock assertion coverage report benchmark profile trace span event handler callback promise
future coroutine loop scheduler timer limit quota budget cost invoice""".split()
VERBS = """configure deploy restart check verify update install remove enable disable monitor scale
rotate inspect debug test validate run build publish fetch push pull merge rebase tag release
migrate back up restore compress encrypt decrypt sign cache invalidate refresh reload parse
serialize export import index query filter sort group join aggregate log trace measure tune
optimize limit throttle retry schedule queue process handle catch raise document review""".split()
ADJECTIVES = """new old default custom local remote primary secondary internal external public private
slow fast large small stale fresh empty full valid invalid secure insecure static dynamic
temporary persistent shared dedicated optional required recent previous next current main
separate single multiple common specific correct wrong healthy unhealthy active idle""".split()
ADVERBS = "carefully quickly usually often always never automatically manually safely first then".split()
PREPS = "in on for with from to into over under behind before after during without across".split()
OTHER_NOUNS = """garden recipe flour butter oven river mountain trail bicycle novel chapter poem
painting museum violin concert harbor island village market festival lantern meadow orchard
kitchen sauce pepper basil onion garlic tomato harvest season winter summer forest cabin""".split()
OTHER_VERBS = "bake stir plant prune hike paint sing visit cook slice roast simmer sketch wander".split()

OPENERS = [
    "Certainly! Here is a step-by-step explanation of how to approach this.",
    "Great question! Let me walk you through it.",
    "Sure, I can help with that.",
    "Here's a concise overview of the main points you should keep in mind.",
    "Absolutely. Below is a practical guide you can follow.",
    "Of course! There are a few things to consider here.",
]
CLOSERS = [
    "I hope this helps! Let me know if you have any other questions.",
    "Let me know if you need more details or run into any issues.",
    "Feel free to ask if anything is unclear.",
    "If you share more details about your setup, I can give more specific advice.",
    "Good luck, and let me know how it goes!",
]
CAVEATS = [
    "Keep in mind that the exact steps may vary depending on your environment.",
    "Always test these changes in a staging environment before applying them to production.",
    "Make sure you have a recent backup before you make any changes.",
    "Note that this behaviour can differ between versions, so check the documentation for your release.",
]
TEMPLATES = [
    "To {verb} the {adj} {noun}, you can {verb} the {noun} {prep} the {adj} {noun}.",
    "The {noun} {verb}s the {noun} {prep} the {noun} when the {noun} is {adj}.",
    "If the {noun} is {adj}, {verb} the {noun} and {verb} the {adj} {noun} again.",
    "You should {adv} {verb} the {noun} before you {verb} the {adj} {noun}.",
    "A {adj} {noun} can {verb} the {noun} {prep} a {adj} {noun}.",
    "Make sure that the {noun} is {adj} and that the {noun} {verb}s the {noun}.",
    "In most cases the {adj} {noun} will {verb} the {noun} {adv}.",
    "Use the {noun} to {verb} the {noun}, then {verb} the {adj} {noun} {prep} the {noun}.",
    "This {verb}s the {adj} {noun} so that the {noun} does not {verb} the {noun}.",
    "When the {noun} {verb}s, check whether the {noun} {prep} the {noun} is still {adj}.",
    "It is a good idea to {verb} the {noun} {adv}, because the {noun} may {verb} the {noun}.",
    "Set the {noun} to {num} and {verb} the {adj} {noun} {prep} the {noun}.",
    "{adv_cap}, the {noun} {verb}s every {noun} that the {adj} {noun} {verb}s.",
    "Once the {noun} has been {verb}ed, the {noun} should {verb} within {num} seconds.",
    "There are {num} ways to {verb} a {adj} {noun}: {verb} the {noun} or {verb} the {noun}.",
    "Because the {noun} {verb}s {adv}, the {adj} {noun} might not {verb} the {noun}.",
    "The {adj} {noun} and the {adj} {noun} both {verb} the {noun} {prep} {num} {noun}s.",
    "Avoid {verb}ing the {noun} while the {noun} is {adj}; {verb} the {noun} instead.",
    "Your {noun} may {verb} the {noun} if the {adj} {noun} is not {verb}ed {prep} the {noun}.",
    "For a {adj} {noun}, {verb} the {noun} and keep the {noun} {adj}.",
    "Which {noun} you {verb} depends on how {adj} the {noun} is.",
    "{num} {adj} {noun}s were {verb}ed before the {noun} timed out.",
    "Nothing {verb}s the {noun} unless a {adj} {noun} asks for it.",
    "After you {verb} the {noun}, the {adj} {noun} reports {num} {noun}s.",
    "Both the {noun} and its {noun} need to be {adj} first.",
    "Try to {verb} only the {adj} {noun}s; the rest can {verb} later.",
    "Each {noun} keeps a {adj} {noun} per {noun}, up to {num}.",
    "Without a {adj} {noun}, every {noun} would {verb} on its own.",
    "Ask the {noun} owner whether {adj} {noun}s are allowed {prep} {noun}s.",
    "Look at the {noun} {prep} the {adj} {noun} to see why it {verb}s.",
    "The {noun} is {adj} by default, but you can {verb} it per {noun}.",
    "Many teams {verb} the {noun} {adv} and {verb} the {noun} once a week.",
]


def _zipf_picker(words: list[str], rng: random.Random, exponent: float = 0.9):
    weights = [1.0 / (rank + 1) ** exponent for rank in range(len(words))]
    cumulative = list(itertools.accumulate(weights))
    shuffled = words[:]
    rng.shuffle(shuffled)
    return lambda r: r.choices(shuffled, cum_weights=cumulative)[0]


def _pseudo_words(count: int, rng: random.Random) -> list[str]:
    """Names of products, hosts, flags and identifiers: the long tail of technical text."""
    syllables = "ka lo mi ne ru sa te vo xi za bri cor dex fen gal hex jin kor lux mor nex pra qui".split()
    forms = [lambda: "".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))),
             lambda: rng.choice(syllables) + "-" + rng.choice(syllables) + str(rng.randint(1, 9)),
             lambda: rng.choice(syllables) + "_" + rng.choice(NOUNS)]
    return list({rng.choice(forms)() for _ in range(count)})


class Writer:
    """Assistant-style answers in one domain; a second domain gives unrelated text."""

    def __init__(self, seed: int):
        rng = random.Random(seed)
        common_noun = _zipf_picker(NOUNS, rng)
        rare_noun = _zipf_picker(_pseudo_words(6000, rng), rng, 1.05)
        self.noun = lambda r: rare_noun(r) if r.random() < 0.4 else common_noun(r)
        common_verb = _zipf_picker(VERBS, rng)
        common_adj = _zipf_picker(ADJECTIVES, rng)
        rare_modifier = _zipf_picker(_pseudo_words(3000, rng), rng, 1.05)
        self.verb = lambda r: rare_modifier(r) if r.random() < 0.15 else common_verb(r)
        self.adj = lambda r: rare_modifier(r) if r.random() < 0.2 else common_adj(r)
        self.other_noun = _zipf_picker(OTHER_NOUNS, rng)
        self.other_verb = _zipf_picker(OTHER_VERBS, rng)

    def sentence(self, r: random.Random, other: bool = False) -> str:
        template = r.choice(TEMPLATES)
        noun = (lambda: self.other_noun(r)) if other else (lambda: self.noun(r))
        verb = (lambda: self.other_verb(r)) if other else (lambda: self.verb(r))
        text = re.sub(r"\{(\w+)\}", lambda m: {
            "noun": noun, "verb": verb, "adj": lambda: self.adj(r), "adv": lambda: r.choice(ADVERBS),
            "prep": lambda: r.choice(PREPS), "adv_cap": lambda: r.choice(ADVERBS).capitalize(), "num": lambda: str(r.choice([2, 3, 5, 8, 10, 30, 60, 100, 512]))}
            [m.group(1)](), template)
        return text[0].upper() + text[1:]

    def paragraph(self, r: random.Random, sentences: int, other: bool = False) -> str:
        return " ".join(self.sentence(r, other) for _ in range(sentences))

    def answer(self, r: random.Random) -> str:
        parts = []
        if r.random() < 0.6:
            parts.append(r.choice(OPENERS))
        for _ in range(r.randint(2, 4)):
            style = r.random()
            if style < 0.25:
                parts.append(f"## {self.adj(r).title()} {self.noun(r)}\n\n" + self.paragraph(r, r.randint(2, 4)))
            elif style < 0.45:
                items = [f"{i}. **{self.noun(r).title()}**: {self.sentence(r)}" for i in range(1, r.randint(3, 5))]
                parts.append("\n".join(items))
            elif style < 0.55:
                parts.append(f"Run `{self.verb(r)} --{self.noun(r)}={r.randint(1, 99)}` and then "
                             + self.paragraph(r, 2)[0].lower() + self.paragraph(r, 2)[1:])
            else:
                parts.append(self.paragraph(r, r.randint(2, 5)))
        if r.random() < 0.4:
            parts.append(r.choice(CAVEATS))
        if r.random() < 0.6:
            parts.append(r.choice(CLOSERS))
        return "\n\n".join(parts)

    def boilerplate_heavy(self, r: random.Random) -> str:
        parts = [r.choice(OPENERS), self.paragraph(r, r.randint(1, 3)), r.choice(CAVEATS),
                 self.paragraph(r, r.randint(1, 2)), r.choice(CAVEATS), r.choice(CLOSERS)]
        return "\n\n".join(parts)

    def unrelated(self, r: random.Random) -> str:
        return "\n\n".join(self.paragraph(r, r.randint(3, 6), other=True) for _ in range(r.randint(2, 4)))

    def question(self, r: random.Random) -> str:
        return f"How do I {self.verb(r)} the {self.adj(r)} {self.noun(r)} {r.choice(PREPS)} the {self.noun(r)}?"


# ---- reuse transformations -------------------------------------------------------------------

CURLY = str.maketrans({"'": "\u2019", '"': "\u201d", "-": "\u2013"})


def reformat(text: str, r: random.Random) -> str:
    plain = re.sub(r"[#*`]+", "", text)
    plain = re.sub(r"^\s*\d+\.\s*", "- ", plain, flags=re.M)
    plain = plain.translate(CURLY)
    mode = r.random()
    if mode < 0.33:
        plain = " ".join(plain.split())
    elif mode < 0.66:
        plain = plain.upper()
    else:
        plain = "<p>" + plain.replace("\n\n", "</p>\n<p>").replace("&", "&amp;") + "</p>"
    return plain


def edit_words(text: str, share: float, writer: Writer, r: random.Random) -> str:
    words = text.split()
    out = []
    for word in words:
        roll = r.random()
        if roll >= share:
            out.append(word)
            continue
        kind = r.randrange(3)
        if kind == 1:
            out.append(writer.noun(r))
        elif kind == 2:
            out.extend([word, writer.adj(r)])
    return " ".join(out)


@dataclass
class Case:
    kind: str  # a class of CLASSES or a negative kind
    fields: list[tuple[str, str]]
    outputs: tuple[int, ...] = ()
    extra: dict = field(default_factory=dict)


def chat(question: str, answer: str, system: str | None = None) -> list[tuple[str, str]]:
    fields = [("messages[0].content", system)] if system else []
    return fields + [(f"messages[{len(fields)}].content", question), (f"messages[{len(fields) + 1}].content", answer)]


def build_cases(writer: Writer, outputs: list[str], per_class: int, negatives: int,
                r: random.Random) -> list[Case]:
    cases: list[Case] = []
    ids = list(range(1, len(outputs) + 1))

    def pick(min_words: int = 0) -> int:
        while True:
            output_id = r.choice(ids)
            if len(outputs[output_id - 1].split()) >= min_words:
                return output_id

    for _ in range(per_class):
        i = pick()
        cases.append(Case("exact", chat(writer.question(r), outputs[i - 1]), (i,)))
        i = pick()
        cases.append(Case("reformatted", chat(writer.question(r), reformat(outputs[i - 1], r)), (i,)))
        i = pick()
        words = outputs[i - 1].split(" ")
        keep = max(45, int(len(words) * r.uniform(0.5, 0.9)))
        cases.append(Case("truncated", chat(writer.question(r), " ".join(words[:keep])), (i,)))
        i = pick(min_words=120)
        words = outputs[i - 1].split()
        size = r.randint(40, 80)
        start = r.randint(1, len(words) - size)
        excerpt = " ".join(words[start:start + size])
        cases.append(Case("excerpt", chat(writer.question(r), writer.paragraph(r, 3) + " " + excerpt + " "
                                          + writer.paragraph(r, 2)), (i,)))
        i = pick()
        host = writer.paragraph(r, r.randint(12, 25))
        cut = host.find(". ", len(host) // 2) + 2
        cases.append(Case("embedded", [("text", host[:cut] + outputs[i - 1] + " " + host[cut:])], (i,)))
        i = pick()
        cases.append(Case("edit10", chat(writer.question(r), edit_words(outputs[i - 1], 0.10, writer, r)), (i,)))
        i = pick()
        cases.append(Case("edit25", chat(writer.question(r), edit_words(outputs[i - 1], 0.25, writer, r)), (i,)))
        i, j = pick(), pick()
        while j == i:
            j = pick()
        fields = chat(writer.question(r), outputs[i - 1]) + [
            ("messages[3].content", writer.question(r)), ("messages[4].content", outputs[j - 1])]
        cases.append(Case("two", fields, (i, j)))
    for n in range(negatives):
        kind = NEGATIVES[n % 3]
        if kind == "same_domain":
            text = writer.answer(r)
        elif kind == "boilerplate":
            text = writer.boilerplate_heavy(r)
        else:
            text = writer.unrelated(r)
        cases.append(Case(kind, chat(writer.question(r), text, system="You are a helpful assistant.")))
    r.shuffle(cases)
    return cases


# ---- dataset files ---------------------------------------------------------------------------


def as_object(case: Case) -> dict:
    """A training-data shaped object holding the case's fields."""
    if case.fields[0][0] == "text":
        return {"text": case.fields[0][1], "source": "wiki"}
    return {"messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": text}
                         for i, (_, text) in enumerate(case.fields)]}


def write_formats(cases: list[Case], out: Path) -> dict[str, Path]:
    """The same records in every format; text/markdown as one file per record in a directory."""
    out.mkdir(parents=True, exist_ok=True)
    objects = [as_object(c) for c in cases]
    files: dict[str, Path] = {}
    jsonl = "".join(json.dumps(o) + "\n" for o in objects).encode()
    files["jsonl"] = out / "data.jsonl"
    files["jsonl"].write_bytes(jsonl)
    files["jsonl.gz"] = out / "data.jsonl.gz"
    files["jsonl.gz"].write_bytes(gzip.compress(jsonl, 5))
    files["jsonl.zst"] = out / "data.jsonl.zst"
    files["jsonl.zst"].write_bytes(zstandard.ZstdCompressor(level=3).compress(jsonl))
    files["json"] = out / "data.json"
    files["json"].write_text(json.dumps(objects, indent=1))
    width = max(len(c.fields) for c in cases)
    for kind, delimiter in (("csv", ","), ("tsv", "\t")):
        path = out / f"data.{kind}"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow([f"turn{i}" for i in range(width)])
            for c in cases:
                writer.writerow([text for _, text in c.fields] + [""] * (width - len(c.fields)))
        files[kind] = path
    files["csv.gz"] = out / "data.csv.gz"
    files["csv.gz"].write_bytes(gzip.compress(files["csv"].read_bytes(), 5))
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([{"messages": o.get("messages", []), "text": o.get("text")} for o in objects])
    files["parquet"] = out / "data.parquet"
    pq.write_table(table, files["parquet"])
    files["parquet.zst"] = out / "data.parquet.zst"
    files["parquet.zst"].write_bytes(zstandard.ZstdCompressor().compress(files["parquet"].read_bytes()))
    text_dir = out / "text"
    text_dir.mkdir(exist_ok=True)
    for n, c in enumerate(cases, 1):
        suffix = ".md" if n % 2 else ".txt"
        body = "\n\n".join(text for _, text in c.fields)
        path = text_dir / f"{n:06d}{suffix}"
        if n % 10 == 0:
            path = path.with_name(path.name + ".gz")
            path.write_bytes(gzip.compress(body.encode()))
        else:
            path.write_text(body)
    files["txt/md"] = text_dir
    return files


def read_format(path: Path) -> list[tuple[int, list[tuple[str, str]]]]:
    """(case number, fields) for every record of a format's file(s)."""
    if path.is_dir():
        found = []
        for file in sorted(path.iterdir()):
            number = int(file.name.split(".")[0])
            fields = [f for rec in read_records(file) if isinstance(rec, Record) for f in rec.fields]
            found.append((number, fields))
        return found
    return [(rec.number, rec.fields) for rec in read_records(path) if isinstance(rec, Record)]


# ---- evaluation ------------------------------------------------------------------------------


@dataclass
class Tally:
    hits: Counter = field(default_factory=Counter)
    totals: Counter = field(default_factory=Counter)
    false_positives: Counter = field(default_factory=Counter)
    wrong_ids: int = 0
    classes: Counter = field(default_factory=Counter)

    def add(self, case: Case, found: set[int], reported_class: str | None = None) -> None:
        self.totals[case.kind] += 1
        if case.outputs:
            if set(case.outputs) <= found:
                self.hits[case.kind] += 1
            self.wrong_ids += len(found - set(case.outputs))
            if reported_class:
                self.classes[(case.kind, reported_class)] += 1
        elif found:
            self.false_positives[case.kind] += 1

    def recall(self, kind: str) -> float:
        return self.hits[kind] / max(1, self.totals[kind])

    @property
    def fp(self) -> int:
        return sum(self.false_positives.values())


def evaluate_aiaudit(detector: ReuseDetector, cases: list[Case],
                     records: list[tuple[int, list[tuple[str, str]]]]) -> Tally:
    tally = Tally()
    results = detector.match_many([fields for _, fields in records])
    for (number, _), matches in zip(records, results):
        case = cases[number - 1]
        tally.add(case, {m.output_id for m in matches}, matches[0].reuse_class if matches else None)
    return tally


def shingle_strings(text: str) -> list[bytes]:
    words = re.findall(r"\w+", text.lower())
    return [" ".join(words[i:i + 5]).encode() for i in range(max(0, len(words) - 4))]


class MinHashBaseline:
    def __init__(self, outputs: list[str]):
        from datasketch import MinHash
        from datasketch import MinHashLSH

        self.MinHash = MinHash
        self.lsh = MinHashLSH(threshold=0.5, num_perm=128)
        for output_id, text in enumerate(outputs, 1):
            self.lsh.insert(output_id, self._sketch(text))

    def _sketch(self, text: str):
        sketch = self.MinHash(num_perm=128)
        sketch.update_batch(shingle_strings(text) or [b""])
        return sketch

    def query(self, fields: list[tuple[str, str]]) -> set[int]:
        return set(self.lsh.query(self._sketch(" ".join(t for _, t in fields))))


# ---- throughput ------------------------------------------------------------------------------


# CPU seconds of this process, not wall time: the ratios stay meaningful on a shared machine.
clock = time.process_time


def floor_scan(path: Path) -> tuple[float, int]:
    """Read + JSON parse + split, the least any scanner must do: CPU seconds."""
    start = clock()
    words = 0
    with open(path, "rb") as handle:
        for line in handle:
            value = json.loads(line)
            words += len(" ".join(text for _, text in string_fields(value)).lower().split())
    return clock() - start, words


def aiaudit_scan(path: Path, detector: ReuseDetector) -> tuple[float, list[bool]]:
    start = clock()
    records = (rec.fields for rec in read_records(path) if isinstance(rec, Record))
    flagged = [bool(matches) for matches in detector.match_stream(records)]
    return clock() - start, flagged


def aiaudit_scan_with_spans(path: Path, detector: ReuseDetector) -> tuple[float, list[bool], int]:
    """aiaudit_scan plus what the scanner adds for the matched records: their matched spans,
    computed as the scanner does, for all matched records of a commit batch at once."""
    start = clock()
    records: list[Record] = []

    def fields():
        for rec in read_records(path):
            if isinstance(rec, Record):
                records.append(rec)
                yield rec.fields

    flagged, rows, kept, spans = [], [], [], 0
    for number, matches in enumerate(detector.match_stream(fields())):
        flagged.append(bool(matches))
        if matches:
            rows.append({"output_ids": sorted(m.output_id for m in matches)})
            kept.append(records[number].fields)
        records[number] = None  # type: ignore[call-overload]  # done with it
        if len(flagged) % SCAN_COMMIT_EVERY == 0:
            attach_spans(rows, kept, detector)
            spans += sum(len(r["spans"]) for r in rows)
            rows, kept = [], []
    attach_spans(rows, kept, detector)
    spans += sum(len(r["spans"]) for r in rows)
    return clock() - start, flagged, spans


def datasketch_scan(path: Path, baseline: MinHashBaseline) -> tuple[float, list[bool]]:
    start = clock()
    with open(path, "rb") as handle:
        flagged = [bool(baseline.query(string_fields(json.loads(line)))) for line in handle]
    return clock() - start, flagged


# ---- RAM per output --------------------------------------------------------------------------


def synthetic_fingerprints(count: int, mean_words: int, rng: np.random.Generator, start_id: int):
    """Fingerprints of Zipf-distributed token streams: the index's size depends only on counts."""
    lengths = rng.integers(mean_words // 2, mean_words * 3 // 2 + 1, size=count)
    tokens = mix64(rng.zipf(1.3, size=int(lengths.sum())).astype(np.uint64))
    at = 0
    for n, length in enumerate(lengths.tolist()):
        own = tokens[at:at + length]
        at += length
        yield start_id + n, Fingerprint(length, exact_hash(own), int(own[0]), ngram_hashes(own))


def measure_ram(directory: Path, outputs: int, winnow_above: int) -> dict:
    rng = np.random.default_rng(7)
    index = OutputIndex.open(directory, winnow_above=winnow_above)
    batch = 25_000
    start = time.perf_counter()
    for first in range(0, outputs, batch):
        index.add(list(synthetic_fingerprints(min(batch, outputs - first), 300, rng, first + 1)))
    index.compact()
    seconds = time.perf_counter() - start
    per_output_fixed = sum(s.ram_bytes() - s.post_hash.nbytes - s.post_ord.nbytes for s in index.segments) / len(index)
    postings_per_output = index.postings_count() / len(index)
    return {"outputs": len(index), "winnowed": index.winnowed, "ram_bytes": index.ram_bytes(),
            "per_output": index.ram_bytes() / len(index), "fixed": per_output_fixed,
            "postings": postings_per_output, "seconds": seconds, "bitmap": index._bitmap.nbytes}


# ---- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--workdir", type=Path, help="keep generated files here")
    args = parser.parse_args()
    outputs_n, per_class, negatives_n, pad_mb, ram_outputs, ram_winnow = (
        (600, 40, 600, 6, 40_000, 15_000) if args.quick else (3000, 150, 3000, 30, 120_000, 40_000))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aiaudit-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("index", "index-winnowed", "ram-index", "data"):
        shutil.rmtree(workdir / stale, ignore_errors=True)
    r = random.Random(2026)
    writer = Writer(11)

    started = time.perf_counter()
    outputs = [writer.answer(r) for _ in range(outputs_n)]
    fingerprints = []
    fp_start = clock()
    for text in outputs:
        fingerprints.append(fingerprint(text))
    fp_us = (clock() - fp_start) / len(outputs) * 1e6
    mean_words = sum(fp.word_count for fp in fingerprints) / len(fingerprints)
    index = OutputIndex.open(workdir / "index")
    index.add(list(enumerate(fingerprints, 1)))
    detector = ReuseDetector(index)
    cases = build_cases(writer, outputs, per_class, negatives_n, r)
    files = write_formats(cases, workdir / "data")
    print(f"{outputs_n} outputs (mean {mean_words:.0f} words, fingerprint {fp_us:.0f} µs CPU each), "
          f"{len(cases)} records ({per_class} per class, {negatives_n} negatives), "
          f"generated in {time.perf_counter() - started:.1f} s; files in {workdir}")

    tallies = {name: evaluate_aiaudit(detector, cases, read_format(path)) for name, path in files.items()}
    # The same JSONL records against an index winnowed from the start (the 10 M-output regime).
    thin = OutputIndex.open(workdir / "index-winnowed", winnow_above=0)
    thin.add(list(enumerate(fingerprints, 1)))
    tallies["jsonl/winnow"] = evaluate_aiaudit(ReuseDetector(thin), cases, read_format(files["jsonl"]))
    baseline = MinHashBaseline(outputs)
    ds = Tally()
    for case in cases:
        ds.add(case, baseline.query(case.fields))

    names = list(tallies)
    print("\nRecall per class (aiaudit per format | datasketch MinHashLSH on the same records)")
    print(f"{'class':<14}{'target':>6}" + "".join(f"{n:>13}" for n in names) + f"{'datasketch':>13}")
    for kind in CLASSES:
        row = f"{kind:<14}{TARGETS[kind]:>6.2f}" + "".join(f"{tallies[n].recall(kind):>13.3f}" for n in names)
        print(row + f"{ds.recall(kind):>13.3f}")
    for kind in NEGATIVES:
        row = f"FP {kind:<11}{0:>6}" + "".join(f"{tallies[n].false_positives[kind]:>13}" for n in names)
        print(row + f"{ds.false_positives[kind]:>13}")
    print(f"{'wrong ids':<14}{0:>6}" + "".join(f"{tallies[n].wrong_ids:>13}" for n in names) + f"{ds.wrong_ids:>13}")
    print("\nreuse_class reported (JSONL):",
          ", ".join(f"{k}->{c}: {v}" for (k, c), v in sorted(tallies["jsonl"].classes.items())))

    # Throughput corpus: the recall records plus same-domain padding (a realistic low reuse rate).
    corpus = workdir / "throughput.jsonl"
    with open(corpus, "w") as handle:
        for c in cases:
            handle.write(json.dumps(as_object(c)) + "\n")
        while handle.tell() < pad_mb << 20:
            kind = r.random()
            text = writer.answer(r) if kind < 0.6 else writer.boilerplate_heavy(r) if kind < 0.8 else writer.unrelated(r)
            handle.write(json.dumps(as_object(Case("pad", chat(writer.question(r), text)))) + "\n")
    size_mb = corpus.stat().st_size / 1e6
    floor_runs, scan_runs, span_runs = [], [], []
    for _ in range(3):  # interleaved, best of three: load from other processes hits all alike
        floor_runs.append(floor_scan(corpus)[0])
        scan_runs.append(aiaudit_scan(corpus, detector))
        span_runs.append(aiaudit_scan_with_spans(corpus, detector))
    floor_s = min(floor_runs)
    scan_s, scan_flagged = min(scan_runs, key=lambda run: run[0])
    ds_s, ds_flagged = datasketch_scan(corpus, baseline)
    floor_rate, scan_rate, ds_rate = size_mb / floor_s, size_mb / scan_s, size_mb / ds_s
    print(f"\nThroughput on {size_mb:.1f} MB JSONL ({len(cases)} test records + same-domain padding), "
          "one core, CPU time:")
    print(f"{'floor (read+json+split)':<28}{floor_rate:>8.1f} MB/s")
    pad_records = len(scan_flagged) - len(cases)
    for name, rate, flags in (("aiaudit scan", scan_rate, scan_flagged), ("datasketch MinHashLSH", ds_rate, ds_flagged)):
        print(f"{name:<28}{rate:>8.1f} MB/s   flagged {sum(flags[:len(cases)])} test records, "
              f"{sum(flags[len(cases):])} of {pad_records} padding records (false positives)")
    print(f"ratios: scan/floor = {scan_rate / floor_rate:.2f} (target >= 0.5), "
          f"scan/datasketch = {scan_rate / ds_rate:.1f}x (target >= 5)")
    span_s, span_flagged, span_count = min(span_runs, key=lambda run: run[0])
    print(f"matched spans for the {sum(span_flagged)} matched records ({span_count} spans): scan with spans "
          f"{size_mb / span_s:.1f} MB/s, {span_s / scan_s:.3f}x the scan's CPU time "
          f"(+{(span_s - scan_s) / max(1, sum(span_flagged)) * 1e3:.2f} ms per matched record)")

    ram = measure_ram(workdir / "ram-index", ram_outputs, ram_winnow)
    bitmap_10m = (1 << 32) / 8
    per_10m = ram["fixed"] + ram["postings"] * 12 + bitmap_10m / 10_000_000
    print(f"\nIndex RAM: {ram['outputs']} outputs of mean 300 words, winnow_above={ram_winnow} "
          f"(winnowed={ram['winnowed']}), built in {ram['seconds']:.0f} s")
    print(f"  {ram['ram_bytes'] / 1e6:.1f} MB of index structures = {ram['per_output']:.0f} B per output "
          f"({ram['postings']:.1f} postings x 12 B + {ram['fixed']:.0f} B per-output arrays "
          f"+ bitmap {ram['bitmap'] / 1e6:.1f} MB)")
    print(f"  at 10 M: {ram['fixed']:.0f} + {ram['postings']:.1f} x 12 + 2^32 bits / 10 M = "
          f"{per_10m:.0f} B per output = {per_10m * 1e7 / 1e9:.1f} GB (target <= ~1 KB)")

    failed = [f"{k} ({name})" for name, tally in tallies.items() for k in CLASSES if tally.recall(k) < TARGETS[k]]
    fps = sum(t.fp for t in tallies.values()) + sum(scan_flagged[len(cases):])
    missed = ([f"recall {failed}"] if failed else []) + ([f"{fps} false positives"] if fps else []) + (
        [f"scan/floor {scan_rate / floor_rate:.2f} < 0.5"] if scan_rate / floor_rate < 0.5 else []) + (
        [f"scan/datasketch {scan_rate / ds_rate:.1f} < 5"] if scan_rate / ds_rate < 5 else []) + (
        [f"{per_10m:.0f} B per output at 10 M"] if per_10m > 1100 else [])
    ok = not missed
    print("\n" + ("all targets met" if ok else "targets missed: " + "; ".join(missed)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
