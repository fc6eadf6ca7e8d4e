"""How many calls per second one writer sustains on one core, and how its backlog behaves.

A journal-replay harness: no proxy, no vendor. It fills a journal with realistic records of the
issue-#12 mix (OpenAI chat completions, 4 KB prompts, about 1.5 KB answers, a third of them
streamed as server-sent events of three words each, the way the stand-in vendor and the real
API cut them), then times a real `CaptureWriter` draining it into a real store. CPU seconds come
from the writer thread's own clock (`time.thread_time`), so a loaded machine slows the wall
clock but barely the figure that matters.

    python bench/writer_capacity.py capacity [--calls 5000] [--store sqlite|postgresql]
    python bench/writer_capacity.py backlog [--rate 4000] [--seconds 60]
    python bench/writer_capacity.py profile [--calls 3000]      # cProfile of the drain
    python bench/writer_capacity.py capacity --baseline TREE [--turns 2]

`--baseline TREE` (another checkout, e.g. the main branch) runs the capacity measure in rotating
turns with TREE's writer and this tree's, each in its own process, and prints the ratio: on a
shared machine only figures taken in the same minutes compare.

`backlog` appends records at `--rate` per second (from a second thread, as the proxy would) for
`--seconds` while the writer drains, sampling the backlog every second, then reports how long the
writer takes to empty it once the feed stops.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.ids import new_id  # noqa: E402
from agent.proxy.counters import CaptureCounters  # noqa: E402
from agent.proxy.exchange import RequestSnapshot  # noqa: E402
from agent.proxy.exchange import ResponseSnapshot  # noqa: E402
from agent.proxy.hosts import HostList  # noqa: E402
from agent.proxy.journal import Journal  # noqa: E402
from agent.proxy.record import CapturedExchange  # noqa: E402
from agent.proxy.record import encode_parts  # noqa: E402
from agent.writer.attribution import Attributor  # noqa: E402
from agent.writer.drain import CaptureWriter  # noqa: E402
from agent.writer.drain import tune_gc  # noqa: E402
from tests.support.standin.text import _WORDS  # noqa: E402
from tests.support.standin.text import split_deltas  # noqa: E402

PROMPT_BYTES = 4096
ANSWER_BYTES = 1536
STREAMED_SHARE = 3  # one call in three is streamed
_ROUTE = HostList.load().match("api.openai.com", "/v1/chat/completions", "POST")


def _words(rng: random.Random, nbytes: int) -> str:
    """Prose of about `nbytes`: words, with a number or an apostrophe now and then, as real
    prompts have (they make the signature's masks run)."""
    out, size = [], 0
    while size < nbytes:
        w = rng.choice(_WORDS)
        if rng.random() < 0.03:
            w = rng.choice([str(rng.randint(0, 2025)), "it's", "don't", f"{w},", f"{w}."])
        out.append(w)
        size += len(w) + 1
    return " ".join(out)


def record(i: int, rng: random.Random) -> list:
    """The journal payload of call `i` of the mix, as the hook would append it."""
    prompt = _words(rng, PROMPT_BYTES - 200)
    answer = _words(rng, ANSWER_BYTES - 300)
    streamed = i % STREAMED_SHARE == 0
    req = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "You are a helpful assistant."},
                                               {"role": "user", "content": prompt}]}
    if streamed:
        req["stream"] = True
    req_body = json.dumps(req).encode()
    base = {"id": f"chatcmpl-{i}", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-4o-mini"}
    if streamed:
        events = [base | {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
        events += [base | {"choices": [{"index": 0, "delta": {"content": d}, "finish_reason": None}]}
                   for d in split_deltas(answer)]
        events.append(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        resp_body = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + b"data: [DONE]\n\n"
        ctype = "text/event-stream; charset=utf-8"
    else:
        resp_body = json.dumps({"id": f"chatcmpl-{i}", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
                                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                             "finish_reason": "stop"}],
                                "usage": {"prompt_tokens": 900, "completion_tokens": 300}}).encode()
        ctype = "application/json"
    now = time.time()
    ex = CapturedExchange(
        call_id=new_id(), route=_ROUTE,
        request=RequestSnapshot("POST", "https", "api.openai.com", 443, "/v1/chat/completions",
                                (("content-type", "application/json"), ("authorization", "[redacted]")), b"", now),
        response=ResponseSnapshot(200, (("content-type", ctype),), b"", streamed, False, None),
        key_sha256="ab" * 32, proxy_user=None, client_ip="10.1.2.3", header_team=None, finished=now + 0.2,
        request_bytes=len(req_body), response_bytes=len(resp_body))
    return encode_parts(ex, [req_body], [resp_body])


def records(n: int, seed: int = 12) -> list[list]:
    rng = random.Random(seed)
    return [record(i, rng) for i in range(n)]


def store_url(kind: str, work: Path) -> str:
    if kind == "postgresql":
        url = os.environ.get("AIAUDIT_TEST_PG_URL")
        if not url:
            raise SystemExit("--store postgresql needs AIAUDIT_TEST_PG_URL")
        from sqlalchemy import create_engine
        from sqlalchemy import text

        engine = create_engine(url)  # a fresh schema each run: the writer binds its journal to the store
        with engine.begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        from agent.store.engine import forget_migrated

        forget_migrated(url)
        return url
    return f"sqlite:///{work / 'audit.db'}"


def new_writer(journal: Journal, url: str) -> CaptureWriter:
    return CaptureWriter(journal, CaptureCounters(), url, Attributor((), None), store_text="excerpt",
                         excerpt_chars=500, max_body_bytes=8 << 20)


class _Timed(CaptureWriter):
    """The writer, noting its own thread's CPU clock when it starts and when the journal is empty."""

    def run(self) -> None:
        self._get_store()  # opening the store and checking its schema is once per process, not per call
        self.cpu_start = time.thread_time()
        self.wall_start = time.perf_counter()
        super().run()
        self.cpu_end = time.thread_time()  # the whole run, idle waits and heartbeats included

    def _step(self) -> bool:
        progressed = super()._step()
        if not progressed and not hasattr(self, "cpu_drained"):
            self.cpu_drained = time.thread_time()
            self.wall_drained = time.perf_counter()
        return progressed


def warm(url: str, work: Path) -> None:
    """Migrate the store and import everything once, outside the timed drain."""
    journal = Journal(work / "warm", 1 << 30)
    for parts in records(20, seed=1):
        journal.append(parts)
    w = new_writer(journal, url)
    w.start()
    w.stop(30)
    tune_gc()  # as the writer process does once it has started


def capacity(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="aiaudit-capacity-"))
    url = store_url(args.store, work)
    warm(url, work)
    journal = Journal(work / "journal", 1 << 34)
    for parts in records(args.calls):
        assert journal.append(parts)
    size = journal.size
    writer = _Timed(journal, CaptureCounters(), url, Attributor((), None), store_text="excerpt",
                    excerpt_chars=500, max_body_bytes=8 << 20)
    writer.start()
    while not hasattr(writer, "cpu_drained"):
        time.sleep(0.05)
    writer.stop(30)
    cpu = writer.cpu_drained - writer.cpu_start
    wall = writer.wall_drained - writer.wall_start
    stored = writer.counters.totals().get("stored", 0)
    return {"store": args.store, "calls": args.calls, "stored": stored, "journal_bytes_per_call": size / args.calls,
            "cpu_s": cpu, "wall_s": wall, "cpu_ms_per_call": 1000 * cpu / args.calls,
            "calls_per_cpu_second": args.calls / cpu, "calls_per_wall_second": args.calls / wall,
            "loadavg": os.getloadavg()[0]}


def _fresh_id(parts: list) -> list:
    """A pooled record under a new call id (same length): a repeated id would be a replay, which
    the writer counts apart from what it stores."""
    head = bytes(parts[1])
    at = head.index(b'"id":"') + 6
    old = head[at : head.index(b'"', at)]
    fresh = new_id().encode()
    assert len(fresh) == len(old)
    return [parts[0], head[:at] + fresh + head[at + len(old) :], *parts[2:]]


def backlog(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="aiaudit-backlog-"))
    url = store_url(args.store, work)
    warm(url, work)
    pool = records(2000)
    journal = Journal(work / "journal", 1 << 34)
    reader = Journal(work / "journal", 1 << 34, readonly=True)
    writer = _Timed(reader, CaptureCounters(), url, Attributor((), None), store_text="excerpt",
                    excerpt_chars=500, max_body_bytes=8 << 20)
    fed = 0
    stop_feed = threading.Event()

    def feed() -> None:  # the proxy's appends, paced at --rate
        nonlocal fed
        t0 = time.perf_counter()
        while not stop_feed.is_set():
            due = int((time.perf_counter() - t0) * args.rate)
            while fed < due:
                journal.append(_fresh_id(pool[fed % len(pool)]))
                fed += 1
            time.sleep(0.005)

    def stored() -> int:
        return writer.counters.totals().get("stored", 0)

    feeder = threading.Thread(target=feed, daemon=True)
    writer.start()
    t0 = time.perf_counter()
    feeder.start()
    samples = []
    while time.perf_counter() - t0 < args.seconds:
        time.sleep(1.0)
        # cheap reads: the journal's byte count of what is unacknowledged (refreshed from the
        # writer's ack once a second) and fed minus stored; a full journal scan would take CPU
        journal._refresh(time.monotonic())
        pending, pending_bytes = fed - stored(), journal.size
        samples.append((round(time.perf_counter() - t0, 1), fed, pending, pending_bytes))
    stop_feed.set()
    feeder.join()
    fed_at_stop = fed
    t_stop = time.perf_counter()
    give_up = t_stop + args.drain_timeout
    while stored() < fed_at_stop and time.perf_counter() < give_up:
        time.sleep(0.1)
    left = fed_at_stop - stored()
    drain_s = time.perf_counter() - t_stop
    writer.stop(30)
    cpu = writer.cpu_end - writer.cpu_start
    return {"rate": args.rate, "seconds": args.seconds, "fed": fed_at_stop,
            "writer_cpu_ms_per_call": 1000 * cpu / max(1, stored()), "drain_after_stop_s": drain_s, "left_undrained": left,
            "peak_pending": max(s[2] for s in samples), "peak_pending_bytes": max(s[3] for s in samples),
            "samples": samples, "loadavg": os.getloadavg()[0]}


