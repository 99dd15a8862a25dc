"""Market: normalised USD performance around export-control actions, and the event study."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, ctx, dcc, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import share
from app.dashboard.pages import market_tools as tools
from app.dashboard.pages import market_views as views
from app.dashboard.views_common import parse_date

dash.register_page(__name__, path="/market", name="Market", title="fabscope · Market", order=1)

PERFORMANCE_CARD = "market-performance"
SHARE = "market-share"
STATE = {
    "tickers": ("market-tickers", "value"),
    "start": ("market-dates", "start_date"),
    "end": ("market-dates", "end_date"),
    "range": ("market-range", "value"),
    "mode": ("market-mode", "value"),
    "rebase": ("market-rebase", "date"),
    "bench": ("market-benchmark", "value"),
    "show": ("market-show-events", "value"),
    "cats": ("market-event-cats", "value"),
    "event": ("market-event", "value"),
    "window": ("market-window", "value"),
}
"""What of the page its link holds (``share``)."""


def performance(
    db: str,
    tickers: list[str] | None,
    start: Any,
    end: Any,
    show_events: list[str] | None,
    *,
    mode: str = "index",
    rebase: Any = None,
    benchmark: str | None = None,
    categories: list[str] | None = None,
) -> tuple[views.View, Any]:
    """Logic of the performance callback: the view and the sample banner (``categories``: the
    export-control categories whose markers are drawn; None = all)."""
    tickers = list(tickers or [])
    if not tickers:  # nothing to pick on an empty warehouse: say what is missing, not "pick a ticker"
        universe = q.tickers(db)
        if universe.empty:
            return views.empty_view(universe.reason, height=420), None
    first, last = parse_date(start), parse_date(end)
    prices = q.prices(db, tickers, first, last)
    bench = q.prices(db, [benchmark], first, last) if mode == "relative" and benchmark else None
    events = None
    if show_events and "events" in show_events:
        events = q.export_controls(db, categories if categories is not None else None).frame
    view = views.performance_view(
        prices, q.tickers(db).frame, events, mode=mode, rebase=parse_date(rebase), bench=bench
    )
    if show_events and "log" in show_events and view.figure.data and mode != "drawdown":
        view.figure.update_yaxes(type="log")
    if not view.frame.is_empty():  # the rows are built again on Download CSV, not shipped with the figure
        view.csv_request = ui.csv_request(
            PERFORMANCE_CARD,
            tickers=tickers,
            start=_iso(start),
            end=_iso(end),
            show_events=list(show_events or []),
            mode=mode,
            rebase=_iso(rebase),
            benchmark=benchmark,
            categories=categories,
        )
    return view, ui.sample_banner(view.sample_tickers)


def _iso(value: Any) -> str | None:
    """A date picker value as 'YYYY-MM-DD' (JSON-safe), None when empty or invalid."""
    day = parse_date(value)
    return day.isoformat() if day else None


@ui.csv_builder(PERFORMANCE_CARD)
def performance_rows(
    db: str,
    tickers: Any = None,
    start: Any = None,
    end: Any = None,
    show_events: Any = None,
    mode: Any = "index",
    rebase: Any = None,
    benchmark: Any = None,
    categories: Any = None,
):
    """The full-resolution rows behind the performance chart (its **Download CSV**)."""
    picked = [str(t) for t in tickers] if isinstance(tickers, list) else []
    return performance(
        db,
        picked,
        start,
        end,
        show_events if isinstance(show_events, list) else [],
        mode=str(mode) if mode in tools.MODES else "index",
        rebase=rebase,
        benchmark=str(benchmark) if benchmark else None,
        categories=[str(c) for c in categories] if isinstance(categories, list) else None,
    )[0].frame


def reaction(db: str, event_id: str | None, tickers: list[str] | None) -> Any:
    """What clicking an event marker shows: the action and its stored price reaction (``event_study``:
    CAR and t-stat per ticker and window, the tickers on screen first), or why there is none."""
    if not event_id:
        return html.P("Click a ▼ event marker to see its price reaction.", className="muted")
    actions = q.export_controls(db).frame
    info = actions.filter(actions["event_id"] == event_id).to_dicts() if not actions.is_empty() else []
    head = html.P(
        [html.Strong(info[0]["title"]), f" — {info[0]['announced_date']} · {info[0].get('agency') or ''}"]
        if info
        else [html.Strong(event_id)]
    )
    stored = q.event_study_id(db, event_id)
    es = q.event_study(db, stored) if stored else None
    if es is None or es.empty:
        reason = es.reason if es is not None else f"no event study stored for {event_id}"
        return html.Div([head, ui.empty_state(reason, title="Price reaction")], id="market-reaction-body")
    rows = tools.reaction_rows(es.frame, tickers).select(
        "ticker", "name", "window", "car", "t_stat", "domestic_china", "on_screen"
    )
    table = ui.data_table(
        rows, table_id="market-reaction-table", formats={"car": "+.2%", "t_stat": ".2f"}, page_size=10
    )
    note = html.P(
        f"as stored in event_study (market-model CAR per ticker and window{'' if stored == event_id else ', under ' + stored}); "
        "the group tests are in the event-study card below, now showing this event",
        className="note",
    )
    return html.Div([head, table, note], id="market-reaction-body")


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


def layout(**query: object) -> html.Div:
    """The page; its state (tickers, range, view, benchmark, markers, event) restored from the URL ``query``."""
    db = ui.current_db()
    tick = q.tickers(db)
    labels = views.ticker_labels(tick.frame)
    rng = q.price_range(db)
    start = end = first = last = None
    if rng.ok:
        first, last = rng.frame.item(0, "first"), rng.frame.item(0, "last")
        start, end = views.default_range(first, last)
        if query.get("range") in tools.PRESETS:  # a link with a preset: the preset's dates
            start, end = tools.preset_range(str(query["range"]), first, last)
    available = set(labels)
    defaults = [t for t in views.DEFAULT_TICKERS if t in available] or list(labels)[:3]
    cats = q.export_control_categories(db)
    events = q.event_study_events(db)
    ev_options = views.event_options(events)
    offered = [o["value"] for o in ev_options]
    event = query.get("event") if query.get("event") in offered else (offered[0] if offered else None)
    windows = views.window_options(q.event_study(db, str(event))) if event else []
    controls = html.Div(
        className="controls-row",
        children=[
            ui.picker("Tickers", "market-tickers", labels, defaults, multi=True, placeholder="pick tickers"),
            ui.choice("Range", "market-range", tools.PRESETS, None),
            ui.date_range("Date range", "market-dates", first, last, start_date=start, end_date=end),
            ui.choice("Show", "market-mode", tools.MODES, "index"),
            ui.control(
                "Rebase at (100 =)",
                dcc.DatePickerSingle(
                    id="market-rebase",
                    min_date_allowed=first,
                    max_date_allowed=last,
                    display_format="YYYY-MM-DD",
                    placeholder="first day shown",
                    clearable=True,
                ),
            ),
            ui.picker(
                "Benchmark",
                "market-benchmark",
                labels,
                tools.DEFAULT_BENCHMARK if tools.DEFAULT_BENCHMARK in available else None,
                width=230,
                placeholder="benchmark",
            ),
            ui.checks(
                "Markers",
                "market-show-events",
                {"events": "export-control actions", "log": "log scale"},
                ["events"],
            ),
            ui.checks("Event categories", "market-event-cats", cats, cats, wide=True),
            share.share_control(SHARE),
        ],
    )
    tree = html.Div(
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
                subtitle="red shades = domestic China, blue shades = foreign; ▼ = export-control action, coloured "
                "by category (hover for title and citation, click for its price reaction); relative = "
                "ticker index ÷ benchmark index; drawdown = close ÷ running peak − 1",
                footer=html.Div(reaction(db, None, None), id="market-reaction", className="detail"),
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
                                event,
                                wide=True,
                                placeholder=events.reason or "pick an event",
                                clearable=False,
                            ),
                            ui.choice(
                                "Window (trading days)", "market-window", {w: w for w in windows}, None
                            ),
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
    return share.restore(tree, query, STATE)


share.register("/market", SHARE, STATE)


@callback(
    Output("market-dates", "start_date"),
    Output("market-dates", "end_date"),
    Output("market-range", "value"),
    Input("market-range", "value"),
    Input("market-dates", "start_date"),
    Input("market-dates", "end_date"),
    prevent_initial_call=True,
)
def _range(preset: str | None, start: Any, end: Any) -> tuple:
    """A preset sets the dates; dates moved by hand clear the preset (unless they are exactly one)."""
    rng = q.price_range(ui.current_db())
    if not rng.ok:
        return dash.no_update, dash.no_update, dash.no_update
    first, last = rng.frame.item(0, "first"), rng.frame.item(0, "last")
    if ctx.triggered_id == "market-range":
        if not preset:
            return dash.no_update, dash.no_update, dash.no_update
        lo, hi = tools.preset_range(preset, first, last)
        return lo.isoformat(), hi.isoformat(), dash.no_update
    return (
        dash.no_update,
        dash.no_update,
        tools.matching_preset(parse_date(start), parse_date(end), first, last),
    )


@callback(
    Output("market-reaction", "children"),
    Output("market-event", "value"),
    Input(f"{PERFORMANCE_CARD}-graph", "clickData"),
    State("market-tickers", "value"),
    State("market-event", "options"),
    prevent_initial_call=True,
)
def _clicked(click: dict | None, tickers: list[str] | None, options: list[dict] | None) -> tuple:
    """Clicking an event marker: its stored price reaction, and the event-study card switched to it."""
    points = (click or {}).get("points") or []
    event_id = next((p["customdata"] for p in points if isinstance(p.get("customdata"), str)), None)
    if event_id is None:
        return dash.no_update, dash.no_update
    db = ui.current_db()
    stored = q.event_study_id(db, event_id)
    offered = {o["value"] for o in options or []}
    return reaction(db, event_id, tickers), stored if stored in offered else dash.no_update


@callback(
    *ui.card_outputs(PERFORMANCE_CARD),
    Output("market-banner", "children"),
    Input("market-tickers", "value"),
    Input("market-dates", "start_date"),
    Input("market-dates", "end_date"),
    Input("market-show-events", "value"),
    Input("market-mode", "value"),
    Input("market-rebase", "date"),
    Input("market-benchmark", "value"),
    Input("market-event-cats", "value"),
)
def _update_performance(
    tickers: list[str] | None,
    start: Any,
    end: Any,
    show: list[str] | None,
    mode: str | None,
    rebase: Any,
    benchmark: str | None,
    cats: list[str] | None,
) -> tuple:
    view, banner = performance(
        ui.current_db(),
        tickers,
        start,
        end,
        show,
        mode=mode or "index",
        rebase=rebase,
        benchmark=benchmark,
        categories=list(cats or []),
    )
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
