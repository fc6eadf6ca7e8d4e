"""The vendor terms catalogue: the capture catalogue's vendor ids, documents with review dates,
stances, and pass-through for resellers."""

from __future__ import annotations

from rules.engine.model import Stance
from rules.engine.terms import check_terms
from rules.engine.terms import load_terms
from rules.engine.terms import stance_for

VENDOR_IDS = {"openai", "azure-openai", "anthropic", "google", "aws-bedrock", "mistral", "cohere", "deepseek",
              "xai", "groq", "together", "fireworks", "perplexity", "openrouter", "huggingface"}


def test_catalogue_is_valid_and_covers_every_vendor_id():
    assert check_terms() == []
    terms = load_terms()
    assert set(terms) == VENDOR_IDS
    for vendor, entry in terms.items():
        assert entry.documents, vendor
        assert all(d.url.startswith("https://") and d.reviewed for d in entry.documents), vendor
        assert entry.clause and entry.clause.endswith("."), vendor
        assert isinstance(entry.stance, Stance)


def test_unconfirmed_terms_say_unknown():
    terms = load_terms()
    for vendor in ("azure-openai", "groq", "together", "fireworks", "perplexity", "huggingface", "cohere"):
        assert terms[vendor].stance is Stance.UNKNOWN, vendor
        assert terms[vendor].confidence == "U"
    assert terms["openai"].stance is Stance.PROHIBITS and "exception" in terms["openai"].notes
    assert terms["anthropic"].stance is Stance.PROHIBITS
    assert terms["deepseek"].stance is Stance.PERMITS
    assert terms["mistral"].stance is Stance.RESTRICTS


def test_pass_through_takes_the_strictest_terms():
    terms = load_terms()
    # OpenRouter routes to Anthropic: Anthropic's prohibition applies
    routed = stance_for(terms, "openrouter", ["anthropic/claude-sonnet-4"])
    assert routed.stance is Stance.PROHIBITS and routed.source == "anthropic"
    # OpenRouter to DeepSeek: DeepSeek permits, OpenRouter's own restriction is stricter
    assert stance_for(terms, "openrouter", ["deepseek/deepseek-r1"]).stance is Stance.RESTRICTS
    # Bedrock: the AWS layer already prohibits; Llama 3.1's naming condition does not relax it
    assert stance_for(terms, "aws-bedrock", ["meta.llama3-1-70b-instruct-v1:0"]).stance is Stance.PROHIBITS
    # Hugging Face: Llama 2 outputs may not improve other LLMs
    llama2 = stance_for(terms, "huggingface", ["meta-llama/Llama-2-70b-chat-hf"])
    assert llama2.stance is Stance.PROHIBITS and "Llama 2" in llama2.clause
    assert stance_for(terms, "no-such-vendor").stance is Stance.UNKNOWN


def test_terms_cover_the_capture_catalogue():
    """The terms catalogue and the capture catalogue name the same vendors (DESIGN.md)."""
    from agent.capture.catalogue import Catalogue

    assert set(load_terms()) == set(Catalogue.load().vendor_ids())
