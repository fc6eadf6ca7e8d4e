"""Delta Lake tables written by `deltalake`, read at their version through the scanner (issue 14)."""

from __future__ import annotations

import shutil

from agent.scan.scan import Scanner
from tests.scan.conftest import answer
from tests.scan.conftest import scanned

# ---- Delta Lake ---------------------------------------------------------------------------


def test_a_delta_table_is_read_at_its_version_and_findings_name_it(captured, tmp_path):
    import deltalake
    import pyarrow as pa

    store, output_index, texts, _ = captured
    table = tmp_path / "lake" / "events"
    first = [answer(700 + i) for i in range(20)]
    first[4] = texts[1]
    deltalake.write_deltalake(str(table), pa.table({"n": list(range(20)), "text": first}))
    results, _ = scanned(store, output_index, tmp_path / "lake")
    assert [(r.path, r.state) for r in results] == [(f"{table}@v0", "scanned")]
    assert [(f["path"], f["record"]) for f in results[0].findings] == [(f"{table}@v0", 5)]
    # the same version is not read again
    again, _ = scanned(store, output_index, tmp_path / "lake")
    assert [r.state for r in again] == ["unchanged"] and again[0].findings
    # an append is a new version, read again; its findings name version 1
    deltalake.write_deltalake(str(table), pa.table({"n": [20, 21], "text": ["short", texts[7]]}), mode="append")
    later, _ = scanned(store, output_index, table)
    assert [(r.path, r.state) for r in later] == [(f"{table}@v1", "scanned")]
    assert sorted(f["record"] for f in later[0].findings) == [5, 22]
    # a delete leaves dead data files behind: they are not read (the walk does not enter the table)
    deltalake.DeltaTable(str(table)).delete("n = 4")
    latest, _ = scanned(store, output_index, tmp_path / "lake")
    assert [(r.path, r.state) for r in latest] == [(f"{table}@v2", "scanned")]
    # the delete rewrote the first file, now the newest: in commit order it comes after the
    # appended one, and the finding names the row of version 2 that holds the text
    from agent.scan.formats.delta import read_table

    [number] = [f["record"] for f in latest[0].findings]
    rows = {r.number: dict(r.fields) for r in read_table(deltalake.DeltaTable(str(table)), "t")}
    assert rows[number]["text"] == texts[7] and len(rows) == 21

    # its versions' rows stay while the table is there; a deleted table is gone, every version
    from sqlalchemy import select

    from agent.store.models import DatasetFile

    def states():
        with store.session() as s:
            return sorted(s.execute(select(DatasetFile.path, DatasetFile.state)).all())

    assert [state for _, state in states()] == ["ok", "ok", "ok"]
    shutil.rmtree(table)
    scanned(store, output_index, tmp_path / "lake")
    assert states() == [(f"{table}@v{v}", "gone") for v in range(3)]


def test_a_file_event_inside_a_delta_table_reads_the_table(captured, tmp_path):
    """The watcher hands over a changed log or data file: the table is what is read."""
    import deltalake
    import pyarrow as pa

    store, output_index, texts, _ = captured
    table = tmp_path / "t"
    deltalake.write_deltalake(str(table), pa.table({"text": [texts[0]]}))
    log_file = next((table / "_delta_log").glob("*.json"))
    output_index.sync()  # as the watcher does before it hands files over
    result = Scanner(store, output_index, on_error=lambda line: None).scan_file(log_file, tmp_path)
    assert result.path == f"{table}@v0" and [f["record"] for f in result.findings] == [1]


def test_a_broken_delta_log_is_one_error_line(captured, tmp_path):
    store, output_index, _, _ = captured
    table = tmp_path / "lake" / "t"
    (table / "_delta_log").mkdir(parents=True)
    (table / "_delta_log" / "00000000000000000000.json").write_text("{not json\n")
    lines: list[str] = []
    results = list(Scanner(store, output_index, on_error=lines.append).scan_paths([tmp_path / "lake"]))
    assert [r.state for r in results] == ["error"]
    assert len(lines) == 1 and lines[0].startswith(f"{table}: ") and "Delta" in lines[0]
