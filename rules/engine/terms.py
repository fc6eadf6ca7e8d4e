"""The vendor terms catalogue (rules/terms.yaml): what each vendor's texts say about training
models on its outputs, word for word, where and when that was read, and how it was seen.

A vendor's stance is not written down separately: it is the strictest of the documents that
govern API traffic (`api`, `usage-policy`, `licence`); consumer terms and guidance pages are
kept for counsel but never decide it. "Strictest" weighs confidence too (`stance_weight`): a
prohibition known only from someone else's quote counts a little less than one read in the
vendor's own text, and a text not found counts as `unknown`.

`stance_for(vendor, models)` resolves pass-through: a reseller's (Bedrock, OpenRouter, Hugging
Face ...) own stance and the terms of each model served count, and the strictest applies.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Iterable

from rules.engine.loader import LineDict
from rules.engine.loader import line_of
from rules.engine.loader import read_documents
from rules.engine.model import Problem
from rules.engine.model import RuleError
from rules.engine.model import Stance

TERMS_PATH = Path(__file__).resolve().parent.parent / "terms.yaml"

# How strongly a stance weighs a finding (severity.py) when its text was read first-hand.
# Unknown sits between: it may well turn out to prohibit.
STANCE_WEIGHT: dict[Stance, float] = {
    Stance.PROHIBITS: 1.0,
    Stance.UNKNOWN: 0.75,
    Stance.RESTRICTS: 0.55,
    Stance.PERMITS: 0.3,
}
# How far a stance moves away from `unknown`, by how its text was seen: a second-hand quote
# may have dropped a qualifier, so it is trusted less; a text not found tells nothing.
CONFIDENCE_FACTOR = {"primary": 1.0, "secondary": 0.8, "not-found": 0.0}
GOVERNING = ("api", "usage-policy", "licence")
APPLIES = GOVERNING + ("consumer", "guidance")
SILENT = "silent"  # the text was read and has no clause on training with outputs
SCOPES = ("competing", "any", "narrow", "attribution", "pass-through", "none", "unconfirmed")
_SCOPE_BREADTH = {"any": 2, "competing": 1}  # between equal stances, the broader ban decides
KINDS = ("vendor", "licence")

_VENDOR_KEYS = {"kind", "name", "summary", "documents", "notes", "pass_through"}
_DOCUMENT_KEYS = {"applies", "name", "section", "url", "version", "stance", "scope", "quote", "confidence",
                  "seen", "reviewed"}
_PASS_KEYS = {"model", "terms"}


def stance_weight(stance: Stance | None, confidence: str | None = None) -> float:
    """The weight of `stance` pulled towards `unknown` as far as its confidence falls short."""
    stance = stance or Stance.UNKNOWN
    factor = CONFIDENCE_FACTOR.get(confidence, 1.0) if confidence is not None else 1.0
    unknown = STANCE_WEIGHT[Stance.UNKNOWN]
    return unknown + (STANCE_WEIGHT[stance] - unknown) * factor


@dataclass(frozen=True)
class TermsDocument:
    applies: str
    name: str
    section: str
    url: str
    version: str
    stance: str  # a Stance value, or "silent"
    scope: str
    quote: str
    confidence: str
    seen: str
    reviewed: str

    @property
    def governs(self) -> bool:
        return self.applies in GOVERNING and self.stance != SILENT

    @property
    def weight(self) -> float:
        return stance_weight(Stance(self.stance), self.confidence)


@dataclass(frozen=True)
class PassThrough:
    """Models matching `model` (a case-insensitive glob) also follow `terms` (another entry)."""

    model: str
    terms: str


@dataclass(frozen=True)
class VendorTerms:
    vendor: str
    kind: str
    name: str
    summary: str
    documents: tuple[TermsDocument, ...]
    notes: str
    pass_through: tuple[PassThrough, ...] = ()

    @property
    def deciding(self) -> TermsDocument | None:
        """The governing document that sets the stance: the strictest, first-hand first, the
        broadest ban first."""
        governing = [d for d in self.documents if d.governs]
        return max(governing, key=lambda d: (d.weight, CONFIDENCE_FACTOR[d.confidence], _SCOPE_BREADTH.get(d.scope, 0)),
                   default=None)

    @property
    def stance(self) -> Stance:
        return Stance(self.deciding.stance) if self.deciding else Stance.UNKNOWN

    @property
    def scope(self) -> str:
        return self.deciding.scope if self.deciding else "unconfirmed"

    @property
    def confidence(self) -> str:
        return self.deciding.confidence if self.deciding else "not-found"

    @property
    def clause(self) -> str:
        """Our one-sentence summary (the vendor's words are in the documents' quotes)."""
        return self.summary

    @property
    def reviewed(self) -> str:
        """When the entry was last checked (the latest review date of its documents)."""
        return max((d.reviewed for d in self.documents), default="")

    @property
    def url(self) -> str:
        document = self.deciding or (self.documents[0] if self.documents else None)
        return document.url if document else ""


@dataclass(frozen=True)
class ResolvedStance:
    """The stance that applies to a finding, and the text behind it."""

    stance: Stance
    clause: str  # the vendor's words with their document and section, or our summary
    reviewed: str
    source: str  # the catalogue entry whose terms gave the stance
    url: str
    confidence: str = "not-found"
    document: str = ""
    section: str = ""
    version: str = ""
    quote: str = ""
    summary: str = ""

    @property
    def weight(self) -> float:
        return stance_weight(self.stance, self.confidence)

    def citation(self) -> dict[str, Any]:
        """What a finding's evidence records about the terms (plain JSON, hash-chained)."""
        return {"stance": self.stance.value, "terms_source": self.source, "clause": self.clause,
                "clause_reviewed": self.reviewed, "terms_url": self.url, "terms_confidence": self.confidence,
                "terms_document": self.document, "terms_section": self.section,
                "terms_version": self.version, "terms_quote": self.quote, "terms_summary": self.summary}


