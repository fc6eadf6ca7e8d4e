"""Screenshots of the report for the README: `python -m tools.screenshots OUTDIR`.

Seeds a temporary store with the sample week (tests.support.sample), writes the report, and saves
OUTDIR/overview.png (the week's overview) and OUTDIR/team.png (the page of the riskiest team),
each the top of the page at desktop width, from a real headless Chromium.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

from agent.store.engine import open_store
from dashboard.build import build_week
from dashboard.render import write_report
from dashboard.weeks import IsoWeek
from tests.support.browser import Chromium
from tests.support.sample import seed_sample_store

WEEK = IsoWeek(2026, 47)
GENERATED = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.timezone.utc)
WIDTH, HEIGHT = 1200, 1500


def take(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aiaudit-screens-") as work:
        store = open_store(f"sqlite:///{Path(work) / 'audit.db'}")
        seed_sample_store(store, WEEK)
        model = build_week(store, WEEK, generated_at=GENERATED)
        store.dispose()
        index = write_report(model, Path(work) / "reports")
        team_page = index.parent / "teams" / f"{model.teams[0].slug}.html"
        with Chromium() as browser:
            return [
                browser.screenshot(index.as_uri(), out_dir / "overview.png", width=WIDTH, height=HEIGHT),
                browser.screenshot(team_page.as_uri(), out_dir / "team.png", width=WIDTH, height=HEIGHT),
            ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="where to write overview.png and team.png")
    args = parser.parse_args(argv)
    for path in take(args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
