"""Market: normalised USD performance around export-control actions, and the event study."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard.pages import market_views as views
from app.dashboard.views_common import parse_date

dash.register_page(__name__, path="/market", name="Market", title="fabscope · Market", order=1)

PERFORMANCE_CARD = "market-performance"


def performance(
    db: str, tickers: list[str] | None, start: Any, end: Any, show_events: list[str] | None
) -> tuple[views.View, Any]:
    """Logic of the performance callback: the view and the sample banner."""
    tickers = list(tickers or [])
    if not tickers:  # nothing to pick on an empty warehouse: say what is missing, not "pick a ticker"
        universe = q.tickers(db)
        if universe.empty:
            return views.empty_view(universe.reason, height=420), None
    prices = q.prices(db, tickers, parse_date(start), parse_date(end))
    events = q.export_controls(db).frame if show_events and "events" in show_events else None
    view = views.performance_view(prices, q.tickers(db).frame, events)
    if show_events and "log" in show_events and view.figure.data:
        view.figure.update_yaxes(type="log")
    if not view.frame.is_empty():  # the rows are built again on Download CSV, not shipped with the figure
        view.csv_request = ui.csv_request(
            PERFORMANCE_CARD,
            tickers=tickers,
            start=_iso(start),
            end=_iso(end),
            show_events=list(show_events or []),
        )
    return view, ui.sample_banner(view.sample_tickers)


def _iso(value: Any) -> str | None:
    """A date picker value as 'YYYY-MM-DD' (JSON-safe), None when empty or invalid."""
    day = parse_date(value)
    return day.isoformat() if day else None


@ui.csv_builder(PERFORMANCE_CARD)
def performance_rows(
    db: str, tickers: Any = None, start: Any = None, end: Any = None, show_events: Any = None
):
    """The full-resolution rows behind the performance chart (its **Download CSV**)."""
    picked = [str(t) for t in tickers] if isinstance(tickers, list) else []
    return performance(db, picked, start, end, show_events if isinstance(show_events, list) else [])[0].frame


def summary(cross: q.QueryResult, window: str) -> Any:
    """The stored cross-section of one window as a table, with what each statistic is (from the schema)."""
    cells = views.summary_cells(cross, window, q.column_docs("event_study_cross_section"))
    if "reason" in cells:
        return ui.empty_state(cells["reason"], title="Event study")
    table = ui.data_table(cells["frame"], table_id="market-es-table", formats=cells["formats"], page_size=8)
    return html.Div([table, html.P(cells["notes"], className="note", id="market-es-method")])


def event_study(db: str, event_id: str | None, window: str | None) -> tuple[views.View, Any, list[str], Any]:
    """Logic of the event-study callback: CAR view, summary table, windows available, sample banner."""
    if not event_id:
        events = q.event_study_events(db)  # nothing to pick on an empty warehouse: say what is missing
        reason = events.reason if events.empty else "pick an event"
        return views.empty_view(reason), ui.empty_state(reason, title="Event study"), [], None
    es = q.event_study(db, event_id)
    cross = q.event_study_cross_section(db, event_id)
    if es.empty:
        return views.car_view(es), ui.empty_state(es.reason, title="Event study"), [], None
    sample = q.sample_price_tickers(db, es.frame["ticker"].unique().to_list())
    view = views.car_view(es, window, cross, sample=bool(sample))
    return view, summary(cross, view.note or ""), views.window_options(es), ui.sample_banner(sample)


def layout(**_: object) -> html.Div:
    db = ui.current_db()
    tick = q.tickers(db)
    labels = views.ticker_labels(tick.frame)
    rng = q.price_range(db)
    start = end = first = last = None
    if rng.ok:
        first, last = rng.frame.item(0, "first"), rng.frame.item(0, "last")
        start, end = views.default_range(first, last)
    available = set(labels)
    defaults = [t for t in views.DEFAULT_TICKERS if t in available] or list(labels)[:3]
    events = q.event_study_events(db)
    ev_options = views.event_options(events)
    controls = html.Div(
        className="controls-row",
        children=[
            ui.picker("Tickers", "market-tickers", labels, defaults, multi=True, placeholder="pick tickers"),
            ui.date_range("Date range", "market-dates", first, last, start_date=start, end_date=end),
            ui.checks(
                "Markers",
                "market-show-events",
                {"events": "export-control actions", "log": "log scale"},
                ["events"],
            ),
        ],
    )
    return html.Div(
        [
            ui.page_header(
                "Market", "Domestic Chinese vs foreign chip stocks in USD, around export-control actions."
            ),
            html.Div(id="market-banner"),
            ui.empty_state(tick.reason) if tick.empty else None,
            controls,
            ui.chart_card(
                PERFORMANCE_CARD,
                views.PERFORMANCE_TITLE,
                subtitle="red shades = domestic China, blue shades = foreign; ▼ = export-control action (hover for "
                "title and citation)",
            ),
            html.Div(
                className="grid grid-2",
                children=[
                    ui.chart_card(
                        "market-car",
                        views.CAR_TITLE,
                        subtitle="market-model CAR; dashed lines = the stored group means",
                        controls=[
                            ui.picker(
                                "Event",
                                "market-event",
                                ev_options,
                                ev_options[0]["value"] if ev_options else None,
                                wide=True,
                                placeholder=events.reason or "pick an event",
                                clearable=False,
                            ),
                            ui.choice("Window (trading days)", "market-window", [], None),
                        ],
                    ),
                    ui.panel(
                        "Domestic vs foreign, mean CAR",
                        html.Div(id="market-es-banner", style={"marginTop": "10px"}),
                        html.Div(id="market-es-summary", style={"marginTop": "10px"}),
                        subtitle="the warehouse's cross-section for the chosen event and window "
                        "(event_study_cross_section), as stored",
                    ),
                ],
            ),
        ]
    )


@callback(
    *ui.card_outputs(PERFORMANCE_CARD),
    Output("market-banner", "children"),
    Input("market-tickers", "value"),
    Input("market-dates", "start_date"),
    Input("market-dates", "end_date"),
    Input("market-show-events", "value"),
)
def _update_performance(tickers: list[str] | None, start: Any, end: Any, show: list[str] | None) -> tuple:
    view, banner = performance(ui.current_db(), tickers, start, end, show)
    return (*view.card_outputs, banner)


@callback(
    *ui.card_outputs("market-car"),
    Output("market-es-summary", "children"),
    Output("market-window", "options"),
    Output("market-window", "value"),
    Output("market-es-banner", "children"),
    Input("market-event", "value"),
    Input("market-window", "value"),
)
def _update_event_study(event_id: str | None, window: str | None) -> tuple:
    view, table, windows, banner = event_study(ui.current_db(), event_id, window)
    options = [{"label": f" {w}", "value": w} for w in windows]
    return (*view.card_outputs, table, options, view.note if windows else None, banner)
