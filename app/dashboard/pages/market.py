"""Market: normalised USD performance around export-control actions, and the event study."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import logic

dash.register_page(__name__, path="/market", name="Market", title="fabscope · Market", order=1)


def performance(
    tickers: list[str] | None, start: Any, end: Any, show_events: list[str] | None
) -> tuple[logic.View, Any]:
    """Logic of the performance callback: the view and the sample banner."""
    db = ui.current_db()
    tickers = list(tickers or [])
    if not tickers:  # nothing to pick on an empty warehouse: say what is missing, not "pick a ticker"
        universe = q.tickers(db)
        if universe.empty:
            return logic.empty_view(universe.reason, height=420), None
    prices = q.prices(db, tickers, logic.parse_date(start), logic.parse_date(end))
    events = q.export_controls(db).frame if show_events and "events" in show_events else None
    view = logic.performance_view(prices, q.tickers(db).frame, events)
    if show_events and "log" in show_events and view.figure.data:
        view.figure.update_yaxes(type="log")
    return view, ui.sample_banner(view.sample_tickers)


def event_study(event_id: str | None, window: str | None) -> tuple[logic.View, Any, list[str], Any]:
    """Logic of the event-study callback: CAR view, summary table, windows available, sample banner."""
    db = ui.current_db()
    if not event_id:
        events = q.event_study_events(db)  # nothing to pick on an empty warehouse: say what is missing
        reason = events.reason if events.empty else "pick an event"
        return logic.empty_view(reason), ui.empty_state(reason, title="Event study"), [], None
    es = q.event_study(db, event_id)
    view = logic.car_view(es, window)
    if es.empty:
        return view, ui.empty_state(es.reason, title="Event study"), [], None
    summary = logic.event_study_summary(es.frame.filter(es.frame["window"] == view.note))
    table = ui.data_table(
        summary, table_id="market-es-table", formats={"mean_car": "+.2%", "mean_t": ".2f"}, page_size=6
    )
    sample = q.sample_price_tickers(db, es.frame["ticker"].unique().to_list())
    return view, table, logic.window_options(es), ui.sample_banner(sample)


def layout(**_: object) -> html.Div:
    db = ui.current_db()
    tick = q.tickers(db)
    labels = logic.ticker_labels(tick.frame)
    rng = q.price_range(db)
    start = end = first = last = None
    if rng.ok:
        first, last = rng.frame.item(0, "first"), rng.frame.item(0, "last")
        start, end = logic.default_range(first, last)
    available = set(labels)
    defaults = [t for t in logic.DEFAULT_TICKERS if t in available] or list(labels)[:3]
    events = q.event_study_events(db)
    ev_options = logic.event_options(events)
    controls = html.Div(
        className="controls-row",
        children=[
            html.Div(
                className="control control-wide",
                children=[
                    html.Label("Tickers", htmlFor="market-tickers"),
                    dcc.Dropdown(
                        id="market-tickers",
                        options=[{"label": v, "value": k} for k, v in labels.items()],
                        value=defaults,
                        multi=True,
                        placeholder="pick tickers",
                    ),
                ],
            ),
            ui.control(
                "Date range",
                dcc.DatePickerRange(
                    id="market-dates",
                    start_date=start,
                    end_date=end,
                    min_date_allowed=first,
                    max_date_allowed=last,
                    display_format="YYYY-MM-DD",
                ),
            ),
            ui.control(
                "Markers",
                dcc.Checklist(
                    id="market-show-events",
                    value=["events"],
                    inline=True,
                    options=[
                        {"label": " export-control actions", "value": "events"},
                        {"label": " log scale", "value": "log"},
                    ],
                ),
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
                "market-performance",
                "Normalised performance (USD, 100 = first day shown)",
                subtitle="solid = domestic China, dotted = foreign; ▼ = export-control action (hover for "
                "title and citation)",
            ),
            html.Div(
                className="grid grid-2",
                children=[
                    ui.chart_card(
                        "market-car",
                        "Event study: cumulative abnormal return per ticker",
                        subtitle="market-model CAR; dashed lines = group means",
                        controls=[
                            ui.control(
                                "Event",
                                dcc.Dropdown(
                                    id="market-event",
                                    options=ev_options,
                                    value=ev_options[0]["value"] if ev_options else None,
                                    placeholder=events.reason or "pick an event",
                                    clearable=False,
                                ),
                                wide=True,
                            ),
                            ui.control(
                                "Window (trading days)",
                                dcc.RadioItems(id="market-window", options=[], value=None, inline=True),
                            ),
                        ],
                    ),
                    html.Div(
                        className="card",
                        children=[
                            html.H3("Domestic vs foreign, mean CAR", className="card-title"),
                            html.Div(
                                className="card-subtitle",
                                children="per window of the chosen event; t = mean of per-ticker t-statistics",
                            ),
                            html.Div(id="market-es-banner", style={"marginTop": "10px"}),
                            html.Div(id="market-es-summary", style={"marginTop": "10px"}),
                        ],
                    ),
                ],
            ),
        ]
    )


@callback(
    *ui.card_outputs("market-performance"),
    Output("market-banner", "children"),
    Input("market-tickers", "value"),
    Input("market-dates", "start_date"),
    Input("market-dates", "end_date"),
    Input("market-show-events", "value"),
)
def _update_performance(tickers: list[str] | None, start: Any, end: Any, show: list[str] | None) -> tuple:
    view, banner = performance(tickers, start, end, show)
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
    view, table, windows, banner = event_study(event_id, window)
    options = [{"label": f" {w}", "value": w} for w in windows]
    return (*view.card_outputs, table, options, view.note if windows else None, banner)
