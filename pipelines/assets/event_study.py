"""Export-control event study asset (group ``market``): per-ticker CARs and the group tests.

Thin: reads prices, the ticker universe and the events, calls ``models.event_study`` and
``models.event_tests``, stores ``event_study`` and ``event_study_cross_section``. Included in
``pipelines.assets.market.ASSETS`` so the market job and group keep it.
"""

import dagster as dg
import polars as pl

from pipelines.checks import table_check
from pipelines.resources import WarehouseResource
from pipelines.warehouse import replace_rows

EVENT_STUDY_SOURCE = "market model event study (MacKinlay 1997), estimation window [-250,-30] trading days"
BENCHMARK_CHOICES = ("sector", "market")  # tickers.sector_benchmark (falls back to benchmark) | benchmark


class EventStudyConfig(dg.Config):
    """Which benchmark each stock is measured against, and whether other events are masked."""

    benchmark: str = "sector"  # sector | market (see BENCHMARK_CHOICES)
    overrides: dict[str, str] = {}  # ticker → benchmark ticker for this run
    mask_other_events: bool = True
    thin_trading: str = "none"  # none | dimson (betas at t−1, t, t+1; models/event_markets.py)


def choose_benchmarks(
    stocks: pl.DataFrame, choice: str, overrides: dict[str, str], have: set[str]
) -> tuple[dict[str, str], list[str]]:
    """ticker → benchmark for the run, and notes on fallbacks (sector index without prices)."""
    if choice not in BENCHMARK_CHOICES:
        raise dg.Failure(
            description=f"event_study benchmark={choice!r}: expected one of {', '.join(BENCHMARK_CHOICES)}",
            allow_retries=False,
        )
    out, notes = {}, []
    sector = stocks["sector_benchmark"] if "sector_benchmark" in stocks.columns else [None] * stocks.height
    for ticker, market, sec in zip(stocks["ticker"], stocks["benchmark"], sector, strict=True):
        pick = sec if choice == "sector" and sec else market
        if ticker in overrides:
            pick = overrides[ticker]
        elif pick != market and pick not in have and market in have:
            notes.append(f"{ticker}: no prices for {pick}, measured against {market}")
            pick = market
        if pick:
            out[ticker] = pick
    return out, notes


@dg.asset(
    group_name="market",
    deps=["prices_daily", "export_controls", "tickers"],
    kinds={"duckdb", "python"},
    description="Market-model abnormal returns (MacKinlay) per ticker and export-control event: CAR and "
    "t-statistics over [-1,+1], [0,+5], [0,+20] with data-hole flags; group tests domestic China vs "
    "foreign (J1, BMP, BMP-KP, generalized rank, calendar-time portfolio).",
)
def event_study(
    context: dg.AssetExecutionContext, config: EventStudyConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from models.event_study import event_study_panel
    from models.event_tests import cross_section

    with warehouse.connection() as con:
        prices = con.sql("SELECT date, ticker, close, provider FROM prices_daily").pl()
        providers = sorted(r[0] for r in con.execute("SELECT DISTINCT provider FROM prices_daily").fetchall())
        universe = con.sql("SELECT * FROM tickers").pl()
        events = con.sql(
            "SELECT event_id, announced_date, announced_time, announced_tz FROM export_controls "
            "ORDER BY announced_date"
        ).pl()
        stocks = universe.filter(~pl.col("is_benchmark").fill_null(False) & pl.col("benchmark").is_not_null())
        have = set(prices["ticker"].unique().to_list())
        benchmark_of, notes = choose_benchmarks(stocks, config.benchmark, dict(config.overrides), have)
        try:
            study = event_study_panel(
                prices,
                benchmark_of,
                list(events.iter_rows()),
                mask_other_events=config.mask_other_events,
                exchange_of=dict(zip(stocks["ticker"], stocks["exchange"], strict=True)),
                price_limit_of=dict(zip(stocks["ticker"], stocks["price_limit"], strict=True)),
                thin_trading=config.thin_trading,
            )
        except ValueError as exc:  # a bad announced_time / announced_tz in export_controls, a bad config
            raise dg.Failure(description=f"event_study: {exc}", allow_retries=False) from None
        results = study.results
        for note in notes:
            context.log.warning(f"event_study: {note}")
        if study.skipped:  # never regress real stocks on synthetic benchmark series
            context.log.warning(
                "event_study: skipped (real stock, sample benchmark; drop the index series too): "
                + "; ".join(study.skipped.values())
            )
        no_bench = sorted({b for t, b in benchmark_of.items() if t in have and b not in have})
        if no_bench:  # e.g. a CSV drop of stocks without their indices: say why the study is thin or empty
            context.log.warning(
                f"event_study: no prices for benchmark(s) {', '.join(no_bench)}; stocks measured "
                "against them are left out (add the index series to the drop)"
            )
        betas = "; Dimson betas (t-1, t, t+1)" if config.thin_trading == "dimson" else ""
        source = f"{EVENT_STUDY_SOURCE}{betas}; prices provider: {', '.join(providers) or 'none'}"
        rows = results.select(
            "event_id",
            "ticker",
            "window",
            "car",
            "t_stat",
            "event_ids",
            "event_day",
            "benchmark",
            "beta",
            "n_estimation",
            "gap_days",
            "masked_days",
            "flag",
            "limit_days",
        ).with_columns(pl.lit(source).alias("source"), pl.col(pl.Float64).fill_nan(None))
        replace_rows(con, "event_study", rows, run_id=context.run_id)
        group_of = {
            t: ("domestic_china" if d else "foreign")
            for t, d in zip(stocks["ticker"].to_list(), stocks["domestic_china"].to_list(), strict=True)
        }
        cs = cross_section(results, group_of, study.abnormal).with_columns(
            pl.col("n").cast(pl.Int32), pl.lit(source).alias("source"), pl.col(pl.Float64).fill_nan(None)
        )
        replace_rows(con, "event_study_cross_section", cs, run_id=context.run_id)
    flagged = results.filter(pl.col("flag") != "ok")
    return dg.MaterializeResult(
        metadata={
            "rows": rows.height,
            "events": results["event_id"].n_unique() if results.height else 0,
            "tickers": results["ticker"].n_unique() if results.height else 0,
            "flagged_rows": flagged.height,
            "providers": ", ".join(providers),
            "missing_benchmarks": ", ".join(no_bench),
            "skipped_sample_benchmark": ", ".join(sorted(study.skipped)),
        }
    )


# a cumulative abnormal return beyond ±500 % within a window of at most 21 trading days is a data error
# (a price of 1e308, a unit slip), never a market reaction: the check blocks its publication
MAX_ABS_CAR = 5.0

EVENT_STUDY_CONDITIONS = (
    "\"window\" IN ('[-1,+1]', '[0,+5]', '[0,+20]')",
    f"car IS NULL OR (isfinite(car) AND abs(car) <= {MAX_ABS_CAR})",
    "t_stat IS NULL OR isfinite(t_stat)",
    "car IS NOT NULL OR flag <> 'ok'",  # a missing CAR always says why
)

# min_rows=0: a short CSV drop may hold too little history for any estimation window
event_study_valid = table_check("event_study", min_rows=0, conditions=EVENT_STUDY_CONDITIONS)
