"""The ``akshare`` provider: A-shares (and HK) from akshare, an optional extra imported only when chosen.

Per ticker, two calls of ``ak.stock_zh_a_hist`` (``ak.stock_hk_hist`` for ``.HK``): unadjusted
(``adjust=""``) and forward-adjusted (``adjust="qfq"``, adjusted to the latest share count).
The explicit factor is their ratio: ``adj_factor = qfq close / raw close``; the stored close is
the forward-adjusted one, so bonus shares and dividends never show as fake drops. akshare's
``成交量`` is in lots of 100 shares for A-shares and is converted to shares.
Install with ``pip install 'fabscope[akshare]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from pipelines.sources.prices.base import (
    FetchResult,
    ProviderError,
    RetryingProvider,
    currency_for,
    optional_module,
    require_rows,
    to_canonical,
)
from pipelines.sources.prices.csv_layouts import AKSHARE_LOT

PROVIDER = "akshare"
CN_INDICES = {"000300.SS": "000300", "000001.SS": "000001", "399001.SZ": "399001"}  # CSI 300, SSE, SZSE
_COLUMNS = {
    "日期": "date",
    "开盘": "open",
    "收盘": "close",
    "最高": "high",
    "最低": "low",
    "成交量": "volume",
}


def import_akshare() -> Any:
    """The akshare module, or a readable ``ProviderError`` when the optional extra is missing."""
    return optional_module(
        "akshare", "the akshare provider needs the optional extra: pip install 'fabscope[akshare]'"
    )


def frame_from_hist(data: Any, ticker: str) -> pl.DataFrame:
    """Typed rows (date, ticker, open, high, low, close, volume in shares) from an akshare hist frame."""
    if data is None or len(data) == 0:
        return pl.DataFrame(schema={"date": pl.Date, "ticker": pl.String, "close": pl.Float64})
    missing = [c for c in ("日期", "收盘") if c not in data.columns]
    if missing:
        raise ProviderError(f"akshare frame for {ticker} lacks {missing}; found {list(data.columns)}")
    sub = data[[c for c in _COLUMNS if c in data.columns]].rename(columns=_COLUMNS)
    sub = sub.assign(date=sub["date"].astype(str))
    lot = 1.0 if ticker.upper().endswith(".HK") else AKSHARE_LOT
    frame = pl.from_pandas(sub.reset_index(drop=True))
    return frame.with_columns(
        pl.col("date").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
        *(
            pl.col(c).cast(pl.Float64, strict=False)
            for c in ("open", "high", "low", "close")
            if c in frame.columns
        ),
        (pl.col("volume").cast(pl.Float64, strict=False) * lot).alias("volume"),
        pl.lit(ticker).alias("ticker"),
    ).filter(pl.col("date").is_not_null() & (pl.col("close") > 0))


def combine_raw_qfq(raw: pl.DataFrame, qfq: pl.DataFrame, currency: str) -> pl.DataFrame:
    """Canonical rows: forward-adjusted prices with ``adj_factor = qfq close / raw close`` (1 where unmatched)."""
    joined = raw.join(qfq.select("date", pl.col("close").alias("_qfq")), on="date", how="left")
    factor = (pl.col("_qfq") / pl.col("close")).fill_null(1.0)
    out = joined.with_columns(
        *(pl.col(c) * factor for c in ("open", "high", "low", "close") if c in joined.columns),
        factor.alias("adj_factor"),
        pl.lit(currency).alias("currency"),
        pl.lit("akshare stock_zh_a_hist / stock_hk_hist (Eastmoney), qfq over unadjusted").alias("source"),
    )
    return to_canonical(out, provider=PROVIDER)


@dataclass
class AkshareProvider(RetryingProvider):
    """``akshare``: see the module docstring."""

    module: Any = None  # an akshare-like object (tests pass recorded responses)
    name: str = PROVIDER

    def fetch(self, tickers: Sequence[str], start: date, end: date) -> FetchResult:
        """Daily rows for each A-share/HK ticker in [start, end]; other tickers are reported as failures."""
        ak = self.module or import_akshare()
        s, e = start.strftime("%Y%m%d"), end.strftime("%Y%m%d")

        def call(ticker: str, adjust: str) -> Any:
            code = ticker.split(".")[0]
            if ticker.upper().endswith(".HK"):
                return ak.stock_hk_hist(
                    symbol=code.zfill(5), period="daily", start_date=s, end_date=e, adjust=adjust
                )
            return ak.stock_zh_a_hist(symbol=code, period="daily", start_date=s, end_date=e, adjust=adjust)

        def one(ticker: str) -> pl.DataFrame:
            if ticker in CN_INDICES:  # indices have no adjustment: one call, factor 1
                raw = require_rows(
                    frame_from_hist(
                        ak.index_zh_a_hist(
                            symbol=CN_INDICES[ticker], period="daily", start_date=s, end_date=e
                        ),
                        ticker,
                    )
                )
                return combine_raw_qfq(raw, raw, currency_for(ticker, self.known))
            if not ticker.upper().endswith((".SS", ".SZ", ".BJ", ".HK")):
                raise ProviderError("akshare covers A-shares (.SS/.SZ/.BJ) and Hong Kong (.HK) only")
            raw = require_rows(frame_from_hist(call(ticker, ""), ticker))
            qfq = frame_from_hist(call(ticker, "qfq"), ticker)
            return combine_raw_qfq(raw, qfq, currency_for(ticker, self.known))

        # US/Korean/... tickers are outside akshare's scope here: not fetched (and not failures)
        supported = [t for t in tickers if t.upper().endswith((".SS", ".SZ", ".BJ", ".HK"))]
        return self.fetch_each(supported, one)
