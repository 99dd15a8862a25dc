"""Policy group: export-control events and the Entity List excerpt.

Offline by default: both tables are the curated, validated reference files
(``origin='curated'``). With ``PolicyConfig.live`` (or ``FABSCOPE_LIVE=1``) the Federal
Register documents API (BIS rules) and the trade.gov Consolidated Screening List are merged
in without duplicates: an FR document already in the curated table (same FR document number
or ``NN FR PPPPP`` citation) is dropped, a CSL Entity List notice already covered by an event
is linked rather than added, and a CSL entity already in the curated excerpt (same normalised
name) is skipped. Recorded responses can stand in for the live services (``fr_json``,
``csl_csv``), which is how the tests run.
"""

import re
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from fabscope.settings import get_settings
from pipelines.checks import quarantine_check_specs, quarantine_result, table_check
from pipelines.failures import as_failure
from pipelines.loading import RefusedLoad, store_validated
from pipelines.resources import RunDateResource, WarehouseResource
from pipelines.sources import federal_register as fr
from pipelines.sources import screening_list as csl
from pipelines.sources.reference import REFERENCE_FILES
from pipelines.validation import ValidationError, ValidationResult


class PolicyConfig(dg.Config):
    """Whether to merge the live connectors (or recorded responses of them) into the curated events."""

    live: bool = False  # also on when $FABSCOPE_LIVE=1
    since: str = "2018-01-01"  # first publication date asked of the Federal Register
    fr_json: str = ""  # a recorded documents.json response (or a JSON list of pages) used instead of the API
    csl_csv: str = ""  # a CSL CSV file used instead of downloading it


def _live(config: PolicyConfig) -> bool:
    return config.live or get_settings().live


def _cache_dir() -> Path:
    return get_settings().cache_dir / "csl"


def _fr_documents(config: PolicyConfig) -> list[dict] | None:
    if config.fr_json:
        return fr.load_recorded(config.fr_json)
    if _live(config):
        return fr.fetch_documents(date.fromisoformat(config.since))
    return None


def _csl_entities(config: PolicyConfig) -> tuple[pl.DataFrame | None, ValidationResult | None]:
    path = (
        Path(config.csl_csv) if config.csl_csv else (csl.fetch_csv(_cache_dir()) if _live(config) else None)
    )
    if path is None:
        return None, None
    result = csl.read_csl(path)
    return csl.entity_list_rows(result.good), result


def _load_curated(name: str, today: date) -> ValidationResult:
    try:
        return REFERENCE_FILES[name].load(today=today)
    except ValidationError as exc:
        raise as_failure(exc) from None


def _store(
    con, table: str, curated: ValidationResult, merged: pl.DataFrame, key: tuple[str, ...], run_id: str | None
):
    result = ValidationResult(curated.source_file, merged, curated.quarantine, curated.rows_read)
    try:
        return store_validated(con, table, result, key=key, asset=table, run_id=run_id)
    except RefusedLoad as exc:
        raise as_failure(exc) from None


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


@dg.asset(
    group_name="policy",
    kinds={"duckdb", "csv"},
    description="US export-control actions 2018→today and Chinese countermeasures: curated, plus the "
    "Federal Register (BIS) and the Consolidated Screening List when live.",
    check_specs=quarantine_check_specs("export_controls"),
)
def export_controls(
    context: dg.AssetExecutionContext,
    config: PolicyConfig,
    warehouse: WarehouseResource,
    run_date: RunDateResource,
) -> dg.MaterializeResult:
    curated = _load_curated("export_controls", run_date.as_date())
    merged = curated.good.with_columns(pl.lit("curated").alias("origin"))
    docs = _fr_documents(config)
    added = {"federal_register": 0, "screening_list": 0}
    if docs is not None:
        new = fr.unmatched(fr.documents_to_events(docs), merged).drop("document_number")
        added["federal_register"] = new.height
        merged = pl.concat([merged, new], how="diagonal_relaxed")
    entities, _ = _csl_entities(config)
    if entities is not None:
        new = screening_list_events(entities, merged)
        added["screening_list"] = new.height
        merged = pl.concat([merged, new], how="diagonal_relaxed")
    merged = merged.unique("event_id", keep="first", maintain_order=True)
    with warehouse.connection() as con:
        report = _store(con, "export_controls", curated, merged, ("event_id",), context.run_id)
    context.log.info(f"export_controls: {merged.height} events ({added} added by live sources)")
    return quarantine_result(context, report)


@dg.asset(
    group_name="policy",
    deps=[export_controls],
    kinds={"duckdb", "csv"},
    description="Entity List excerpt: Chinese chip firms and the action that listed them (curated, plus "
    "the Consolidated Screening List's CN/HK Entity List rows when live).",
    check_specs=quarantine_check_specs("entity_list"),
)
def entity_list(
    context: dg.AssetExecutionContext,
    config: PolicyConfig,
    warehouse: WarehouseResource,
    run_date: RunDateResource,
) -> dg.MaterializeResult:
    curated = _load_curated("entity_list", run_date.as_date())
    merged = curated.good
    entities, _ = _csl_entities(config)
    with warehouse.connection() as con:
        if entities is not None and entities.height:
            events = con.sql("SELECT event_id, citation FROM export_controls").pl()
            by_key = {k: eid for eid, cite in events.iter_rows() for k in fr.citation_keys(cite)}
            seen = {csl.normalise_name(n) for n in curated.good["name"].to_list()}
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
            merged = pl.concat([merged, new], how="diagonal_relaxed")
        report = _store(con, "entity_list", curated, merged, ("name", "added_date"), context.run_id)
    return quarantine_result(context, report)


ASSETS = [export_controls, entity_list]
CHECKS = [
    table_check(
        "export_controls",
        min_rows=15,
        conditions=(
            "effective_date IS NOT NULL",
            "announced_date IS NOT NULL",
            "flag IN ('reported', 'estimate')",
            "origin IN ('curated', 'federal_register', 'screening_list')",
        ),
    ),
    table_check("entity_list", min_rows=10, conditions=("flag IN ('reported', 'estimate')",)),
]
