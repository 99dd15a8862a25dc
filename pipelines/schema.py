"""Every warehouse table's DDL, in one place, with the schema version.

Migration is declarative and forward-only: opening a warehouse for writing creates
missing tables and adds missing columns (``pipelines.warehouse.migrate``); columns are
never dropped or retyped in place. ``SCHEMA_VERSION`` is recorded in ``schema_meta``.
To add a table, add an entry to ``TABLES``; to add a column, append it to its table.
The curated reference files that load into these tables take their columns, types and keys from
here; their extra rules (optional columns, allowed values, ranges) are ``pipelines.reference_schema``.
"""

from __future__ import annotations

from pipelines.table_spec import Column, Table

SCHEMA_VERSION = 1


def _c(name: str, sql_type: str = "VARCHAR", nullable: bool = True, doc: str = "") -> Column:
    return Column(name, sql_type, nullable, doc)


_SOURCE = _c("source", nullable=False, doc="citation of the figure")
_FLAG = _c("flag", nullable=False, doc="reported | estimate")
_NOTES = _c("notes")

_TABLE_LIST: list[Table] = [
    Table(
        "schema_meta",
        (_c("key", nullable=False), _c("value")),
        ("key",),
        "schema version and other warehouse facts",
    ),
    Table(
        "table_refreshes",
        (
            _c("table_name", nullable=False),
            _c("rows", "BIGINT"),
            _c("refreshed_at", "TIMESTAMP"),
            _c("run_id"),
        ),
        ("table_name",),
        "when each table was last written, and by which run",
    ),
    Table(
        "quarantine",
        (
            _c("source_file", nullable=False),
            _c("row", "BIGINT", doc="1-based line number in the file (header = line 1)"),
            _c("field"),
            _c("value"),
            _c("reason", nullable=False),
            _c("seen_at", "TIMESTAMP"),
            _c("asset"),
            _c("run_id"),
        ),
        (),
        "rows refused on read, with file, row, field, value and reason",
    ),
    Table(
        "prices_daily",
        (
            _c("date", "DATE", False),
            _c("ticker", nullable=False),
            _c("open", "DOUBLE"),
            _c("high", "DOUBLE"),
            _c("low", "DOUBLE"),
            _c("close", "DOUBLE", False, "close in listing currency, adjusted by adj_factor"),
            _c("volume", "DOUBLE", doc="shares"),
            _c("currency", nullable=False),
            _c("close_usd", "DOUBLE", doc="close converted at that day's FX rate, USD"),
            _c("adj_factor", "DOUBLE", doc="multiplier applied to the raw close for splits/dividends"),
            _c("provider", nullable=False, doc="sample | yahoo | akshare | csv"),
            _SOURCE,
        ),
        ("date", "ticker"),
        "daily closes per ticker",
    ),
    Table(
        "tickers",
        (
            _c("ticker", nullable=False),
            _c("name"),
            _c("country"),
            _c("exchange"),
            _c("currency"),
            _c("segment"),
            _c("domestic_china", "BOOLEAN"),
            _c("benchmark"),
            _c("is_benchmark", "BOOLEAN"),
            _SOURCE,
            _FLAG,
            _c("sector_benchmark", doc="sector index for the event study (SOX, STAR 50, …); null: benchmark"),
            _c(
                "price_limit",
                "DOUBLE",
                doc="daily price limit, fraction (A-shares: 0.10 main board, 0.20 STAR/ChiNext)",
            ),
        ),
        ("ticker",),
        "ticker universe (Yahoo symbols) with the benchmark index of each",
    ),
    Table(
        "export_controls",
        (
            _c("event_id", nullable=False),
            _c("announced_date", "DATE", False),
            _c("effective_date", "DATE", False),
            _c("agency"),
            _c("title"),
            _c("citation"),
            _c("category"),
            _SOURCE,
            _FLAG,
            _NOTES,
            _c("origin", doc="curated | federal_register | screening_list"),
            _c("announced_time", doc="HH:MM local time of the announcement in announced_tz, if known"),
            _c("announced_tz", doc="IANA zone of announced_time (America/New_York, Asia/Shanghai, ...)"),
        ),
        ("event_id",),
        "US export-control actions and Chinese countermeasures",
    ),
    Table(
        "entity_list",
        (
            _c("name", nullable=False),
            _c("country"),
            _c("added_date", "DATE", False),
            _c("citation"),
            _c("event_id"),
            _SOURCE,
            _FLAG,
            _NOTES,
        ),
        ("name", "added_date"),
        "Entity List excerpt: Chinese chip-related firms",
    ),
    Table(
        "fab_capacity",
        (
            _c("company", nullable=False),
            _c("fab", nullable=False),
            _c("country"),
            _c("product"),
            _c("node_class"),
            _c("wafer_size_mm", "INTEGER"),
            _c("capacity_wspm", "DOUBLE", doc="wafer starts per month, in the fab's own wafer size"),
            _c("year", "INTEGER"),
            _c("status"),
            _SOURCE,
            _FLAG,
            _NOTES,
        ),
        ("company", "fab", "product", "node_class", "year"),
        "fab capacity by company, fab, product, node class and year",
    ),
    Table(
        "hbm_suppliers",
        (
            _c("company", nullable=False),
            _c("country"),
            _c("year", "INTEGER"),
            _c("hbm_generation"),
            _c("market_share", "DOUBLE", doc="fraction of world HBM"),
            _c("capacity_note"),
            _SOURCE,
            _FLAG,
            _NOTES,
        ),
        ("company", "year", "hbm_generation", "source"),
        "HBM suppliers, shares and status",
    ),
    Table(
        "equipment_vendors",
        (
            _c("vendor", nullable=False),
            _c("country"),
            _c("domestic_china", "BOOLEAN"),
            _c("tool_types"),
            _c("year", "INTEGER"),
            _c("revenue_usd_b", "DOUBLE", doc="USD billions"),
            _c("revenue_local", "DOUBLE"),
            _c("currency"),
            _c("market_share", "DOUBLE"),
            _c("segment"),
            _SOURCE,
            _FLAG,
            _NOTES,
        ),
        ("vendor", "year", "segment", "source"),
        "wafer-fab equipment vendors with dated revenue and share figures",
    ),
    Table(
        "tool_domestic_share",
        (
            _c("tool_type", nullable=False),
            _c("domestic_share", "DOUBLE"),
            _c("year", "INTEGER"),
            _SOURCE,
            _FLAG,
            _NOTES,
        ),
        ("tool_type", "year"),
        "share of tools bought in China supplied by Chinese vendors, per tool type",
    ),
    Table(
        "chip_specs",
        (
            _c("id", nullable=False),
            _c("vendor"),
            _c("bf16_tflops", "DOUBLE", doc="dense BF16, TFLOP/s"),
            _c("int8_tops", "DOUBLE", doc="dense INT8, TOP/s"),
            _c("hbm_gb", "DOUBLE", doc="GB"),
            _c("hbm_tbps", "DOUBLE", doc="TB/s"),
            _c("scaleup_gbps", "DOUBLE", doc="scale-up bandwidth per chip, both directions, GB/s"),
            _c("tdp_w", "DOUBLE", doc="W"),
            _c("sources"),
            _c("flag"),
            _c("source"),
        ),
        ("id",),
        "accelerator specs from the hardware_sim catalog",
    ),
    Table(
        "system_perf",
        (
            _c("id", nullable=False),
            _c("chips", "INTEGER"),
            _c("bf16_pflops", "DOUBLE", doc="PFLOP/s"),
            _c("hbm_tb", "DOUBLE", doc="TB"),
            _c("hbm_tbps", "DOUBLE", doc="TB/s"),
            _c("scaleup_tbps", "DOUBLE", doc="TB/s"),
            _c("power_kw", "DOUBLE", doc="kW at the wall, incl. cooling"),
            _c("pflops_per_kw", "DOUBLE"),
            _c("power_breakdown_kw", "VARCHAR", doc="JSON object, kW per component"),
            _c("source"),
        ),
        ("id",),
        "system totals and component power from hardware_sim",
    ),
    Table(
        "tool_demand",
        (
            _c("scenario_id", nullable=False),
            _c("year", "INTEGER", False),
            _c("tool_type", nullable=False),
            _c("count", "DOUBLE", doc="installed base: tools needed to run that year's capacity"),
            _c(
                "domestic_share",
                "DOUBLE",
                doc="that year's domestic-vendor share, fraction (latest reference figure of that year or before)",
            ),
            _c("source"),
            _c(
                "tools_new", "DOUBLE", doc="annual additions: increase of count over the previous year, tools"
            ),
        ),
        ("scenario_id", "year", "tool_type"),
        "tools needed per year and tool type, with the domestic-supplier share",
    ),
    Table(
        "substitution_history",
        (
            _c("segment", nullable=False),
            _c("year", "INTEGER", False),
            _c("domestic_share", "DOUBLE", False),
            _c("metric"),
            _SOURCE,
            _FLAG,
            _NOTES,
        ),
        ("segment", "year", "source", "metric"),
        "observed domestic shares; disagreeing sources kept as separate rows",
    ),
    Table(
        "observations",
        (
            _c("segment", nullable=False),
            _c("year", "INTEGER", False),
            _c("metric", nullable=False, doc="a name in models.observations.METRICS"),
            _c("value", "DOUBLE", False, doc="share (fraction) or count (units/year), by metric"),
            _c("published", "DATE", False, doc="when the figure was first published"),
            _SOURCE,
            _FLAG,
            _NOTES,
        ),
        ("segment", "year", "metric", "source"),
        "every observed figure (shares, unit counts) with its publication date: the vintages",
    ),
    Table(
        "substitution_outlooks",
        (
            _c("segment", nullable=False),
            _c("year", "INTEGER", False),
            _c("domestic_share", "DOUBLE"),
            _c("metric"),
            _c("publisher"),
            _c("published"),
            _SOURCE,
            _FLAG,
            _NOTES,
        ),
        ("segment", "year", "publisher", "metric"),
        "third-party forecasts shown beside ours",
    ),
    Table(
        "substitution_forecast",
        (
            _c("scenario_id", nullable=False),
            _c("segment", nullable=False),
            _c("year", "INTEGER", False),
            _c("model", nullable=False),
            _c("p10", "DOUBLE"),
            _c("p50", "DOUBLE"),
            _c("p90", "DOUBLE"),
            _c("source"),
        ),
        ("scenario_id", "segment", "year", "model"),
        "forecast domestic share quantiles",
    ),
    Table(
        "event_study",
        (
            _c("event_id", nullable=False),
            _c("ticker", nullable=False),
            _c("window", nullable=False, doc="e.g. [-1,+1] in trading days"),
            _c("car", "DOUBLE", doc="cumulative abnormal return, fraction; NULL when flag says why"),
            _c("t_stat", "DOUBLE"),
            _c("source"),
            _c("event_ids", doc="every export_controls.event_id of that date, ';'-joined (event_id first)"),
            _c("event_day", "DATE", doc="day 0: first session on or after the announcement"),
            _c("benchmark", doc="benchmark ticker the market model used"),
            _c("beta", "DOUBLE", doc="market-model beta over the estimation window"),
            _c("n_estimation", "INTEGER", doc="estimation days used (returns, after masking)"),
            _c("gap_days", "INTEGER", doc="trading days of the estimation window inside a data hole"),
            _c("masked_days", "INTEGER", doc="estimation days left out: other events' windows"),
            _c(
                "flag", doc="ok | estimation_gap; short_estimation; event_window_gap; event_in_gap; limit_hit"
            ),
            _c("limit_days", "INTEGER", doc="days of the window at the daily price limit (A-shares)"),
        ),
        ("event_id", "ticker", "window"),
        "market-model event study per event, ticker and window",
    ),
]

