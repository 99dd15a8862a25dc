"""Read-only query layer for the dashboard: one function per question, parameters only.

Every function takes the warehouse path first and returns a :class:`QueryResult`: a Polars
frame plus, when the frame is empty, a readable ``reason`` ("no data yet — run `fabscope
refresh`"). A missing warehouse file, a table that a pipeline has not created yet or an
empty table is an *answer* here, never an exception. Each call takes a cursor on the warm
read-only connection of the published version through :class:`pipelines.warehouse.Warehouse`
(reopened only after a publish replaced the file), so the dashboard keeps working while a
refresh publishes a new file.

SQL is fixed text; user choices (tickers, dates, categories, scenario ids) are bound as
parameters (``?``). Nothing a user types is ever formatted into SQL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from pipelines.warehouse import Warehouse, WarehouseError, WarehouseNotFound

REFRESH_HINT = "run `fabscope refresh`"
SAMPLE_PROVIDER = "sample"
"""``prices_daily.provider`` of the deterministic offline sample prices (labelled on screen)."""

DbPath = str | os.PathLike[str] | None


@dataclass(frozen=True)
class QueryResult:
    """A query's answer: the rows, why there are none (if so), and the sources cited in them."""

    frame: pl.DataFrame
    reason: str | None = None
    sources: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when there are rows to show."""
        return self.reason is None and self.frame.height > 0

    @property
    def empty(self) -> bool:
        """True when there is nothing to show (``reason`` says why)."""
        return not self.ok


def _sources_of(frame: pl.DataFrame) -> tuple[str, ...]:
    """Distinct non-empty values of the ``source``/``sources``/``citation`` columns, in order."""
    seen: dict[str, None] = {}
    for col in ("source", "sources"):
        if col in frame.columns:
            for value in frame.get_column(col).drop_nulls().cast(pl.String).to_list():
                for part in str(value).split("; "):
                    if part.strip():
                        seen.setdefault(part.strip(), None)
    return tuple(seen)


def _run(
    db: DbPath,
    table: str,
    sql: str,
    params: Sequence[object] | None = None,
    *,
    what: str | None = None,
    probe: bool = True,
) -> QueryResult:
    """Run one parameterised read-only query; turn every "not there yet" into a reason.

    When a query with a filter (any non-null parameter) comes back empty, one more cheap probe
    of ``table`` tells an empty table ("run `fabscope refresh`") from a selection that matches
    nothing ("no rows match this selection") — refreshing would not help the latter.
    ``table`` is always a fixed name from this module, never user text.
    """
    label = what or table
    wh = Warehouse(db)
    try:
        frame = wh.query(sql, params)
    except WarehouseNotFound:
        return QueryResult(pl.DataFrame(), f"no warehouse at {wh} yet — {REFRESH_HINT}")
    except duckdb.CatalogException:
        return QueryResult(
            pl.DataFrame(), f"no {label} data yet (table `{table}` is missing) — {REFRESH_HINT}"
        )
    except duckdb.BinderException as exc:
        first = str(exc).splitlines()[0]
        return QueryResult(
            pl.DataFrame(), f"table `{table}` has an unexpected shape ({first}) — {REFRESH_HINT}"
        )
    except (duckdb.IOException, WarehouseError) as exc:
        return QueryResult(pl.DataFrame(), f"warehouse unreadable: {str(exc).splitlines()[0]}")
    if frame.height == 0:
        if probe and params and any(p is not None for p in params) and _has_rows(wh, table):
            return QueryResult(frame, f"no {label} rows match this selection — widen the filters")
        return QueryResult(frame, f"no {label} data yet — {REFRESH_HINT}")
    return QueryResult(frame, None, _sources_of(frame))


def _has_rows(wh: Warehouse, table: str) -> bool:
    """True when ``table`` (a fixed identifier from this module) holds at least one row."""
    if not table.isidentifier():
        raise ValueError(f"not a table name: {table!r}")
    try:
        return wh.query(f'SELECT 1 AS x FROM "{table}" LIMIT 1').height > 0
    except (duckdb.Error, WarehouseError):
        return False


def _values(res: QueryResult, column: str) -> list:
    """The values of ``column`` in a one-column answer (``[]`` when there is nothing to show)."""
    return res.frame.get_column(column).to_list() if res.ok else []


def _no_selection(what: str) -> QueryResult:
    return QueryResult(pl.DataFrame(), f"pick at least one {what}")


Filter = tuple[str, object]
"""``(condition with one ?, value)``: a row filter of :func:`_rows`, left out when the value is None."""


def _rows(db: DbPath, table: str, columns: str, order: str, *filters: Filter, what: str) -> QueryResult:
    """``SELECT columns FROM table [WHERE …] ORDER BY order`` with the ``filters`` whose value is given
    (``table``, ``columns`` and ``order`` are fixed text of this module, never user input)."""
    given = [(cond, value) for cond, value in filters if value is not None]
    where = " WHERE " + " AND ".join(cond for cond, _ in given) if given else ""
    sql = f"SELECT {columns} FROM {table}{where} ORDER BY {order}"
    return _run(db, table, sql, [value for _, value in given], what=what)


def _distinct(db: DbPath, table: str, column: str, *, what: str) -> list:
    """The distinct non-null values of ``column`` in ``table``, sorted (fixed names of this module)."""
    sql = f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY 1"
    return _values(_run(db, table, sql, what=what), column)


# ---- warehouse-wide ----------------------------------------------------------------------
def table_freshness(db: DbPath) -> QueryResult:
    """Per table: rows and when it was last written (``table_refreshes``), newest first."""
    return _run(
        db,
        "table_refreshes",
        "SELECT table_name, rows, refreshed_at, run_id FROM table_refreshes ORDER BY refreshed_at DESC",
        what="refresh-log",
    )


def sample_price_tickers(db: DbPath, tickers: Sequence[str] | None = None) -> list[str]:
    """Tickers (of ``tickers``, or all) whose stored prices come from the labelled sample provider."""
    if tickers is not None and not tickers:
        return []
    sql = "SELECT DISTINCT ticker FROM prices_daily WHERE provider = ?"
    params: list[object] = [SAMPLE_PROVIDER]
    if tickers is not None:
        sql += " AND list_contains(?, ticker)"
        params.append(list(tickers))
    return _values(_run(db, "prices_daily", sql + " ORDER BY ticker", params, probe=False), "ticker")


# ---- market -------------------------------------------------------------------------------
def tickers(db: DbPath) -> QueryResult:
    """Ticker universe with name, country, segment, domestic-China flag and benchmark."""
    return _run(
        db,
        "tickers",
        "SELECT ticker, name, country, exchange, currency, segment, domestic_china, benchmark, "
        "is_benchmark, source, flag FROM tickers ORDER BY is_benchmark, domestic_china DESC, ticker",
        what="ticker",
    )


def price_range(db: DbPath) -> QueryResult:
    """First and last price date stored (one row: ``first``, ``last``)."""
    res = _run(
        db,
        "prices_daily",
        "SELECT min(date) AS first, max(date) AS last, count(*) AS n FROM prices_daily",
        what="price",
    )
    if res.ok and res.frame.item(0, "n") == 0:
        return QueryResult(pl.DataFrame(), f"no price data yet — {REFRESH_HINT}")
    return res


def prices(
    db: DbPath, tickers: Sequence[str], start: date | None = None, end: date | None = None
) -> QueryResult:
    """Daily closes (listing currency and USD) for ``tickers`` between ``start`` and ``end`` inclusive."""
    if not tickers:
        return _no_selection("ticker")
    return _run(
        db,
        "prices_daily",
        "SELECT date, ticker, close, currency, close_usd, provider, source FROM prices_daily "
        "WHERE list_contains(?, ticker) AND (?::DATE IS NULL OR date >= ?::DATE) "
        "AND (?::DATE IS NULL OR date <= ?::DATE) ORDER BY ticker, date",
        [list(tickers), start, start, end, end],
        what="price",
    )


def event_study(db: DbPath, event_id: str | None = None) -> QueryResult:
    """Event-study rows (CAR, t-stat per ticker and window), with each ticker's domestic flag.

    Rows stored without a CAR (flagged data holes, too short an estimation window) are left out."""
    return _run(
        db,
        "event_study",
        'SELECT e.event_id, e.ticker, e."window", e.car, e.t_stat, t.name, '
        "coalesce(t.domestic_china, false) AS domestic_china, e.source "
        "FROM event_study e LEFT JOIN tickers t USING (ticker) "
        "WHERE e.car IS NOT NULL AND (?::VARCHAR IS NULL OR e.event_id = ?::VARCHAR) "
        'ORDER BY e.event_id, e."window", e.ticker',
        [event_id, event_id],
        what="event-study",
    )


def event_study_id(db: DbPath, event_id: str | None) -> str | None:
    """The event id the event study stores ``event_id``'s rows under: itself, or the first action of its
    date when several were announced together (``event_study.event_ids``); None when none is stored."""
    if not event_id:
        return None
    res = _run(
        db,
        "event_study",
        "SELECT event_id FROM event_study WHERE event_id = ? "
        "OR list_contains(string_split(coalesce(event_ids, ''), ';'), ?) ORDER BY event_id <> ? LIMIT 1",
        [event_id, event_id, event_id],
        what="event-study",
    )
    ids = _values(res, "event_id")
    return ids[0] if ids else None


def event_study_cross_section(
    db: DbPath, event_id: str | None = None, window: str | None = None
) -> QueryResult:
    """The stored domestic-vs-foreign group tests of the event study (every stored column), per window,
    group and ``method`` (one event and/or window, or all); the statistics as the pipeline computed them
    (see :func:`column_docs` for their meaning), never a mean of t's."""
    return _rows(
        db,
        "event_study_cross_section",
        "*",
        'event_id, "window", "group", method',
        ("event_id = ?", event_id),
        ('"window" = ?', window),
        what="event-study cross-section",
    )


