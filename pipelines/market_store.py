"""The market group's warehouse rules: FX and price refreshes, rescaling after a split, the fetch log.

Pure of Dagster: the ``market`` assets parse their run config, call these functions inside the run's
staging connection and report. Refreshes are incremental instead of partitioned: live providers fetch
from ``INCREMENTAL_OVERLAP_DAYS`` before the latest stored date (or an explicit start to backfill a
range); writes replace only the fetched (date, ticker) keys, so an unpartitioned full refresh and a
backfill of a date range both work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl

from pipelines.sources.fx import FX_CURRENCIES, sample_fx, to_usd, yahoo_fx
from pipelines.sources.prices import ProviderError, ProviderSpec, build_provider
from pipelines.sources.prices.adjustments import known_splits
from pipelines.sources.prices.base import FetchResult
from pipelines.sources.prices.csv_text import PATTERNS
from pipelines.validation import QUARANTINE_SCHEMA
from pipelines.warehouse import replace_rows, scalar, write_quarantine

HISTORY_START = date(2018, 1, 2)  # first export-control events in the curated table are 2018
INCREMENTAL_OVERLAP_DAYS = 7  # live refetch overlap: late corrections and holidays
FRESHNESS_DAYS = 7  # latest stored date may lag the provider's end date by a week (weekends, holidays)
INCREMENTAL_PROVIDERS = ("yahoo", "akshare")
RESCALE_TOLERANCE = 1e-3  # overlap ratios closer to 1 than this: same units, nothing to rescale
RESCALE_AGREEMENT = 5e-3  # every overlapping day must give the same ratio within this (else: a data revision)
SHARE_CHANGE = (
    0.08  # |ratio − 1| above this is a split/bonus issue (volumes rescale too), below it a dividend
)


def _incremental_start(con: duckdb.DuckDBPyConnection, table: str, provider: str) -> date:
    """A week before the latest date ``provider`` stored in ``table``; ``HISTORY_START`` when none."""
    latest = scalar(con, f'SELECT max(date) FROM "{table}" WHERE provider = ?', [provider])
    return latest - timedelta(days=INCREMENTAL_OVERLAP_DAYS) if latest else HISTORY_START


# ---- FX -----------------------------------------------------------------------------------------
def refresh_fx(
    con: duckdb.DuckDBPyConnection,
    provider: str,
    start: date | None,
    end: date,
    *,
    ranged: bool,
    run_id: str | None,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Fetch FX rates from ``provider`` (``sample`` | ``yahoo``) and store them; (rates, failures).

    ``sample`` never overwrites real rates and replaces all sample rows (only the fetched days when
    ``ranged``, a backfill); ``yahoo`` replaces the fetched days, incrementally when ``start`` is None.
    ``ProviderError`` for an unknown provider or when Yahoo returns nothing.
    """
    if provider == "sample":
        rates = sample_fx(start or HISTORY_START, end)
        real = con.sql("SELECT date, currency FROM fx_daily WHERE provider <> 'sample'").pl()
        if real.height:
            rates = rates.join(real, on=["date", "currency"], how="anti")
        if ranged:  # a backfill range: replace only its days, keep the rest
            replace_rows(con, "fx_daily", rates, key=("date", "currency"), run_id=run_id)
        else:
            replace_rows(con, "fx_daily", rates, where={"provider": "sample"}, run_id=run_id)
        return rates, {}
    if provider == "yahoo":
        rates, failures = yahoo_fx(start or _incremental_start(con, "fx_daily", "yahoo"), end)
        if rates.height == 0:
            raise ProviderError(f"no FX rates fetched from Yahoo: {failures}")
        replace_rows(con, "fx_daily", rates, key=("date", "currency"), run_id=run_id)
        return rates, failures
    raise ProviderError(f"fx provider {provider!r}: expected sample or yahoo")


