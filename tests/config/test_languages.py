"""The languages report.language accepts: English and the compiled catalogues shipped."""

from __future__ import annotations

from pathlib import Path

import dashboard
from agent.config.languages import locales_dir
from agent.config.languages import report_languages


def test_the_catalogues_are_found_in_the_report_package_as_resources():
    assert locales_dir() == Path(dashboard.__file__).parent / "locales"
    compiled = sorted(p.parent.parent.name for p in locales_dir().glob("*/LC_MESSAGES/aiaudit.mo"))
    assert "ja" in compiled and report_languages() == tuple(sorted({"en", *compiled}))


def test_a_folder_without_a_compiled_catalogue_is_no_language(tmp_path, monkeypatch):
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "fr" / "LC_MESSAGES" / "aiaudit.po").write_text("")  # written, not compiled
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "de" / "LC_MESSAGES" / "aiaudit.mo").write_bytes(b"")
    monkeypatch.setattr("agent.config.languages.locales_dir", lambda: tmp_path)
    assert report_languages() == ("de", "en")
