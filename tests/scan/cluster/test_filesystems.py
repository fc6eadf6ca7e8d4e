"""A worker keeps one filesystem per scan: the same object for a scan's units, a new one for
another scan or once the scan's has gone unused (fsspec's real in-memory filesystem)."""

from __future__ import annotations

import pytest

from agent.scan.cluster import filesystems
from agent.scan.cluster.filesystems import IDLE_SECONDS
from agent.scan.cluster.filesystems import MAX_SCANS
from agent.scan.cluster.filesystems import scan_filesystem


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def empty():
    filesystems.forget_all()
    yield
    filesystems.forget_all()


def test_a_scans_units_share_one_filesystem_and_another_scan_gets_its_own():
    clock = Clock()
    fs, path = scan_filesystem("scan-a", "memory://bucket/d.jsonl", clock)
    fs.pipe(path, b'{"text": "x"}\n')
    again, other_path = scan_filesystem("scan-a", "memory://bucket/e.jsonl", clock)
    assert again is fs and other_path.endswith("bucket/e.jsonl")
    assert fs.cat(scan_filesystem("scan-a", "memory://bucket/d.jsonl", clock)[1]) == b'{"text": "x"}\n'
    assert scan_filesystem("scan-b", "memory://bucket/d.jsonl", clock)[0] is not fs
    assert scan_filesystem("", "memory://bucket/d.jsonl", clock)[0] is not fs  # no scan id: never kept


def test_a_scans_filesystem_is_dropped_once_unused_and_only_a_few_scans_are_kept():
    clock = Clock()
    fs, _ = scan_filesystem("scan-a", "memory://bucket/d.jsonl", clock)
    clock.now += IDLE_SECONDS / 2
    assert scan_filesystem("scan-a", "memory://bucket/d.jsonl", clock)[0] is fs  # used: kept longer
    clock.now += IDLE_SECONDS + 1
    assert scan_filesystem("scan-a", "memory://bucket/d.jsonl", clock)[0] is not fs
    kept = {f"scan-{i}": scan_filesystem(f"scan-{i}", "memory://b/x.jsonl", clock)[0] for i in range(MAX_SCANS + 2)}
    clock.now += 1
    assert scan_filesystem(f"scan-{MAX_SCANS + 1}", "memory://b/x.jsonl", clock)[0] is kept[f"scan-{MAX_SCANS + 1}"]
    assert scan_filesystem("scan-0", "memory://b/x.jsonl", clock)[0] is not kept["scan-0"]  # the oldest went


def test_a_url_no_backend_reads_is_the_open_filesystem_error():
    from agent.errors import UserError

    with pytest.raises(UserError, match="unsupported URL scheme"):
        scan_filesystem("scan-a", "nosuch://bucket/d.jsonl")
