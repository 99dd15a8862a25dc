"""Plausibility rules for dropped prices: declared once, beside the price schema, in the spirit of dbt tests.

``PRICE_RULES`` (in ``csv_drop``) says what a column must *parse as*; the rules here say what a parsed row
must *mean* to be stored. Each ``PlausibilityRule`` has a name, the field it guards, a severity and the
reason it gives; every limit is a constant of this module, used nowhere else:

- ``price_range`` / ``volume_range``: ``0 < price < MAX_PRICE`` (local currency units), ``0 <= volume <
  MAX_VOLUME`` (shares);
- ``date_range``: from ``FIRST_DATE`` (or the exchange's first trading day, ``EXCHANGE_FIRST_DAY`` by
  symbol suffix) to the run date (``pipelines.clock``; never the wall clock); a year below 1000 is a
  two-digit year (``24-01-05``) and says so;
- ``field_length``: ticker and currency at most ``MAX_FIELD_CHARS`` characters;
- ``ohlc_order``: ``low <= open, close <= high`` (relative slack ``OHLC_TOLERANCE`` for rounding);
- ``listing_currency`` (accepted values): the currency a row states must be its listing's (``tickers.csv``,
  else the symbol's suffix: ``currency_for``), so mixed or unknown currencies (``XYZ``, ``€``) are held back;
- ``known_ticker`` (accepted values): with a ticker universe, a symbol outside it is refused unless the
  drop declares it in ``DECLARATION_FILE`` (``ticker,currency``);
- ``day_jump``: a close more than ``JUMP_RATIO`` times (or less than 1/``JUMP_RATIO`` of) the previous
  day's, in split-adjusted units (so a split in the split table explains its own jump), is quarantined;
  ``JUMP_OVERRIDES`` sets another ratio per ticker; a one-day spike holds back the spike, not the return;
- ``conflict``: two files disagreeing on a (ticker, date) close by more than ``CONFLICT_TOLERANCE`` (after
  adjustment to common units) are both quarantined, unless one outranks the other: a file under the drop's
  ``OVERRIDE_FOLDER`` outranks the rest (the stated rule; file names and date spans never decide);
- ``quarantine_share`` (severity ``refuse``): when more than ``MAX_QUARANTINED_SHARE`` of a drop's rows
  (at least ``MIN_ROWS_FOR_SHARE`` read) are quarantined, the whole source is refused.

Quarantined rows name the file, line, field, value (at most ``MAX_VALUE_CHARS`` shown) and the rule.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

import polars as pl

Severity = Literal["quarantine", "refuse"]

MAX_PRICE = 1e7
MAX_VOLUME = 1e13
FIRST_DATE = date(1990, 1, 1)
EXCHANGE_FIRST_DAY = {".SS": date(1990, 12, 19), ".SZ": date(1991, 4, 3), ".BJ": date(2021, 11, 15)}
MAX_FIELD_CHARS = {"ticker": 32, "currency": 8}
MAX_VALUE_CHARS = 200
OHLC_TOLERANCE = 1e-6
JUMP_RATIO = 3.0
JUMP_OVERRIDES: dict[str, float] = {}
CONFLICT_TOLERANCE = 1e-4
OVERRIDE_FOLDER = "overrides"
DECLARATION_FILE = "declared_tickers.csv"
MAX_QUARANTINED_SHARE = 0.5
MIN_ROWS_FOR_SHARE = 20
PRICE_FIELDS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class PlausibilityRule:
    """One declared rule: ``name``, the ``field`` it guards, its ``severity`` and what it asks."""

    name: str
    field: str
    severity: Severity
    description: str


PLAUSIBILITY_RULES: tuple[PlausibilityRule, ...] = (
    PlausibilityRule("price_range", "open|high|low|close", "quarantine", f"0 < price < {MAX_PRICE:g}"),
    PlausibilityRule("volume_range", "volume", "quarantine", f"0 <= volume < {MAX_VOLUME:g}"),
    PlausibilityRule("date_range", "date", "quarantine", f"{FIRST_DATE} (or listing start) .. run date"),
    PlausibilityRule("field_length", "ticker|currency", "quarantine", f"at most {MAX_FIELD_CHARS} chars"),
    PlausibilityRule("ohlc_order", "low|high", "quarantine", "low <= open, close <= high"),
    PlausibilityRule("listing_currency", "currency", "quarantine", "the listing's currency"),
    PlausibilityRule("known_ticker", "ticker", "quarantine", f"in tickers.csv or {DECLARATION_FILE}"),
    PlausibilityRule("day_jump", "close", "quarantine", f"close within {JUMP_RATIO:g}x of the day before"),
    PlausibilityRule("conflict", "close", "quarantine", "files agree on each (ticker, date)"),
    PlausibilityRule(
        "quarantine_share", "(source)", "refuse", f"at most {MAX_QUARANTINED_SHARE:.0%} rows quarantined"
    ),
)
RULES = {r.name: r for r in PLAUSIBILITY_RULES}
QUARANTINE_COLS = ("__file", "__line", "field", "value", "reason")


def _rows(
    df: pl.DataFrame, bad: pl.Expr, field: str, value: pl.Expr, reason: pl.Expr, rule: str
) -> pl.DataFrame:
    return df.filter(bad.fill_null(False)).select(
        pl.col("__file"),
        pl.col("__line").cast(pl.Int64),
        pl.lit(field).alias("field"),
        value.cast(pl.String).str.slice(0, MAX_VALUE_CHARS).alias("value"),
        pl.concat_str([reason, pl.lit(f" [{rule}]")]).alias("reason"),
    )


def first_day(tickers: pl.Series) -> pl.Series:
    """Per ticker, the first date a price may carry (``FIRST_DATE`` or its exchange's first trading day)."""
    out: pl.Expr = pl.lit(FIRST_DATE, dtype=pl.Date)
    for suffix, day in EXCHANGE_FIRST_DAY.items():
        out = pl.when(pl.col("t").str.ends_with(suffix)).then(pl.lit(day, dtype=pl.Date)).otherwise(out)
    return pl.DataFrame({"t": tickers}).select(out.alias(tickers.name)).to_series()


def row_problems(
    prices: pl.DataFrame, *, today: date, listing: Mapping[str, str], universe: Collection[str] | None
) -> pl.DataFrame:
    """Quarantine rows (``QUARANTINE_COLS``) of every row-level rule over one file's typed prices.

    ``prices``: date, ticker, open..close, volume, currency (as stated, NULL if not), ``__file``,
    ``__line``; ``listing``: ticker -> listing currency for every ticker present; ``universe``: the known
    tickers (universe plus declared; None: no universe given, any symbol accepted)."""
    df = prices.with_columns(first_day(prices["ticker"]).alias("__first"))
    out: list[pl.DataFrame] = []
    for f in PRICE_FIELDS:
        if f in df.columns:
            c = pl.col(f)
            out.append(
                _rows(
                    df,
                    (c <= 0) | (c >= MAX_PRICE),
                    f,
                    c,
                    pl.lit(f"outside 0 < price < {MAX_PRICE:g}"),
                    "price_range",
                )
            )
    if "volume" in df.columns:
        v = pl.col("volume")
        out.append(
            _rows(
                df,
                (v < 0) | (v >= MAX_VOLUME),
                "volume",
                v,
                pl.lit(f"outside 0 <= volume < {MAX_VOLUME:g}"),
                "volume_range",
            )
        )
    d = pl.col("date")
    out.append(
        _rows(df, d.dt.year() < 1000, "date", d, pl.lit("a two-digit year? write YYYY-MM-DD"), "date_range")
    )
    out.append(
        _rows(
            df,
            (d.dt.year() >= 1000) & (d < pl.col("__first")),
            "date",
            d,
            pl.format("before {} (the first trading day accepted)", pl.col("__first")),
            "date_range",
        )
    )
    out.append(_rows(df, d > today, "date", d, pl.lit(f"after the run date {today}"), "date_range"))
    for f, limit in MAX_FIELD_CHARS.items():
        if f in df.columns:
            n = pl.col(f).str.len_chars()
            out.append(
                _rows(
                    df,
                    n > limit,
                    f,
                    pl.col(f),
                    pl.format(f"{{}} characters (limit {limit})", n),
                    "field_length",
                )
            )
    lo, hi = pl.col("low"), pl.col("high")
    slack = 1 + OHLC_TOLERANCE
    out.append(_rows(df, lo > hi * slack, "low", lo, pl.format("above high {}", hi), "ohlc_order"))
    for f in ("open", "close"):
        c = pl.col(f)
        out.append(_rows(df, c > hi * slack, "high", hi, pl.format(f"below {f} {{}}", c), "ohlc_order"))
        out.append(_rows(df, c * slack < lo, "low", lo, pl.format(f"above {f} {{}}", c), "ohlc_order"))
    listed = pl.col("ticker").replace_strict(dict(listing), default=None, return_dtype=pl.String)
    out.append(
        _rows(
            df.with_columns(listed.alias("__listed")),
            pl.col("currency").is_not_null() & (pl.col("currency") != pl.col("__listed")),
            "currency",
            pl.col("currency"),
            pl.format("{} is listed in {}", pl.col("ticker"), pl.col("__listed")),
            "listing_currency",
        )
    )
    if universe is not None:
        out.append(
            _rows(
                df,
                ~pl.col("ticker").is_in(sorted(universe)),
                "ticker",
                pl.col("ticker"),
                pl.lit(f"not in the ticker universe (tickers.csv); declare it in {DECLARATION_FILE}"),
                "known_ticker",
            )
        )
    return pl.concat(out, how="vertical_relaxed") if out else empty_problems()


def empty_problems() -> pl.DataFrame:
    """No problems, in the ``QUARANTINE_COLS`` layout."""
    return pl.DataFrame(
        schema={
            "__file": pl.String,
            "__line": pl.Int64,
            "field": pl.String,
            "value": pl.String,
            "reason": pl.String,
        }
    )


def decide_conflicts(adjusted: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per (ticker, date) from all files' split-adjusted rows (``__file``, ``__line``, ``__rank``):
    ``(kept, problems)``. Outranked rows are dropped; rows of equal rank that agree within
    ``CONFLICT_TOLERANCE`` keep the one with the lowest close (a content rule, independent of file names);
    rows that disagree are all quarantined (``conflict``)."""
    key = ["ticker", "date"]
    top = adjusted.filter(pl.col("__rank") == pl.col("__rank").max().over(key))
    spread = (pl.col("close").max() / pl.col("close").min() - 1).over(key)
    files = pl.col("__file").n_unique().over(key)
    flagged = top.with_columns(((files > 1) & (spread > CONFLICT_TOLERANCE)).alias("__conflict"))
    bad = flagged.filter(pl.col("__conflict"))
    others = bad.group_by(key).agg(
        pl.format("{}:{}={}", pl.col("__file"), pl.col("__line"), pl.col("close").round(6))
        .sort()
        .str.join("; ")
        .alias("__all")
    )
    problems = _rows(
        bad.join(others, on=key),
        pl.lit(True),
        "close",
        pl.col("close"),
        pl.format(
            "conflict: files disagree on {} {} ({}); none outranks the others",
            pl.col("ticker"),
            pl.col("date"),
            pl.col("__all"),
        ),
        "conflict",
    )
    kept = (
        flagged.filter(~pl.col("__conflict"))
        .sort([*key, "close", "open", "volume", "__file"], nulls_last=True)
        .unique(subset=key, keep="first", maintain_order=True)
        .drop("__conflict")
    )
    return kept, problems


def day_jumps(adjusted: pl.DataFrame) -> pl.DataFrame:
    """Quarantine rows (``day_jump``) for closes beyond the jump limit against the previous day, in
    split-adjusted units; a spike that returns the next day flags the spike only."""
    df = adjusted.sort("ticker", "date")
    limit = pl.col("ticker").replace_strict(JUMP_OVERRIDES, default=JUMP_RATIO, return_dtype=pl.Float64).log()
    lr = (pl.col("close") / pl.col("close").shift(1)).log().over("ticker")
    df = df.with_columns(lr.alias("__lr"), limit.alias("__lim"))
    jump = pl.col("__lr").abs() > pl.col("__lim")
    prev_spike = (jump.shift(1) & (pl.col("__lr").shift(1) * pl.col("__lr") < 0)).over("ticker")
    back = (pl.col("close") / pl.col("close").shift(2)).log().abs().over("ticker") <= pl.col("__lim")
    flagged = jump & ~(prev_spike & back.fill_null(False))
    return _rows(
        df.with_columns(pl.col("close").shift(1).over("ticker").alias("__prev")),
        flagged,
        "close",
        pl.col("close"),
        pl.format(
            "{}x the previous close {} (limit {}x; no split explains it)",
            (pl.col("__lr").exp()).round(3),
            pl.col("__prev").round(6),
            pl.col("__lim").exp().round(2),
        ),
        "day_jump",
    )


def share_refusal(quarantined: int, rows_read: int) -> str | None:
    """The ``quarantine_share`` refusal (one line) when too many of a source's rows were held back."""
    if rows_read < MIN_ROWS_FOR_SHARE or quarantined <= MAX_QUARANTINED_SHARE * rows_read:
        return None
    return (
        f"{quarantined} of {rows_read} rows ({quarantined / rows_read:.0%}) quarantined, above the "
        f"{MAX_QUARANTINED_SHARE:.0%} limit [quarantine_share]; nothing stored from this source"
    )
