"""Hugging Face datasets saved by `datasets.save_to_disk` (Arrow files), read row by row
(agent/scan/formats/arrow.py over rows.py; issue 14)."""

from __future__ import annotations

import pytest

from agent.scan.readers import Record
from agent.scan.readers import read_records
from tests.scan.conftest import answer
from tests.scan.conftest import scanned
from tests.support.client_side import client_side


@client_side
def save_dataset(path, columns):
    """`datasets.Dataset.from_dict(columns).save_to_disk(path)`, run where `datasets` is installed
    (the clients' venv: its fsspec range is not the product's); returns the files it wrote."""
    import os

    import datasets

    datasets.Dataset.from_dict(columns).save_to_disk(path)
    return sorted(os.listdir(path))


# ---- Hugging Face datasets ----------------------------------------------------------------


def test_a_dataset_saved_by_datasets_is_read_row_by_row(captured, tmp_path):
    store, output_index, texts, _ = captured
    rows = [answer(500 + i) for i in range(40)]
    rows[17] = f"Summary: {texts[2]}"
    rows[33] = texts[5]
    written = save_dataset(tmp_path / "hf", {"id": list(range(40)), "text": rows,
                                             "chat": [[{"role": "assistant", "content": r}] for r in rows]})
    assert "dataset_info.json" in written and "state.json" in written
    arrow_files = sorted((tmp_path / "hf").glob("*.arrow"))
    assert arrow_files, "save_to_disk wrote no .arrow file"
    results, found = scanned(store, output_index, tmp_path / "hf")
    assert found == [(arrow_files[0].name, 18), (arrow_files[0].name, 34)]
    assert not [r for r in results if r.state == "error"]
    # the same rows in the arrow file read as Records numbered 1.. with the text columns' fields
    records = [i for i in read_records(arrow_files[0]) if isinstance(i, Record)]
    assert [r.number for r in records] == list(range(1, 41))
    assert ("text", rows[17]) in records[17].fields and ("chat[0].content", rows[17]) in [
        (str(k), v) for k, v in records[17].fields]


def test_a_truncated_arrow_file_is_a_file_error_not_a_crash(tmp_path):
    save_dataset(tmp_path / "hf", {"text": [answer(i) for i in range(200)]})
    arrow = next((tmp_path / "hf").glob("*.arrow"))
    arrow.write_bytes(arrow.read_bytes()[:3000])
    with pytest.raises(Exception) as raised:
        list(read_records(arrow))
    assert str(raised.value).startswith(f"{arrow}: ") and "Arrow" in str(raised.value)
