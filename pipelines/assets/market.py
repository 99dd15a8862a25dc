"""Market group: ticker universe, FX to USD, daily prices from a chosen provider, export-control event study.

The price provider is chosen in the run config (``PricesConfig.provider``: ``sample`` (default,
offline), ``yahoo``, ``akshare`` or ``csv:DIR``); ``market_run_config(provider)`` builds that run
config for ``fabscope refresh --prices X`` and the drop-folder sensor. How FX and prices are fetched
and stored (incrementally, rescaling history after a split) is ``pipelines.market_store``.
"""

from datetime import UTC, date, datetime

import dagster as dg
import polars as pl

from pipelines.assets.reference_assets import reference_asset
from pipelines.checks import table_check
from pipelines.market_store import FRESHNESS_DAYS, price_freshness, refresh_fx, refresh_prices
from pipelines.resources import WarehouseResource
from pipelines.sources.fx import FX_CURRENCIES
from pipelines.sources.prices import ProviderError, parse_provider
from pipelines.warehouse import replace_rows

EVENT_STUDY_SOURCE = "market model event study (MacKinlay 1997), estimation window [-250,-30] trading days"

tickers = reference_asset(
    "tickers", "market", "Ticker universe (Yahoo symbols) with each stock's benchmark index."
)


class PricesConfig(dg.Config):
    """Which provider fills ``prices_daily``, and an optional date range to (back)fill."""

    provider: str = "sample"  # sample | yahoo | akshare | csv:DIR
    start: str = ""  # YYYY-MM-DD; default: full history (sample, csv) or incremental (yahoo, akshare)
    end: str = ""  # YYYY-MM-DD; default: today (UTC)


class FxConfig(dg.Config):
    """Which provider fills ``fx_daily`` (``sample`` offline, ``yahoo`` live) and an optional range."""

    provider: str = "sample"
    start: str = ""
    end: str = ""


def _today() -> date:
    return datetime.now(UTC).date()


