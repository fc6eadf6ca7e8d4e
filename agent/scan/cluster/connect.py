"""Reaching the cluster: an existing scheduler (`--cluster tcp://HOST:8786`, `scanner.cluster`) or
a LocalCluster of worker processes started for this scan (`--workers N`), and the index plugin.

A LocalCluster's workers run on this machine and read the index where it is (`shared`); a
remote cluster gets an uploaded copy unless `scanner.cluster_index: shared` says its workers see
the index directory at the same path (agent.scan.cluster.index_plugin).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from agent.errors import UserError
from agent.scan.cluster import require_distributed
from agent.scan.sources import public_url


def connect_timeout() -> str:
    """How long to try a scheduler address: Dask's own setting (`distributed.comm.timeouts.connect`,
    30 s unless the site's Dask config or DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT says otherwise),
    so a cluster's operators tune it where they tune every other Dask client."""
    import dask

    return str(dask.config.get("distributed.comm.timeouts.connect", default="30s"))


@contextmanager
def cluster_client(address: str | None, workers: int | None) -> Iterator[tuple[object, bool]]:
    """(distributed.Client, whether the workers are local), closed (and a local cluster stopped)
    on exit."""
    distributed = require_distributed()
    if address:
        try:
            client = distributed.Client(address, timeout=connect_timeout(), set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise UserError(f"aiaudit scan: cannot reach the Dask scheduler at {public_url(address)}: {e}") from None
        try:
            yield client, False
        finally:
            client.close()
        return
    cluster = local_cluster(workers)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client, True
    finally:
        client.close()
        cluster.close()


# What a LocalCluster's processes do besides scanning, turned off or done less often: on a
# machine where every core is a worker's, each costs a worker's CPU. Sampling every worker
# thread's stack 100 times a second for the dashboard's profile (there is no dashboard); the
# event loop's health tick (every 20 ms, only for "unresponsive" warnings); the memory monitor of
# every worker and nanny (every 100 ms: a scan task's memory is bounded by its unit, and spilling
# or a restart need not react within a tenth of a second); and the system monitor's samples for
# the dashboard's charts (every 500 ms). Measured (bench/distributed_scan.py, 2 workers, 200 MB):
# the scheduler's and nannies' threads 0.27 -> 0.17 CPU s, the workers' CPU outside tasks
# 0.26 -> 0.17 s, out of about 9 s.
LOCAL_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def local_cluster(workers: int, silence_logs: int = logging.WARNING):
    """A LocalCluster of `workers` processes with one thread each (one process per core: the
    scan is Python code, and threads of one process would share its GIL)."""
    import dask

    distributed = require_distributed()
    with dask.config.set(LOCAL_CONFIG):  # the nannies hand this config to their worker processes
        # no dashboard; the scheduler's HTTP server (health, metrics) still starts, on a free port
        # rather than 8787, which another Dask or a second scan may hold (a warning on stderr)
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                                        silence_logs=silence_logs)


def install_index(client, output_index, *, shared: bool) -> int:
    """Put the output_index's index on every worker (now and joining later); returns the bytes uploaded
    (0 when shared). A worker that cannot set it up fails the call, naming why."""
    from agent.scan.cluster.index_plugin import IndexPlugin

    binding = {"store_id": output_index.identity.store_id, "removal_epoch": output_index.identity.removal_epoch}
    make = IndexPlugin.shared if shared else IndexPlugin.upload
    plugin = make(output_index.index_dir, binding, output_index.index.generation)
    uploaded = sum(len(b) for b in plugin.files.values()) if plugin.files is not None else 0
    register = getattr(client, "register_plugin", None) or client.register_worker_plugin
    register(plugin)
    return uploaded
