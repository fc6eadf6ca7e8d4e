"""How event streams reach a tee: the chunks mitmproxy hands a `flow.response.stream` callable.

Issue #12 asks whether fewer, larger tee chunks would cut what streaming costs mitmproxy. A
chunk is what one read from the server's socket returned; the proxy cannot make chunks larger
without holding bytes back from the client, which aiaudit never does. This measures what they
are: streamed calls of the bench mix through a mitmdump whose stream callable (this file, loaded
as a mitmdump script) only counts, then chunks per response, bytes per chunk and SSE events per
chunk.

    python bench/stream_chunks.py [--calls 60] [--clients 4]
"""

from __future__ import annotations

import json
import os


def responseheaders(flow):  # mitmdump hooks: these run inside the proxy
    if "text/event-stream" not in flow.response.headers.get("content-type", ""):
        return
    sizes: list[int] = []
    events: list[int] = []

    def count(chunk: bytes) -> bytes:
        if chunk:
            sizes.append(len(chunk))
            events.append(chunk.count(b"\n\n"))
        return chunk

    flow.metadata["chunk_counts"] = (sizes, events)
    flow.response.stream = count


def response(flow):
    if "chunk_counts" in flow.metadata:
        sizes, events = flow.metadata["chunk_counts"]
        with open(os.environ["AIAUDIT_CHUNK_LOG"], "a") as f:
            f.write(json.dumps({"chunks": sizes, "events": events}) + "\n")


def main() -> int:
    import argparse
    import sys
    import tempfile
    import threading
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo))
    sys.path.insert(0, str(repo / "bench"))
    from proxy_overhead import one_call

    from tests.support.raw_http import httpx_client
    from tests.support.standin.harness import StandinProcess
    from tests.support.standin.harness import standin_proxy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aiaudit-chunks-"))
    log = work / "chunks.jsonl"
    with StandinProcess() as standin:
        proxy = standin_proxy(work / "proxy", standin.port, scripts=[Path(__file__)],
                              env={"AIAUDIT_CHUNK_LOG": str(log)}).start()
        try:
            def worker(n: int) -> None:
                client = httpx_client(proxy.url, proxy.ca_path, timeout=30)
                try:
                    for i in range(n, args.calls, args.clients):
                        one_call(client, 3 * i, sse=True)
                finally:
                    client.close()

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            proxy.stop()
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    chunks = [len(r["chunks"]) for r in rows]
    sizes = [s for r in rows for s in r["chunks"]]
    total = sum(sizes)
    events = sum(e for r in rows for e in r["events"])
    print(f"{len(rows)} streamed responses, {args.clients} clients (load {os.getloadavg()[0]:.1f}): "
          f"{sum(chunks) / len(rows):.1f} chunks per response (min {min(chunks)}, max {max(chunks)}), "
          f"{total / len(sizes):.0f} bytes and {events / len(sizes):.1f} SSE events per chunk, "
          f"{total / len(rows):.0f} bytes and {events / len(rows):.0f} events per response")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
