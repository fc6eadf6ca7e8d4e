"""The output index belongs to its store: another store, a restored backup or a prune never
gets a stale index; it is rebuilt, and one log line says why."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy import update

from agent.reuse import fingerprint
from agent.reuse.index import OutputIndex
from agent.reuse.outputs import SyncedOutputIndex
from agent.reuse.outputs import default_index_dir
from agent.scan.scan import Scanner
from agent.store.engine import open_store
from agent.store.identity import read_identity
from agent.store.models import Call
from agent.store.models import Output
from agent.store.models import StoreIdentity
from agent.store.prune import prune
from tests.scan.conftest import add_outputs
from tests.scan.conftest import answer


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def found(store, output_index, data: Path) -> dict[str, set[str]]:
    """call ids found per file name (a fresh scanner, as each command run makes)."""
    result: dict[str, set[str]] = {}
    for r in Scanner(store, output_index, on_error=lambda line: None).scan_paths([data]):
        for row in r.findings:
            result.setdefault(Path(row["path"]).name, set()).update(row["call_ids"])
    return result


def write(data: Path, name: str, texts: list[str]) -> None:
    data.mkdir(exist_ok=True)
    (data / name).write_text("".join(json.dumps({"completion": t}) + "\n" for t in texts))


def test_each_store_has_an_identity_from_its_schema(tmp_path):
    one, two = open_store(f"sqlite:///{tmp_path / 'a.db'}"), open_store(f"sqlite:///{tmp_path / 'b.db'}")
    assert read_identity(one).store_id != read_identity(two).store_id
    assert read_identity(one) == read_identity(open_store(f"sqlite:///{tmp_path / 'a.db'}"))
    assert read_identity(one).removal_epoch == 0


def test_two_databases_used_alternately_with_default_settings(tmp_path, run_cli):
    """The #10 case, as a user runs it: `aiaudit --db A scan`, then `--db B`, then A again."""
    texts_a, texts_b = [answer(10 + i) for i in range(4)], [answer(50 + i) for i in range(3)]
    urls = {}
    calls = {}
    for name, texts in (("a", texts_a), ("b", texts_b)):
        urls[name] = f"sqlite:///{tmp_path / (name + '.db')}"
        store = open_store(urls[name])
        calls[name] = add_outputs(store, texts)  # both stores number their outputs from 1
        store.dispose()
    data = tmp_path / "data"
    write(data, "mixed.jsonl", texts_a + texts_b)
    for name in ("a", "b", "a", "b"):
        done = run_cli("--db", urls[name], "scan", str(data), "--format", "jsonl")
        assert done.returncode == 1, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        reported = {c for row in rows for c in row["call_ids"]}
        assert reported == set(calls[name]), f"store {name}: scan reported other calls"
        first = len(texts_a) + 1 if name == "b" else 1
        assert sorted(row["record"] for row in rows) == list(range(first, first + len(calls[name])))
    # each store has its own default index directory
    ids = {name: read_identity(open_store(url)).store_id for name, url in urls.items()}
    for name in ids:
        assert OutputIndex.open(default_index_dir(ids[name])).binding["store"]["store_id"] == ids[name]


def test_an_index_from_another_store_is_rebuilt_even_in_a_shared_directory(tmp_path, caplog):
    shared = tmp_path / "index"
    a, b = open_store(f"sqlite:///{tmp_path / 'a.db'}"), open_store(f"sqlite:///{tmp_path / 'b.db'}")
    texts_a, texts_b = [answer(1), answer(2)], [answer(3), answer(4)]
    add_outputs(a, texts_a)
    calls_b = add_outputs(b, texts_b)
    data = tmp_path / "data"
    write(data, "b.jsonl", texts_b)
    write(data, "a.jsonl", texts_a)
    output_index_a = SyncedOutputIndex(a, shared)
    assert set(found(a, output_index_a, data)) == {"a.jsonl"}
    with caplog.at_level(logging.WARNING, logger="agent.reuse.outputs"):
        output_index_b = SyncedOutputIndex(b, shared)
        assert found(b, output_index_b, data) == {"b.jsonl": set(calls_b)}
    assert [r.message for r in caplog.records if "rebuilding" in r.message] == [
        f"aiaudit: rebuilding the output index in {shared}: it was built from store "
        f"{read_identity(a).store_id}, not this one ({read_identity(b).store_id})"]


