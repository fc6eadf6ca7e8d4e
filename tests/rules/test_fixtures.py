"""Rule fixtures: entries repeat with `{i}` and a time step, store defaults are filled in, reuse
findings take teams and vendors from the calls they name, and a bad fixture names its line."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.engine.fixtures import complete
from rules.engine.fixtures import expand_entries
from rules.engine.fixtures import load_fixture
from rules.engine.model import RuleError

T0 = dt.datetime(2026, 11, 18, 9, tzinfo=dt.timezone.utc)


@given(st.integers(1, 30), st.sampled_from(["1s", "5m", "2h"]))
def test_a_repeated_entry_numbers_its_ids_and_steps_its_time(repeat, every):
    rows = expand_entries([{"id": "c{i}", "ts": "2026-11-18T09:00:00Z", "repeat": repeat, "every": every}], "calls", None)
    step = {"1s": 1, "5m": 300, "2h": 7200}[every]
    assert [r["id"] for r in rows] == [f"c{i}" for i in range(repeat)]
    assert [r["ts"] for r in rows] == [T0 + dt.timedelta(seconds=step * i) for i in range(repeat)]


def test_defaults_are_filled_and_reuse_takes_its_calls_team_and_vendor():
    records = complete({"calls": [{"id": "a", "team": "ml", "vendor": "anthropic", "ts": T0}],
                        "outputs": [{"call_id": "a"}],
                        "reuse_findings": [{"path": "/d.jsonl", "call_ids": ["a", "pruned"]}]})
    [call], [output], [reuse] = records["calls"], records["outputs"], records["reuse_findings"]
    assert call["id"] == "a" and output["id"] == 1 and output["ts"] == T0 and len(output["exact_hash"]) == 16
    assert (reuse["teams"], reuse["vendors"], reuse["record"]) == (["ml"], ["anthropic"], 1)
    assert len(reuse["record_sha256"]) == 64


def test_a_bad_fixture_names_its_file_and_line(tmp_path):
    path = tmp_path / "f.yml"
    path.write_text("since: 2026-11-18T00:00:00Z\nuntil: 2026-11-19T00:00:00Z\nsurprise: 1\n")
    with pytest.raises(RuleError, match=r"f.yml:3: unknown field 'surprise' in fixture"):
        load_fixture(path)
    path.write_text("since: 2026-11-18T00:00:00Z\ncalls:\n  - ts: 2026-11-18T00:00:00Z\n    every: often\n")
    with pytest.raises(RuleError, match="fixture needs 'until'"):
        load_fixture(path)
    path.write_text("since: 2026-11-18T00:00:00Z\nuntil: 2026-11-19T00:00:00Z\ncalls:\n  - ts: 2026-11-18T00:00:00Z\n"
                    "    every: often\n")
    with pytest.raises(RuleError, match="invalid 'every' 'often'"):
        load_fixture(path)
