"""The vendor terms catalogue (rules/vendors.yaml): what each vendor's terms say about training
models on its outputs, and where that was read.

`stance_for(vendor, models)` resolves pass-through: a reseller's (Bedrock, OpenRouter, Hugging
Face) own stance and the stance of each model served count, and the strictest applies.
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from rules.engine.loader import LineDict
from rules.engine.loader import line_of
from rules.engine.loader import read_documents
from rules.engine.model import Problem
from rules.engine.model import RuleError
from rules.engine.model import Stance

TERMS_PATH = Path(__file__).resolve().parent.parent / "vendors.yaml"

# How strongly a stance weighs a finding (severity.py) — and therefore which stance is the
# strictest when several apply. Unknown sits between: it may well turn out to prohibit.
STANCE_WEIGHT: dict[Stance, float] = {
    Stance.PROHIBITS: 1.0,
    Stance.UNKNOWN: 0.75,
    Stance.RESTRICTS: 0.55,
    Stance.PERMITS: 0.3,
}

_VENDOR_KEYS = {"name", "stance", "scope", "confidence", "clause", "documents", "notes", "pass_through"}
_DOCUMENT_KEYS = {"name", "url", "effective", "reviewed"}
_PASS_KEYS = {"model", "terms", "stance", "clause"}
_CONFIDENCE = {"S", "D", "3P", "U"}
_SCOPES = {"competing", "any", "narrow", "none", "unconfirmed"}


@dataclass(frozen=True)
class TermsDocument:
    name: str
    url: str
    effective: str
    reviewed: str


@dataclass(frozen=True)
class PassThrough:
    """Models matching `model` (a case-insensitive glob) follow `terms` (another vendor id) or
    the given `stance` and `clause`."""

    model: str
    terms: str | None
    stance: Stance | None
    clause: str | None


@dataclass(frozen=True)
class VendorTerms:
    vendor: str
    name: str
    stance: Stance
    scope: str
    confidence: str
    clause: str
    documents: tuple[TermsDocument, ...]
    notes: str
    pass_through: tuple[PassThrough, ...] = ()

    @property
    def reviewed(self) -> str:
        """When the clause was last checked (the latest review date of its documents)."""
        return max((d.reviewed for d in self.documents), default="")

    @property
    def url(self) -> str:
        return self.documents[0].url if self.documents else ""


@dataclass(frozen=True)
class ResolvedStance:
    """The stance that applies to a finding, and the clause and document behind it."""

    stance: Stance
    clause: str
    reviewed: str
    source: str  # vendor id whose terms gave the stance, or "<vendor> model <glob>"
    url: str


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
        missing = [k for k in ("name", "stance", "scope", "confidence", "clause", "documents") if k not in body]
        if missing:
            problem(line, f"{vendor}: missing {', '.join(missing)}")
            continue
        try:
            stance = Stance(body["stance"])
        except ValueError:
            problem(line_of(body, "stance"), f"{vendor}: invalid stance {body['stance']!r}")
            continue
        if body["confidence"] not in _CONFIDENCE:
            problem(line_of(body, "confidence"), f"{vendor}: confidence must be one of {sorted(_CONFIDENCE)}")
        if body["scope"] not in _SCOPES:
            problem(line_of(body, "scope"), f"{vendor}: scope must be one of {sorted(_SCOPES)}")
        docs = []
        for index, doc in enumerate(body["documents"] or []):
            doc_line = line_of(body["documents"], index, line)
            if not isinstance(doc, LineDict) or set(doc) - _DOCUMENT_KEYS or not {"name", "url", "reviewed"} <= set(doc):
                problem(doc_line, f"{vendor}: a document needs name, url, reviewed (and optionally effective)")
                continue
            docs.append(TermsDocument(str(doc["name"]), str(doc["url"]), str(doc.get("effective", "unknown")),
                                      str(doc["reviewed"])))
        passes = []
        for index, item in enumerate(body.get("pass_through") or []):
            item_line = line_of(body["pass_through"], index, line)
            if not isinstance(item, LineDict) or set(item) - _PASS_KEYS or "model" not in item \
                    or (("terms" in item) == ("stance" in item)):
                problem(item_line, f"{vendor}: pass_through needs model and either terms or stance (+ clause)")
                continue
            try:
                item_stance = Stance(item["stance"]) if "stance" in item else None
            except ValueError:
                problem(item_line, f"{vendor}: invalid stance {item['stance']!r}")
                continue
            if item_stance is not None and not item.get("clause"):
                problem(item_line, f"{vendor}: a pass_through stance needs its clause")
                continue
            passes.append(PassThrough(str(item["model"]), item.get("terms"), item_stance, item.get("clause")))
        catalogue[vendor] = VendorTerms(
            vendor=vendor, name=str(body["name"]), stance=stance, scope=str(body["scope"]),
            confidence=str(body["confidence"]), clause=" ".join(str(body["clause"]).split()),
            documents=tuple(docs), notes=" ".join(str(body.get("notes", "")).split()),
            pass_through=tuple(passes),
        )
    for vendor, terms in catalogue.items():
        for item in terms.pass_through:
            if item.terms is not None and item.terms not in catalogue:
                problem(line_of(root, vendor), f"{vendor}: pass_through names unknown vendor {item.terms!r}")
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
    """Vendor id -> VendorTerms. Raises RuleError (`path:line: message`) on a malformed file."""
    return dict(_load_cached(Path(path or TERMS_PATH).resolve()))


def stance_for(catalogue: dict[str, VendorTerms], vendor: str | None,
               models: Iterable[str | None] = ()) -> ResolvedStance:
    """The strictest stance among the vendor's own terms and those of the models it served."""
    terms = catalogue.get(vendor or "")
    if terms is None:
        return ResolvedStance(Stance.UNKNOWN, f"No terms catalogued for vendor {vendor!r}.", "", "", "")
    best = ResolvedStance(terms.stance, terms.clause, terms.reviewed, terms.vendor, terms.url)
    for model in {m for m in models if m}:
        for item in terms.pass_through:
            if not fnmatch.fnmatchcase(model.lower(), item.model.lower()):
                continue
            if item.terms is not None:
                other = catalogue[item.terms]
                candidate = ResolvedStance(other.stance, other.clause, other.reviewed, other.vendor, other.url)
            else:
                candidate = ResolvedStance(item.stance, " ".join(item.clause.split()), terms.reviewed,
                                           f"{terms.vendor} model {item.model}", terms.url)
            if STANCE_WEIGHT[candidate.stance] > STANCE_WEIGHT[best.stance]:
                best = candidate
            break  # first matching pass-through rule decides for this model
    return best