def column_docs(table: str) -> dict[str, str]:
    """``column -> meaning`` of a warehouse table, from the schema (``pipelines.schema``)."""
    from pipelines.schema import TABLES

    spec = TABLES.get(table)
    return {c.name: c.doc for c in spec.columns if c.doc} if spec else {}


def event_study_events(db: DbPath) -> QueryResult:
    """Events that have event-study rows, with their title and date (newest first)."""
    return _run(
        db,
        "event_study",
        "SELECT DISTINCT e.event_id, x.announced_date, x.title FROM event_study e "
        "LEFT JOIN export_controls x USING (event_id) ORDER BY x.announced_date DESC NULLS LAST, e.event_id",
        what="event-study",
    )


# ---- policy -------------------------------------------------------------------------------
def export_controls(
    db: DbPath, categories: Sequence[str] | None = None, start: date | None = None, end: date | None = None
) -> QueryResult:
    """Export-control actions (optionally of some categories / in a date range), oldest first."""
    if categories is not None and not categories:
        return _no_selection("category")
    return _rows(
        db,
        "export_controls",
        "event_id, announced_date, effective_date, agency, title, citation, category, source, flag, notes",
        "announced_date, event_id",
        ("list_contains(?::VARCHAR[], category)", _opt_list(categories)),
        ("announced_date >= ?::DATE", start),
        ("announced_date <= ?::DATE", end),
        what="export-control",
    )


