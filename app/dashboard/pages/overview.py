"""Overview: headline figures, each linking to the page that explains it."""

from __future__ import annotations

from datetime import timedelta

import dash
import polars as pl
from dash import dcc, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import logic

dash.register_page(__name__, path="/", name="Overview", title="fabscope · Overview", order=0)


def _shares_card(db: str) -> html.Div:
    hist = q.substitution_history(db)
    if hist.empty:
        return ui.empty_stat(hist, "Domestic share")
    latest = logic.latest_shares(hist.frame)
    cards = []
    for r in latest.iter_rows(named=True):
        cards.append(
            ui.stat(
                f"domestic share · {logic.SEGMENT_LABELS.get(r['segment'], r['segment'])}",
                logic.share_range_text(r["low"], r["high"]),
                sub=f"{r['year']}, {r['sources']} source{'s' if r['sources'] != 1 else ''} (range shown, not averaged)",
                href="/forecasts",
                ident=f"overview-share-{r['segment']}",
            )
        )
    return html.Div(cards, className="grid grid-3")


def _race_card(db: str) -> tuple[html.Div, html.Div | None]:
    tickers = [logic.CAMBRICON, logic.NVIDIA]
    rng = q.price_range(db)
    if rng.empty:
        view = logic.empty_view(rng.reason, height=260)
        return ui.chart_card("overview-race", "Cambricon vs Nvidia, last 12 months (USD)", view.figure), None
    last = rng.frame.item(0, "last")
    prices = q.prices(db, tickers, last - timedelta(days=365), last)
    tick = q.tickers(db)
    view = logic.performance_view(prices, tick.frame, None, height=430)
    subtitle = None
    if prices.ok:
        parts = []
        for t in tickers:
            r = logic.one_year_return(prices.frame, t)
            parts.append(f"{t} {'—' if r is None else f'{r * 100:+.0f}%'}")
        subtitle = "1-year USD return: " + " · ".join(parts)
    card = ui.chart_card(
        "overview-race",
        "Cambricon vs Nvidia, last 12 months (USD, 100 = start)",
        view.figure,
        subtitle=subtitle,
        frame=view.frame,
        sources=view.sources,
        footer=dcc.Link("open in Market →", href="/market", className="stat-link"),
    )
    return card, ui.sample_banner(view.sample_tickers)


def _policy_stat(db: str) -> html.Div:
    ev = q.export_controls(db)
    latest = logic.latest_event(ev.frame) if ev.ok else None
    if latest is None:
        return ui.empty_stat(ev, "Latest export-control action")
    return ui.stat(
        "latest export-control action",
        latest["announced_date"].isoformat(),
        sub=f"{latest['agency']}: {latest['title']} — {latest['citation'] or latest['source']}",
        href="/policy",
        ident="overview-latest-action",
    )


def _freshness_stat(db: str) -> html.Div:
    fresh = q.table_freshness(db)
    if fresh.empty:
        return ui.empty_stat(fresh, "Warehouse freshness")
    frame = fresh.frame
    newest, oldest = frame["refreshed_at"].max(), frame["refreshed_at"].min()
    return ui.stat(
        "warehouse freshness",
        f"{newest:%Y-%m-%d %H:%M} UTC",
        sub=f"{frame.height} tables; oldest written {oldest:%Y-%m-%d %H:%M}; "
        f"{int(frame['rows'].sum()):,} rows",
        ident="overview-freshness",
    )


def _hardware_stat(db: str) -> html.Div:
    systems = q.system_perf(db)
    if systems.empty:
        return ui.empty_stat(systems, "Systems")
    best = systems.frame.sort("bf16_pflops", descending=True).row(0, named=True)
    return ui.stat(
        "largest system modelled",
        f"{best['bf16_pflops']:,.0f} PFLOP/s",
        sub=f"{best['id']}: {best['chips']} accelerators, {best['power_kw']:,.0f} kW at the wall",
        href="/hardware",
        ident="overview-hardware",
    )


def _capacity_stat(db: str) -> html.Div:
    cap = q.fab_capacity(db)
    if cap.empty:
        return ui.empty_stat(cap, "Capacity")
    adv = cap.frame.filter(
        (pl.col("node_class") == "7nm-class")
        & (pl.col("country") == "CN")
        & pl.col("capacity_wspm").is_not_null()
    )
    if adv.is_empty():
        return ui.stat(
            "fab capacity rows", f"{cap.frame.height}", href="/capacity", ident="overview-capacity"
        )
    year = int(adv["year"].min())
    same = adv.filter(pl.col("year") == year)
    low, high = same["capacity_wspm"].min(), same["capacity_wspm"].max()
    value = f"{low / 1000:.0f}k" if low == high else f"{low / 1000:.0f}–{high / 1000:.0f}k"
    return ui.stat(
        f"China ≤7nm-class capacity, {year}",
        f"{value} wspm",
        sub=f"{same.height} analyst series (estimates, not summed)",
        href="/capacity",
        ident="overview-capacity",
    )


def layout(**_: object) -> html.Div:
    """Built on every visit, so the figures follow the published warehouse."""
    db = ui.current_db()
    race, banner = _race_card(db)
    return html.Div(
        [
            ui.page_header(
                "Overview", "Where the US–China semiconductor race stands, from the published warehouse."
            ),
            html.Div(banner, id="overview-banner"),
            _shares_card(db),
            html.Div(style={"height": "16px"}),
            html.Div(
                className="grid grid-2",
                children=[
                    race,
                    html.Div(
                        className="grid",
                        children=[
                            _policy_stat(db),
                            _capacity_stat(db),
                            _hardware_stat(db),
                            _freshness_stat(db),
                        ],
                    ),
                ],
            ),
        ]
    )
