"""The report's gettext catalogues: the template lists exactly the messages in the code, the
templates and the built-in rules; every language translates every one of them, keeps their
placeholders and markup, and ships compiled as it is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from dashboard.language import DOMAIN
from dashboard.language import LOCALES_DIR
from dashboard.language import available_languages

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
TRANSLATED = [code for code in available_languages() if code != "en"]
PLACEHOLDER = re.compile(r"%\(\w+\)s")
TAG = re.compile(r"</?\w+[^>]*>")


def ids(catalog: Catalog) -> set:
    return {m.id for m in catalog if m.id}


def read_catalogue(code: str) -> Catalog:
    with open(LOCALES_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as handle:
        return read_po(handle, locale=code)


@pytest.fixture(scope="module")
def extracted() -> set:
    with open(REPO / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(REPO), method_map, options_map, DEFAULT_KEYWORDS):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_the_template_holds_exactly_the_messages_of_the_sources(extracted):
    with open(TEMPLATE, "rb") as handle:
        template = ids(read_po(handle))
    assert len(extracted) > 200  # templates, Python, rule titles: a broken babel.cfg finds far fewer
    assert extracted - template == set(), "run the extract step in README (Translating the report)"
    assert template - extracted == set(), "the template lists messages no source has any more"
    assert {"Multi-Sampling Of Completions", "Findings", ("%(num)s team", "%(num)s teams"),
            "Review the activity with the team and the vendor's terms."} <= extracted


def test_japanese_is_shipped():
    assert "ja" in TRANSLATED


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_in_every_language(code, extracted):
    catalog = read_catalogue(code)
    assert ids(catalog) == extracted
    untranslated = [m.id for m in catalog if m.id and (not all(m.string if isinstance(m.string, tuple) else [m.string])
                                                       or m.fuzzy)]
    assert untranslated == []
    assert [(m.id, errors) for m, errors in catalog.check() if errors] == []
    for m in catalog:
        if not m.id:
            continue
        sources = m.id if isinstance(m.id, tuple) else (m.id,)
        for translation in (m.string if isinstance(m.string, tuple) else (m.string,)):
            # a one-form language covers the plural msgid, which may name more than the singular
            assert set(PLACEHOLDER.findall(translation)) <= set(PLACEHOLDER.findall(sources[-1])), m.id
            assert set(PLACEHOLDER.findall(sources[0])) <= set(PLACEHOLDER.findall(translation)), m.id
            assert sorted(TAG.findall(translation)) == sorted(TAG.findall(sources[0])), m.id
            if translation.isascii() and code == "ja":
                # kept as written only where nothing is English prose (a pattern, a punctuation mark)
                assert not re.search(r"[a-z]{3,} [a-z]{3,}", translation), m.id


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_compiled_catalogue_is_the_written_one(code):
    written = read_catalogue(code)
    with open(LOCALES_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as handle:
        compiled = read_mo(handle)
    def as_tuple(value):  # plural ids and strings, whichever reader made them
        return tuple(value) if isinstance(value, (list, tuple)) else value

    def entries(catalog):
        return {as_tuple(m.id): as_tuple(m.string) for m in catalog if m.id}

    as_written, as_compiled = entries(written), entries(compiled)
    assert as_compiled == as_written, "run the compile step in README (Translating the report)"
