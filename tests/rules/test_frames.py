"""Reuse findings as rule events: one row per (finding, team, vendor) of the reused calls, the
upload call attached, and a finding whose calls were pruned kept under its own team and vendor."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from rules.engine.frames import prepare_reuse

T0 = dt.datetime(2026, 11, 18, 9, tzinfo=dt.timezone.utc)
CALLS = pd.DataFrame([
    {"id": "a1", "team": "ml", "vendor": "anthropic", "model": "claude", "endpoint": "messages", "upload_purpose": None},
    {"id": "o1", "team": "search", "vendor": "openai", "model": "gpt-4o", "endpoint": "chat", "upload_purpose": None},
    {"id": "u1", "team": "ml", "vendor": "openai", "model": None, "endpoint": "files", "upload_purpose": "fine-tune"},
])


def reuse(id_, call_ids, **more):
    return {"id": id_, "found_at": T0, "source": "upload", "path": "p", "record": 1, "call_ids": call_ids,
            "teams": more.pop("teams", []), "vendors": more.pop("vendors", []), "upload_call_id": "u1", **more}


def test_one_row_per_team_and_vendor_with_the_upload_attached():
    frame = prepare_reuse(pd.DataFrame([reuse("r1", ["a1", "o1"])]), CALLS)
    rows = frame.sort_values("vendor").to_dict("records")
    assert [(r["team"], r["vendor"], r["call_ids"]) for r in rows] == [("ml", "anthropic", ["a1"]),
                                                                       ("search", "openai", ["o1"])]
    assert all(r["upload_vendor"] == "openai" and r["upload_purpose"] == "fine-tune" for r in rows)
    assert all(r["reused_calls"] == 1 and r["ts"] == T0 for r in rows)


def test_a_finding_whose_calls_were_pruned_keeps_its_own_team_and_vendor():
    frame = prepare_reuse(pd.DataFrame([reuse("r2", ["gone"], teams=["legal"], vendors=["mistral"])]), CALLS)
    [row] = frame.to_dict("records")
    assert (row["team"], row["vendor"], row["call_ids"]) == ("legal", "mistral", ["gone"])


def test_no_reuse_findings_give_an_empty_frame_with_the_fields():
    frame = prepare_reuse(pd.DataFrame(), CALLS)
    assert frame.empty and {"team", "vendor", "upload_vendor", "call_ids"} <= set(frame.columns)
