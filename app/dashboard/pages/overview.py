"""Overview: headline figures, each linking to the page that explains it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import dash
import polars as pl
from dash import dcc, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard.pages import market_views
from app.dashboard.pages import overview_views as views
from app.dashboard.views_common import empty_view

dash.register_page(__name__, path="/", name="Overview", title="fabscope · Overview", order=0)


def _stat(h: views.Headline) -> html.Div:
    return ui.stat(h.label, h.value, sub=h.sub, href=h.href, ident=h.ident)


def _shares_card(db: str) -> html.Div:
    hist = q.substitution_history(db)
    if hist.empty:
        return ui.empty_stat(hist, "Domestic share")
    return html.Div([_stat(h) for h in views.share_headlines(hist.frame)], className="grid grid-3")


def _race_card(db: str) -> tuple[html.Div, html.Div | None]:
    tickers = [market_views.CAMBRICON, market_views.NVIDIA]
    title = "Cambricon vs Nvidia, last 12 months (USD, 100 = start)"
    rng = q.price_range(db)
    if rng.empty:
        view = empty_view(rng.reason, height=260)
        return ui.chart_card("overview-race", title, view.figure), None
    last = rng.frame.item(0, "last")
    prices = q.prices(db, tickers, last - timedelta(days=365), last)
    view = market_views.performance_view(prices, q.tickers(db).frame, None, height=430)
    subtitle = None
    if prices.ok:
        subtitle = views.return_text({t: market_views.one_year_return(prices.frame, t) for t in tickers})
    card = ui.chart_card(
        "overview-race",
        title,
        view.figure,
        subtitle=subtitle,
        frame=view.frame,
        sources=view.sources,
        footer=dcc.Link("open in Market →", href="/market", className="stat-link"),
    )
    return card, ui.sample_banner(view.sample_tickers)


def _headline(
    result: q.QueryResult, title: str, make: Callable[[pl.DataFrame], views.Headline | None]
) -> html.Div:
    """The headline ``make`` draws from ``result``, or the empty state saying why there is none."""
    h = make(result.frame) if result.ok else None
    return ui.empty_stat(result, title) if h is None else _stat(h)


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
                            _headline(
                                q.export_controls(db), "Latest export-control action", views.policy_headline
                            ),
                            _headline(q.fab_capacity(db), "Capacity", views.capacity_headline),
                            _headline(q.system_perf(db), "Systems", views.hardware_headline),
                            _headline(q.table_freshness(db), "Warehouse freshness", views.freshness_headline),
                        ],
                    ),
                ],
            ),
        ]
    )
