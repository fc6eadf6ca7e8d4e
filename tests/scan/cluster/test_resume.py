"""Marks of recorded units, in a real store (SQLite and PostgreSQL): counted only for the same
file and index state, written once per unit, dropped with the file."""

from __future__ import annotations

import os

from agent.scan.cluster import resume


def _stat(tmp_path, text="x" * 100):
    path = tmp_path / "f.jsonl"
    path.write_text(text)
    return str(path), os.stat(path)


def _mark(store, path, st, head, version, done):
    with store.write_session() as s:
        resume.mark(s, store.dialect, path, st, head, version, done)


def test_marks_count_for_the_same_file_and_index_only(store, tmp_path):
    path, st = _stat(tmp_path)
    done = resume.DoneUnit("bytes:0-50", lines=3, records=3, bad_records=0, max_record=3, max_end=50)
    _mark(store, path, st, "h" * 64, 7, done)
    assert resume.recorded(store, path, st, "h" * 64, 7) == {"bytes:0-50": done}
    assert resume.recorded(store, path, st, "h" * 64, 8) == {}  # outputs captured since: redo
    assert resume.recorded(store, path, st, "g" * 64, 7) == {}  # other first bytes: another file
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert resume.recorded(store, path, os.stat(path), "h" * 64, 7) == {}


def test_marking_a_unit_again_replaces_its_mark(store, tmp_path):
    path, st = _stat(tmp_path)
    _mark(store, path, st, "h" * 64, 1, resume.DoneUnit("file", 1, 1, 0, 1, 10))
    again = resume.DoneUnit("file", 2, 2, 1, 2, 20)
    _mark(store, path, st, "h" * 64, 2, again)
    assert resume.recorded(store, path, st, "h" * 64, 2) == {"file": again}
    assert resume.recorded(store, path, st, "h" * 64, 1) == {}


def test_clear_drops_only_that_files_marks(store, tmp_path):
    path, st = _stat(tmp_path)
    other = str(tmp_path / "other.jsonl")
    for name in (path, other):
        _mark(store, name, st, "h" * 64, 1, resume.DoneUnit("rows:0", 0, 5, 0, 5, 0))
    with store.write_session() as s:
        resume.clear(s, path)
    assert resume.recorded(store, path, st, "h" * 64, 1) == {}
    assert list(resume.recorded(store, other, st, "h" * 64, 1)) == ["rows:0"]