def export_control_categories(db: DbPath) -> list[str]:
    """Categories present in ``export_controls``."""
    return _distinct(db, "export_controls", "category", what="export-control")


def entity_list(db: DbPath, start: date | None = None, end: date | None = None) -> QueryResult:
    """Entity List additions (Chinese chip-related firms), optionally added in a date range, oldest first."""
    return _rows(
        db,
        "entity_list",
        "name, country, added_date, citation, event_id, source, flag, notes",
        "added_date, name",
        ("added_date >= ?::DATE", start),
        ("added_date <= ?::DATE", end),
        what="Entity List",
    )


def policy_date_range(db: DbPath) -> QueryResult:
    """First and last date of an export-control action or Entity List addition (one row: ``first``, ``last``).

    Falls back to ``export_controls`` alone when ``entity_list`` is not there yet.
    """
    res = _run(
        db,
        "entity_list",
        "SELECT min(d) AS first, max(d) AS last FROM (SELECT announced_date AS d FROM export_controls "
        "UNION ALL SELECT added_date FROM entity_list) WHERE d IS NOT NULL",
        what="policy",
    )
    if res.empty or res.frame.item(0, "first") is None:
        res = _run(
            db,
            "export_controls",
            "SELECT min(announced_date) AS first, max(announced_date) AS last FROM export_controls",
            what="export-control",
        )
    if res.ok and res.frame.item(0, "first") is None:
        return QueryResult(pl.DataFrame(), f"no export-control data yet — {REFRESH_HINT}")
    return res


