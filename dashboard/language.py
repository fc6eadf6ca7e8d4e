"""The language a report is written in: its gettext catalogue and CLDR dates and numbers.

English is the source language: the msgids in the code and the templates are the English text,
so English needs no catalogue. Every other language is one compiled catalogue,
dashboard/locales/<code>/LC_MESSAGES/aiaudit.mo (README: "Translating the report"); the
languages `report.language` accepts are English plus the catalogues present.

Date patterns are messages too (CLDR pattern syntax, e.g. "EEE d MMM"): the translator picks the
order a reader expects, and Babel fills in the locale's own day and month names.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from functools import cache
from functools import cached_property
from pathlib import Path
from typing import Any

from agent.config.languages import DOMAIN
from agent.config.languages import SOURCE_LANGUAGE
from agent.config.languages import report_languages as available_languages

LOCALES_DIR = Path(__file__).with_name("locales")


def N_(message: str) -> str:
    """Marks a message for extraction; translated where it is shown (gettext_noop)."""
    return message


class LanguageError(ValueError):
    pass


class ReportLanguage:
    """Translations plus locale-aware formatting for one language. Cheap to make; the catalogue
    and the Babel locale load on first use."""

    def __init__(self, code: str = SOURCE_LANGUAGE) -> None:
        if code not in available_languages():
            raise LanguageError(f"expected one of {', '.join(available_languages())}, got {code!r}")
        self.code = code

    def __repr__(self) -> str:
        return f"ReportLanguage({self.code!r})"

    @cached_property
    def translations(self):
        from babel.support import NullTranslations
        from babel.support import Translations

        if self.code == SOURCE_LANGUAGE:
            return NullTranslations()
        return Translations.load(str(LOCALES_DIR), [self.code], DOMAIN)

    @cached_property
    def locale(self):
        from babel import Locale

        return Locale.parse(self.code)

    # -- messages -------------------------------------------------------------------------------

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def text(self, value: Any) -> str:
        """A message that came as data (a rule title, a remediation step): its translation when
        the catalogue has one, else the text itself. Always a plain str, never markup."""
        text = str(value)
        return self.gettext(text) if text else text

    # -- numbers --------------------------------------------------------------------------------

    def number(self, value: float, decimals: int | None = None) -> str:
        """Grouped digits; `decimals` None: none for whole numbers, else two."""
        from babel.numbers import format_decimal

        value = float(value)
        if not math.isfinite(value):  # a stored detail may hold Infinity or NaN: shown, not fatal
            return format_decimal(value, locale=self.locale)
        if decimals is None:
            decimals = 0 if value == int(value) else 2
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        with _all_digits():
            return format_decimal(value, pattern, locale=self.locale)

    def percent(self, fraction: float, signed: bool = False) -> str:
        from babel.numbers import format_percent

        pattern = "+#,##0%;-#,##0%" if signed else "#,##0%"
        with _all_digits():
            return format_percent(float(fraction), pattern, locale=self.locale)

    def compact(self, value: float) -> str:
        """Short axis labels in the locale's units: 13.8K in English, 1.4万 in Japanese."""
        from babel.numbers import format_compact_decimal
        from babel.numbers import format_decimal

        value = float(value)
        with _all_digits():
            # below the locale's first unit (1,000 in English, 10,000 in Japanese, a million in
            # German) Babel writes every digit of the value: one decimal is enough
            if abs(value) < _first_compact_unit(self.locale):
                return format_decimal(round(value, 1) + 0.0, "#,##0.#", locale=self.locale)
            return format_compact_decimal(value, format_type="short", fraction_digits=1, locale=self.locale)

    # -- dates ----------------------------------------------------------------------------------

    def datetime(self, moment: dt.datetime, pattern: str) -> str:
        """`pattern` is an English CLDR pattern message; the catalogue gives the locale's."""
        from babel.dates import format_datetime

        return format_datetime(moment.astimezone(dt.timezone.utc), self.gettext(pattern),
                               tzinfo=dt.timezone.utc, locale=self.locale)

    def date(self, day: dt.date, pattern: str) -> str:
        from babel.dates import format_date

        return format_date(day, self.gettext(pattern), locale=self.locale)


def _all_digits() -> decimal.localcontext:
    """Babel rounds through decimal, whose default 28 digits cannot hold a float such as 1e28
    written in full; a float has at most 309 digits before the point."""
    return decimal.localcontext(prec=400)


ENGLISH = ReportLanguage(SOURCE_LANGUAGE)


@cache
def _first_compact_unit(locale) -> float:
    """The smallest magnitude whose short compact pattern has a unit (a pattern of zeros only
    writes the number as it is)."""
    patterns = locale.compact_decimal_formats.get("short", {})
    magnitudes = sorted({int(m) for forms in patterns.values() for m, pattern in forms.items()
                         if pattern.pattern.strip("0")})
    return float(magnitudes[0]) if magnitudes else math.inf
