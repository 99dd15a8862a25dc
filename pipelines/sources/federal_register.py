"""Federal Register documents API connector (BIS rules) → export-control events.

``GET https://www.federalregister.gov/api/v1/documents.json`` with
``conditions[agencies][]=industry-and-security-bureau`` (BIS, agency id 241), no key. The
response is ``{description, count, total_pages, next_page_url, results: [...]}``; each result
has ``title, type, abstract, document_number, html_url, pdf_url, publication_date,
effective_on, citation, agencies[]``. Pages are followed through ``next_page_url`` (bounded);
each request is retried with backoff. Only documents about China/semiconductors are kept
(``is_relevant``), and documents already in the curated table are matched by FR document
number or by ``NN FR PPPPP`` citation so the merge never duplicates an event.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

import polars as pl

from pipelines.sources.prices.base import RETRY_ATTEMPTS, RETRY_BACKOFF_S, with_retries

API_URL = "https://www.federalregister.gov/api/v1/documents.json"
BIS_SLUG = "industry-and-security-bureau"
FIELDS = (
    "title",
    "type",
    "abstract",
    "document_number",
    "html_url",
    "pdf_url",
    "publication_date",
    "effective_on",
    "citation",
    "agencies",
)
USER_AGENT = "fabscope/0.1 (export-control event study; +https://www.federalregister.gov/developers)"
MAX_PAGES = 20
TIMEOUT_S = 30

# title/abstract terms that make a BIS document relevant to the US-China chip question
RELEVANT_TERMS = (
    "semiconductor",
    "advanced computing",
    "integrated circuit",
    "supercomputer",
    "artificial intelligence",
    "high bandwidth memory",
    "foreign direct product",
)
CHINA_TERMS = ("china", "chinese", "people's republic", "prc")

EVENT_COLUMNS = (
    "event_id",
    "announced_date",
    "effective_date",
    "agency",
    "title",
    "citation",
    "category",
    "source",
    "flag",
    "notes",
    "origin",
    "document_number",
)

_FR_DOC = re.compile(r"\b(\d{4}-\d{5})\b")
FR_CITE = re.compile(r"\b(\d{2,3})\s*FR\s*(\d{3,6})\b")


def build_params(
    since: date, *, doc_types: Sequence[str] = ("RULE",), per_page: int = 100, until: date | None = None
) -> list[tuple[str, str]]:
    """Query parameters for BIS documents published on/after ``since``."""
    params = [
        ("conditions[agencies][]", BIS_SLUG),
        ("conditions[publication_date][gte]", since.isoformat()),
        ("per_page", str(per_page)),
        ("order", "oldest"),
    ]
    if until:
        params.append(("conditions[publication_date][lte]", until.isoformat()))
    params += [("conditions[type][]", t) for t in doc_types]
    params += [("fields[]", f) for f in FIELDS]
    return params


def http_get_json(url: str) -> dict[str, Any]:
    """GET a JSON document (with a User-Agent, a timeout and bounded retries)."""

    def call() -> dict[str, Any]:
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # fixed https host
            return json.load(resp)

    return with_retries(call, attempts=RETRY_ATTEMPTS, backoff_s=RETRY_BACKOFF_S)


def fetch_documents(
    since: date,
    *,
    get_json: Callable[[str], dict[str, Any]] = http_get_json,
    max_pages: int = MAX_PAGES,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """All BIS rule documents since ``since``, following ``next_page_url`` up to ``max_pages``."""
    url: str | None = f"{API_URL}?{urllib.parse.urlencode(build_params(since))}"
    docs: dict[str, dict[str, Any]] = {}
    pages = 0
    while url and pages < max_pages:
        payload = get_json(url)
        pages += 1
        for doc in payload.get("results") or []:
            if doc.get("document_number"):
                docs.setdefault(doc["document_number"], doc)
        url = payload.get("next_page_url")
        if url:
            sleep(0.2)  # be gentle with a keyless public API
    return list(docs.values())


def load_recorded(path: str) -> list[dict[str, Any]]:
    """Documents from a recorded API response (one page, or a list of pages)."""
    with open(path, encoding="utf-8") as fh:
        payload = json.load(fh)
    pages = payload if isinstance(payload, list) else [payload]
    return [doc for page in pages for doc in page.get("results") or []]


def is_relevant(doc: dict[str, Any]) -> bool:
    """A BIS document about chips, or an Entity List action naming China."""
    text = f"{doc.get('title') or ''} {doc.get('abstract') or ''}".lower()
    if any(t in text for t in RELEVANT_TERMS):
        return True
    return "entity list" in text and any(t in text for t in CHINA_TERMS)


def category_of(title: str) -> str:
    """The curated category vocabulary, from a document title."""
    t = title.lower()
    if "artificial intelligence" in t or "diffusion" in t:
        return "ai_diffusion"
    if "foreign direct product" in t:
        return "fdp_rule"
    if "advanced computing" in t or "semiconductor manufacturing" in t or "semiconductor" in t:
        return "chips_and_sme"
    if "entity list" in t:
        return "entity_list"
    return "licence_requirement"


def documents_to_events(docs: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """Export-control event rows (``origin='federal_register'``) for the relevant documents."""
    rows = []
    for d in docs:
        if not is_relevant(d):
            continue
        pub = d.get("publication_date")
        num = d["document_number"]
        cite = d.get("citation")
        rows.append(
            {
                "event_id": f"{pub}-fr-{num}",
                "announced_date": date.fromisoformat(pub),
                "effective_date": date.fromisoformat(d.get("effective_on") or pub),
                "agency": "BIS",
                "title": (d.get("title") or "").strip(),
                "citation": f"{cite} ({pub}), FR Doc {num}" if cite else f"FR Doc {num} ({pub})",
                "category": category_of(d.get("title") or ""),
                "source": f"Federal Register API, {d.get('html_url') or num}",
                "flag": "reported",
                "notes": "From the Federal Register documents API; announced_date is the publication date.",
                "origin": "federal_register",
                "document_number": num,
            }
        )
    schema = {c: pl.String for c in EVENT_COLUMNS} | {"announced_date": pl.Date, "effective_date": pl.Date}
    return pl.DataFrame(rows, schema=schema)


def citation_keys(text: str | None) -> set[str]:
    """Match keys in a citation: FR document numbers (``2022-21658``) and ``87FR62186``-style cites."""
    if not text:
        return set()
    keys = {f"doc:{m}" for m in _FR_DOC.findall(text)}
    keys |= {f"fr:{vol}FR{page}" for vol, page in FR_CITE.findall(text)}
    return keys


def unmatched(fr_events: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
    """FR events not already present in ``existing`` (matched by document number or FR citation)."""
    known: set[str] = set()
    for cite in existing["citation"].to_list():
        known |= citation_keys(cite)
    keep = [
        not (citation_keys(c) | {f"doc:{n}"}) & known
        for c, n in zip(fr_events["citation"].to_list(), fr_events["document_number"].to_list(), strict=True)
    ]
    return fr_events.filter(pl.Series(keep, dtype=pl.Boolean))
