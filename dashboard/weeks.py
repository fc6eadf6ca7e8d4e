"""ISO weeks: the unit a report covers. A week runs Monday 00:00 UTC to the next Monday."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_WEEK_TEXT = re.compile(r"^(\d{4})-[Ww](\d{2})$")


class WeekError(ValueError):
    """A week label that is malformed or names a week that does not exist."""


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> "IsoWeek":
        """`2026-W47` (the ISO 8601 week form). Raises WeekError for anything else."""
        match = _WEEK_TEXT.match(text.strip())
        if not match:
            raise WeekError(f"expected an ISO week such as 2026-W47, got {text!r}")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise WeekError(f"{text!r} is not a week of {year} (it has weeks 01 to {weeks_in(year):02d})") from None
        return cls(year, week)

    @classmethod
    def containing(cls, moment: dt.datetime | dt.date) -> "IsoWeek":
        year, week, _ = moment.isocalendar()
        return cls(year, week)

    @classmethod
    def last_complete(cls, now: dt.datetime | None = None) -> "IsoWeek":
        """The latest week that has fully ended at `now` (UTC)."""
        now = now or dt.datetime.now(dt.timezone.utc)
        return cls.containing(now.astimezone(dt.timezone.utc)).shifted(-1)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def start(self) -> dt.datetime:
        monday = dt.date.fromisocalendar(self.year, self.week, 1)
        return dt.datetime(monday.year, monday.month, monday.day, tzinfo=dt.timezone.utc)

    @property
    def end(self) -> dt.datetime:
        """Exclusive: the next Monday 00:00 UTC."""
        return self.start + dt.timedelta(days=7)

    def shifted(self, weeks: int) -> "IsoWeek":
        return IsoWeek.containing(self.start + dt.timedelta(weeks=weeks))

    def __str__(self) -> str:
        return self.label


def weeks_in(year: int) -> int:
    return dt.date(year, 12, 28).isocalendar()[1]  # 28 December always falls in the last week
