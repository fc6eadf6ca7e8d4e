"""The languages `report.language` accepts: English, and each language with a compiled report
catalogue (dashboard/locales/<code>/LC_MESSAGES/aiaudit.mo).

The catalogues are data shipped in the dashboard package; they are found as package resources,
not by importing report code, so the configuration (read inside mitmdump too) stays below the
report in the import contracts.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SOURCE_LANGUAGE = "en"  # the msgids are the English text: English needs no catalogue
DOMAIN = "aiaudit"


def locales_dir() -> Path:
    return Path(str(resources.files("dashboard").joinpath("locales")))


def report_languages() -> tuple[str, ...]:
    """English and every language with a compiled catalogue, sorted."""
    found = {p.parent.parent.name for p in locales_dir().glob(f"*/LC_MESSAGES/{DOMAIN}.mo")}
    return tuple(sorted(found | {SOURCE_LANGUAGE}))