def resolve(terms: VendorTerms) -> ResolvedStance:
    document = terms.deciding
    if document is None:
        return ResolvedStance(Stance.UNKNOWN, terms.summary, terms.reviewed, terms.vendor, terms.url,
                              summary=terms.summary)
    clause = f"“{document.quote}” ({document.name}, {document.section})" if document.quote else terms.summary
    return ResolvedStance(Stance(document.stance), clause, terms.reviewed, terms.vendor, document.url,
                          document.confidence, document.name, document.section, document.version,
                          document.quote, terms.summary)


def _text(value: Any) -> str:
    return " ".join(str(value if value is not None else "").split())


def _document(body: Any, where: str, problem, line: int) -> TermsDocument | None:
    if not isinstance(body, LineDict):
        problem(line, f"{where}: a document must be a mapping")
        return None
    bad = False
    for key in body:
        if key not in _DOCUMENT_KEYS:
            problem(line_of(body, key, line), f"{where}: unknown document field {key!r}")
            bad = True
    missing = sorted(_DOCUMENT_KEYS - set(body))
    if missing:
        problem(line, f"{where}: document missing {', '.join(missing)}")
        return None
    checks = (
        ("applies", body["applies"] in APPLIES, f"one of {', '.join(APPLIES)}"),
        ("stance", body["stance"] in {s.value for s in Stance} | {SILENT},
         f"one of {', '.join(s.value for s in Stance)}, {SILENT}"),
        ("scope", body["scope"] in SCOPES, f"one of {', '.join(SCOPES)}"),
        ("confidence", body["confidence"] in CONFIDENCE_FACTOR, f"one of {', '.join(CONFIDENCE_FACTOR)}"),
        ("reviewed", _is_date(body["reviewed"]), "a date YYYY-MM-DD"),
        ("url", str(body["url"]).startswith("https://") or (body["url"] == "" and body["confidence"] == "not-found"),
         "an https:// address (empty only when the text was not found)"),
        ("quote", bool(_text(body["quote"])) or body["confidence"] != "secondary",
         "the words quoted (a secondary document is a quote)"),
    )
    for key, ok, expected in checks:
        if not ok:
            problem(line_of(body, key, line), f"{where}: {key} must be {expected}, got {body[key]!r}")
            bad = True
    if bad:
        return None
    return TermsDocument(**{key: _text(body[key]) for key in _DOCUMENT_KEYS})