def profile(args) -> None:
    import cProfile
    import pstats

    work = Path(tempfile.mkdtemp(prefix="aiaudit-profile-"))
    url = store_url(args.store, work)
    warm(url, work)
    journal = Journal(work / "journal", 1 << 34)
    for parts in records(args.calls):
        journal.append(parts)
    writer = new_writer(journal, url)
    prof = cProfile.Profile()
    prof.enable()
    while writer._step():
        pass
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)


def compare(args) -> int:
    import subprocess

    argv = ["capacity", "--calls", str(args.calls), "--store", args.store, "--json"]
    figures: dict[str, list[float]] = {"baseline": [], "this": []}
    for _ in range(args.turns):
        for name, tree in (("baseline", Path(args.baseline)), ("this", REPO)):
            out = subprocess.run([sys.executable, str(tree / "bench" / "writer_capacity.py"), *argv],
                                 capture_output=True, text=True, check=True).stdout
            figures[name].append(json.loads(out)["cpu_ms_per_call"])
    base, this = (min(figures[n]) for n in ("baseline", "this"))  # the least disturbed turn of each
    print(f"writer CPU per call, {args.calls} calls into {args.store}, best of {args.turns} rotating turns "
          f"(load {os.getloadavg()[0]:.1f}): baseline {base:.3f} ms, this tree {this:.3f} ms, ratio {this / base:.2f} "
          f"({base / this:.2f}x the calls per CPU-second)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("capacity", "backlog", "profile"))
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rate", type=float, default=4000, help="backlog: calls appended per second")
    parser.add_argument("--seconds", type=float, default=60, help="backlog: how long the feed runs")
    parser.add_argument("--drain-timeout", type=float, default=300, help="backlog: longest wait for the drain")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--baseline", help="capacity: also measure this checkout's writer, in rotating turns")
    parser.add_argument("--turns", type=int, default=2, help="capacity --baseline: turns of each")
    args = parser.parse_args()
    if args.baseline and args.mode == "capacity":
        return compare(args)
    if args.mode == "profile":
        profile(args)
        return 0
    out = capacity(args) if args.mode == "capacity" else backlog(args)
    if args.json:
        print(json.dumps(out, indent=2))
    elif args.mode == "capacity":
        print(f"{out['calls']} calls of the mix into {out['store']} ({out['journal_bytes_per_call']:.0f} journal bytes "
              f"each): {out['cpu_ms_per_call']:.3f} ms CPU per call, {out['calls_per_cpu_second']:.0f} calls per "
              f"CPU-second ({out['calls_per_wall_second']:.0f}/s wall, load {out['loadavg']:.1f}); stored {out['stored']}")
    else:
        print(f"fed {out['fed']} calls at {out['rate']:.0f}/s for {out['seconds']:.0f} s (load {out['loadavg']:.1f}); "
              f"peak backlog {out['peak_pending']} calls ({out['peak_pending_bytes'] / 1e6:.1f} MB); "
              f"{out['left_undrained']} left {out['drain_after_stop_s']:.1f} s after the feed stopped; "
              f"writer {out['writer_cpu_ms_per_call']:.3f} ms CPU per call over the whole run", flush=True)
        for t, fed, pending, nbytes in out["samples"][:: max(1, len(out["samples"]) // 12)]:
            print(f"  t={t:5.1f}s fed={fed:7d} backlog={pending:7d} ({nbytes / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