def _parse_date(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise dg.Failure(
            description=f"{field}={text!r}: expected a date YYYY-MM-DD", allow_retries=False
        ) from None


def market_run_config(provider: str, *, start: str = "", end: str = "") -> dict:
    """Dagster run config selecting the price provider (``sample|yahoo|akshare|csv:DIR``) for the market assets.

    Raises ``ValueError`` with a readable message for an unknown provider, a missing ``csv`` folder,
    or ``akshare`` without its optional extra installed.
    """
    spec = parse_provider(provider)
    if spec.name == "akshare":
        from pipelines.sources.prices.akshare import import_akshare

        try:
            import_akshare()
        except ProviderError as exc:
            raise ValueError(f"--prices akshare: {exc}") from None
    window = {k: v for k, v in (("start", start), ("end", end)) if v}
    prices = {"provider": str(spec), **window}
    fx = {"provider": "yahoo" if spec.name == "yahoo" else "sample", **window}
    return {"ops": {"prices_daily": {"config": prices}, "fx_daily": {"config": fx}}}


@dg.asset(
    group_name="market",
    kinds={"duckdb", "python"},
    description="Daily FX rates (units per USD) for CNY, HKD, KRW, EUR, TWD, JPY: sample offline, "
    "Yahoo CNY=X-style when configured.",
)
def fx_daily(
    context: dg.AssetExecutionContext, config: FxConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    start, end = _parse_date(config.start, "start"), _parse_date(config.end, "end") or _today()
    with warehouse.connection() as con:
        try:
            rates, failures = refresh_fx(
                con,
                config.provider,
                start,
                end,
                ranged=bool(config.start or config.end),
                run_id=context.run_id,
            )
        except ProviderError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
    if failures:
        context.log.warning(f"FX failures: {failures}")
    return dg.MaterializeResult(
        metadata={
            "rows": rates.height,
            "provider": config.provider,
            "currencies": ", ".join(sorted(rates["currency"].unique().to_list())),
            "failed": dg.MetadataValue.json(failures),
        }
    )


@dg.asset(
    group_name="market",
    deps=[tickers, fx_daily, "export_controls"],
    kinds={"duckdb", "python"},
    description="Daily prices per ticker (listing currency, split/dividend-adjusted with a stored "
    "adj_factor, close_usd via fx_daily) from the configured provider: sample | yahoo | "
    "akshare | csv:DIR.",
)
def prices_daily(
    context: dg.AssetExecutionContext, config: PricesConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    start, end = _parse_date(config.start, "start"), _parse_date(config.end, "end")
    try:
        spec = parse_provider(config.provider)
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    with warehouse.connection() as con:
        try:
            out = refresh_prices(con, spec, start, end, today=_today(), run_id=context.run_id)
        except ProviderError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
    result = out.result
    if out.fx_note:  # stored with close_usd NULL rather than a made-up rate; said out loud
        context.log.warning(f"prices from {spec}: {out.fx_note}")
    log = (
        context.log.warning
        if result.failures or result.refused_files or out.quarantined
        else context.log.info
    )
    log(f"prices from {spec}: {result.summary()}")
    return dg.MaterializeResult(
        metadata={
            "rows": out.written,
            "provider": spec.name,
            "tickers": len(result.tickers_ok),
            "failed_tickers": dg.MetadataValue.json(result.failures),
            "quarantined_rows": out.quarantined,
            "latest_date": str(out.latest),
            "summary": dg.MetadataValue.text(result.summary()),
            "currencies_without_fx": ", ".join(out.currencies_without_fx),
        }
    )


@dg.asset_check(
    asset=prices_daily,
    name="prices_daily_fresh",
    blocking=True,
    description=f"the latest stored date is within {FRESHNESS_DAYS} days of the provider's end date",
)
def prices_daily_fresh(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connection() as con:
        f = price_freshness(con)
    if f.provider is None:
        return dg.AssetCheckResult(passed=False, description="no price fetch recorded")
    return dg.AssetCheckResult(
        passed=f.fresh,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "provider": f.provider,
            "requested_end": str(f.requested_end),
            "latest_date": str(f.latest),
            "lag_days": f.lag_days if f.lag_days is not None else -1,
        },
        description=None
        if f.fresh
        else f"latest {f.provider} price {f.latest} lags the requested end "
        f"{f.requested_end} by more than {FRESHNESS_DAYS} days",
    )


tickers_valid = table_check("tickers", min_rows=20)
fx_daily_valid = table_check("fx_daily", min_rows=len(FX_CURRENCIES), conditions=("units_per_usd > 0",))
prices_daily_valid = table_check(
    "prices_daily",
    min_rows=1,
    conditions=(
        "close > 0",
        "close_usd IS NULL OR close_usd > 0",
        "adj_factor IS NULL OR adj_factor > 0",
        "provider IN ('sample', 'yahoo', 'akshare', 'csv')",
    ),
)


# ---- event study --------------------------------------------------------------------------------
@dg.asset(
    group_name="market",
    deps=[prices_daily, "export_controls", tickers],
    kinds={"duckdb", "python"},
    description="Market-model abnormal returns (MacKinlay) per ticker and export-control event: CAR and "
    "t-statistics over [-1,+1], [0,+5], [0,+20]; cross-section domestic China vs foreign.",
)
def event_study(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from models.event_study import cross_section
    from models.event_study import event_study as run_event_study

    with warehouse.connection() as con:
        prices = con.sql("SELECT date, ticker, close FROM prices_daily").pl()
        providers = sorted(r[0] for r in con.execute("SELECT DISTINCT provider FROM prices_daily").fetchall())
        universe = con.sql("SELECT ticker, benchmark, domestic_china, is_benchmark FROM tickers").pl()
        events = con.sql("SELECT event_id, announced_date FROM export_controls ORDER BY announced_date").pl()
        stocks = universe.filter(~pl.col("is_benchmark").fill_null(False) & pl.col("benchmark").is_not_null())
        benchmark_of = dict(zip(stocks["ticker"].to_list(), stocks["benchmark"].to_list(), strict=True))
        results = run_event_study(prices, benchmark_of, list(events.iter_rows()))
        have = set(prices["ticker"].unique().to_list())
        no_bench = sorted({b for t, b in benchmark_of.items() if t in have and b not in have})
        if no_bench:  # e.g. a CSV drop of stocks without their indices: say why the study is thin or empty
            context.log.warning(
                f"event_study: no prices for benchmark(s) {', '.join(no_bench)}; stocks measured "
                "against them are left out (add the index series to the drop)"
            )
        source = f"{EVENT_STUDY_SOURCE}; prices provider: {', '.join(providers) or 'none'}"
        rows = results.select("event_id", "ticker", "window", "car", "t_stat").with_columns(
            pl.lit(source).alias("source")
        )
        replace_rows(con, "event_study", rows, run_id=context.run_id)
        group_of = {
            t: ("domestic_china" if d else "foreign")
            for t, d in zip(stocks["ticker"].to_list(), stocks["domestic_china"].to_list(), strict=True)
        }
        cs = cross_section(results, group_of).with_columns(
            pl.col("n").cast(pl.Int32), pl.lit(source).alias("source")
        )
        replace_rows(con, "event_study_cross_section", cs, run_id=context.run_id)
    return dg.MaterializeResult(
        metadata={
            "rows": rows.height,
            "events": results["event_id"].n_unique() if results.height else 0,
            "tickers": results["ticker"].n_unique() if results.height else 0,
            "providers": ", ".join(providers),
            "missing_benchmarks": ", ".join(no_bench),
        }
    )


# min_rows=0: a short CSV drop may hold too little history for any estimation window
event_study_valid = table_check(
    "event_study",
    min_rows=0,
    conditions=("\"window\" IN ('[-1,+1]', '[0,+5]', '[0,+20]')", "car IS NULL OR isfinite(car)"),
)
