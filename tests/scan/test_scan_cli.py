"""`aiaudit scan` as a user runs it (the installed console script, a subprocess): no file aborts
the scan, every file that could not be scanned is one `path: reason` line, counted, stored on its
row, and the exit code says 0 nothing found, 1 reuse found, 3 some file could not be scanned.
Matches of outputs under 40 words only (the short tier) are printed and stored, not reuse."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.reuse.shingles import K
from agent.store.engine import open_store
from agent.store.models import DatasetFile
from agent.store.models import Heartbeat
from agent.store.models import ReuseFinding
from tests.conftest import REPO
from tests.conftest import aiaudit_command
from tests.scan.conftest import add_outputs
from tests.scan.conftest import answer

DROP = "-dac_override,-dac_read_search"
UNPRIVILEGED = ["setpriv", f"--inh-caps={DROP}", f"--bounding-set={DROP}"]
# Loaded by the subprocess's interpreter at start-up (PYTHONPATH): makes the detector raise on
# records holding the marker, and a command's run() raise when AIAUDIT_TEST_FAULT names it.
# No real input is known to make the detector raise, so this is the only way to test that path.
FAULTS = '''
import importlib, os
from agent.reuse import matching

_layer = matching.ReuseDetector._shingle_layer

def _faulty(self, batch, found):
    if any("INJECTED-FAULT" in p for p in batch.paths):
        raise RuntimeError("injected detector fault")
    return _layer(self, batch, found)

matching.ReuseDetector._shingle_layer = _faulty
if os.environ.get("AIAUDIT_TEST_FAULT"):
    module = importlib.import_module(os.environ["AIAUDIT_TEST_FAULT"])
    def _broken(args):
        raise KeyError("injected fault in a command")
    module.run = _broken
'''


@pytest.fixture
def world():
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: no file can be made unreadable")
    """A store with captured outputs, and the fault injection the subprocess loads."""
    base = Path(tempfile.mkdtemp(prefix="aiaudit-scan-cli-"))
    url = f"sqlite:///{base / 'audit.db'}"
    store = open_store(url)
    texts = [answer(100 + i) for i in range(6)]
    add_outputs(store, texts)
    (base / "faults").mkdir()
    (base / "faults" / "sitecustomize.py").write_text(FAULTS)
    (base / "data").mkdir()
    yield base, url, store, texts
    store.dispose()
    shutil.rmtree(base, ignore_errors=True)


def run_scan(base: Path, url: str, *args: str, env: dict | None = None, unprivileged: bool = False):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}
    full_env.update(XDG_DATA_HOME=str(base / "xdg"), PYTHONPATH=f"{base / 'faults'}:{REPO}", **(env or {}))
    # root reads any file: permissions are honoured only once it lacks the override capabilities
    prefix = UNPRIVILEGED if unprivileged and os.geteuid() == 0 else []
    return subprocess.run([*prefix, *aiaudit_command(), "--db", url, *args], capture_output=True, text=True,
                          env=full_env, cwd=base, timeout=180)


def rows(store) -> dict[str, DatasetFile]:
    with store.session() as s:
        return {Path(r.path).name: r for r in s.scalars(select(DatasetFile))}


def found_in(store) -> set[str]:
    with store.session() as s:
        return {Path(p).name for p in s.scalars(select(ReuseFinding.path))}


def jsonl(path: Path, *texts: str) -> None:
    path.write_text("".join(json.dumps({"completion": t}) + "\n" for t in texts))


def test_every_kind_of_bad_file_is_reported_and_later_files_are_still_scanned(world):
    base, url, store, texts = world
    data = base / "data"
    words = texts[0].split()
    # the #10 crash: one paragraph sharing a single 5-gram with a captured output
    (data / "a-note.md").write_text(f"Notes from Tuesday: the team said {' '.join(words[20:20 + K])} "
                                    "and we moved on to the budget, which is unchanged.\n")
    (data / "b-corrupt.parquet").write_bytes(b"PAR1" + os.urandom(3000) + b"PAR1")
    unreadable = data / "c-unreadable.jsonl"
    jsonl(unreadable, texts[1])
    unreadable.chmod(0)
    jsonl(data / "d-reuse.jsonl", "an unrelated line of text", texts[2])
    jsonl(data / "e-clean.jsonl", answer(999))
    done = run_scan(base, url, "scan", str(data), "--format", "jsonl", unprivileged=True)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert any(line.startswith(f"{data / 'b-corrupt.parquet'}: ") and "Parquet" in line for line in lines)
    assert f"{unreadable}: permission denied" in [line.lower() for line in lines]
    assert "2 could not be scanned" in done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(Path(f["path"]).name, f["record"]) for f in printed] == [("d-reuse.jsonl", 2)]
    [span] = printed[0]["spans"]  # the whole completion is the output
    assert (span["field"], span["start"], span["end"]) == ("completion", 0, len(texts[2].rstrip(".")))
    state = rows(store)
    assert state["a-note.md"].state == "ok" and state["e-clean.jsonl"].state == "ok"
    assert state["b-corrupt.parquet"].state == "error" and "Parquet" in state["b-corrupt.parquet"].error
    assert state["c-unreadable.jsonl"].state == "error"
    assert state["c-unreadable.jsonl"].error.lower() == f"{unreadable}: permission denied"
    assert found_in(store) == {"d-reuse.jsonl"}


def test_a_detector_failure_costs_only_its_file_and_keeps_what_was_found(world):
    base, url, store, texts = world
    data = base / "data"
    # 100 reusing records, then one that makes the detector raise (in a later batch)
    (data / "a.jsonl").write_text("".join(json.dumps({"completion": texts[0], "n": n}) + "\n" for n in range(100))
                                  + json.dumps({"INJECTED-FAULT": "x " * 40}) + "\n")
    jsonl(data / "b.jsonl", texts[3])
    done = run_scan(base, url, "scan", str(data))
    assert done.returncode == 3, done.stderr
    fault = [line for line in done.stderr.splitlines() if line.startswith(f"{data / 'a.jsonl'}: ")]
    assert len(fault) == 1 and "internal error (RuntimeError: injected detector fault)" in fault[0]
    log = Path(fault[0].rsplit("traceback in ", 1)[1])
    assert log == base / "xdg" / "aiaudit" / "logs" / "errors.log"
    assert "Traceback" in log.read_text() and "injected detector fault" in log.read_text()
    assert "Traceback" not in done.stderr
    state = rows(store)
    assert state["a.jsonl"].state == "error" and "injected detector fault" in state["a.jsonl"].error
    assert state["a.jsonl"].index_generation == -1  # read again in full next time
    assert state["b.jsonl"].state == "ok"
    # the batches matched before the failing one are kept; the next file is scanned
    with store.session() as s:
        kept = len(s.scalars(select(ReuseFinding.id).where(ReuseFinding.path == str(data / "a.jsonl"))).all())
    assert 0 < kept < 100
    assert "b.jsonl" in found_in(store)
    again = run_scan(base, url, "scan", str(data))
    assert again.returncode == 3 and any(line.startswith(f"{data / 'a.jsonl'}: ") for line in again.stderr.splitlines())


def test_exit_codes_nothing_found_and_reuse_found(world):
    base, url, store, texts = world
    data = base / "data"
    jsonl(data / "clean.jsonl", answer(1234), answer(1235))
    clean = run_scan(base, url, "scan", str(data))
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stderr
    jsonl(data / "reuse.jsonl", texts[4])
    found = run_scan(base, url, "scan", str(data))
    assert found.returncode == 1, found.stderr
    assert "reuse.jsonl:1" in found.stdout


def test_matches_of_short_outputs_only_are_reported_but_are_not_reuse(world):
    base, url, store, texts = world
    brief = "The capital of Australia is Canberra, not Sydney, since the federation compromise of 1908."
    add_outputs(store, [brief])
    data = base / "data"
    jsonl(data / "quiz.jsonl", brief)
    short_only = run_scan(base, url, "scan", "--format", "jsonl", str(data))
    assert short_only.returncode == 0, short_only.stderr
    (row,) = [json.loads(line) for line in short_only.stdout.splitlines()]
    assert (row["tier"], row["record"]) == ("short", 1)
    assert "1 more match only outputs under 40 words" in short_only.stderr
    assert "reusing outputs  0 records" in short_only.stderr

    jsonl(data / "reuse.jsonl", texts[2])
    both = run_scan(base, url, "scan", str(data))
    assert both.returncode == 1, both.stderr
    assert "reusing outputs  1 records" in both.stderr and "1 more match only" in both.stderr


def test_a_directory_that_cannot_be_listed_is_reported(world):
    base, url, store, texts = world
    data = base / "data"
    (data / "closed").mkdir()
    jsonl(data / "closed" / "inside.jsonl", texts[0])
    (data / "closed").chmod(0)
    jsonl(data / "open.jsonl", texts[5])
    done = run_scan(base, url, "scan", str(data), unprivileged=True)
    assert done.returncode == 3, done.stderr
    assert any(line.startswith(f"{data / 'closed'}: cannot list") for line in done.stderr.splitlines())
    assert found_in(store) == {"open.jsonl"}


@pytest.mark.parametrize("command", [("status",), ("export", "calls"), ("evaluate",), ("scan", "data")])
def test_an_unexpected_exception_in_any_command_exits_3_in_one_line(world, command):
    base, url, _, _ = world
    module = f"agent.commands.{command[0]}"
    done = run_scan(base, url, *command, env={"AIAUDIT_TEST_FAULT": module})
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("aiaudit: internal error (KeyError: 'injected fault in a command'); traceback in ")
    log = Path(lines[0].rsplit("traceback in ", 1)[1])
    assert f"aiaudit {command[0]}" in log.read_text() and "Traceback" in log.read_text()


def test_watch_reports_a_failing_file_and_goes_on_watching(world):
    base, url, store, texts = world
    data = base / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIAUDIT_")}
    env.update(XDG_DATA_HOME=str(base / "xdg"), PYTHONPATH=f"{base / 'faults'}:{REPO}")
    config = base / "aiaudit.yaml"
    config.write_text("scanner:\n  quiet_seconds: 1\n  rescan_seconds: 3600\n")
    watcher = subprocess.Popen([*aiaudit_command(), "--config", str(config), "--db", url, "watch", str(data)],
                               env=env, cwd=base, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not watching(store) and time.monotonic() < deadline and watcher.poll() is None:
            time.sleep(0.2)
        (data / "a.jsonl").write_text(json.dumps({"INJECTED-FAULT": "x " * 40}) + "\n")
        time.sleep(1.5)
        jsonl(data / "b.jsonl", texts[3])
        while time.monotonic() < deadline and "b.jsonl" not in found_in(store):
            assert watcher.poll() is None, watcher.stderr.read()
            time.sleep(0.3)
        state = rows(store)
        assert state["a.jsonl"].state == "error" and "injected detector fault" in state["a.jsonl"].error
        assert "b.jsonl" in found_in(store)
    finally:
        watcher.terminate()
        _, stderr = watcher.communicate(timeout=30)
    assert watcher.returncode == 0
    assert "Traceback" not in stderr
    assert any(line.startswith(f"{data / 'a.jsonl'}: internal error (RuntimeError") for line in stderr.splitlines())


def watching(store) -> bool:
    """The watcher is up once it wrote its first heartbeat (after its first rescan)."""
    with store.session() as s:
        return s.scalar(select(Heartbeat.component).where(Heartbeat.component == "watch")) is not None


def test_a_named_file_that_cannot_be_scanned_is_not_nothing_found(world):
    base, url, _, texts = world
    data = base / "data"
    (data / "notes.docx").write_bytes(b"PK\x03\x04 not a dataset")
    jsonl(data / "ok.jsonl", answer(4321))
    done = run_scan(base, url, "scan", str(data / "notes.docx"), str(data / "ok.jsonl"))
    assert done.returncode == 3, done.stderr
    assert any(line.startswith(f"{data / 'notes.docx'}: unsupported file type") for line in done.stderr.splitlines())
    assert "1 could not be scanned" in done.stderr
