"""The dataset walk treats the tree as untrusted: links out of the root, devices and FIFOs, swap
files and unlistable directories never reach a reader, the order is stable, and a Delta table is
one entry."""

from __future__ import annotations

import os
from pathlib import Path

from agent.scan.walk import iter_files
from agent.scan.walk import regular_file
from agent.scan.walk import supported


def test_only_supported_names_are_read():
    for name in ("a.jsonl", "b.csv", "c.jsonl.gz", "d.parquet", "e.JSON"):
        assert supported(Path(name)), name
    for name in (".hidden.jsonl", "a.jsonl.swp", "a.jsonl~", ".#a.jsonl", "a.exe", "a.jsonl.part"):
        assert not supported(Path(name)), name


def test_the_walk_is_sorted_and_skips_what_it_must(tmp_path):
    root = tmp_path / "root"
    (root / "b").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "x.jsonl").write_text("{}\n")
    (root / "b" / "z.jsonl").write_text("{}\n")
    (root / "a.csv").write_text("x\n1\n")
    (root / "notes.swp").write_text("")
    outside = tmp_path / "secret.jsonl"
    outside.write_text("{}\n")
    (root / "escape.jsonl").symlink_to(outside)
    (root / "loop").symlink_to(root)
    os.mkfifo(root / "pipe.jsonl")
    (root / "table" / "_delta_log").mkdir(parents=True)
    (root / "table" / "part-0.parquet").write_bytes(b"")
    found = [p.relative_to(root).as_posix() for p in iter_files(root)]
    assert found == ["a.csv", "table", "b/z.jsonl"]
    assert regular_file(root / "escape.jsonl", root) == "symbolic link leading out of the watched directory"
    assert regular_file(root / "pipe.jsonl", root) == "not a regular file"
    assert regular_file(root / "a.csv", root) is None


def test_a_directory_that_cannot_be_listed_is_named(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.jsonl").write_text("{}\n")
    real_scandir = os.scandir

    def scandir(path):  # what a directory without read permission gives a non-root user
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    unlisted: list[str] = []
    assert list(iter_files(tmp_path, unlisted)) == []
    assert unlisted == [f"{locked}: cannot list the directory (Permission denied)"]
