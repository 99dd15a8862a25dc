"""What analysts expect from a terminal's price chart, as pure functions: range presets, rebasing at a
chosen date, performance relative to a benchmark, drawdown, event markers coloured by category with
short labels, and an event's stored price reaction.

Everything here transforms stored USD closes (``prices_daily.close_usd``) for drawing; the price reaction
of an event is the warehouse's event study (``event_study``) as stored, never recomputed.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

import polars as pl

PRESETS = {"1M": "1M", "3M": "3M", "YTD": "YTD", "1Y": "1Y", "5Y": "5Y", "Max": "Max"}
"""Range presets (value → label), ending on the last stored price date."""
_MONTHS = {"1M": 1, "3M": 3, "1Y": 12, "5Y": 60}

MODES = {"index": "index", "relative": "relative to benchmark", "drawdown": "drawdown"}
"""What the performance chart draws (value → label)."""
DEFAULT_BENCHMARK = "^SOX"
"""Benchmark picked when the page opens: the PHLX Semiconductor index (in the ticker universe)."""

CATEGORY_COLOURS = {
    "entity_list": "#c8102e",
    "chips_and_sme": "#8b0000",
    "licence_requirement": "#e9a23b",
    "fdp_rule": "#6d597a",
    "ai_diffusion": "#2a9d8f",
    "allied_control": "#1f5fa8",
    "china_countermeasure": "#264653",
}
"""Colour of each export-control category's markers (stable across selections); others grey."""
OTHER_CATEGORY = "#8d99ae"


def months_before(day: date, months: int) -> date:
    """``day`` moved back ``months`` calendar months (the day clamped to the month's length)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def preset_range(preset: str, first: date, last: date) -> tuple[date, date]:
    """``(start, end)`` of a range preset ending on ``last`` (the last stored price), clipped to ``first``."""
    if preset == "Max":
        return first, last
    if preset == "YTD":
        return max(first, date(last.year, 1, 1)), last
    if preset not in _MONTHS:
        raise ValueError(f"unknown range preset {preset!r}; expected one of {list(PRESETS)}")
    return max(first, months_before(last, _MONTHS[preset])), last


def matching_preset(start: date | None, end: date | None, first: date, last: date) -> str | None:
    """The preset whose range is exactly ``start``..``end`` (None when the range was set by hand)."""
    for preset in PRESETS:
        if preset_range(preset, first, last) == (start, end):
            return preset
    return None


def rebased(prices: pl.DataFrame, rebase: date | None = None) -> pl.DataFrame:
    """Per ticker: ``index`` = 100 × close_usd / close_usd on the first day on or after ``rebase`` (the
    first day shown when ``rebase`` is None or outside the ticker's rows; its last day when after them).

    Rows without a positive USD close are dropped (no FX rate that day). Sorted by ticker, date.
    """
    clean = prices.filter(pl.col("close_usd").is_not_null() & (pl.col("close_usd") > 0)).sort(
        "ticker", "date"
    )
    if clean.is_empty():
        return clean.with_columns(pl.lit(None, pl.Float64).alias("index"))
    base = pl.col("close_usd").first().over("ticker")
    if rebase is not None:
        after = pl.col("close_usd").filter(pl.col("date") >= rebase).first().over("ticker")
        base = pl.coalesce(after, pl.col("close_usd").last().over("ticker"))
    return clean.with_columns((100.0 * pl.col("close_usd") / base).alias("index"))


def relative_to(perf: pl.DataFrame, bench: pl.DataFrame) -> pl.DataFrame:
    """``perf`` (from :func:`rebased`) with ``relative`` = 100 × index / benchmark index on the same day
    (the benchmark's last close on or before that day when its market was shut): above 100 = outperformed
    the benchmark since the rebase day. ``bench`` is :func:`rebased` of the benchmark alone."""
    if perf.is_empty() or bench.is_empty():
        return perf.with_columns(pl.lit(None, pl.Float64).alias("relative"))
    b = bench.select("date", pl.col("index").alias("bench_index")).sort("date")
    joined = perf.sort("date").join_asof(b, on="date", strategy="backward").sort("ticker", "date")
    return joined.with_columns((100.0 * pl.col("index") / pl.col("bench_index")).alias("relative")).drop(
        "bench_index"
    )


def drawdown(perf: pl.DataFrame) -> pl.DataFrame:
    """``perf`` with ``drawdown`` = close_usd ÷ its running peak since the first day shown − 1 (fraction,
    ≤ 0), per ticker."""
    return perf.with_columns(
        (pl.col("close_usd") / pl.col("close_usd").cum_max().over("ticker") - 1.0).alias("drawdown")
    )


def short_label(title: str | None, agency: str | None = None, width: int = 22) -> str:
    """A marker label of at most ``width`` characters: the agency and the title's first words."""
    title = (title or "").strip()
    if agency and title.lower().startswith(f"{agency}:".lower()):  # "MOFCOM: gallium …" → "gallium …"
        title = title[len(agency) + 1 :].strip()
    head = re.split(r"[(:;—–]", title, maxsplit=1)[0].strip()
    text = f"{agency} {head}".strip() if agency and not head.startswith(str(agency)) else head
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def category_colour(category: str | None) -> str:
    """The marker colour of an export-control category."""
    return CATEGORY_COLOURS.get(category or "", OTHER_CATEGORY)


def reaction_rows(es: pl.DataFrame, tickers: list[str] | None = None) -> pl.DataFrame:
    """An event's stored event-study rows (``event_study``: CAR and t-stat per ticker and window) as
    shown on click: the ``tickers`` on screen first, windows narrowest first; nothing recomputed."""
    if es.is_empty():
        return es
    from app.dashboard.pages.market_views import window_sort_key

    on_screen = set(tickers or [])
    return (
        es.with_columns(
            pl.col("ticker").is_in(list(on_screen)).alias("on_screen"),
            pl.col("window").map_elements(lambda w: window_sort_key(w)[0], return_dtype=pl.Int64).alias("_w"),
        )
        .sort(["on_screen", "_w", "ticker"], descending=[True, False, False])
        .drop("_w")
    )
