"""CPU per call of each capture hook, in process, on flows of the bench mix.

bench/proxy_overhead.py measures what the hooks add to a whole mitmdump, which moves with the
machine's load; this isolates the hooks themselves. It records the calls of the issue-#12 mix
(bench/proxy_overhead.py's `one_call`) through a real mitmdump into a flow file, noting where
each event stream's chunks began, then runs the addon's hooks over copies of those flows
(writer stopped, journal on disk) and reads `time.process_time` around each hook. A streamed
answer is fed to the tee in chunks of the recorded sizes.

    python bench/hook_cost.py [--calls 90] [--repeat 20] [--tree OTHER_CHECKOUT] [--cold]

Replayed back to back, the hooks find their code and data in the CPU's caches; inside mitmdump,
TLS, HTTP parsing and the event loop run between one call's hooks and the next and evict them
(bench/loop_lag.py timed the response hook at 180-210 us of CPU there against about 45 us here).
`--cold` writes over an 8 MiB buffer and encodes some unrelated JSON before each call, untimed,
so that each call's hooks start with cold caches as they do inside mitmdump.

`--tree` imports the addon from another checkout (e.g. the main branch) for a before/after in
the same minutes; run it in turns with this tree's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def chunk_sizes(flow) -> None:
    """mitmdump hook (this file is also loaded as a script): note each event stream's chunk sizes."""
    if "text/event-stream" in flow.response.headers.get("content-type", ""):
        sizes: list[int] = []

        def count(chunk: bytes) -> bytes:
            sizes.append(len(chunk))
            return chunk

        flow.metadata["chunk_sizes"] = sizes
        flow.response.stream = count


responseheaders = chunk_sizes


def record(path: Path, calls: int) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from proxy_overhead import one_call

    from tests.support.raw_http import httpx_client
    from tests.support.standin.harness import StandinProcess
    from tests.support.standin.harness import standin_proxy

    with StandinProcess() as standin:
        proxy = standin_proxy(path.parent / "proxy", standin.port, scripts=[Path(__file__)],
                              extra_args=["-w", str(path)]).start()
        try:
            client = httpx_client(proxy.url, proxy.ca_path, timeout=30)
            for i in range(1, calls + 1):
                one_call(client, i, sse=i % 3 == 0)
            client.close()
        finally:
            proxy.stop()


def measure(flow_file: Path, repeat: int, cold: bool = False) -> dict[str, float]:
    from mitmproxy import io
    from mitmproxy.test import taddons

    from agent.proxy.addon import AICapture

    with open(flow_file, "rb") as f:
        flows = list(io.FlowReader(f).stream())
    work = Path(tempfile.mkdtemp(prefix="aiaudit-hooks-"))
    config = work / "aiaudit.yaml"
    config.write_text(f"database_url: sqlite:///{work / 'audit.db'}\ncapture:\n  journal_dir: {work / 'journal'}\n")
    capture = AICapture()
    spent = {"requestheaders": 0.0, "responseheaders": 0.0, "tee": 0.0, "response": 0.0}
    with taddons.context(capture) as tctx:
        tctx.configure(capture, aiaudit_config=str(config))
        capture.writer.stop()  # the hooks alone: records stay in the journal
        capture.journal.max_bytes = 1 << 40
        copies = []
        for _ in range(repeat):
            for original in flows:
                flow = original.copy()
                sizes = flow.metadata.pop("chunk_sizes", None)
                if sizes is not None:
                    flow.response.content = None  # it was streamed: the tee sees the chunks
                copies.append((flow, flow.response, [b"x" * n for n in sizes] if sizes is not None else None))
        gc.collect()
        clock = time.process_time
        scratch = bytearray(8 << 20)
        unrelated = [{f"field{i}": list(range(20))} for i in range(3000)]
        for flow, response, chunks in copies:
            if cold:  # untimed: evict what the last call's hooks left in the caches
                scratch[::64] = bytes(len(scratch) // 64)
                json.dumps(unrelated)
            flow.response = None
            t0 = clock()
            capture.requestheaders(flow)
            t1 = clock()
            flow.response = response
            # the stand-in's route addon, loaded first in every bench mitmdump, streams event streams
            response.stream = chunks is not None
            capture.responseheaders(flow)
            t2 = clock()
            if chunks is not None:
                tee = response.stream
                for chunk in chunks:
                    tee(chunk)
            t3 = clock()
            capture.response(flow)
            t4 = clock()
            for name, spent_here in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                spent[name] += spent_here
        capture.done()
    return {name: 1e6 * total / len(copies) for name, total in spent.items()} | {"calls": len(copies)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=90, help="calls recorded (a third streamed)")
    parser.add_argument("--repeat", type=int, default=20, help="times each recorded call is replayed")
    parser.add_argument("--tree", type=Path, default=REPO, help="checkout whose addon is measured")
    parser.add_argument("--cold", action="store_true", help="cold caches before each call, as inside mitmdump")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    flow_file = Path(tempfile.mkdtemp(prefix="aiaudit-hook-flows-")) / "flows"
    record(flow_file, args.calls)
    for name in [m for m in sys.modules if m == "agent" or m.startswith("agent.")]:
        del sys.modules[name]  # the recording imported this tree's package; measure --tree's
    sys.path.insert(0, str(args.tree.resolve()))
    out = measure(flow_file, args.repeat, args.cold)
    total = sum(v for k, v in out.items() if k != "calls")
    print(f"{out['calls']} calls replayed{' with cold caches' if args.cold else ''} ({args.tree}), load {os.getloadavg()[0]:.1f}: CPU per call "
          + ", ".join(f"{name} {us:.1f} us" for name, us in out.items() if name != "calls")
          + f"; all hooks {total:.1f} us (tee: all chunks of a call, averaged over every call)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
