"""Market group: ticker universe, FX to USD, daily prices from a chosen provider (+ the event study of
``pipelines/assets/event_study.py``).

The price provider is chosen in the run config (``PricesConfig.provider``: ``sample`` (default,
offline), ``yahoo``, ``akshare`` or ``csv:DIR``); ``market_run_config(provider)`` builds that run
config for ``fabscope refresh --prices X`` and the drop-folder sensor. How FX and prices are fetched
and stored (incrementally, rescaling history after a split) is ``pipelines.market_store``.
"""

from datetime import date

import dagster as dg

from fabscope.errors import InputError
from pipelines.assets.reference_assets import reference_asset
from pipelines.checks import table_check
from pipelines.failures import as_failure
from pipelines.market_store import FRESHNESS_DAYS, price_freshness, refresh_fx, refresh_prices
from pipelines.resources import RunDateResource, WarehouseResource
from pipelines.sources.fx import FX_CURRENCIES
from pipelines.sources.prices import ProviderError, parse_provider

tickers = reference_asset(
    "tickers", "market", "Ticker universe (Yahoo symbols) with each stock's benchmark index."
)


class PricesConfig(dg.Config):
    """Which provider fills ``prices_daily``, and an optional date range to (back)fill."""

    provider: str = "sample"  # sample | yahoo | akshare | csv:DIR
    start: str = ""  # YYYY-MM-DD; default: full history (sample, csv) or incremental (yahoo, akshare)
    end: str = ""  # YYYY-MM-DD; default: the run date (``RunDateResource``, the UTC date if unset)


class FxConfig(dg.Config):
    """Which provider fills ``fx_daily`` (``sample`` offline, ``yahoo`` live) and an optional range."""

    provider: str = "sample"
    start: str = ""
    end: str = ""


def _parse_date(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise as_failure(InputError(f"{field}={text!r}: expected a date YYYY-MM-DD")) from None


def market_run_config(provider: str, *, start: str = "", end: str = "") -> dict:
    """Dagster run config selecting the price provider (``sample|yahoo|akshare|csv:DIR``) for the market assets.

    Raises ``InputError`` with a readable message for an unknown provider, a missing ``csv`` folder,
    or ``akshare`` without its optional extra installed.
    """
    spec = parse_provider(provider)
    if spec.name == "akshare":
        from pipelines.sources.prices.akshare import import_akshare

        try:
            import_akshare()
        except ProviderError as exc:
            raise InputError(f"--prices akshare: {exc}") from None
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
    context: dg.AssetExecutionContext,
    config: FxConfig,
    warehouse: WarehouseResource,
    run_date: RunDateResource,
) -> dg.MaterializeResult:
    start, end = _parse_date(config.start, "start"), _parse_date(config.end, "end") or run_date.as_date()
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
            raise as_failure(exc) from None
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
    context: dg.AssetExecutionContext,
    config: PricesConfig,
    warehouse: WarehouseResource,
    run_date: RunDateResource,
) -> dg.MaterializeResult:
    start, end = _parse_date(config.start, "start"), _parse_date(config.end, "end")
    try:
        spec = parse_provider(config.provider)
    except InputError as exc:
        raise as_failure(exc) from None
    with warehouse.connection() as con:
        try:
            out = refresh_prices(con, spec, start, end, today=run_date.as_date(), run_id=context.run_id)
        except ProviderError as exc:
            raise as_failure(exc) from None
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