# ---- capacity & tooling -------------------------------------------------------------------
def fab_capacity(db: DbPath) -> QueryResult:
    """Fab capacity rows (wafer starts/month in the fab's wafer size) by company, fab, node, year."""
    columns = (
        "company, fab, country, product, node_class, wafer_size_mm, capacity_wspm, year, status, source, flag"
    )
    return _rows(db, "fab_capacity", columns, "year, company, fab", what="fab-capacity")


def tool_demand(db: DbPath, scenario_id: str | None = None) -> QueryResult:
    """Per year and tool type: installed base (``count``), annual additions (``tools_new``) and that year's
    domestic share (one scenario or all)."""
    return _by_scenario(db, "tool_demand", scenario_id)


def tool_supply(db: DbPath, scenario_id: str | None = None) -> QueryResult:
    """New domestic tools demanded vs domestic vendors' supply (tools/year) per year and tool type
    (incl. groups such as ``deposition``), with coverage (fraction) and gap (tools); one scenario or all."""
    return _by_scenario(db, "tool_supply", scenario_id)


_SCENARIO_COLUMNS = {
    "tool_demand": "scenario_id, year, tool_type, count, tools_new, domestic_share, source",
    "tool_supply": "scenario_id, year, tool_type, tools_new, domestic_share, domestic_tools_new, domestic_supply, "
    "coverage, gap, source, flag, notes",
}


def _by_scenario(db: DbPath, table: str, scenario_id: str | None) -> QueryResult:
    """Rows of a per-scenario tooling table (one scenario or all), by scenario, year and tool type."""
    order = "scenario_id, year, tool_type"
    what = table.replace("_", "-")
    return _rows(db, table, _SCENARIO_COLUMNS[table], order, ("scenario_id = ?", scenario_id), what=what)


def tool_domestic_share(db: DbPath) -> QueryResult:
    """Bundled domestic-supplier share per tool type (reference table; columns as stored)."""
    return _run(db, "tool_domestic_share", "SELECT * FROM tool_domestic_share", what="tool domestic-share")


# ---- hardware -----------------------------------------------------------------------------
def chip_specs(db: DbPath) -> QueryResult:
    """Accelerator specs (TFLOP/s, GB, TB/s, GB/s, W) per chip id."""
    columns = (
        "id, vendor, bf16_tflops, int8_tops, hbm_gb, hbm_tbps, scaleup_gbps, tdp_w, sources, flag, source"
    )
    return _rows(db, "chip_specs", columns, "vendor, id", what="chip")


