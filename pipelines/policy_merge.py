"""How the live policy sources merge into the curated tables without duplicates.

An FR document already in the curated events (same FR document number or ``NN FR PPPPP`` citation)
is dropped; a CSL Entity List notice already covered by an event is linked rather than added; a CSL
entity already in the curated excerpt (same normalised name) is skipped. Pure frame functions.
"""

from __future__ import annotations

import re

import polars as pl

from pipelines.sources import federal_register as fr
from pipelines.sources import screening_list as csl


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def screening_list_events(entities: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
    """One event per Federal Register notice cited by CSL Entity List rows (China/HK) and not already
    covered by ``existing`` events.

    A CSL ``federal_register_notice`` may cite several notices (``"84 FR 22963, 85 FR 29853"``): the
    row's ``start_date`` is its first listing, so it dates only the first notice cited; later notices
    are dated by rows citing them first (or alone), and a notice no row dates is not invented. Each
    notice gives at most one event however many citation strings mention it.
    """
    known: set[str] = set()
    for cite in existing["citation"].to_list():
        known |= fr.citation_keys(cite)
    dated: dict[str, tuple] = {}  # "VV FR PPPPP" → (first date, names)
    for cite, added, name in entities.select("citation", "added_date", "name").iter_rows():
        notices = [(vol, page) for vol, page in fr.FR_CITE.findall(cite or "")]
        if not notices or added is None:
            continue
        vol, page = notices[0]
        if f"fr:{vol}FR{page}" in known:
            continue
        first, names = dated.get(f"{vol} FR {page}", (added, []))
        dated[f"{vol} FR {page}"] = (min(first, added), [*names, name])
    rows = []
    for cite, (first, names) in sorted(dated.items(), key=lambda kv: (kv[1][0], kv[0])):
        names = sorted(set(names))
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        rows.append(
            {
                "event_id": f"{first}-csl-{_slug(cite)}",
                "announced_date": first,
                "effective_date": first,
                "agency": "BIS",
                "title": f"Entity List additions in China/Hong Kong: {shown}",
                "citation": cite,
                "category": "entity_list",
                "source": f"trade.gov Consolidated Screening List (Entity List rows citing {cite})",
                "flag": "reported",
                "notes": "Dates are the earliest CSL start_date of the rows listed by this notice.",
                "origin": "screening_list",
            }
        )
    schema = {c: pl.String for c in fr.EVENT_COLUMNS if c != "document_number"}
    return pl.DataFrame(rows, schema=schema | {"announced_date": pl.Date, "effective_date": pl.Date})


def merge_events(
    curated: pl.DataFrame, documents: list[dict] | None, entities: pl.DataFrame | None
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Curated events (``origin='curated'``) plus the Federal Register ``documents`` and the CSL
    ``entities``' notices that no earlier event covers; (events, rows added per live source)."""
    merged = curated.with_columns(pl.lit("curated").alias("origin"))
    added = {"federal_register": 0, "screening_list": 0}
    if documents is not None:
        new = fr.unmatched(fr.documents_to_events(documents), merged).drop("document_number")
        added["federal_register"] = new.height
        merged = pl.concat([merged, new], how="diagonal_relaxed")
    if entities is not None:
        new = screening_list_events(entities, merged)
        added["screening_list"] = new.height
        merged = pl.concat([merged, new], how="diagonal_relaxed")
    return merged.unique("event_id", keep="first", maintain_order=True), added


def merge_entities(
    curated: pl.DataFrame, entities: pl.DataFrame | None, events: pl.DataFrame
) -> pl.DataFrame:
    """Curated Entity List rows plus the CSL ``entities`` not already curated (by normalised name), each
    linked to the event (``events``: event_id, citation) whose citation names its notice."""
    if entities is None or entities.height == 0:
        return curated
    by_key = {
        k: eid
        for eid, cite in events.select("event_id", "citation").iter_rows()
        for k in fr.citation_keys(cite)
    }
    seen = {csl.normalise_name(n) for n in curated["name"].to_list()}
    new = entities.filter(
        ~pl.col("name").map_elements(csl.normalise_name, return_dtype=pl.String).is_in(sorted(seen))
    )
    event_ids = [
        next((by_key[k] for k in sorted(fr.citation_keys(c)) if k in by_key), None)
        for c in new["citation"].to_list()
    ]
    new = (
        new.with_columns(
            pl.Series("event_id", event_ids, dtype=pl.String),
            pl.format("CSL _id {}", pl.col("csl_id")).alias("notes"),
        )
        .drop("csl_id")
        .unique(["name", "added_date"], keep="first", maintain_order=True)
    )
    return pl.concat([curated, new], how="diagonal_relaxed")
