"""Explicit split/dividend adjustment: a stored factor per row, so files in different units join cleanly.

Every stored close is ``raw close × adj_factor``, in the units of the *latest* known share
count ("current units"). A file's rows are in the units of the day it was exported:

- files that are already split-adjusted (yfinance ``download``/``history``, the canonical
  layout, akshare ``qfq``) reflect every split up to their last date, so only splits
  *after* that date still apply: ``factor = Π 1/ratio`` over splits with ``ex_date > max(date, last_date)``;
- unadjusted files (A-share exports, akshare with ``adjust=""``) reflect no split at all:
  ``factor = Π 1/ratio`` over splits with ``ex_date > date``.

So a pre-split NVDA export (ends 2024-03-08) joined with a post-split one shows no fake
−90 % day. Dividends are adjusted only where the file says so (``Adj Close / Close``).
Volumes are divided by the split factor (share counts scale inversely to prices).
Assumption: an adjusted file was exported on its last date (a split between its last
date and the export day would be applied twice); stated in docs/market-data.md.
"""

from __future__ import annotations

import polars as pl

SPLITS_SCHEMA = {
    "ticker": pl.String,
    "ex_date": pl.Date,
    "ratio": pl.Float64,
    "source": pl.String,
    "flag": pl.String,
}


def known_splits() -> pl.DataFrame:
    """The bundled split table, ``pipelines/reference/price_adjustments.csv`` (always the bundled file, not
    ``$FABSCOPE_REFERENCE_DIR``: splits are market facts, not an analyst's curation; validated by its spec)."""
    from pipelines.sources.reference import REFERENCE_DIR, REFERENCE_FILES

    ref = REFERENCE_FILES["price_adjustments"]
    return ref.load(REFERENCE_DIR / ref.spec.file_name).good.select(list(SPLITS_SCHEMA)).cast(SPLITS_SCHEMA)


def merge_splits(*frames: pl.DataFrame | None) -> pl.DataFrame:
    """Union of split tables, one row per (ticker, ex_date) (the first frame given wins)."""
    parts = [f.select(list(SPLITS_SCHEMA)).cast(SPLITS_SCHEMA) for f in frames if f is not None and f.height]
    if not parts:
        return pl.DataFrame(schema=SPLITS_SCHEMA)
    return pl.concat(parts).unique(subset=["ticker", "ex_date"], keep="first", maintain_order=True)


def split_factor(prices: pl.DataFrame, splits: pl.DataFrame) -> pl.Series:
    """Per-row split factor (≤ 1 for splits) for ``prices`` with columns ``date``, ``ticker``, ``units_as_of``.

    ``units_as_of`` is the file's last date for adjusted files, NULL for unadjusted ones.
    Vectorised with an as-of join on the suffix product of ``1/ratio`` per ticker.
    """
    if prices.height == 0 or splits.height == 0:
        return pl.Series("split_factor", [1.0] * prices.height, dtype=pl.Float64)
    suffix = (
        splits.sort("ticker", "ex_date")
        .with_columns((1.0 / pl.col("ratio")).alias("_inv"))
        .with_columns(pl.col("_inv").reverse().cum_prod().reverse().over("ticker").alias("_factor_from"))
        .select("ticker", pl.col("ex_date").alias("_key"), "_factor_from")
    )
    threshold = (
        pl.when(pl.col("units_as_of").is_null())
        .then(pl.col("date"))
        .otherwise(pl.max_horizontal("date", "units_as_of"))
    )
    left = prices.select(
        pl.int_range(pl.len()).alias("_i"), "ticker", (threshold + pl.duration(days=1)).alias("_key")
    ).sort("_key")
    joined = left.join_asof(
        suffix.sort("_key"), on="_key", by="ticker", strategy="forward", check_sortedness=False
    )
    return joined.sort("_i")["_factor_from"].fill_null(1.0).alias("split_factor")


def apply_adjustment(prices: pl.DataFrame, splits: pl.DataFrame) -> pl.DataFrame:
    """Scale open/high/low/close by ``split × dividend`` factors and volume by ``1/split``; sets ``adj_factor``.

    ``prices`` holds raw values plus ``units_as_of`` (Date or NULL) and ``div_factor`` (NULL = 1).
    """
    sf = split_factor(prices, splits)
    out = prices.with_columns(sf.alias("_split"))
    factor = pl.col("_split") * pl.col("div_factor").fill_null(1.0)
    return out.with_columns(
        *(pl.col(c) * factor for c in ("open", "high", "low", "close")),
        (pl.col("volume") / pl.col("_split")).alias("volume"),
        factor.alias("adj_factor"),
    ).drop("_split")
