from __future__ import annotations

import gzip
import json
import os

from sqlalchemy import func
from sqlalchemy import select

from agent.scan.scan import Scanner
from agent.scan.walk import iter_files
from agent.store.models import DatasetFile
from agent.store.models import ReuseFinding
from tests.scan.conftest import add_outputs
from tests.scan.conftest import answer


def scan(store, output_index, *paths):
    errors = []
    results = list(Scanner(store, output_index, on_error=errors.append).scan_paths(list(paths)))
    return results, errors


def findings(store):
    with store.session() as s:
        return s.scalars(select(ReuseFinding).order_by(ReuseFinding.path, ReuseFinding.record)).all()


def test_reuse_is_found_with_its_evidence(tmp_path, captured):
    store, output_index, texts, call_ids = captured
    data = tmp_path / "data"
    data.mkdir()
    (data / "chat.jsonl").write_text("\n".join([
        json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": texts[2]}]}),
        json.dumps({"prompt": "x", "completion": "an unrelated sentence about the weather in spring"}),
        json.dumps({"text": texts[4] + " " + texts[7]}),
    ]) + "\n")
    results, errors = scan(store, output_index, data)
    assert errors == []
    [result] = results
    assert (result.state, result.records, result.new_findings) == ("scanned", 3, 2)
    rows = findings(store)
    assert [(r.record, r.call_ids) for r in rows] == [(1, [call_ids[2]]), (3, sorted([call_ids[4], call_ids[7]]))]
    first = rows[0]
    assert first.path == str(data / "chat.jsonl") and first.vendors == ["openai"] and first.teams == ["research"]
    assert first.output_coverage == 1.0 and first.matched_words >= 80 and first.source == "dataset"
    assert rows[1].reuse_class == "multiple"


def test_scanning_an_unchanged_file_again_adds_nothing(tmp_path, captured):
    store, output_index, texts, _ = captured
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"output": texts[0]}) + "\n")
    scan(store, output_index, path)
    results, _ = scan(store, output_index, path)
    assert results[0].state == "unchanged" and results[0].new_findings == 0
    assert len(results[0].findings) == 1  # still reported
    assert len(findings(store)) == 1


def test_new_outputs_make_unchanged_files_scanned_again(tmp_path, captured):
    store, output_index, _, _ = captured
    late = answer(999)
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"output": late}) + "\n")
    assert scan(store, output_index, path)[0][0].new_findings == 0
    add_outputs(store, [late], vendor="anthropic", team="support")
    [result], _ = scan(store, output_index, path)
    # checked against the new output through the file's sketch (issue 14), found all the same
    assert result.state == "checked" and result.new_findings == 1
    assert findings(store)[0].vendors == ["anthropic"]


def test_a_sketch_cut_by_another_tokeniser_is_not_used(tmp_path, captured, monkeypatch):
    """A sketch's 5-grams must be cut as the outputs' are: after a tokeniser change the file is
    read in full, not checked through the sketch it had."""
    from agent.scan import incremental
    store, output_index, _, _ = captured
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"output": answer(998)}) + "\n")
    monkeypatch.setattr(incremental, "TOKENISER", incremental.TOKENISER - 1)
    scan(store, output_index, path)
    monkeypatch.undo()
    add_outputs(store, [answer(998)])
    [result], _ = scan(store, output_index, path)
    assert result.state == "scanned" and result.new_findings == 1


def test_appended_jsonl_is_read_from_the_last_offset(tmp_path, captured):
    store, output_index, texts, _ = captured
    path = tmp_path / "grow.jsonl"
    path.write_text(json.dumps({"output": texts[0]}) + "\n")
    scan(store, output_index, path)
    with open(path, "a") as f:
        f.write(json.dumps({"output": texts[1]}) + "\n")
    [result], _ = scan(store, output_index, path)
    assert (result.state, result.records) == ("resumed", 1)
    assert [r.record for r in findings(store)] == [1, 2]


def test_truncated_file_is_read_again_from_the_start(tmp_path, captured):
    store, output_index, texts, _ = captured
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"output": texts[i]}) + "\n" for i in range(3)))
    scan(store, output_index, path)
    path.write_text(json.dumps({"output": texts[5]}) + "\n")  # truncated and rewritten
    [result], _ = scan(store, output_index, path)
    assert result.state == "scanned" and result.records == 1 and result.new_findings == 1


def test_bad_files_are_reported_and_do_not_stop_the_scan(tmp_path, captured):
    store, output_index, texts, _ = captured
    data = tmp_path / "data"
    data.mkdir()
    (data / "bad.jsonl").write_text('{"output": "x"}\n{broken\n' + json.dumps({"output": texts[3]}) + "\n")
    (data / "binary.jsonl").write_bytes(os.urandom(4096))
    (data / "empty.csv").write_text("")
    (data / "latin1.txt").write_bytes(texts[6].encode() + b" caf\xe9")
    unreadable = data / "secret.jsonl"
    unreadable.write_text("{}\n")
    unreadable.chmod(0)
    with gzip.open(data / "good.jsonl.gz", "wt") as f:
        f.write(json.dumps({"output": texts[8]}) + "\n")
    results, errors = scan(store, output_index, data)
    by_name = {os.path.basename(r.path): r for r in results}
    assert by_name["bad.jsonl"].bad_records == 1 and by_name["bad.jsonl"].new_findings == 1
    assert any(e.startswith(f"{data / 'bad.jsonl'}:2: ") for e in errors)
    assert by_name["good.jsonl.gz"].new_findings == 1
    assert by_name["latin1.txt"].new_findings == 1
    if os.geteuid() != 0:  # root reads anything
        assert by_name["secret.jsonl"].state == "error"
    assert all("\n" not in e for e in errors)