# ---- prices -------------------------------------------------------------------------------------
def quarantine_refused(con: duckdb.DuckDBPyConnection, result: FetchResult, run_id: str | None) -> int:
    """Write a fetch's quarantined rows, and one header row per refused file; the rows written."""
    n = 0
    for v in result.validations:
        n += write_quarantine(
            con, v.quarantine, source_file=v.source_file, asset="prices_daily", run_id=run_id
        )
    for path, why in result.refused_files.items():
        found = why.split("found columns ", 1)[1].split("]", 1)[0] + "]" if "found columns " in why else None
        row = pl.DataFrame(
            {"row": [1], "field": ["(header)"], "value": [found], "reason": [why]}, schema=QUARANTINE_SCHEMA
        )
        n += write_quarantine(con, row, source_file=path, asset="prices_daily", run_id=run_id)
    return n


def overlap_ratios(frame: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    """Per ticker, the ratio new/stored close over the overlapping days, where it is a change of units.

    Kept only when the median ratio differs from 1 by more than ``RESCALE_TOLERANCE`` and every
    overlapping day agrees with it within ``RESCALE_AGREEMENT`` (otherwise: a data revision, left alone).
    ``frame``: ticker, date, close; ``stored``: ticker, date, old. Returns ticker, ratio.
    """
    return (
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
        .select("ticker", "ratio")
    )


def rescale_history(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, provider: str) -> pl.DataFrame:
    """Bring stored history into the units of a new incremental fetch; returns the ratios applied.

    Live providers return prices adjusted as of the fetch day, and an incremental refresh refetches
    only the last ``INCREMENTAL_OVERLAP_DAYS``: after a split, bonus issue or dividend that the split
    table does not know, the overlap comes back in new units while older stored rows keep the old
    ones (a fake −50 % day for a 2:1 split). The overlap measures the change (``overlap_ratios``):
    the other stored rows of that ticker get prices, ``close_usd`` and ``adj_factor`` × ``r``
    (volumes ÷ ``r`` when it is a share-count change).
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
    ratios = overlap_ratios(frame, stored)
    for ticker, ratio in ratios.iter_rows():
        vol = 1.0 / ratio if abs(ratio - 1) > SHARE_CHANGE else 1.0
        con.execute(
            "UPDATE prices_daily SET open = open * $r, high = high * $r, low = low * $r, close = close * $r, "
            "close_usd = close_usd * $r, adj_factor = adj_factor * $r, volume = volume * $v "
            "WHERE provider = $p AND ticker = $t",  # the fetched days are replaced right after
            {"r": ratio, "v": vol, "p": provider, "t": ticker},
        )
    return ratios


def store_prices(
    con: duckdb.DuckDBPyConnection,
    frame: pl.DataFrame,
    provider: str,
    run_id: str | None,
    *,
    ranged: bool = False,
) -> int:
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


def fetch_window(
    con: duckdb.DuckDBPyConnection, spec: ProviderSpec, start: date | None, end: date | None, today: date
) -> tuple[date | None, date | None]:
    """The (start, end) asked of the provider: a CSV drop whole unless a range is given; live providers
    incrementally from their latest stored date; the sample full history; ``end`` defaults to ``today``."""
    if spec.name == "csv":
        return start, end
    if start is None:
        start = _incremental_start(con, "prices_daily", spec.name) if spec.name != "sample" else HISTORY_START
    return start, end or today


@dataclass(frozen=True)
class PriceRefresh:
    """What one price refresh did: the provider's result, rows written and quarantined, what lacks FX."""

    result: FetchResult
    written: int
    quarantined: int
    latest: date
    currencies_without_fx: list[str]

    @property
    def fx_note(self) -> str:
        """Why some rows have no ``close_usd`` (empty when every row has one)."""
        if not self.currencies_without_fx:
            return ""
        return (
            f"no FX rate to USD for {', '.join(self.currencies_without_fx)}; close_usd left empty for those "
            f"rows (fx_daily covers {', '.join(FX_CURRENCIES)})"
        )


def _why_empty(spec: ProviderSpec, result: FetchResult) -> str:
    """The root cause of a fetch that returned no rows, in one line (the first failure or refusal)."""
    n_failed = len(result.failures) + len(result.refused_files)
    for what, why in [*sorted(result.failures.items()), *sorted(result.refused_files.items())]:
        more = f" (and {n_failed - 1} more failures)" if n_failed > 1 else ""
        return f"{what}: {why.splitlines()[0] if why else 'failed'}{more}"
    if result.validations:
        return "every row was quarantined"
    if spec.name == "csv":
        return f"the folder holds no price files ({', '.join(PATTERNS)})"
    return "the provider returned no rows"


def refresh_prices(
    con: duckdb.DuckDBPyConnection,
    spec: ProviderSpec,
    start: date | None,
    end: date | None,
    *,
    today: date,
    run_id: str | None,
) -> PriceRefresh:
    """Fetch the ticker universe's prices from ``spec``, convert to USD, store them, the split table and
    the ``price_fetches`` log. ``ProviderError`` when the provider fails or returns no rows at all."""
    universe = con.sql("SELECT ticker, segment, benchmark, is_benchmark, currency FROM tickers").pl()
    events = [r[0] for r in con.execute("SELECT DISTINCT announced_date FROM export_controls").fetchall()]
    known = dict(zip(universe["ticker"].to_list(), universe["currency"].to_list(), strict=True))
    ranged = start is not None or end is not None
    start, end = fetch_window(con, spec, start, end, today)
    provider = build_provider(spec, universe=universe, events=events, known=known, today=today)
    result = provider.fetch(universe["ticker"].to_list(), start, end)
    quarantined = quarantine_refused(con, result, run_id)
    if result.frame.height == 0:
        raise ProviderError(f"no prices from {spec}: {_why_empty(spec, result)}\n{result.summary()}")
    frame = to_usd(result.frame, con.sql("SELECT date, currency, units_per_usd FROM fx_daily").pl())
    no_fx = sorted(frame.filter(pl.col("close_usd").is_null())["currency"].unique().to_list())
    written = store_prices(con, frame, spec.name, run_id, ranged=ranged)
    splits = result.splits if result.splits is not None else known_splits()
    replace_rows(
        con,
        "price_adjustments",
        splits.with_columns(pl.lit("split").alias("kind")),
        key=("ticker", "ex_date", "kind"),
        run_id=run_id,
    )
    latest = frame["date"].max()
    record_fetch(con, spec, result, start, end if end is not None else latest, latest, written, run_id)
    return PriceRefresh(result, written, quarantined, latest, no_fx)


def record_fetch(
    con: duckdb.DuckDBPyConnection,
    spec: ProviderSpec,
    result: FetchResult,
    start: date | None,
    end: date | None,
    latest: date,
    written: int,
    run_id: str | None,
) -> None:
    """Replace ``spec``'s row of ``price_fetches``: what was asked, stored and what failed."""
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
                "requested_end": end,
                "latest_date": latest,
                "rows": written,
                "tickers_ok": len(result.tickers_ok),
                "tickers_failed": len(result.failures),
                "failures": failures or None,
                "fetched_at": datetime.now(UTC).replace(tzinfo=None),
                "run_id": run_id,
            }
        ]
    )
    replace_rows(con, "price_fetches", fetch, key=("provider",), run_id=run_id)


@dataclass(frozen=True)
class Freshness:
    """The latest price fetch against what it stored: ``lag_days`` None when nothing is recorded."""

    provider: str | None
    requested_end: date | None
    latest: date | None
    lag_days: int | None

    @property
    def fresh(self) -> bool:
        """Whether the latest stored date is within ``FRESHNESS_DAYS`` of the requested end."""
        return self.lag_days is not None and self.lag_days <= FRESHNESS_DAYS


def price_freshness(con: duckdb.DuckDBPyConnection) -> Freshness:
    """How far the latest stored price of the most recent fetch's provider lags its requested end."""
    rows = con.sql("SELECT provider, requested_end FROM price_fetches ORDER BY fetched_at DESC LIMIT 1").pl()
    if rows.height == 0:
        return Freshness(None, None, None, None)
    provider, requested_end = rows.row(0)
    latest = scalar(con, "SELECT max(date) FROM prices_daily WHERE provider = ?", [provider])
    lag = (requested_end - latest).days if latest and requested_end else None
    return Freshness(provider, requested_end, latest, lag)
