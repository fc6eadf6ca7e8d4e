"""`aiaudit scan --cluster ADDRESS` / `--workers N`: the scan's results, computed on a cluster."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from agent.errors import UserError
from agent.scan.cluster.connect import cluster_client
from agent.scan.cluster.connect import install_index
from agent.scan.cluster.progress import ClusterProgress
from agent.scan.scan import FileResult
from agent.scan.scan import Scanner


def cluster_wanted(args, config) -> tuple[str | None, int | None] | None:
    """(scheduler address, local workers) when the scan runs on a cluster, else None."""
    address = getattr(args, "cluster", None) or None
    workers = getattr(args, "workers", None)
    if address and workers:
        raise UserError("aiaudit scan: give --cluster ADDRESS or --workers N, not both")
    if workers is not None and workers < 1:
        raise UserError(f"aiaudit scan: --workers needs a positive number, got {workers}")
    if workers:
        return None, workers
    address = address or config.cluster
    return (address, None) if address else None


def scan_on_cluster(scanner: Scanner, config, paths: list[Path | str], address: str | None,
                    workers: int | None) -> Iterator[FileResult]:
    from agent.scan.cluster.run import ClusterScan

    progress = ClusterProgress()
    with cluster_client(address, workers) as (client, local):
        scanner.output_index.sync()  # the index the workers get is the one the results are recorded against
        uploaded = install_index(client, scanner.output_index, shared=local or config.cluster_index == "shared")
        count = len(client.scheduler_info().get("workers", {}))
        where = f"{workers} local worker processes" if local else f"{count} workers at {address}"
        index = f"index uploaded ({uploaded / 1e6:.1f} MB per worker)" if uploaded else "index shared"
        print(f"scanning on {where}, {index}", file=sys.stderr)
        run = ClusterScan(scanner, client, range_bytes=config.cluster_range_bytes,
                          on_unit=lambda state, _unit: progress.update(state))
        yield from run.scan_paths(paths)
        progress.update(run.progress, force=True)
        progress.clear()
