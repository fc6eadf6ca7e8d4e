"""The vendor terms catalogue: every entry carries its documents with the vendor's words, where
and when they were read, and how (confidence); stances follow the governing documents; pass-
through to model licences; confidence weighs the severity; bad catalogue files are named."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from rules.engine.model import Level
from rules.engine.model import Stance
from rules.engine.severity import finding_score
from rules.engine.terms import CONFIDENCE_FACTOR
from rules.engine.terms import GOVERNING
from rules.engine.terms import check_terms
from rules.engine.terms import load_terms
from rules.engine.terms import stance_for
from rules.engine.terms import stance_weight
from rules.engine.terms import vendor_ids

REFERENCE = Path("/work/shared/reference/vendor-terms-2026.md")


def test_catalogue_is_valid_and_every_document_has_its_source():
    assert check_terms() == []
    for vendor, entry in load_terms().items():
        assert entry.documents and entry.summary.endswith("."), vendor
        for doc in entry.documents:
            assert doc.confidence in CONFIDENCE_FACTOR and doc.reviewed and doc.version and doc.seen, (vendor, doc)
            assert doc.url.startswith("https://") or doc.confidence == "not-found", (vendor, doc)
            assert doc.section, (vendor, doc)
            if doc.confidence == "secondary":
                assert doc.quote, (vendor, doc.name)


def test_vendor_entries_are_the_host_list():
    """The vendor terms and the host list name the same vendors (docs/architecture.md)."""
    from agent.proxy.hosts import HostList

    terms = load_terms()
    assert vendor_ids(terms) == set(HostList.load().vendor_ids())
    assert {"qwen", "moonshot", "meta"} <= vendor_ids(terms)
    assert {"llama-4-licence", "llama-3.1-licence", "qwen-licence"} <= set(terms) - vendor_ids(terms)


@pytest.mark.skipif(not REFERENCE.exists(), reason="the research reference is not on this machine")
def test_quotes_are_word_for_word_from_the_reference():
    """Every quote kept appears verbatim in the research reference it was taken from."""
    reference = " ".join(REFERENCE.read_text(encoding="utf-8").split())
    quoted = 0
    for vendor, entry in load_terms().items():
        for doc in entry.documents:
            for part in doc.quote.split(" / "):  # two excerpts of one page
                if part:
                    assert part in reference, (vendor, doc.name, part)
                    quoted += 1
    assert quoted >= 25


def test_stances_follow_the_primary_texts():
    terms = load_terms()
    expected = {
        "openai": ("prohibits", "primary"), "anthropic": ("prohibits", "primary"),
        "google": ("prohibits", "primary"), "aws-bedrock": ("prohibits", "secondary"),
        "meta": ("prohibits", "primary"), "mistral": ("restricts", "primary"),
        "deepseek": ("permits", "primary"), "xai": ("prohibits", "primary"),
        # corrected from unknown by the 2026 check
        "together": ("restricts", "primary"), "fireworks": ("restricts", "primary"),
        "perplexity": ("prohibits", "primary"),
        # still not confirmed
        "azure-openai": ("unknown", "secondary"), "cohere": ("unknown", "secondary"),
        "groq": ("unknown", "not-found"), "huggingface": ("unknown", "not-found"),
        # API terms not found; the consumer terms do not decide API traffic
        "qwen": ("unknown", "not-found"), "moonshot": ("unknown", "not-found"),
    }
    for vendor, (stance, confidence) in expected.items():
        assert (terms[vendor].stance.value, terms[vendor].confidence) == (stance, confidence), vendor
    assert terms["anthropic"].scope == "any"  # the Usage Policy has no "competing" qualifier
    assert any(d.applies == "guidance" for d in terms["anthropic"].documents)  # the narrower reading, kept
    assert terms["xai"].scope == "any"
    assert "Permitted Exception" in terms["openai"].deciding.quote
    assert terms["groq"].documents[0].url == "https://console.groq.com/docs/legal/services-agreement"


def test_consumer_and_silent_documents_never_decide():
    terms = load_terms()
    for vendor, entry in terms.items():
        deciding = entry.deciding
        if deciding is not None:
            assert deciding.applies in GOVERNING and deciding.stance != "silent", vendor
    # Qwen Chat's consumer ban is recorded, but API traffic is governed by terms not found
    qwen = terms["qwen"]
    assert any(d.applies == "consumer" and d.stance == "prohibits" for d in qwen.documents)
    assert qwen.stance is Stance.UNKNOWN
    # Mistral's usage policy has no clause: it must not pull Mistral up to unknown
    assert terms["mistral"].stance is Stance.RESTRICTS


def test_pass_through_takes_the_strictest_terms():
    terms = load_terms()
    routed = stance_for(terms, "openrouter", ["anthropic/claude-sonnet-4"])
    assert routed.stance is Stance.PROHIBITS and routed.source == "anthropic"
    assert routed.confidence == "primary" and routed.quote in routed.clause
    # OpenRouter to DeepSeek: DeepSeek permits, OpenRouter's own pass-through restriction is stricter
    assert stance_for(terms, "openrouter", ["deepseek/deepseek-r1"]).stance is Stance.RESTRICTS
    # Bedrock's AWS clause (secondary) prohibits; Anthropic's first-hand prohibition is stronger
    assert stance_for(terms, "aws-bedrock", ["anthropic.claude-3-haiku"]).source == "anthropic"
    assert stance_for(terms, "aws-bedrock", ["meta.llama3-1-70b-instruct-v1:0"]).source == "aws-bedrock"
    # Hugging Face: Llama 2 outputs may not improve other LLMs; Llama 4 asks for attribution
    llama2 = stance_for(terms, "huggingface", ["meta-llama/Llama-2-70b-chat-hf"])
    assert llama2.stance is Stance.PROHIBITS and llama2.source == "llama-2-licence"
    together = stance_for(terms, "together", ["meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"])
    assert together.source == "llama-4-licence" and together.stance is Stance.RESTRICTS
    assert "“Llama” at the beginning" in together.clause
    assert stance_for(terms, "no-such-vendor").stance is Stance.UNKNOWN


def test_citation_carries_the_document_and_confidence():
    cited = stance_for(load_terms(), "meta").citation()
    assert cited["terms_confidence"] == "primary"
    assert cited["terms_section"].startswith("§10")
    assert cited["terms_url"] == "https://llama.developer.meta.com/legal/terms-of-service"
    assert "2026-08-21" in cited["terms_version"] and cited["clause"].startswith("“")


def test_confidence_weighs_the_severity():
    primary = finding_score(Level.HIGH, Stance.PROHIBITS, confidence="primary")
    secondary = finding_score(Level.HIGH, Stance.PROHIBITS, confidence="secondary")
    unknown = finding_score(Level.HIGH, Stance.UNKNOWN)
    assert primary > secondary > unknown
    # a permission known second-hand is trusted less, so it weighs more than a first-hand one
    assert finding_score(Level.HIGH, Stance.PERMITS, confidence="secondary") > \
        finding_score(Level.HIGH, Stance.PERMITS, confidence="primary")
    assert finding_score(Level.HIGH, Stance.PROHIBITS, confidence="not-found") == unknown


@given(st.sampled_from(list(Stance)), st.sampled_from([None, *CONFIDENCE_FACTOR]))
def test_stance_weight_stays_between_the_stance_and_unknown(stance, confidence):
    weight = stance_weight(stance, confidence)
    bounds = sorted([stance_weight(stance), stance_weight(Stance.UNKNOWN)])
    assert bounds[0] - 1e-12 <= weight <= bounds[1] + 1e-12


def _catalogue(tmp_path, text: str) -> Path:
    path = tmp_path / "vendors.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


GOOD_DOCUMENT = """\
    - applies: api
      name: Terms
      section: "§1"
      url: https://example.com/terms
      version: "2026-01-01"
      stance: prohibits
      scope: competing
      quote: Do not.
      confidence: primary
      seen: archived copy
      reviewed: "2026-12-02"