def _is_date(value: Any) -> bool:
    try:
        dt.date.fromisoformat(str(value))
        return True
    except ValueError:
        return False


def _parse(path: Path) -> tuple[dict[str, VendorTerms], list[Problem]]:
    documents, problems = read_documents(path)
    catalogue: dict[str, VendorTerms] = {}
    if len(documents) != 1 or not isinstance(documents[0], LineDict):
        problems.append(Problem(path, 1, "the terms catalogue must be one mapping of vendor id to terms"))
        return catalogue, problems
    root = documents[0]

    def problem(line: int, message: str) -> None:
        problems.append(Problem(path, line, message))

    for vendor, body in root.items():
        line = line_of(root, vendor)
        if not isinstance(body, LineDict):
            problem(line, f"{vendor}: must be a mapping")
            continue
        for key in body:
            if key not in _VENDOR_KEYS:
                problem(line_of(body, key), f"{vendor}: unknown field {key!r}")
        missing = [k for k in ("name", "summary", "documents") if k not in body]
        if missing:
            problem(line, f"{vendor}: missing {', '.join(missing)}")
            continue
        kind = body.get("kind", "vendor")
        if kind not in KINDS:
            problem(line_of(body, "kind"), f"{vendor}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
            continue
        if not isinstance(body["documents"], list) or not body["documents"]:
            problem(line_of(body, "documents"), f"{vendor}: documents must be a non-empty list")
            continue
        docs = [_document(doc, vendor, problem, line_of(body["documents"], index, line))
                for index, doc in enumerate(body["documents"])]
        passes = []
        for index, item in enumerate(body.get("pass_through") or []):
            item_line = line_of(body["pass_through"], index, line)
            if not isinstance(item, LineDict) or set(item) != _PASS_KEYS:
                problem(item_line, f"{vendor}: pass_through needs exactly model and terms")
                continue
            passes.append(PassThrough(str(item["model"]), str(item["terms"])))
        catalogue[vendor] = VendorTerms(
            vendor=vendor, kind=kind, name=_text(body["name"]), summary=_text(body["summary"]),
            documents=tuple(d for d in docs if d is not None), notes=_text(body.get("notes", "")),
            pass_through=tuple(passes),
        )
    for vendor, terms in catalogue.items():
        for item in terms.pass_through:
            if item.terms not in catalogue:
                problem(line_of(root, vendor), f"{vendor}: pass_through names unknown entry {item.terms!r}")
    return catalogue, problems


def check_terms(path: Path = TERMS_PATH) -> list[Problem]:
    return _parse(path)[1]


@functools.lru_cache(maxsize=4)
def _load_cached(path: Path) -> dict[str, VendorTerms]:
    catalogue, problems = _parse(path)
    if problems:
        raise RuleError(problems[0])
    return catalogue


def load_terms(path: Path | None = None) -> dict[str, VendorTerms]:
    """Entry id -> VendorTerms. Raises RuleError (`path:line: message`) on a malformed file."""
    return dict(_load_cached(Path(path or TERMS_PATH).resolve()))


def vendor_ids(catalogue: dict[str, VendorTerms]) -> set[str]:
    """The entries that are vendors (not model licences): the capture catalogue's ids."""
    return {vendor for vendor, terms in catalogue.items() if terms.kind == "vendor"}


def stance_for(catalogue: dict[str, VendorTerms], vendor: str | None,
               models: Iterable[str | None] = ()) -> ResolvedStance:
    """The strictest stance among the vendor's own terms and those of the models it served."""
    terms = catalogue.get(vendor or "")
    if terms is None:
        return ResolvedStance(Stance.UNKNOWN, f"No terms catalogued for vendor {vendor!r}.", "", "", "")
    best = resolve(terms)
    for model in sorted({m for m in models if m}):
        for item in terms.pass_through:
            if fnmatch.fnmatchcase(model.lower(), item.model.lower()):
                candidate = resolve(catalogue[item.terms])
                if candidate.weight >= best.weight:  # on a tie the model's own, more specific text
                    best = candidate
                break  # the first matching pass-through rule decides for this model
    return best
