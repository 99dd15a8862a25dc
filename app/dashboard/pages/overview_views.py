"""Overview page views: the headline figures as plain values (label, value, sub-line), computed from
:mod:`app.queries` results without a browser. The race chart is the Market page's performance view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from app.dashboard.views_common import SEGMENT_LABELS, pct

ADVANCED_NODE = "7nm-class"
"""``fab_capacity.node_class`` of the headline capacity figure (China's most advanced logic)."""


@dataclass(frozen=True)
class Headline:
    """One headline figure: what it is, its value, a line of context, the page explaining it, its id."""

    label: str
    value: str
    sub: str | None = None
    href: str | None = None
    ident: str | None = None


def latest_shares(history: pl.DataFrame) -> pl.DataFrame:
    """Per segment: the latest year observed and the range (min–max) of the shares sources give for it."""
    if history.is_empty():
        return pl.DataFrame()
    latest = history.group_by("segment").agg(pl.col("year").max().alias("year"))
    return (
        history.join(latest, on=["segment", "year"])
        .group_by("segment", "year")
        .agg(
            pl.col("domestic_share").min().alias("low"),
            pl.col("domestic_share").max().alias("high"),
            pl.col("source").n_unique().alias("sources"),
        )
        .sort("segment")
    )


def share_range_text(low: float, high: float) -> str:
    """'34%' or '20–25%' for a share range (fractions)."""
    if abs(high - low) < 0.005:
        return pct(low)
    return f"{low * 100:.0f}–{high * 100:.0f}%"


def share_headlines(history: pl.DataFrame) -> list[Headline]:
    """One headline per segment: the latest observed domestic share (a range when sources disagree)."""
    out = []
    for r in latest_shares(history).iter_rows(named=True):
        n = r["sources"]
        out.append(
            Headline(
                f"domestic share · {SEGMENT_LABELS.get(r['segment'], r['segment'])}",
                share_range_text(r["low"], r["high"]),
                sub=f"{r['year']}, {n} source{'s' if n != 1 else ''} (range shown, not averaged)",
                href="/forecasts",
                ident=f"overview-share-{r['segment']}",
            )
        )
    return out


def return_text(returns: dict[str, float | None]) -> str:
    """'1-year USD return: NVDA +35% · 688256.SS —' for the race chart's subtitle."""
    parts = [f"{t} {'—' if r is None else f'{r * 100:+.0f}%'}" for t, r in returns.items()]
    return "1-year USD return: " + " · ".join(parts)


def latest_event(events: pl.DataFrame) -> dict[str, Any] | None:
    """The most recently announced action."""
    if events.is_empty():
        return None
    return events.sort("announced_date", "event_id").row(-1, named=True)


def policy_headline(events: pl.DataFrame) -> Headline | None:
    """The latest export-control action, with its agency, title and citation."""
    latest = latest_event(events)
    if latest is None:
        return None
    return Headline(
        "latest export-control action",
        latest["announced_date"].isoformat(),
        sub=f"{latest['agency']}: {latest['title']} — {latest['citation'] or latest['source']}",
        href="/policy",
        ident="overview-latest-action",
    )


def freshness_headline(freshness: pl.DataFrame) -> Headline:
    """When the warehouse was last written (newest and oldest table), and how many rows it holds."""
    newest, oldest = freshness["refreshed_at"].max(), freshness["refreshed_at"].min()
    return Headline(
        "warehouse freshness",
        f"{newest:%Y-%m-%d %H:%M} UTC",
        sub=f"{freshness.height} tables; oldest written {oldest:%Y-%m-%d %H:%M}; "
        f"{int(freshness['rows'].sum()):,} rows",
        ident="overview-freshness",
    )


def hardware_headline(systems: pl.DataFrame) -> Headline:
    """The largest system modelled (BF16 PFLOP/s), its accelerator count and power at the wall."""
    best = systems.sort("bf16_pflops", descending=True).row(0, named=True)
    return Headline(
        "largest system modelled",
        f"{best['bf16_pflops']:,.0f} PFLOP/s",
        sub=f"{best['id']}: {best['chips']} accelerators, {best['power_kw']:,.0f} kW at the wall",
        href="/hardware",
        ident="overview-hardware",
    )


def capacity_headline(capacity: pl.DataFrame) -> Headline:
    """China's ≤7nm-class capacity in the earliest year with figures (a range over analyst series, never
    summed); the row count when there is no such figure."""
    adv = capacity.filter(
        (pl.col("node_class") == ADVANCED_NODE)
        & (pl.col("country") == "CN")
        & pl.col("capacity_wspm").is_not_null()
    )
    if adv.is_empty():
        return Headline(
            "fab capacity rows", f"{capacity.height}", href="/capacity", ident="overview-capacity"
        )
    year = int(adv["year"].min())
    same = adv.filter(pl.col("year") == year)
    low, high = same["capacity_wspm"].min(), same["capacity_wspm"].max()
    value = f"{low / 1000:.0f}k" if low == high else f"{low / 1000:.0f}–{high / 1000:.0f}k"
    return Headline(
        f"China ≤7nm-class capacity, {year}",
        f"{value} wspm",
        sub=f"{same.height} analyst series (estimates, not summed)",
        href="/capacity",
        ident="overview-capacity",
    )