def system_perf(db: DbPath) -> QueryResult:
    """System totals (PFLOP/s, TB, TB/s, kW) and the component power breakdown (JSON, kW)."""
    columns = "id, chips, bf16_pflops, hbm_tb, hbm_tbps, scaleup_tbps, power_kw, pflops_per_kw, power_breakdown_kw, source"
    return _rows(db, "system_perf", columns, "id", what="system")


# ---- forecasts ----------------------------------------------------------------------------
def substitution_history(db: DbPath, segment: str | None = None) -> QueryResult:
    """Observed domestic shares (fractions) per segment/year; disagreeing sources are separate rows."""
    columns = "segment, year, domestic_share, metric, source, flag"
    order = "segment, year, source"
    return _rows(
        db, "substitution_history", columns, order, ("segment = ?", segment), what="substitution-history"
    )


def substitution_outlooks(db: DbPath, segment: str | None = None) -> QueryResult:
    """Third-party forecasts of domestic share (fractions), shown beside ours."""
    columns = "segment, year, domestic_share, metric, publisher, published, source, flag"
    order = "segment, publisher, year"
    return _rows(
        db, "substitution_outlooks", columns, order, ("segment = ?", segment), what="third-party outlook"
    )


def forecast_scenarios(db: DbPath) -> list[str]:
    """Scenario ids that have forecast rows."""
    return _distinct(db, "substitution_forecast", "scenario_id", what="forecast")


def substitution_forecast(
    db: DbPath, scenario_ids: Sequence[str] | None = None, segment: str | None = None
) -> QueryResult:
    """Forecast quantiles (p10/p50/p90 domestic share) per scenario, segment, year and model."""
    if scenario_ids is not None and not scenario_ids:
        return _no_selection("scenario")
    ids = _opt_list(scenario_ids)
    return _run(
        db,
        "substitution_forecast",
        "SELECT scenario_id, segment, year, model, p10, p50, p90, source FROM substitution_forecast "
        "WHERE (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], scenario_id)) "
        "AND (?::VARCHAR IS NULL OR segment = ?::VARCHAR) ORDER BY scenario_id, segment, model, year",
        [ids, ids, segment, segment],
        what="forecast",
    )


def scenario_runs(db: DbPath, metric: str | None = None) -> QueryResult:
    """Stored scenario runs (id, name, file, seed, paths, years, warehouse version, AI-accelerator
    ``metric``: units | h100e), newest first; only those of ``metric`` when given."""
    return _rows(
        db,
        "scenario_runs",
        "scenario_id, name, file, seed, n_paths, start_year, end_year, warehouse_version, created_at, "
        "coalesce(metric, 'units') AS metric",
        "created_at DESC NULLS LAST, scenario_id",
        ("coalesce(metric, 'units') = ?", metric),
        what="scenario-run",
    )


def scenario_run_spec(db: DbPath, scenario_id: str) -> QueryResult:
    """What reproduces a stored run's paths: its resolved scenario (JSON), seed, paths and metric."""
    return _run(
        db,
        "scenario_runs",
        "SELECT scenario_id, resolved_json, seed, n_paths, coalesce(metric, 'units') AS metric "
        "FROM scenario_runs WHERE scenario_id = ?",
        [scenario_id],
        what="scenario-run",
    )


def forecast_backtest(db: DbPath, segment: str | None = None) -> QueryResult:
    """Stored rolling-origin backtest scores (CRPS, interval score, coverage, MAE in and out of sample,
    whether each estimator beats the last-value forecast) per estimator, segment, metric and horizon."""
    sql = "SELECT * EXCLUDE (warehouse_version, computed_at) FROM forecast_backtest"
    params: list[object] = []
    if segment:
        sql += " WHERE segment = ?"
        params.append(segment)
    return _run(
        db, "forecast_backtest", sql + " ORDER BY segment, metric, horizon_years, lead_years, name", params
    )


def _opt_list(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]
