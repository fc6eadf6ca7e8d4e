"""Retention: raw text and metadata expire separately; the evidence chain still verifies."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func
from sqlalchemy import select

from agent.ids import new_id
from agent.reuse import fingerprint
from agent.store import prune as prune_module
from agent.store.chain import append
from agent.store.chain import verify
from agent.store.models import Call
from agent.store.models import Evidence
from agent.store.models import Finding
from agent.store.models import Output
from agent.store.models import ReuseFinding
from agent.store.prune import prune

NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.timezone.utc)


def seed(store, days_ago: int, n: int) -> list[str]:
    ts = NOW - dt.timedelta(days=days_ago)
    ids = []
    with store.write_session() as s:
        for i in range(n):
            text = f"generated answer number {i} from {days_ago} days ago about harbours and tides"
            call = Call(id=new_id(ts.timestamp()), ts=ts, vendor="openai", host="api.openai.com",
                        endpoint="chat.completions", team="research", outputs=1, output_chars=len(text),
                        output_text=text)
            s.add(call)
            s.flush()
            fp = fingerprint(text)
            s.add(Output(call_id=call.id, idx=0, ts=ts, word_count=fp.word_count, char_count=len(text),
                         exact_hash=fp.exact, fingerprint=fp.to_blob(), text=text))
            ids.append(call.id)
        s.add(ReuseFinding(id=new_id(), found_at=ts, path=f"/d/{days_ago}.jsonl", record=1, record_sha256="a" * 64,
                           call_ids=ids[:1], output_ids=[], vendors=["openai"], teams=["research"],
                           output_coverage=1.0, record_coverage=1.0, matched_words=12))
        finding = Finding(id=new_id(), dedupe_key=f"{days_ago:064d}", rule_id="r", rule_name="r", title="t",
                          level="high", severity="high", score=50.0, team="research", vendor="openai", group_key={},
                          window_start=ts, window_end=ts, count=n, value=None, created_at=ts)
        evidence = Evidence(id=new_id(), finding_id=finding.id, kind="call", ref=ids[0], detail={}, created_at=ts)
        append(s, [("findings", finding), ("evidence", evidence)], now=ts)
    return ids


def count(store, model, *where) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_raw_text_and_metadata_expire_separately(store, monkeypatch):
    monkeypatch.setattr(prune_module, "BATCH", 7)  # several batches
    old = seed(store, 500, 20)
    middle = seed(store, 60, 20)
    recent = seed(store, 1, 20)
    report = prune(store, raw_text_days=30, metadata_days=400, now=NOW)
    assert count(store, Call) == 40 and count(store, Call, Call.id.in_(old)) == 0
    assert count(store, Output) == 40
    with store.session() as s:
        texts = dict(s.execute(select(Call.id, Call.output_text)).all())
    assert all(texts[i] is None for i in middle) and all(texts[i] for i in recent)
    assert count(store, Output, Output.text.is_not(None)) == 20  # fingerprints stay, text goes
    assert count(store, ReuseFinding) == 2 and count(store, Finding) == 2 and count(store, Evidence) == 2
    assert report.deleted["calls"] == 20 and report.text_cleared_calls == 20
    assert report.chain_checkpoint > 0
    result = verify(store)
    assert result.ok, result.first_break


def test_zero_keeps_everything(store):
    seed(store, 900, 3)
    prune(store, raw_text_days=0, metadata_days=0, now=NOW)
    assert count(store, Call, Call.output_text.is_not(None)) == 3 and count(store, Finding) == 1


def test_prune_command_reports_what_it_did(run_cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database_url: {url}\nretention:\n  raw_text_days: 7\n  metadata_days: 0\n")
    result = run_cli("--config", str(cfg), "prune")
    assert result.returncode == 0, result.stderr
    assert "raw text cleared: 0 calls, 0 outputs (older than 7 days)" in result.stdout
    assert "metadata deleted: nothing (older than never days)" in result.stdout
