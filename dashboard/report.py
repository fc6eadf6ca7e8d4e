"""The weekly report in one call: build the week's model, publish the chain head, write.

Rendering only: the rules are not run here. agent.pipeline.weekly_report evaluates the week
first when asked (what `aiaudit report` and `aiaudit demo` do); tests and benchmarks that want
the parts call `dashboard.build.build_week` and `dashboard.render.write_report` directly.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Iterable

from dashboard.build import build_week
from dashboard.render import write_report
from dashboard.weeks import IsoWeek


def write_weekly_report(store, week: IsoWeek | str, out_dir: str | os.PathLike, *, teams: Iterable[str] = (),
                        now: dt.datetime | None = None, signing_key=None, language: str = "en") -> Path:
    """Write OUT/YYYY-Www/ and OUT/index.html from what the store holds, the pages in `language`
    (config report.language), publishing the evidence chain's head (signed with `signing_key`, an
    Ed25519 private key, when given). Returns the week's index.html. Raises OSError when OUT
    cannot be written."""
    from dashboard.language import ReportLanguage
    from dashboard.model import iso
    from rules.engine.anchor import published_head

    week = IsoWeek.parse(week) if isinstance(week, str) else week
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    model = build_week(store, week, teams=teams, generated_at=now)
    # taken after any evaluation, so the head covers this week's findings
    model.chain = published_head(store, week.label, iso(model.generated_at), signing_key)
    return write_report(model, out_dir, ReportLanguage(language))