def test_tree_tricks_are_not_followed(tmp_path, captured):
    store, output_index, texts, _ = captured
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.jsonl").write_text(json.dumps({"output": texts[1]}) + "\n")
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "ok.jsonl").write_text(json.dumps({"output": texts[2]}) + "\n")
    (root / "sub" / "loop").symlink_to(root)  # a directory loop
    (root / "escape.jsonl").symlink_to(outside / "leak.jsonl")  # a link out of the root
    (root / "inside.jsonl").symlink_to(root / "sub" / "ok.jsonl")  # a link within: fine
    os.mkfifo(root / "fifo.jsonl")  # would block a naive reader forever
    files = sorted(p.name for p in iter_files(root))
    assert files == ["inside.jsonl", "ok.jsonl"]
    results, _ = scan(store, output_index, root)
    assert sum(r.new_findings for r in results) == 2
    assert all("outside" not in r.path for r in findings(store))


def test_dataset_state_survives_a_new_scanner(tmp_path, captured):
    store, output_index, texts, _ = captured
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"output": texts[0]}) + "\n")
    scan(store, output_index, path)
    with store.session() as s:
        state = s.scalars(select(DatasetFile)).one()
        assert state.records == 1 and state.state == "ok" and state.offset == path.stat().st_size
    from agent.reuse.outputs import SyncedOutputIndex

    fresh = SyncedOutputIndex(store, tmp_path / "index")  # a restart reuses the on-disk index
    [result], _ = scan(store, fresh, path)
    assert result.state == "unchanged"
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(ReuseFinding)) == 1


def test_files_deleted_since_the_last_scan_are_marked_gone_and_lose_their_sketches(tmp_path, captured):
    from agent.scan import sketch
    from agent.scan.incremental import sketch_dir

    store, output_index, texts, _ = captured
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    kept, deleted, nested = data / "kept.jsonl", data / "deleted.jsonl", data / "sub" / "nested.jsonl"
    for i, path in enumerate((kept, deleted, nested)):
        path.write_text(json.dumps({"output": texts[i]}) + "\n" + json.dumps({"output": answer(500 + i)}) + "\n")
    scan(store, output_index, data)
    sketches = {p: sketch.sketch_path(sketch_dir(output_index), str(p)) for p in (kept, deleted, nested)}
    assert all(s.exists() for s in sketches.values())

    deleted.unlink()
    (nested).unlink()
    (data / "sub").rmdir()
    results, errors = scan(store, output_index, data)
    assert errors == [] and [r.path for r in results] == [str(kept)]
    with store.session() as s:
        states = {r.path: r.state for r in s.scalars(select(DatasetFile))}
        assert states == {str(kept): "ok", str(deleted): "gone", str(nested): "gone"}
        assert s.scalar(select(func.count()).select_from(ReuseFinding)) == 3  # evidence stays
    assert [p for p, s in sketches.items() if s.exists()] == [kept]

    # a file that comes back is read again; a directory named by a watcher's delete event
    # marks what was under it
    nested.parent.mkdir()
    nested.write_text(json.dumps({"output": texts[2]}) + "\n")
    scan(store, output_index, data)
    nested.unlink()
    assert Scanner(store, output_index).forget(nested.parent) == 1
    assert Scanner(store, output_index).forget(nested.parent) == 0
    with store.session() as s:
        assert s.scalars(select(DatasetFile.state).where(DatasetFile.path == str(nested))).one() == "gone"
    assert not sketches[nested].exists()


def test_a_path_prefix_is_not_a_directory_and_like_wildcards_are_literal(tmp_path, captured):
    store, output_index, texts, _ = captured
    for name in ("data", "data2", "d_ta"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.jsonl").write_text(json.dumps({"output": texts[0]}) + "\n")
        scan(store, output_index, tmp_path / name)
    for name in ("data", "data2", "d_ta"):
        (tmp_path / name / "a.jsonl").unlink()
    assert Scanner(store, output_index).forget(tmp_path / "d_ta") == 1  # "_" would match "data/" in LIKE
    assert Scanner(store, output_index).forget(tmp_path / "data") == 1  # not data2/
    assert Scanner(store, output_index).forget(tmp_path / "data2") == 1


def test_a_store_failure_marking_deleted_files_is_one_counted_line_and_the_scan_goes_on(tmp_path, captured,
                                                                                        monkeypatch):
    store, output_index, texts, _ = captured
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.jsonl").write_text(json.dumps({"output": texts[0]}) + "\n")

    def failing(self, root, seen, exists=os.path.lexists):
        raise OSError(5, "disk I/O error")

    monkeypatch.setattr(Scanner, "forget_missing", failing)
    results, errors = scan(store, output_index, tmp_path / "a", tmp_path / "b")
    assert [(r.path, r.state) for r in results] == [
        (str(tmp_path / "a" / "x.jsonl"), "scanned"), (str(tmp_path / "a"), "error"),
        (str(tmp_path / "b" / "x.jsonl"), "scanned"), (str(tmp_path / "b"), "error")]
    assert len(errors) == 2 and errors[0].startswith(f"{tmp_path / 'a'}: files deleted since the last scan")
    assert "disk I/O error" in errors[0] and "Traceback" not in errors[0]
