"""`aiaudit scan --cluster` against a scheduler and workers started with the `dask scheduler` and
`dask worker` commands (real processes, real TCP), compared with a local `aiaudit scan` of a copy
of the same tree: the same findings; a worker SIGKILLed mid-scan changes nothing; a client
SIGKILLed mid-scan and started again submits only what it had not recorded. Also `--workers N`,
and the one line a missing extra gives."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

distributed = pytest.importorskip("distributed")

from agent.scan.cluster.units import MIN_PIECE  # noqa: E402
from agent.store.models import ScanUnit  # noqa: E402
from tests.conftest import REPO  # noqa: E402
from tests.conftest import aiaudit_command  # noqa: E402
from tests.scan.cluster.conftest import findings  # noqa: E402
from tests.scan.cluster.conftest import planned_units  # noqa: E402
from tests.scan.cluster.conftest import units_left  # noqa: E402

pytestmark = pytest.mark.timeout(600)
DASK = str(Path(sys.executable).parent / "dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaskProcesses:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler = self._start("scheduler", [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                                   "--no-dashboard", "--no-show"])
        self.workers: list[subprocess.Popen] = []

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.base / f"{name}.log", "wb")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.base)

    def add_worker(self) -> subprocess.Popen:
        n = len(self.workers)
        local = self.base / f"worker-{n}"
        local.mkdir()
        worker = self._start(f"worker-{n}", [DASK, "worker", self.address, "--nthreads", "1", "--nworkers", "1",
                                             "--no-nanny", "--no-dashboard", "--local-directory", str(local),
                                             "--name", f"w{n}"])
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, n: int) -> None:
        with distributed.Client(self.address, timeout="60s", set_as_default=False) as c:
            c.wait_for_workers(n, timeout=120)

    def stop(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                p.terminate()
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
def dask_processes(tmp_path):
    procs = DaskProcesses(tmp_path)
    procs.add_worker()
    procs.add_worker()
    try:
        procs.wait_for_workers(2)
        yield procs
    finally:
        procs.stop()


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "aiaudit.yaml"
    config.write_text(f"scanner:\n  index_dir: {tmp_path / 'index'}\n  cluster_range_mb: 1\n")
    return config


def _scan(tmp_path, url, *args, **popen):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(REPO))
    argv = [*aiaudit_command(), "--config", str(_config(tmp_path)), "--db", url, "scan", "--format", "jsonl", *args]
    if popen:
        return subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    return subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=400)


@pytest.fixture
def big_lake(store, tmp_path, db_url):
    """The cluster tree with its JSONL big enough for 1 MiB ranges (cluster_range_mb is 1 here)."""
    import shutil

    from tests.scan.cluster.conftest import make_tree
    from tests.scan.conftest import add_outputs
    from tests.scan.conftest import answer

    texts = [answer(i) for i in range(15)]
    add_outputs(store, texts)
    local = make_tree(tmp_path / "local", texts, big_records=40_000)
    on_cluster = tmp_path / "cluster"
    shutil.copytree(local, on_cluster)
    assert (local / "big.jsonl").stat().st_size > 8 << 20  # several 1 MiB ranges
    return store, db_url, local, on_cluster


def _rows(stdout: str, root: Path) -> list[tuple]:
    out = []
    for line in stdout.splitlines():
        row = json.loads(line)
        out.append((str(Path(row["path"]).relative_to(root)), row["record"], tuple(row["call_ids"]), row["tier"]))
    return sorted(out)


def test_dask_commands_cluster_finds_what_a_local_scan_finds_with_a_worker_killed(big_lake, dask_processes, tmp_path):
    store, url, local, on_cluster = big_lake
    alone = _scan(tmp_path, url, str(local))
    assert alone.returncode == 1, alone.stderr
    scan = _scan(tmp_path, url, "--cluster", dask_processes.address, str(on_cluster), popen=True)
    # SIGKILL one worker once the cluster is working on this scan's tasks
    with distributed.Client(dask_processes.address, timeout="30s", set_as_default=False) as watcher:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(watcher.processing().values()):
            time.sleep(0.05)
        assert any(watcher.processing().values()), "the scan never reached the workers"
        victim = dask_processes.workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    out, err = scan.communicate(timeout=400)
    assert scan.returncode == 1, err
    assert "scanning on 2 workers at tcp://127.0.0.1" in err and "index uploaded" in err
    assert "cluster: " in err and " tasks, " in err  # the aggregated progress line
    assert _rows(out, on_cluster) == _rows(alone.stdout, local)
    assert findings(store, on_cluster) == findings(store, local)


def test_a_client_killed_mid_scan_resumes_where_it_recorded(big_lake, dask_processes, tmp_path):
    store, url, local, on_cluster = big_lake
    assert _scan(tmp_path, url, str(local)).returncode == 1
    scan = _scan(tmp_path, url, "--cluster", dask_processes.address, str(on_cluster), popen=True)
    deadline = time.monotonic() + 200
    marked = 0
    while time.monotonic() < deadline and scan.poll() is None:
        with store.session() as s:
            marked = s.scalar(select(func.count()).select_from(ScanUnit))
        if marked >= 2:
            break
        time.sleep(0.02)
    assert scan.poll() is None, "the scan ended before it could be interrupted"
    scan.send_signal(signal.SIGKILL)
    scan.wait(timeout=30)
    left = units_left(store, on_cluster, 1 << 20, min_piece=MIN_PIECE)  # the command's own pieces
    again = _scan(tmp_path, url, "--cluster", dask_processes.address, str(on_cluster))
    assert again.returncode == 1, again.stderr
    done = [line for line in again.stderr.splitlines() if line.startswith("cluster: ")][-1]
    submitted = int(done.split()[1].split("/")[1])
    total = len(planned_units(on_cluster, 1 << 20, min_piece=MIN_PIECE))
    assert 0 < submitted == left < total  # what was left, and only that
    assert findings(store, on_cluster) == findings(store, local)


def test_local_worker_processes(lake, tmp_path, db_url):
    store, _texts, local, on_cluster = lake
    alone = _scan(tmp_path, db_url, str(local))
    on_workers = _scan(tmp_path, db_url, "--workers", "2", str(on_cluster))
    assert on_workers.returncode == alone.returncode == 1, on_workers.stderr
    assert "scanning on 2 local worker processes, index shared" in on_workers.stderr
    assert _rows(on_workers.stdout, on_cluster) == _rows(alone.stdout, local)


def test_without_the_cluster_extra_one_line_names_it_and_exit_2(tmp_path, sqlite_url):
    hide = tmp_path / "hide"
    hide.mkdir()
    # what an install without aiaudit[cluster] looks like to Python: `import distributed` fails
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['distributed'] = None\n")
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "x"}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), PYTHONPATH=f"{hide}:{REPO}")
    done = subprocess.run([*aiaudit_command(), "--db", sqlite_url, "scan", "--workers", "2", str(data)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "aiaudit scan on a cluster needs Dask distributed: pip install 'aiaudit[cluster]'"]


def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path, sqlite_url):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "x"}\n')
    # Dask's own connect timeout, as a site would set it (30 s by default: the test need not wait it)
    os.environ["DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"] = "2s"
    try:
        started = time.monotonic()
        done = _scan(tmp_path, sqlite_url, "--cluster", f"tcp://127.0.0.1:{_free_port()}", str(data))
        waited = time.monotonic() - started
    finally:
        del os.environ["DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"]
    assert done.returncode == 2
    assert waited < 25  # the site's setting is the one used, not a fixed wait
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
