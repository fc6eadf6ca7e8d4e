"""The cluster progress line: tasks, records, MB and MB/s; redrawn on a terminal, else sparse lines."""

from __future__ import annotations

import io

from agent.scan.cluster import progress as progress_module
from agent.scan.cluster.progress import ClusterProgress
from agent.scan.cluster.run import ClusterProgressState


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_now_and_then_and_a_last_one(monkeypatch):
    out = io.StringIO()
    progress = ClusterProgress(out)
    state = ClusterProgressState(tasks_total=40, tasks_done=0)
    for done in range(1, 41):
        state.tasks_done, state.records, state.bytes = done, done * 1000, done * 2_000_000
        progress.update(state)
    progress.update(state, force=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the first update, and the forced last one (30 s did not pass)
    assert lines[-1].startswith("cluster: 40/40 tasks, 40000 records, 80.0 MB, ")
    assert lines[-1].endswith(" MB/s")
    monkeypatch.setattr(progress_module, "PLAIN_EVERY", 0.0)
    progress.update(state)
    assert len(out.getvalue().splitlines()) == 3


def test_a_terminal_gets_one_line_redrawn_and_cleared():
    out = Terminal()
    progress = ClusterProgress(out)
    progress.update(ClusterProgressState(tasks_total=2, tasks_done=1, records=5, bytes=0), force=True)
    progress.clear()
    assert out.getvalue().startswith("\r\x1b[Kcluster: 1/2 tasks, 5 records, 0.0 MB, ")
    assert out.getvalue().endswith("\r\x1b[K") and "\n" not in out.getvalue()