TABLES: dict[str, Table] = {t.name: t for t in _TABLE_LIST}

# ---- forecast group: scenario runs and backtests --------------------------------
for _table in (
    Table(
        "scenario_runs",
        (
            _c(
                "scenario_id",
                nullable=False,
                doc="<name>-<sha256 prefix> of (resolved scenario, seed, warehouse version)",
            ),
            _c("name", nullable=False),
            _c("file", doc="scenario file path, or <scenario text> for YAML passed inline"),
            _c("seed", "BIGINT", False),
            _c("n_paths", "BIGINT", doc="Monte Carlo paths"),
            _c("start_year", "INTEGER"),
            _c("end_year", "INTEGER"),
            _c("warehouse_version", doc="schema version + hash of the observation rows used + metric"),
            _c(
                "content_sha256", nullable=False, doc="sha256 of (resolved scenario, seed, warehouse version)"
            ),
            _c("created_at", "TIMESTAMP"),
            _c("yaml", doc="the scenario file's text as run"),
            _c("resolved_json", doc="the validated scenario after `extends`, canonical JSON"),
            _c("as_of", "DATE", doc="vintage: only observations published by this date (NULL = all)"),
            _c("metric", doc="AI-accelerator share: units | h100e"),
        ),
        ("scenario_id",),
        "one row per stored forecast run; its quantiles are in substitution_forecast",
    ),
    Table(
        "forecast_backtest",
        (
            _c("name", nullable=False, doc="estimator: fisher_pry | gompertz | bass | ensemble"),
            _c("segment", nullable=False),
            _c("horizon_years", "INTEGER", False),
            _c("mape", "DOUBLE", doc="mean absolute percentage error, fraction (NULL if all observed ~0)"),
            _c("mae", "DOUBLE", doc="mean absolute error, share points as a fraction"),
            _c("coverage_p10_p90", "DOUBLE", doc="fraction of held-out rows inside the p10-p90 band"),
            _c("metric", doc="series: units | h100e (ai_accelerators) or share"),
            _c("crps", "DOUBLE", doc="mean CRPS of the sampled paths, share points as a fraction"),
            _c("interval_score", "DOUBLE", doc="mean 80% (p10-p90) interval score"),
            _c("in_sample_mae", "DOUBLE", doc="MAE of the model fitted to every observation (in-sample)"),
            _c("beats_last_value", "BOOLEAN", doc="CRPS below the last-value forecast's on the same pairs"),
            _c("n_origins", "INTEGER"),
            _c("n_points", "INTEGER"),
            _c("warehouse_version"),
            _c("computed_at", "TIMESTAMP"),
        ),
        ("name", "segment", "metric", "horizon_years"),
        "rolling-origin backtests on vintages of the observations (curves, ensemble, naive forecasts)",
    ),
):
    TABLES[_table.name] = _table

