"""Cluster scans on a real Dask LocalCluster of worker processes: the same findings and file
states as a local scan of the same tree, a worker SIGKILLed mid-scan, a client interrupted and
started again."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

distributed = pytest.importorskip("distributed")

from agent.reuse.outputs import SyncedOutputIndex  # noqa: E402
from agent.scan.cluster.connect import install_index  # noqa: E402
from agent.scan.cluster.run import ClusterScan  # noqa: E402
from agent.scan.scan import Scanner  # noqa: E402
from agent.store.models import ReuseFinding  # noqa: E402
from agent.store.models import ScanUnit  # noqa: E402
from tests.scan.cluster.conftest import RANGE_BYTES  # noqa: E402
from tests.scan.cluster.conftest import TAIL_MIN_PIECE  # noqa: E402
from tests.scan.cluster.conftest import file_states  # noqa: E402
from tests.scan.cluster.conftest import findings  # noqa: E402
from tests.scan.cluster.conftest import planned_units  # noqa: E402
from tests.scan.cluster.conftest import units_left  # noqa: E402
from tests.scan.conftest import add_outputs  # noqa: E402
from tests.scan.conftest import answer  # noqa: E402

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c
    cluster.close()


def _local_scan(store, output_index, root):
    return list(Scanner(store, output_index, on_error=lambda line: None).scan_paths([root]))


def _cluster_scan(store, output_index, client, root, *, shared=True, on_unit=None, errors=None):
    scanner = Scanner(store, output_index, on_error=(errors.append if errors is not None else lambda line: None))
    output_index.sync()
    # both workers (one killed by an earlier test comes back): the tail is cut for the workers
    # there are, and the tests plan it for two (conftest.planned_units)
    client.wait_for_workers(2, timeout=60)
    install_index(client, output_index, shared=shared)
    run = ClusterScan(scanner, client, range_bytes=RANGE_BYTES, on_unit=on_unit)
    run.tail_min_piece = TAIL_MIN_PIECE  # the scan's last units are cut in pieces, as big scans' are
    return run, list(run.scan_paths([root]))


@pytest.mark.parametrize("shared", [True, False], ids=["shared-index", "uploaded-index"])
def test_findings_and_file_states_equal_a_local_scan(lake, client, tmp_path, shared):
    store, _texts, local, on_cluster = lake
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    local_results = _local_scan(store, output_index, local)
    errors: list[str] = []
    run, results = _cluster_scan(store, output_index, client, on_cluster, shared=shared, errors=errors)
    expected = findings(store, local)
    assert expected and findings(store, on_cluster) == expected
    assert file_states(store, on_cluster) == file_states(store, local)
    assert run.submitted > 40  # the big JSONL file went out in byte ranges, the Parquet file in row groups
    assert run.reruns >= 1  # a CSV range guessed a start inside a quoted field and was read again
    pieces = [u for u in run.units_by_task.values() if u.kind == "bytes" and u.nbytes < RANGE_BYTES // 2]
    assert len(pieces) >= 4  # the tail was cut smaller (units.split_tail), and found the same
    assert sorted(r.records for r in results) == sorted(r.records for r in local_results)
    assert sum(len(r.findings) for r in results) == len(expected)
    # malformed records are named with their line numbers in the whole file, as a local scan names them
    assert sorted(e.replace(str(on_cluster), "") for e in errors) == \
        sorted(e.replace(str(local), "") for r in local_results for e in r.errors)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(ScanUnit)) == 0  # marks dropped once complete


def test_a_second_cluster_scan_reads_nothing_adds_nothing_and_marks_deleted_files_gone(lake, client, tmp_path):
    store, _texts, local, on_cluster = lake
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    _cluster_scan(store, output_index, client, on_cluster)
    before = findings(store, on_cluster)
    run, results = _cluster_scan(store, output_index, client, on_cluster)
    assert run.submitted == 0 and {r.state for r in results} == {"unchanged"}
    assert findings(store, on_cluster) == before

    # a file deleted since is marked gone, as a local scan marks it; its findings stay
    _local_scan(store, output_index, local)
    gone = sorted(on_cluster.rglob("*.jsonl"))[0].relative_to(on_cluster)
    (on_cluster / gone).unlink()
    (local / gone).unlink()
    _cluster_scan(store, output_index, client, on_cluster)
    _local_scan(store, output_index, local)
    states = file_states(store, on_cluster)
    assert [row[5] for row in states if row[0] == str(gone)] == ["gone"]
    assert states == file_states(store, local)
    assert findings(store, on_cluster) == before


def test_a_worker_killed_mid_scan_loses_and_duplicates_nothing(lake, client, tmp_path):
    store, _texts, local, on_cluster = lake
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    _local_scan(store, output_index, local)
    killed: dict = {}

    def kill_a_busy_worker(state, unit):
        if killed:
            return
        busy = {addr: keys for addr, keys in client.processing().items() if keys}
        if not busy:
            return
        addr, keys = next(iter(busy.items()))
        pid = client.run(os.getpid, workers=[addr])[addr]
        os.kill(pid, signal.SIGKILL)
        killed.update(addr=addr, keys=set(keys), pid=pid)

    seen: list = []
    run, _ = _cluster_scan(store, output_index, client, on_cluster,
                           on_unit=lambda state, unit: (seen.append(unit), kill_a_busy_worker(state, unit)))
    assert killed, "no worker was busy when the first result came back"
    assert findings(store, on_cluster) == findings(store, local)
    with store.session() as s:
        rows = s.execute(select(ReuseFinding.path, ReuseFinding.record)
                         .where(ReuseFinding.path.startswith(str(on_cluster)))).all()
    assert len(rows) == len(set(rows))
    # tasks the killed worker was running came back from another worker
    by_unit = {(u.path, u.key): u.worker for u in seen}
    rerun = [run.units_by_task[k] for k in killed["keys"] if k in run.units_by_task]
    assert any(by_unit[(u.path, u.key)] != killed["addr"] for u in rerun)
    assert len(seen) == run.submitted and all(u.fatal is None for u in seen)


def test_an_interrupted_client_resumes_without_the_units_it_recorded(lake, client, tmp_path):
    store, _texts, local, on_cluster = lake
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    _local_scan(store, output_index, local)

    class Interrupted(Exception):
        pass

    total = len(planned_units(on_cluster))

    # Units are recorded as they come back, not at the end; how many of the first ten depends on
    # the order they finish in (a byte range waits for the one before it: 3 of 10 seen under load,
    # none with two benchmarks running), so the client is stopped once one is recorded too.
    def stop_after_ten(state, unit):
        if state.tasks_done >= 10 and units_left(store, on_cluster) < total:
            raise Interrupted

    with pytest.raises(Interrupted):
        _cluster_scan(store, output_index, client, on_cluster, on_unit=stop_after_ten)
    left = units_left(store, on_cluster)
    assert 0 < left < total
    run, _ = _cluster_scan(store, output_index, client, on_cluster)
    assert run.submitted == left + run.reruns  # CSV ranges whose guessed start was wrong run twice
    assert findings(store, on_cluster) == findings(store, local)
    assert file_states(store, on_cluster) == file_states(store, local)


def test_new_captures_are_checked_through_the_sketches_a_cluster_scan_left(lake, client, tmp_path):
    store, _texts, local, on_cluster = lake
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    _local_scan(store, output_index, local)
    _cluster_scan(store, output_index, client, on_cluster)
    before = len(findings(store, local))
    # outputs captured after both scans, whose text is in records of the split files
    add_outputs(store, [answer(10_000 + i, 30) for i in (1, 2, 3, 200, 700, 1400)]
                + [answer(30_000 + i, 25) for i in (5, 450)] + [answer(70_000 + i, 25) for i in (1, 2, 399)])
    here = {Path(r.path).relative_to(local): r.state for r in _local_scan(store, output_index, local)}
    there = {Path(r.path).relative_to(on_cluster): r.state for r in _local_scan(store, output_index, on_cluster)}
    assert there == here and here[Path("big.jsonl")] == "checked" and here[Path("sub/big.csv")] == "checked"
    assert findings(store, on_cluster) == findings(store, local)
    assert len(findings(store, local)) >= before + 11  # each new output is in one record at least
