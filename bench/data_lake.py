"""Data-lake benchmark (issue 14): object store against local disk, incremental check against a
full rescan, and the sketch's size, all measured in one run on one corpus.

    python bench/data_lake.py [--mb 64] [--new 10000] [--planted 300] [--workdir DIR] [--no-s3] [--profile]

The corpus is chat-style JSONL (word frequencies Zipf-distributed over a 20,000-word vocabulary,
so common 5-grams recur as in real text) in two identical copies, A and B. Before the first scan
the store holds 1,000 outputs; `--planted` of the `--new` outputs that will be captured later are
already in the corpus, whole or as an excerpt of 20 to 60 words embedded in other text.

1. S3 against local disk: A is scanned from local disk, then from a real moto_server over HTTP
   (tests/support/s3_server.py: needs ./install.sh --dev), by the same Scanner: MB/s and ratio.
   `--no-s3` skips the S3 pass (A and B are then only scanned from local disk).
2. `--new` outputs are captured. A is checked through its sketches (only candidate records read
   back); B, its sketches deleted, is read in full, as every scan did before issue 14. Reported:
   both times, wall and CPU (index sync excluded from both, it is the same work; both start with
   an empty cache of which call made each output), and their ratio (target <= 0.05; on a shared
   machine the CPU ratio is the one to trust), recall of the planted reuse in each (same recall is
   the target), and whether the two found the same records. `--profile` prints where the check
   spends its time (cProfile, which slows it: not for the ratio).
3. Sketch bytes over the bytes of text they cover (target <= 0.10).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from agent.ids import new_id  # noqa: E402
from agent.reuse.fingerprint import fingerprint  # noqa: E402
from agent.reuse.outputs import SyncedOutputIndex  # noqa: E402
from agent.scan import sketch  # noqa: E402
from agent.scan.incremental import sketch_dir  # noqa: E402
from agent.scan.scan import Scanner  # noqa: E402
from agent.store.engine import open_store  # noqa: E402
from agent.store.models import Call  # noqa: E402
from agent.store.models import Output  # noqa: E402
from agent.store.models import ReuseFinding  # noqa: E402

FILES = 8
CPU: dict[str, float] = {}  # CPU seconds of each scan, by label


class Words:
    """Zipf-distributed pseudo-words: a few very common ones, a long tail of rare ones."""

    def __init__(self, seed: int, size: int = 20000) -> None:
        rng = random.Random(seed)
        letters = "etaoinshrdlcumwfgypbvkjxqz"
        self.vocab = list(dict.fromkeys("".join(rng.choice(letters[:8 + i % 18]) for _ in range(2 + i % 9))
                                        for i in range(size * 2)))[:size]
        weights = [1.0 / (rank + 1) ** 1.07 for rank in range(len(self.vocab))]
        self.cum = list(__import__("itertools").accumulate(weights))
        self.rng = rng

    def text(self, n: int) -> str:
        words = self.rng.choices(self.vocab, cum_weights=self.cum, k=n)
        out, i = [], 0
        while i < n:
            k = self.rng.randint(8, 18)
            out.append(" ".join(words[i:i + k]).capitalize() + ".")
            i += k
        return " ".join(out)


def insert_outputs(store, texts: list[str]) -> list[str]:
    ids = []
    now = dt.datetime.now(dt.timezone.utc)
    with store.write_session() as s:
        for text in texts:
            call = Call(id=new_id(), ts=now, vendor="openai", host="api.openai.com", endpoint="chat.completions",
                        team="research", outputs=1, output_chars=len(text))
            s.add(call)
            s.flush()
            fp = fingerprint(text)
            s.add(Output(call_id=call.id, idx=0, kind="generated", ts=now, word_count=fp.word_count,
                         char_count=len(text), exact_hash=fp.exact, fingerprint=fp.to_blob()))
            ids.append(call.id)
    return ids


def write_corpus(root: Path, words: Words, target_bytes: int, planted: list[str]) -> dict[tuple[str, int], int]:
    """FILES JSONL files of about target_bytes together; returns {(file, line): planted index}."""
    root.mkdir(parents=True)
    rng = random.Random(11)
    per_file = target_bytes // FILES
    plant_at: dict[tuple[str, int], int] = {}
    spots = sorted(rng.sample(range(FILES * 10_000), len(planted)))
    queue = list(zip(spots, range(len(planted))))
    for f in range(FILES):
        name = f"part-{f:03d}.jsonl"
        size, line = 0, 0
        with open(root / name, "w") as out:
            while size < per_file:
                line += 1
                body = words.text(rng.randint(60, 220))
                if queue and queue[0][0] <= f * 10_000 + line:
                    _, which = queue.pop(0)
                    text = planted[which].split()
                    if which % 3 == 0:
                        body = planted[which]  # the whole output
                    else:  # an excerpt of 20-60 words inside other text
                        k = rng.randint(20, min(60, len(text)))
                        at = rng.randint(0, len(text) - k)
                        body = f"{words.text(25)} {' '.join(text[at:at + k])} {words.text(25)}"
                    plant_at[(name, line)] = which
                row = json.dumps({"messages": [{"role": "user", "content": words.text(rng.randint(8, 30))},
                                               {"role": "assistant", "content": body}]})
                out.write(row + "\n")
                size += len(row) + 1
    return plant_at


def findings(store, prefix: str) -> set[tuple[str, int]]:
    with store.session() as s:
        rows = s.execute(select(ReuseFinding.path, ReuseFinding.record)).all()
    return {(Path(p).name, r) for p, r in rows if p.startswith(prefix)}


def scan(store, output_index, paths, label: str, profile: bool = False) -> tuple[float, list]:
    """Wall seconds of one scan (its CPU seconds are printed: the machine may be shared)."""
    lines: list[str] = []
    profiler = cProfile.Profile() if profile else None
    t, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    results = list(Scanner(store, output_index, on_error=lines.append).scan_paths(paths))
    if profiler is not None:
        profiler.disable()
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    CPU[label] = cpu
    if profiler is not None:
        print(f"  profile of {label}:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
    if lines:
        print(f"  {label}: {len(lines)} error lines, first: {lines[0]}")
    return seconds, results


def s3_vs_local(store, output_index, work: Path, text_bytes: int) -> None:
    """First scans of A from local disk and from a real moto_server over HTTP (tests/support/
    s3_server.py: needs ./install.sh --dev), and of B from local disk."""
    import os

    from tests.support.s3_server import MotoServer

    server = MotoServer().start()
    try:
        os.environ.update(server.env())  # the AWS standard chain: what a user's environment would hold
        server.make_bucket("lake")
        server.upload_tree("lake", "A", work / "A")
        server.fs().pipe("lake/warm/w.jsonl", b'{"t": "warm"}\n')
        scan(store, output_index, ["s3://lake/warm"], "warm-up s3")  # s3fs's session
        local_s, _ = scan(store, output_index, [work / "A"], "local A")
        s3_s, s3_results = scan(store, output_index, ["s3://lake/A"], "s3 A")
        scan(store, output_index, [work / "B"], "local B")
    finally:
        server.stop()
    s3_bytes = sum(r.bytes for r in s3_results)
    print("\n1. object store against local disk (first scan, 1,000 outputs indexed)")
    print(f"  local disk   {text_bytes / 1e6 / local_s:8.1f} MB/s  ({local_s:.1f} s)")
    print(f"  moto S3 HTTP {s3_bytes / 1e6 / s3_s:8.1f} MB/s  ({s3_s:.1f} s)   ratio S3/local "
          f"{(s3_bytes / s3_s) / (text_bytes / local_s):.2f}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=64.0, help="corpus size in MB (each of the two copies)")
    ap.add_argument("--new", type=int, default=10_000, help="outputs captured after the first scan")
    ap.add_argument("--planted", type=int, default=300, help="of those, how many are already in the corpus")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--no-s3", action="store_true", help="skip the object-store pass (part 1)")
    ap.add_argument("--profile", action="store_true", help="print where the sketch check spends its time")
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="aiaudit-bench-lake-"))
    work.mkdir(parents=True, exist_ok=True)
    words = Words(5)
    old = [words.text(random.Random(i).randint(80, 300)) for i in range(1000)]
    new = [words.text(random.Random(10_000 + i).randint(80, 300)) for i in range(args.new)]
    planted = new[:args.planted]
    print(f"corpus: 2 x {args.mb:.0f} MB JSONL in {FILES} files each; {len(old)} outputs before, "
          f"{len(new)} after ({len(planted)} planted)")
    t = time.perf_counter()
    plant_at = write_corpus(work / "A", words, int(args.mb * 1e6), planted)
    shutil.copytree(work / "A", work / "B")
    text_bytes = sum(p.stat().st_size for p in (work / "A").glob("*.jsonl"))
    print(f"  written in {time.perf_counter() - t:.1f} s: {text_bytes / 1e6:.1f} MB a copy, "
          f"{len(plant_at)} planted records")

    store = open_store(f"sqlite:///{work / 'audit.db'}")
    insert_outputs(store, old)
    output_index = SyncedOutputIndex(store, work / "index")
    output_index.sync()

    # 1. local disk against the S3 server, same bytes, same scanner
    # warm-up (imports, the detector's first build) on a copy of one file, so no timed pass pays it
    (work / "warm").mkdir()
    shutil.copy(work / "A" / "part-000.jsonl", work / "warm" / "w.jsonl")
    scan(store, output_index, [work / "warm"], "warm-up")
    if args.no_s3:
        local_s, _ = scan(store, output_index, [work / "A"], "local A")
        scan(store, output_index, [work / "B"], "local B")
        print(f"\n1. local disk {text_bytes / 1e6 / local_s:8.1f} MB/s  ({local_s:.1f} s; S3 not measured: --no-s3)")
    else:
        s3_vs_local(store, output_index, work, text_bytes)

    # 2. new captures: A checked by sketch, B (no sketches) read in full
    insert_outputs(store, new)
    t = time.perf_counter()
    output_index.sync()
    sync_s = time.perf_counter() - t
    for path in (work / "B").glob("*.jsonl"):
        sketch.sketch_path(sketch_dir(output_index), str(path)).unlink()
    # both passes start from the same state: the detector built (warm-up above), the cache of
    # which call made each output empty (whichever pass ran first filled it for the other)
    output_index._info.clear()
    check_s, checked = scan(store, output_index, [work / "A"], "check A", profile=args.profile)
    output_index._info.clear()
    full_s, fulls = scan(store, output_index, [work / "B"], "full B")
    states = sorted({r.state for r in checked}), sorted({r.state for r in fulls})
    read_back = sum(r.bytes for r in checked)
    found_a, found_b = findings(store, str(work / "A")), findings(store, str(work / "B"))
    truth = set(plant_at)
    long_truth = {k for k, which in plant_at.items()}  # every planted passage is >= 20 words
    print(f"\n2. {len(new)} new outputs against the scanned corpus (index sync {sync_s:.1f} s, excluded from both)")
    print(f"  full rescan     {full_s:7.2f} s  {text_bytes / 1e6 / full_s:6.1f} MB/s  states {states[1]}")
    print(f"  sketch check    {check_s:7.2f} s  read back {read_back / 1e6:.2f} MB "
          f"({100 * read_back / text_bytes:.2f} % of the text)  states {states[0]}")
    print(f"  ratio check/full {check_s / full_s:.3f} wall, {CPU['check A'] / CPU['full B']:.3f} CPU "
          f"({CPU['check A']:.2f} s against {CPU['full B']:.2f} s; target <= 0.05)")
    print(f"  recall of planted reuse (>= 20 words): sketch {len(found_a & long_truth) / len(long_truth):.3f}, "
          f"full {len(found_b & long_truth) / len(long_truth):.3f}; same records found: {found_a == found_b} "
          f"({len(found_a)} vs {len(found_b)}; only in full: {len(found_b - found_a)}, "
          f"only in sketch: {len(found_a - found_b)})")
    missed = sorted(truth - found_b)[:5]
    if missed:
        print(f"  planted records the full scan does not report either (first 5): {missed}")

    # 3. sketch size
    sketch_bytes = sum(sketch.sketch_path(sketch_dir(output_index), str(p)).stat().st_size
                       for p in (work / "A").glob("*.jsonl"))
    print(f"\n3. sketch: {sketch_bytes / 1e6:.2f} MB for {text_bytes / 1e6:.1f} MB of text: "
          f"{sketch_bytes / text_bytes:.3f} of it (target <= 0.10)")
    store.dispose()
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