# ---- market group: FX, split table, fetch log, event-study cross-section -----------
for _table in (
    Table(
        "fx_daily",
        (
            _c("date", "DATE", False),
            _c("currency", nullable=False, doc="ISO code: CNY, HKD, KRW, EUR, TWD, JPY"),
            _c("units_per_usd", "DOUBLE", False, "units of the currency per 1 USD"),
            _c("provider", nullable=False, doc="sample | yahoo"),
            _SOURCE,
            _FLAG,
        ),
        ("date", "currency"),
        "daily FX rates to USD used for prices_daily.close_usd",
    ),
    Table(
        "price_adjustments",
        (
            _c("ticker", nullable=False),
            _c("ex_date", "DATE", False, "first trading day in post-split units"),
            _c("kind", nullable=False, doc="split"),
            _c("ratio", "DOUBLE", doc="new shares per old share (10 = ten-for-one)"),
            _SOURCE,
            _FLAG,
        ),
        ("ticker", "ex_date", "kind"),
        "split events behind prices_daily.adj_factor (bundled, or found in dropped files)",
    ),
    Table(
        "price_fetches",
        (
            _c("provider", nullable=False, doc="sample | yahoo | akshare | csv"),
            _c("spec", doc="the provider string, e.g. csv:/path/to/drop"),
            _c("requested_start", "DATE"),
            _c("requested_end", "DATE", doc="end date asked of the provider (csv: latest date in the drop)"),
            _c("latest_date", "DATE", doc="latest date stored by this fetch"),
            _c("rows", "BIGINT"),
            _c("tickers_ok", "INTEGER"),
            _c("tickers_failed", "INTEGER"),
            _c("failures", doc="ticker: reason; ... (and refused files)"),
            _c("fetched_at", "TIMESTAMP"),
            _c("run_id"),
        ),
        ("provider",),
        "the latest price fetch per provider: what was asked, stored and what failed (freshness check)",
    ),
    Table(
        "event_study_cross_section",
        (
            _c("event_id", nullable=False),
            _c("window", nullable=False, doc="e.g. [-1,+1] in trading days"),
            _c("group", nullable=False, doc="domestic_china | foreign"),
            _c("n", "INTEGER", doc="tickers averaged"),
            _c("mean_car", "DOUBLE", doc="mean cumulative abnormal return, fraction"),
            _c(
                "t_stat",
                "DOUBLE",
                doc="the method's statistic (mackinlay_j1: mean CAR / sqrt(sum Var(CAR_i)) * N)",
            ),
            _c("source"),
            _c("method", doc="mackinlay_j1 | bmp | bmp_kp | grank | calendar_time (models/event_tests.py)"),
            _c("p_value", "DOUBLE", doc="two-sided p-value of t_stat under the method's null distribution"),
            _c("rbar", "DOUBLE", doc="mean estimation-residual correlation in the group (bmp_kp)"),
        ),
        ("event_id", "window", "group", "method"),
        "event-study CARs averaged over domestic Chinese vs foreign tickers",
    ),
    Table(
        "tool_supply",
        (
            _c("scenario_id", nullable=False),
            _c("year", "INTEGER", False),
            _c("tool_type", nullable=False, doc="process-flow tool type, or a group such as deposition"),
            _c("tools_new", "DOUBLE", doc="new tools demanded that year (rise of tool_demand.count), tools"),
            _c("domestic_share", "DOUBLE", doc="share of those tools Chinese vendors supply, fraction"),
            _c("domestic_tools_new", "DOUBLE", doc="tools_new x domestic_share, tools"),
            _c(
                "domestic_supply",
                "DOUBLE",
                doc="tools/year domestic vendors can ship (revenue x split / ASP)",
            ),
            _c("coverage", "DOUBLE", doc="domestic_supply / domestic_tools_new (NULL: demand 0 or unknown)"),
            _c("gap", "DOUBLE", doc="domestic_tools_new - domestic_supply, tools (negative = surplus)"),
            _c("supply_basis", doc="reported | projected (vendor revenue grown past its last reported year)"),
            _c("vendors", doc="tools per vendor, e.g. AMEC 157.6; Naura 124.5"),
            _c("source"),
            _FLAG,
            _NOTES,
        ),
        ("scenario_id", "year", "tool_type"),
        "domestic etch/deposition tool supply (hardware_sim.fab.tool_supply) against new-tool demand",
    ),
):
    TABLES[_table.name] = _table
