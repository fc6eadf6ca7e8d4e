"""Report fixtures: seeded stores (ordinary and hostile), written reports, a real Chromium."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from dashboard.weeks import IsoWeek

WEEK = IsoWeek(2026, 47)
GENERATED = dt.datetime(2026, 11, 29, 6, 0, tzinfo=dt.timezone.utc)
REQUIRE_BROWSER = os.environ.get("AIAUDIT_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="session")
def seeded_reports(tmp_path_factory):
    """Two stores seeded with the sample week (one with hostile text everywhere an attacker
    has a say) and their reports written: {"plain": (store_url, out_dir), "hostile": (...)}."""
    from agent.store.engine import open_store
    from dashboard.build import build_week
    from dashboard.render import write_report
    from tests.support.sample import seed_sample_store

    result = {}
    for name, hostile in (("plain", False), ("hostile", True)):
        base = tmp_path_factory.mktemp(name)
        url = f"sqlite:///{base / 'audit.db'}"
        store = open_store(url)
        seed_sample_store(store, WEEK, hostile=hostile, scale=0.05)
        write_report(build_week(store, WEEK, generated_at=GENERATED), base / "out")
        store.dispose()
        result[name] = (url, base / "out")
    return result


@pytest.fixture(scope="session")
def chromium():
    from tests.support.browser import CHROMIUM
    from tests.support.browser import Chromium

    if not Path(CHROMIUM).exists():
        if REQUIRE_BROWSER:
            pytest.fail(f"AIAUDIT_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with Chromium() as browser:
        yield browser
