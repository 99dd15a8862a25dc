"""The ``yahoo`` provider: daily prices through yfinance (imported only when this provider runs).

One ``yf.download`` per ticker with ``auto_adjust=False``: ``Close`` is split-adjusted as of
the download, ``Adj Close`` also for dividends, so the explicit factor is
``adj_factor = Adj Close / Close`` (splits after the data's last date come from the split
table, as for dropped files). A ticker with no rows or an error is retried with backoff and
then reported in ``FetchResult.failures``; the others are kept. Symbols are Yahoo's:
``NVDA``, ``0981.HK``, ``688256.SS``, ``002371.SZ``, ``000660.KS``, ``^SOX``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from pipelines.sources.prices.adjustments import apply_adjustment, known_splits
from pipelines.sources.prices.base import (
    FetchResult,
    ProviderError,
    RetryingProvider,
    currency_for,
    optional_module,
    require_rows,
    to_canonical,
)

PROVIDER = "yahoo"
_FIELDS = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}


def _yfinance() -> Any:
    return optional_module("yfinance", "the yahoo provider needs yfinance: pip install 'fabscope[yahoo]'")


def _quiet_download(download: Callable[..., Any], symbol: str, **kwargs: Any) -> Any:
    """``download`` with yfinance's own logging silenced; an empty result raises ``ProviderError`` naming
    the source, the symbol and yfinance's recorded reason (offline, unknown symbol...) in one line."""
    logger = logging.getLogger("yfinance")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        data = download(symbol, **kwargs)
    finally:
        logger.setLevel(level)
    if data is None or len(data) == 0:
        try:
            import yfinance.shared as shared

            errors = dict(getattr(shared, "_ERRORS", {}) or {})
        except ImportError:  # a stand-in download in tests
            errors = {}
        why = str(errors.get(symbol) or errors.get(symbol.upper()) or "no rows returned").strip()
        raise ProviderError(
            f"yahoo (Yahoo Finance via yfinance): {symbol}: {why.splitlines()[0] if why else why}"
        )
    return data


def download_daily(download: Callable[..., Any], symbol: str, start: date, end: date) -> Any:
    """``yfinance.download`` of one symbol's daily bars in [start, end] (yfinance's ``end`` is exclusive),
    unadjusted, with the multi-level columns ``frame_from_download`` reads."""
    return _quiet_download(
        download,
        symbol,
        start=start.isoformat(),
        end=(end + timedelta(days=1)).isoformat(),
        interval="1d",
        auto_adjust=False,
        actions=False,
        multi_level_index=True,
        progress=False,
        threads=False,
    )


def frame_from_download(data: Any, tickers: Sequence[str] | None = None) -> pl.DataFrame:
    """Raw typed rows (date, ticker, open, high, low, close, adj_close, volume) from a yfinance
    ``download`` frame: MultiIndex columns (Price, Ticker) or, with one ticker, single-level columns."""
    import pandas as pd

    if data is None or len(data) == 0:
        return pl.DataFrame()
    parts = []
    if isinstance(data.columns, pd.MultiIndex):
        names = list(data.columns.names)
        level = names.index("Ticker") if "Ticker" in names else 1
        symbols = list(dict.fromkeys(data.columns.get_level_values(level)))
        per_ticker = [(t, data.xs(t, level=level, axis=1)) for t in symbols]
    else:
        if not tickers or len(tickers) != 1:
            raise ProviderError("a single-level yfinance frame needs exactly one ticker")
        per_ticker = [(tickers[0], data)]
    for ticker, sub in per_ticker:
        sub = sub.rename(columns={k: v for k, v in _FIELDS.items() if k in sub.columns})
        sub = sub[[c for c in _FIELDS.values() if c in sub.columns]]
        idx = pd.DatetimeIndex(sub.index)
        sub = sub.assign(date=(idx.tz_localize(None) if idx.tz is not None else idx).normalize())
        frame = pl.from_pandas(sub.reset_index(drop=True)).with_columns(
            pl.col("date").cast(pl.Date), pl.lit(ticker).alias("ticker")
        )
        parts.append(frame)
    out = pl.concat(parts, how="diagonal_relaxed")
    for c in ("open", "high", "low", "close", "adj_close", "volume"):
        out = out.with_columns(
            pl.col(c).cast(pl.Float64) if c in out.columns else pl.lit(None, pl.Float64).alias(c)
        )
    return out.filter(pl.col("close").is_not_null() & (pl.col("close") > 0))


def adjust_download(
    raw: pl.DataFrame, known: Mapping[str, str] | None = None, source: str = "Yahoo Finance via yfinance"
) -> pl.DataFrame:
    """Canonical rows (``provider='yahoo'``) from ``frame_from_download`` output."""
    if raw.height == 0:
        return to_canonical(
            pl.DataFrame({"date": [], "ticker": []}, schema={"date": pl.Date, "ticker": pl.String}),
            provider=PROVIDER,
        )
    currencies = {t: currency_for(t, known) for t in raw["ticker"].unique().to_list()}
    prices = raw.with_columns(
        (pl.col("adj_close") / pl.col("close")).alias("div_factor"),
        pl.col("date").max().over("ticker").alias("units_as_of"),
        pl.col("ticker").replace_strict(currencies, return_dtype=pl.String).alias("currency"),
        pl.lit(source).alias("source"),
    )
    return to_canonical(apply_adjustment(prices, known_splits()), provider=PROVIDER)


@dataclass
class YahooProvider(RetryingProvider):
    """``yahoo``: see the module docstring."""

    name: str = PROVIDER

    def fetch(self, tickers: Sequence[str], start: date, end: date) -> FetchResult:
        """Daily rows for each ticker in [start, end] (inclusive; yfinance's ``end`` is exclusive)."""
        yf = _yfinance()

        def one(ticker: str) -> pl.DataFrame:
            data = download_daily(yf.download, ticker, start, end)
            return adjust_download(require_rows(frame_from_download(data, [ticker])), self.known)

        return self.fetch_each(tickers, one)
