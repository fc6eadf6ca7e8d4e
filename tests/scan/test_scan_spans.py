"""The scanner stores each finding's matched spans, and gives them back for an unchanged file."""

from __future__ import annotations

import json

from sqlalchemy import select

from agent.reuse.normalise import normalise
from agent.scan.scan import Scanner
from agent.store.models import ReuseFinding
from tests.scan.conftest import add_outputs
from tests.scan.conftest import answer


def test_stored_spans_point_at_the_reused_text(tmp_path, store):
    from agent.reuse.outputs import SyncedOutputIndex

    texts = [answer(100 + i) for i in range(3)]
    add_outputs(store, texts)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    intro = "Sure - here is the text you asked for:\n"
    data = tmp_path / "chat.jsonl"
    records = [
        {"messages": [{"role": "user", "content": "Summarise it"}, {"role": "assistant", "content": intro + texts[1]}]},
        {"prompt": "x", "completion": "an unrelated sentence about the weather in spring"},
        {"text": texts[0].upper() + "\n\n" + texts[2]},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    [result] = Scanner(store, output_index).scan_paths([data])
    assert result.new_findings == 2
    with store.session() as s:
        rows = s.scalars(select(ReuseFinding).order_by(ReuseFinding.record)).all()
        ids = {r.record: r.output_ids for r in rows}
        spans = {r.record: r.spans for r in rows}
    [chat] = spans[1]
    assert chat["field"] == "messages[1].content" and chat["outputs"] == ids[1]
    reply = records[0]["messages"][1]["content"]
    assert chat["start"] == len(intro) and normalise(reply[chat["start"]:chat["end"]]) == normalise(texts[1])
    first, second = spans[3]
    text = records[2]["text"]
    assert normalise(text[first["start"]:first["end"]]) == normalise(texts[0])
    assert normalise(text[second["start"]:second["end"]]) == normalise(texts[2])
    assert first["outputs"] != second["outputs"] and sorted(first["outputs"] + second["outputs"]) == ids[3]

    # an unchanged file is not read again: its findings, spans included, come from the store
    [again] = Scanner(store, output_index).scan_paths([data])
    assert again.state == "unchanged"
    assert [f["spans"] for f in again.findings] == [spans[1], spans[3]]
