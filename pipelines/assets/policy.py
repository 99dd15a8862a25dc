"""Policy group: export-control events and the Entity List excerpt.

Offline by default: both tables are the curated, validated reference files
(``origin='curated'``). With ``PolicyConfig.live`` (or ``FABSCOPE_LIVE=1``) the Federal
Register documents API (BIS rules) and the trade.gov Consolidated Screening List are merged
in without duplicates (``pipelines.policy_merge``). Recorded responses can stand in for the live services (``fr_json``,
``csl_csv``), which is how the tests run.
"""

from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from fabscope.settings import get_settings
from pipelines.checks import quarantine_check_specs, quarantine_result, table_check
from pipelines.failures import as_failure
from pipelines.loading import RefusedLoad, store_validated
from pipelines.policy_merge import merge_entities, merge_events
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


def offline_note(source: str, exc: BaseException) -> str:
    """One line naming a live source that could not be reached and the root cause (``URLError.reason``,
    the OS error, ...), for the log; the curated rows are stored without that source."""
    cause: object = exc
    while getattr(cause, "reason", None) is not None and cause is not cause.reason:  # URLError -> OSError
        cause = cause.reason
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return f"{source} unreachable ({text}); the curated rows are stored without it"


def _fr_documents(config: PolicyConfig, log: Any = None) -> list[dict] | None:
    if config.fr_json:
        return fr.load_recorded(config.fr_json)
    if _live(config):
        try:
            return fr.fetch_documents(date.fromisoformat(config.since))
        except (OSError, ValueError) as exc:  # URLError, timeouts, a broken JSON page
            if log is not None:
                log.warning(offline_note(f"Federal Register ({fr.API_URL})", exc))
            return None
    return None


def _csl_entities(
    config: PolicyConfig, log: Any = None
) -> tuple[pl.DataFrame | None, ValidationResult | None]:
    path = Path(config.csl_csv) if config.csl_csv else None
    if path is None and _live(config):
        try:
            path = csl.fetch_csv(_cache_dir())
        except (OSError, ValueError) as exc:
            if log is not None:
                log.warning(offline_note("Consolidated Screening List (trade.gov)", exc))
            return None, None
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


def _policy_asset(table: str, description: str, *deps: object):
    """``@dg.asset`` of a curated policy table (CSV, merged with live sources) and its quarantine checks."""
    return dg.asset(
        name=table,
        group_name="policy",
        deps=list(deps),
        kinds={"duckdb", "csv"},
        description=description,
        check_specs=quarantine_check_specs(table),
    )


@_policy_asset(
    "export_controls",
    "US export-control actions 2018→today and Chinese countermeasures: curated, plus the "
    "Federal Register (BIS) and the Consolidated Screening List when live.",
)
def export_controls(
    context: dg.AssetExecutionContext,
    config: PolicyConfig,
    warehouse: WarehouseResource,
    run_date: RunDateResource,
) -> dg.MaterializeResult:
    curated = _load_curated("export_controls", run_date.as_date())
    merged, added = merge_events(
        curated.good, _fr_documents(config, context.log), _csl_entities(config, context.log)[0]
    )
    with warehouse.connection() as con:
        report = _store(con, "export_controls", curated, merged, ("event_id",), context.run_id)
    context.log.info(f"export_controls: {merged.height} events ({added} added by live sources)")
    return quarantine_result(context, report)


@_policy_asset(
    "entity_list",
    "Entity List excerpt: Chinese chip firms and the action that listed them (curated, plus "
    "the Consolidated Screening List's CN/HK Entity List rows when live).",
    export_controls,
)
def entity_list(
    context: dg.AssetExecutionContext,
    config: PolicyConfig,
    warehouse: WarehouseResource,
    run_date: RunDateResource,
) -> dg.MaterializeResult:
    curated = _load_curated("entity_list", run_date.as_date())
    entities, _ = _csl_entities(config, context.log)
    with warehouse.connection() as con:
        events = con.sql("SELECT event_id, citation FROM export_controls").pl()
        merged = merge_entities(curated.good, entities, events)
        report = _store(con, "entity_list", curated, merged, ("name", "added_date"), context.run_id)
    return quarantine_result(context, report)


export_controls_valid = table_check(
    "export_controls",
    min_rows=15,
    conditions=(
        "effective_date IS NOT NULL",
        "announced_date IS NOT NULL",
        "flag IN ('reported', 'estimate')",
        "origin IN ('curated', 'federal_register', 'screening_list')",
    ),
)
entity_list_valid = table_check("entity_list", min_rows=10, conditions=("flag IN ('reported', 'estimate')",))
