"""Market group: ticker universe, FX to USD, daily prices from a chosen provider, export-control event study.

The price provider is chosen in the run config (``PricesConfig.provider``: ``sample`` (default,
offline), ``yahoo``, ``akshare`` or ``csv:DIR``); ``market_run_config(provider)`` builds that run
config for ``fabscope refresh --prices X`` and the drop-folder sensor. Refreshes are incremental
instead of partitioned: live providers fetch from a week before the latest stored date (or
``PricesConfig.start`` to backfill a range); writes replace only the fetched (date, ticker) keys,
so an unpartitioned full ``fabscope refresh`` and a backfill of a date range both work.
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import polars as pl

from fabscope.errors import DataError, InputError
from pipelines.assets.reference_assets import reference_asset
from pipelines.checks import table_check
from pipelines.failures import as_failure
from pipelines.resources import RunDateResource, WarehouseResource
from pipelines.sources.fx import FX_CURRENCIES, sample_fx, to_usd, yahoo_fx
from pipelines.sources.prices import ProviderError, ProviderSpec, build_provider, parse_provider
from pipelines.sources.prices.adjustments import known_splits
from pipelines.sources.prices.base import FetchResult
from pipelines.warehouse import replace_rows, scalar, write_quarantine

HISTORY_START = date(2018, 1, 2)  # first export-control events in the curated table are 2018
INCREMENTAL_OVERLAP_DAYS = 7  # live refetch overlap: late corrections and holidays
FRESHNESS_DAYS = 7  # latest stored date may lag the provider's end date by a week (weekends, holidays)
EVENT_STUDY_SOURCE = "market model event study (MacKinlay 1997), estimation window [-250,-30] trading days"

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


# ---- FX -----------------------------------------------------------------------------------------
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
    end = _parse_date(config.end, "end") or run_date.as_date()
    with warehouse.connection() as con:
        if config.provider == "sample":
            start = _parse_date(config.start, "start") or HISTORY_START
            rates = sample_fx(start, end)
            real = con.sql("SELECT date, currency FROM fx_daily WHERE provider <> 'sample'").pl()
            if real.height:
                rates = rates.join(real, on=["date", "currency"], how="anti")
            if config.start or config.end:  # a backfill range: replace only its days, keep the rest
                replace_rows(con, "fx_daily", rates, key=("date", "currency"), run_id=context.run_id)
            else:
                replace_rows(con, "fx_daily", rates, where={"provider": "sample"}, run_id=context.run_id)
            failures: dict[str, str] = {}
        elif config.provider == "yahoo":
            latest = scalar(con, "SELECT max(date) FROM fx_daily WHERE provider = 'yahoo'")
            start = _parse_date(config.start, "start") or (
                latest - timedelta(days=INCREMENTAL_OVERLAP_DAYS) if latest else HISTORY_START
            )
            rates, failures = yahoo_fx(start, end)
            if rates.height == 0:
                raise as_failure(DataError(f"no FX rates fetched from Yahoo: {failures}"))
            replace_rows(con, "fx_daily", rates, key=("date", "currency"), run_id=context.run_id)
        else:
            raise as_failure(InputError(f"fx provider {config.provider!r}: expected sample or yahoo"))
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


# ---- prices -------------------------------------------------------------------------------------
def _quarantine_refused(con, result: FetchResult, run_id: str | None) -> int:
    n = 0
    for v in result.validations:
        n += write_quarantine(
            con, v.quarantine, source_file=v.source_file, asset="prices_daily", run_id=run_id
        )
    for path, why in result.refused_files.items():
        found = why.split("found columns ", 1)[1].split("]", 1)[0] + "]" if "found columns " in why else None
        row = pl.DataFrame(
            {"row": [1], "field": ["(header)"], "value": [found], "reason": [why]},
            schema={"row": pl.Int64, "field": pl.String, "value": pl.String, "reason": pl.String},
        )
        n += write_quarantine(con, row, source_file=path, asset="prices_daily", run_id=run_id)
    return n


INCREMENTAL_PROVIDERS = ("yahoo", "akshare")
RESCALE_TOLERANCE = 1e-3  # overlap ratios closer to 1 than this: same units, nothing to rescale
RESCALE_AGREEMENT = 5e-3  # every overlapping day must give the same ratio within this (else: a data revision)
SHARE_CHANGE = (
    0.08  # |ratio − 1| above this is a split/bonus issue (volumes rescale too), below it a dividend
)


def rescale_history(con, frame: pl.DataFrame, provider: str) -> pl.DataFrame:
    """Bring stored history into the units of a new incremental fetch; returns the ratios applied.

    Live providers return prices adjusted as of the fetch day, and an incremental refresh refetches
    only the last ``INCREMENTAL_OVERLAP_DAYS``: after a split, bonus issue or dividend that the split
    table does not know, the overlap comes back in new units while older stored rows keep the old
    ones (a fake −50 % day for a 2:1 split). The overlap measures the change: where every
    overlapping day gives the same ratio new/stored ``r``, the other stored rows of that ticker get
    prices, ``close_usd`` and ``adj_factor`` × ``r`` (volumes ÷ ``r`` when it is a share-count change).
    """
    empty = pl.DataFrame(schema={"ticker": pl.String, "ratio": pl.Float64})
    if frame.height == 0:
        return empty
    firsts = frame.group_by("ticker").agg(pl.col("date").min().alias("first"))
    stored = con.execute(
        "SELECT ticker, date, close AS old FROM prices_daily WHERE provider = ? AND list_contains(?, ticker) "
        "AND date >= ?",
        [provider, firsts["ticker"].to_list(), firsts["first"].min()],
    ).fetchall()
    stored = pl.DataFrame(
        stored, schema={"ticker": pl.String, "date": pl.Date, "old": pl.Float64}, orient="row"
    )
    if stored.height == 0:
        return empty
    ratios = (
        frame.select("ticker", "date", "close")
        .join(stored, on=["ticker", "date"])
        .with_columns((pl.col("close") / pl.col("old")).alias("r"))
        .group_by("ticker")
        .agg(
            pl.col("r").median().alias("ratio"), pl.col("r").min().alias("lo"), pl.col("r").max().alias("hi")
        )
        .filter(
            ((pl.col("ratio") - 1).abs() > RESCALE_TOLERANCE)
            & ((pl.col("hi") - pl.col("lo")) / pl.col("ratio") <= RESCALE_AGREEMENT)
        )
    )
    for ticker, ratio in ratios.select("ticker", "ratio").iter_rows():
        vol = 1.0 / ratio if abs(ratio - 1) > SHARE_CHANGE else 1.0
        con.execute(
            "UPDATE prices_daily SET open = open * $r, high = high * $r, low = low * $r, close = close * $r, "
            "close_usd = close_usd * $r, adj_factor = adj_factor * $r, volume = volume * $v "
            "WHERE provider = $p AND ticker = $t",  # the fetched days are replaced right after
            {"r": ratio, "v": vol, "p": provider, "t": ticker},
        )
    return ratios.select("ticker", "ratio")


def store_prices(con, frame: pl.DataFrame, provider: str, run_id: str | None, *, ranged: bool = False) -> int:
    """Write canonical prices (with ``close_usd``) idempotently; sample rows never overwrite real ones.

    - ``sample``: replaces all sample rows (only the fetched (date, ticker) keys when ``ranged``, a
      backfill of a date range), skipping tickers that have rows from a real provider;
    - real providers: replace the fetched (date, ticker) keys, then drop sample rows of those tickers
      (one series per ticker is never half sample, half real).
    """
    if provider == "sample":
        real = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT ticker FROM prices_daily WHERE provider <> 'sample'"
            ).fetchall()
        }
        frame = frame.filter(~pl.col("ticker").is_in(sorted(real)))
        if ranged:
            return replace_rows(con, "prices_daily", frame, key=("date", "ticker"), run_id=run_id)
        return replace_rows(con, "prices_daily", frame, where={"provider": "sample"}, run_id=run_id)
    if provider in INCREMENTAL_PROVIDERS:
        rescale_history(con, frame, provider)
    written = replace_rows(con, "prices_daily", frame, key=("date", "ticker"), run_id=run_id)
    fetched = frame["ticker"].unique().to_list()
    con.execute("DELETE FROM prices_daily WHERE provider = 'sample' AND list_contains(?, ticker)", [fetched])
    return written


def _fetch_window(
    con, spec: ProviderSpec, config: PricesConfig, today: date
) -> tuple[date | None, date | None]:
    start, end = _parse_date(config.start, "start"), _parse_date(config.end, "end")
    if spec.name == "csv":
        return start, end  # a drop is stored whole unless a range is given
    end = end or today
    if start is None:
        latest = (
            scalar(con, "SELECT max(date) FROM prices_daily WHERE provider = ?", [spec.name])
            if spec.name != "sample"
            else None
        )
        start = latest - timedelta(days=INCREMENTAL_OVERLAP_DAYS) if latest else HISTORY_START
    return start, end


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
    try:
        spec = parse_provider(config.provider)
    except InputError as exc:
        raise as_failure(exc) from None
    with warehouse.connection() as con:
        universe = con.sql("SELECT ticker, segment, benchmark, is_benchmark, currency FROM tickers").pl()
        events = [r[0] for r in con.execute("SELECT DISTINCT announced_date FROM export_controls").fetchall()]
        known = dict(zip(universe["ticker"].to_list(), universe["currency"].to_list(), strict=True))
        start, end = _fetch_window(con, spec, config, run_date.as_date())
        try:
            provider = build_provider(spec, universe=universe, events=events, known=known)
            result = provider.fetch(universe["ticker"].to_list(), start, end)
        except ProviderError as exc:
            raise as_failure(exc) from None
        quarantined = _quarantine_refused(con, result, context.run_id)
        if result.frame.height == 0:
            raise as_failure(DataError(f"no prices from {spec}:\n{result.summary()}"))
        fx = con.sql("SELECT date, currency, units_per_usd FROM fx_daily").pl()
        frame = to_usd(result.frame, fx)
        no_fx = sorted(frame.filter(pl.col("close_usd").is_null())["currency"].unique().to_list())
        if no_fx:  # stored with close_usd NULL rather than a made-up rate; said out loud
            context.log.warning(
                f"prices from {spec}: no FX rate to USD for {', '.join(no_fx)}; close_usd left "
                f"empty for those rows (fx_daily covers {', '.join(FX_CURRENCIES)})"
            )
        written = store_prices(con, frame, spec.name, context.run_id, ranged=bool(config.start or config.end))
        splits = result.splits if result.splits is not None else known_splits()
        replace_rows(
            con,
            "price_adjustments",
            splits.with_columns(pl.lit("split").alias("kind")),
            key=("ticker", "ex_date", "kind"),
            run_id=context.run_id,
        )
        latest = frame["date"].max()
        failures = "; ".join(
            [f"{t}: {w}" for t, w in sorted(result.failures.items())]
            + [f"{f}: refused" for f in sorted(result.refused_files)]
        )
        fetch = pl.DataFrame(
            [
                {
                    "provider": spec.name,
                    "spec": str(spec),
                    "requested_start": start,
                    "requested_end": end if end is not None else latest,
                    "latest_date": latest,
                    "rows": written,
                    "tickers_ok": len(result.tickers_ok),
                    "tickers_failed": len(result.failures),
                    "failures": failures or None,
                    "fetched_at": datetime.now(UTC).replace(tzinfo=None),
                    "run_id": context.run_id,
                }
            ]
        )
        replace_rows(con, "price_fetches", fetch, key=("provider",), run_id=context.run_id)
    if result.failures or result.refused_files or quarantined:
        context.log.warning(f"prices from {spec}: {result.summary()}")
    else:
        context.log.info(f"prices from {spec}: {result.summary()}")
    return dg.MaterializeResult(
        metadata={
            "rows": written,
            "provider": spec.name,
            "tickers": len(result.tickers_ok),
            "failed_tickers": dg.MetadataValue.json(result.failures),
            "quarantined_rows": quarantined,
            "latest_date": str(latest),
            "summary": dg.MetadataValue.text(result.summary()),
            "currencies_without_fx": ", ".join(no_fx),
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
        rows = con.sql(
            "SELECT provider, requested_end FROM price_fetches ORDER BY fetched_at DESC LIMIT 1"
        ).pl()
        if rows.height == 0:
            return dg.AssetCheckResult(passed=False, description="no price fetch recorded")
        provider, requested_end = rows.row(0)
        latest = scalar(con, "SELECT max(date) FROM prices_daily WHERE provider = ?", [provider])
    lag = (requested_end - latest).days if latest and requested_end else None
    passed = lag is not None and lag <= FRESHNESS_DAYS
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "provider": provider,
            "requested_end": str(requested_end),
            "latest_date": str(latest),
            "lag_days": lag if lag is not None else -1,
        },
        description=None
        if passed
        else f"latest {provider} price {latest} lags the requested end "
        f"{requested_end} by more than {FRESHNESS_DAYS} days",
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


market_refresh_job = dg.define_asset_job(
    "market_refresh",
    selection=dg.AssetSelection.groups("market"),
    description="Refresh the market group (FX, prices, event study); the CSV drop sensor launches it.",
)

ASSETS = [tickers, fx_daily, prices_daily, event_study]
CHECKS = [
    table_check("tickers", min_rows=20),
    table_check("fx_daily", min_rows=len(FX_CURRENCIES), conditions=("units_per_usd > 0",)),
    table_check(
        "prices_daily",
        min_rows=1,
        conditions=(
            "close > 0",
            "close_usd IS NULL OR close_usd > 0",
            "adj_factor IS NULL OR adj_factor > 0",
            "provider IN ('sample', 'yahoo', 'akshare', 'csv')",
        ),
    ),
    prices_daily_fresh,
    # min_rows=0: a short CSV drop may hold too little history for any estimation window
    table_check(
        "event_study",
        min_rows=0,
        conditions=("\"window\" IN ('[-1,+1]', '[0,+5]', '[0,+20]')", "car IS NULL OR isfinite(car)"),
    ),
]
JOBS = [market_refresh_job]
