"""The templates' formatting filters, in the report's language: numbers, percentages, scores,
moments, a finding's window, the week's period, and any JSON value as one line of text.

Dates are written in UTC, as every page says; their patterns are catalogue messages
(dashboard.language), so each language orders day, month and year its own way.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from dashboard.language import N_
from dashboard.language import ReportLanguage


class Filters:
    """The templates' formatting filters in one language. Each returns plain text, which the
    template escapes like any other value."""

    def __init__(self, language: ReportLanguage) -> None:
        self.language = language

    def num(self, value: Any) -> str:
        return "—" if value is None else self.language.number(value)

    def pct(self, value: Any) -> str:
        return "—" if value is None else self.language.percent(value)

    def score(self, value: Any) -> str:
        return "—" if value is None else self.language.number(value, decimals=1)

    def utc(self, value: Any) -> str:
        moment = _as_datetime(value)
        if moment is None:
            return self.plain(value)
        return self.language.gettext("%(moment)s UTC") % {
            "moment": self.language.datetime(moment, N_("yyyy-MM-dd HH:mm"))}

    def window(self, start: dt.datetime, end: dt.datetime) -> str:
        """A finding's window as a reader says it: a whole day, or a span of hours."""
        lang = self.language
        if end - start == dt.timedelta(days=1) and start.hour == 0 and start.minute == 0:
            return lang.gettext("%(day)s (whole day, UTC)") % {"day": lang.datetime(start, N_("EEE dd MMM yyyy"))}
        if start.date() == end.date() or end - start <= dt.timedelta(days=1):
            return lang.gettext("%(start)s–%(end)s UTC") % {
                "start": lang.datetime(start, N_("EEE dd MMM yyyy HH:mm")), "end": lang.datetime(end, N_("HH:mm"))}
        return lang.gettext("%(start)s – %(end)s UTC") % {
            "start": lang.datetime(start, N_("yyyy-MM-dd HH:mm")), "end": lang.datetime(end, N_("yyyy-MM-dd HH:mm"))}

    def period(self, week) -> str:
        """Mon 16 Nov – Sun 22 Nov 2026 (UTC)."""
        first, last = week.start, week.end - dt.timedelta(days=1)
        return self.language.gettext("%(first)s – %(last)s (UTC)") % {
            "first": self.language.datetime(first, N_("EEE dd MMM")),
            "last": self.language.datetime(last, N_("EEE dd MMM yyyy"))}

    def plain(self, value: Any) -> str:
        """Any JSON value as one line of text (escaped later by the template, like all text)."""
        if value is None:
            return "—"
        if isinstance(value, bool):
            return self.language.gettext("yes") if value else self.language.gettext("no")
        if isinstance(value, (int, float)):
            return self.num(value)
        if isinstance(value, (list, tuple)):
            return self.language.gettext(", ").join(self.plain(v) for v in value) if value else "—"
        if isinstance(value, dict):
            return json.dumps(value, sort_keys=True, ensure_ascii=False)
        return str(value)


def _as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc) if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, str):
        try:
            return _as_datetime(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None