"""


def test_bad_documents_are_named_with_their_line(tmp_path):
    text = "acme:\n  name: Acme\n  summary: S.\n  documents:\n" + GOOD_DOCUMENT.replace(
        "confidence: primary", "confidence: 3P").replace("stance: prohibits", "stance: forbids")
    problems = [str(p) for p in check_terms(_catalogue(tmp_path, text))]
    assert any(":13: acme: confidence must be one of" in p for p in problems), problems
    assert any(":10: acme: stance must be one of" in p for p in problems), problems
    secondary = "acme:\n  name: Acme\n  summary: S.\n  documents:\n" + GOOD_DOCUMENT.replace(
        "confidence: primary", "confidence: secondary").replace("quote: Do not.", 'quote: ""')
    assert any("quote must be" in str(p) for p in check_terms(_catalogue(tmp_path, secondary)))
    unknown_ref = "acme:\n  name: Acme\n  summary: S.\n  documents:\n" + GOOD_DOCUMENT + \
        "  pass_through:\n    - {model: '*', terms: nobody}\n"
    assert any("unknown entry 'nobody'" in str(p) for p in check_terms(_catalogue(tmp_path, unknown_ref)))
    missing = "acme:\n  name: Acme\n  summary: S.\n  documents:\n" + GOOD_DOCUMENT.replace("      seen: archived copy\n", "")
    assert any("document missing seen" in str(p) for p in check_terms(_catalogue(tmp_path, missing)))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_catalogue_text_gives_problems_never_an_exception(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("terms") / "vendors.yaml"
    path.write_bytes(text.encode("utf-8", "replace"))
    problems = check_terms(path)
    assert all(p.line >= 0 for p in problems)


@pytest.mark.parametrize("host, path, vendor, family", [
    ("dashscope-intl.aliyuncs.com", "/compatible-mode/v1/chat/completions", "qwen", "openai"),
    ("dashscope.aliyuncs.com", "/compatible-mode/v1/chat/completions", "qwen", "openai"),
    ("api.moonshot.ai", "/v1/chat/completions", "moonshot", "openai"),
    ("api.moonshot.cn", "/v1/chat/completions", "moonshot", "openai"),
    ("api.llama.com", "/compat/v1/chat/completions", "meta", "openai"),
    ("api.llama.com", "/v1/chat/completions", "meta", "metadata"),  # native shape: recorded, not parsed
])
def test_vendors_added_for_their_terms_are_captured(host, path, vendor, family):
    from agent.proxy.hosts import HostList

    route = HostList.load().match(host, path, "POST")
    assert (route.vendor, route.family) == (vendor, family)
    assert route.vendor in load_terms()