def test_a_restored_backup_never_uses_the_index_of_its_lost_future(tmp_path, caplog):
    """Copy the SQLite file, capture more, restore the copy, capture other outputs: they get
    the ids the lost ones had."""
    path = tmp_path / "audit.db"
    store = open_store(f"sqlite:///{path}")
    add_outputs(store, [answer(i) for i in range(3)])
    data = tmp_path / "data"
    write(data, "old.jsonl", [answer(0)])
    assert "old.jsonl" in found(store, SyncedOutputIndex(store), data)
    store.dispose()
    shutil.copy(path, tmp_path / "backup.db")
    store = open_store(f"sqlite:///{path}")
    lost = [answer(100 + i) for i in range(3)]  # ids 4-6, lost with the restore
    add_outputs(store, lost)
    write(data, "lost.jsonl", lost)
    assert "lost.jsonl" in found(store, SyncedOutputIndex(store), data)
    store.dispose()
    shutil.copy(tmp_path / "backup.db", path)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = open_store(f"sqlite:///{path}")
    with caplog.at_level(logging.WARNING, logger="agent.reuse.outputs"):
        # right after the restore: the index holds ids the store no longer has
        assert "lost.jsonl" not in found(store, SyncedOutputIndex(store), data)
        after = [answer(200 + i) for i in range(2)]  # ids 4 and 5 again, for other outputs
        new_calls = add_outputs(store, after)
        write(data, "after.jsonl", after)
        result = found(store, SyncedOutputIndex(store), data)
    assert "lost.jsonl" not in result  # its outputs are not in this store: no false attribution
    assert result["after.jsonl"] == set(new_calls)
    assert "old.jsonl" in result
    assert any("no longer has" in r.message and "restored backup" in r.message for r in caplog.records)


def test_an_index_built_before_a_prune_is_rebuilt(tmp_path, caplog, store):
    old_calls = add_outputs(store, [answer(1)])
    kept_calls = add_outputs(store, [answer(2)])
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    with store.write_session() as s:
        s.execute(update(Call).where(Call.id.in_(old_calls)).values(ts=long_ago))
        s.execute(update(Output).where(Output.call_id.in_(old_calls)).values(ts=long_ago))
    output_index = SyncedOutputIndex(store)
    output_index.sync()
    assert len(output_index.index) == 2
    epoch = read_identity(store).removal_epoch
    assert prune(store, raw_text_days=0, metadata_days=30).deleted["outputs"] == 1
    assert read_identity(store).removal_epoch == epoch + 1
    with caplog.at_level(logging.WARNING, logger="agent.reuse.outputs"):
        output_index.sync()  # the same output_index, as a running watcher holds it
    assert len(output_index.index) == 1 and output_index.rebuilds == 1
    assert any("prune" in r.message for r in caplog.records)
    data = tmp_path / "data"
    write(data, "d.jsonl", [answer(1), answer(2)])
    assert found(store, output_index, data) == {"d.jsonl": set(kept_calls)}


def test_an_index_without_a_store_binding_is_rebuilt(tmp_path, caplog):
    """An index made before bindings existed (or by hand) is not trusted."""
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    calls = add_outputs(store, [answer(7)])
    legacy = OutputIndex.open(tmp_path / "index")
    legacy.add([(1, fingerprint(answer(8)))])  # id 1 here is some other text
    with caplog.at_level(logging.WARNING, logger="agent.reuse.outputs"):
        output_index = SyncedOutputIndex(store, tmp_path / "index")
        data = tmp_path / "data"
        write(data, "d.jsonl", [answer(8), answer(7)])
        assert found(store, output_index, data) == {"d.jsonl": set(calls)}
    assert any("records no store" in r.message for r in caplog.records)


def test_a_lost_identity_row_is_made_again(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    before = read_identity(store).store_id
    with store.write_session() as s:
        s.execute(StoreIdentity.__table__.delete())
    after = read_identity(store)
    assert after.store_id != before and read_identity(store) == after
    with store.session() as s:
        assert s.scalar(select(StoreIdentity.store_id)) == after.store_id


def test_outputs_removed_with_their_call_also_move_the_epoch(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    old_calls = add_outputs(store, [answer(3)])
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    with store.write_session() as s:  # the call is old, its output is stamped now
        s.execute(update(Call).where(Call.id.in_(old_calls)).values(ts=long_ago))
    epoch = read_identity(store).removal_epoch
    report = prune(store, raw_text_days=0, metadata_days=30)
    assert report.deleted["outputs"] == 0 and report.deleted["calls"] == 1
    with store.session() as s:
        assert s.scalar(select(Output.id)) is None  # gone with its call
    assert read_identity(store).removal_epoch == epoch + 1
    add_outputs(store, [answer(4)])
    before = read_identity(store).removal_epoch
    prune(store, raw_text_days=0, metadata_days=30)  # nothing old: nothing removed, no new epoch
    assert read_identity(store).removal_epoch == before


@pytest.mark.postgres
def test_a_postgres_database_recreated_under_the_same_url_gets_a_new_index(tmp_path, pg_url, caplog):
    from tests.conftest import reset_postgres

    store = open_store(pg_url)
    add_outputs(store, [answer(i) for i in range(3)])
    data = tmp_path / "data"
    write(data, "first.jsonl", [answer(0)])
    shared = tmp_path / "index"
    assert "first.jsonl" in found(store, SyncedOutputIndex(store, shared), data)
    first_id = read_identity(store).store_id
    store.dispose()
    reset_postgres(pg_url)  # DROP SCHEMA: the same URL, another store
    store = open_store(pg_url)
    assert read_identity(store).store_id != first_id
    calls = add_outputs(store, [answer(300), answer(301)])  # ids 1 and 2 again
    write(data, "second.jsonl", [answer(300), answer(301)])
    with caplog.at_level(logging.WARNING, logger="agent.reuse.outputs"):
        result = found(store, SyncedOutputIndex(store, shared), data)
    assert result == {"second.jsonl": set(calls)}
    assert any(f"built from store {first_id}" in r.message for r in caplog.records)
    store.dispose()
