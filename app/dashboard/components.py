"""Shared dashboard pieces: chart cards (CSV download + sources), banners, empty states, theme.

A chart card is a titled panel holding a ``dcc.Graph`` plus two controls that every chart
in fabscope carries: **Download CSV** (the exact rows behind the chart) and **Sources**
(a list of the citations in those rows). Cards are addressed by a short ``card`` name;
the page callbacks fill ``card_outputs(card)`` = (figure, CSV data, sources list), and
one pattern-matching callback (:func:`register_shared_callbacks`) serves every download.

The CSV data is either the CSV text (small tables travel with the figure) or, for cards with large
series, a :func:`csv_request` naming a builder registered with :func:`csv_builder`: the server then
builds the full-resolution CSV only when **Download CSV** is clicked (route :data:`CSV_ROUTE`), so the
rows are not shipped with every figure update; such figures draw down-sampled lines (:func:`thin`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl
from dash import MATCH, Input, Output, State, dcc, html

from app.dashboard.controls import (  # noqa: F401 (re-exported: pages call ui.picker(...))
    FONT,
    answer_panel,
    answer_slot,
    checks,
    choice,
    control,
    data_table,
    date_range,
    error_panel,
    id_options,
    number,
    panel,
    picker,
)
from app.queries import REFRESH_HINT, QueryResult

# ---- theme ---------------------------------------------------------------------------------
DOMESTIC = "#c8102e"
"""Colour of China-domestic series (companies, vendors, shares)."""
FOREIGN = "#1f5fa8"
"""Colour of foreign series."""
COLORWAY = [
    "#1f5fa8",
    "#c8102e",
    "#2a9d8f",
    "#e9a23b",
    "#6d597a",
    "#8d99ae",
    "#264653",
    "#b5838d",
    "#588157",
    "#d62828",
]

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT, "size": 12, "color": "#1f2933"},
        colorway=COLORWAY,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 56, "r": 16, "t": 24, "b": 40},
        xaxis={"gridcolor": "#eef1f4", "linecolor": "#c5ccd3", "zeroline": False},
        yaxis={"gridcolor": "#eef1f4", "linecolor": "#c5ccd3", "zeroline": False},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "bgcolor": "rgba(0,0,0,0)"},
        hoverlabel={"font": {"family": FONT}},
    )
)

GRAPH_CONFIG = {
    "displaylogo": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "plotlyServerURL": "",
    "modeBarButtonsToRemove": [
        "lasso2d",
        "select2d",
        "autoScale2d",
        "sendDataToCloud",
        "editInChartStudio",
        "toggleSpikelines",
    ],
    "toImageButtonOptions": {"format": "png", "filename": "fabscope-chart", "scale": 2},
}
"""Plotly config of every chart (set once, here): no Plotly logo and no button that sends the chart or its
data anywhere (cloud share, Chart Studio, links); the toolbar keeps *Download plot as PNG*, which exports
the figure's own title, sources line and — when sample prices are drawn — the "sample data" watermark
(see :func:`app.dashboard.exports.mark_for_export`)."""


# ---- the warehouse the pages read -------------------------------------------------------------
DB_CONFIG_KEY = "FABSCOPE_DB"
"""Key of the warehouse path in the Flask server config (``create_app`` sets it, once per app)."""


def current_db() -> str:
    """The warehouse the running app reads: ``server.config[DB_CONFIG_KEY]`` of the app serving the request
    (outside a request — a background rerun, a test — of the Dash app last built, ``dash.get_app()``).

    The one accessor for the warehouse location: layouts and callbacks call it and hand the path to the
    page's plain functions (which take it as an argument).
    """
    import dash
    import flask

    config = flask.current_app.config if flask.has_app_context() else dash.get_app().server.config
    return str(config[DB_CONFIG_KEY])


# ---- figures -------------------------------------------------------------------------------
def styled(fig: go.Figure, *, height: int = 360, **layout: Any) -> go.Figure:
    """Apply the fabscope template and a fixed height to ``fig``."""
    fig.update_layout(template=TEMPLATE, height=height, **layout)
    return fig


MAX_POINTS_PER_TRACE = 2000
"""Points a line trace draws at most (about a screen's width in pixels); longer series are down-sampled by
:func:`thin`, while the card's CSV keeps every row."""


def thin(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS_PER_TRACE) -> np.ndarray:
    """Indices of the points of the line ``(x, y)`` to draw: all of them up to ``max_points``, else
    ``max_points`` chosen by MinMax-LTTB (``tsdownsample``: keeps the first and last point, the extremes and
    the shape of the line). ``x`` ascending (dates or numbers), ``y`` numeric without NaN."""
    n = len(y)
    if n <= max_points:
        return np.arange(n)
    from tsdownsample import MinMaxLTTBDownsampler

    xs = np.asarray(x)
    if np.issubdtype(xs.dtype, np.datetime64):
        xs = xs.astype("datetime64[ns]").astype(np.int64)
    return np.asarray(MinMaxLTTBDownsampler().downsample(xs, np.asarray(y, dtype=float), n_out=max_points))


def empty_figure(reason: str, *, height: int = 300) -> go.Figure:
    """A figure that says why there is nothing to plot (never a blank chart)."""
    fig = go.Figure()
    fig.add_annotation(
        text=reason,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 14, "color": "#52606d"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, height=height)


@lru_cache(maxsize=1)
def _loading_figure_json() -> str:
    return empty_figure("loading…").to_json()


def _loading_figure() -> dict[str, Any]:
    """The placeholder of a card whose callback draws the chart: built once per process (a Plotly figure
    costs tens of ms to validate, and a page holds several cards), a fresh copy each time."""
    return json.loads(_loading_figure_json())


# ---- CSV + sources -------------------------------------------------------------------------
def frame_csv(frame: pl.DataFrame | None) -> str:
    """CSV text of ``frame`` (nested/JSON columns as text); empty string when there is nothing."""
    if frame is None or frame.is_empty():
        return ""
    nested = [c for c, t in frame.schema.items() if isinstance(t, pl.List | pl.Struct | pl.Array | pl.Object)]
    if nested:
        frame = frame.with_columns(pl.col(c).map_elements(str, return_dtype=pl.String) for c in nested)
    return frame.write_csv()


def sources_list(sources: Iterable[str]) -> list[Any]:
    """Children for a card's Sources panel: one list item per citation (links when URLs)."""
    items = [s for s in dict.fromkeys(str(s).strip() for s in sources) if s]
    if not items:
        return [html.Li("no sources on screen", className="muted")]
    out = []
    for s in items:
        out.append(
            html.Li(html.A(s, href=s, target="_blank", rel="noopener"))
            if re.match(r"https?://", s)
            else html.Li(s)
        )
    return out


def csv_filename(card: str) -> str:
    """Download file name for a card's data."""
    return f"fabscope-{re.sub(r'[^a-z0-9-]+', '-', card.lower())}.csv"


def chart_card(
    card: str,
    title: str,
    figure: go.Figure | None = None,
    *,
    subtitle: str | None = None,
    frame: pl.DataFrame | None = None,
    sources: Sequence[str] = (),
    controls: Any = None,
    graph_id: str | None = None,
    footer: Any = None,
    height: int | None = None,
) -> html.Div:
    """A titled chart panel with **Download CSV** and **Sources**.

    ``figure``/``frame``/``sources`` are the initial contents; page callbacks replace them
    through ``Output(f"{card}-graph", "figure")``, ``Output(csv_store_id(card), "data")`` and
    ``Output(sources_id(card), "children")``.
    """
    fig = figure if figure is not None else _loading_figure()
    graph_style = {"height": f"{height}px"} if height else {}
    return html.Div(
        className="card",
        id=f"{card}-card",
        children=[
            html.Div(
                className="card-head",
                children=[
                    html.Div(
                        [
                            html.H3(title, className="card-title"),
                            html.Div(subtitle, className="card-subtitle") if subtitle else None,
                        ]
                    ),
                    html.Div(
                        className="card-actions",
                        children=[
                            html.Button(
                                "Download CSV",
                                id={"type": "csv-button", "card": card},
                                className="btn btn-small",
                                n_clicks=0,
                                title="download the rows behind this chart",
                            ),
                            dcc.Download(id={"type": "csv-download", "card": card}),
                            *image_buttons(card, title),
                        ],
                    ),
                ],
            ),
            html.Div(controls, className="card-controls") if controls is not None else None,
            html.Div(
                dcc.Loading(
                    dcc.Graph(
                        id=graph_id or f"{card}-graph", figure=fig, config=GRAPH_CONFIG, style=graph_style
                    ),
                    type="dot",
                    delay_show=300,
                    color=FOREIGN,
                ),
                role="img",
                **{"aria-label": f"chart: {title}" + (f" — {subtitle}" if subtitle else "")},
                className="graph-wrap",
            ),
            dcc.Store(id=csv_store_id(card), data=frame_csv(frame)),
            html.Details(
                className="sources",
                children=[
                    html.Summary("Sources"),
                    html.Ul(sources_list(sources), id=sources_id(card)),
                ],
            ),
            footer,
        ],
    )


def image_buttons(card: str, title: str) -> list[html.Button]:
    """**PNG** and **SVG** buttons: the chart rendered on the server by kaleido, with its title, sources and
    sample-data mark (``assets/exports.js`` posts the figure to ``exports.IMAGE_ROUTE``)."""
    return [
        html.Button(
            fmt.upper(),
            id=f"{card}-export-{fmt}",
            className="btn btn-small image-export",
            n_clicks=0,
            title=f"download this chart as {fmt.upper()} (rendered on the server, with title and sources)",
            **{
                "data-graph": f"{card}-graph",
                "data-format": fmt,
                "data-title": title,
                "data-route": IMAGE_ROUTE,
            },
        )
        for fmt in ("png", "svg")
    ]


def csv_store_id(card: str) -> dict[str, str]:
    """Id of a card's CSV store (pattern-matching id)."""
    return {"type": "csv-data", "card": card}


def sources_id(card: str) -> dict[str, str]:
    """Id of a card's sources list (pattern-matching id)."""
    return {"type": "sources", "card": card}


def card_outputs(card: str) -> list[Output]:
    """The three outputs a page callback sets to refresh a card: figure, CSV data, sources."""
    return [
        Output(f"{card}-graph", "figure"),
        Output(csv_store_id(card), "data"),
        Output(sources_id(card), "children"),
    ]


NO_ROWS_CSV = "note\nno rows on screen\n"
"""What **Download CSV** saves when the chart shows no rows (an explanation, never an empty file)."""

CSV_ROUTE = "/_fabscope/csv"
"""Flask route that builds a card's CSV on click (``?card=NAME&args=JSON``, see :func:`csv_request`)."""
IMAGE_ROUTE = "/_fabscope/image"
"""Flask route rendering a chart as PNG or SVG on the server (POST ``{"figure", "title", "format"}``;
:func:`app.dashboard.exports.register_image_route`)."""
MAX_CSV_ARGS_BYTES = 4096
"""Longest ``args`` a CSV request may carry (a few tickers, dates and switches; anything longer is refused)."""

CsvBuilder = Callable[..., pl.DataFrame]
_CSV_BUILDERS: dict[str, CsvBuilder] = {}


def csv_builder(card: str) -> Callable[[CsvBuilder], CsvBuilder]:
    """Register ``fn(db, **args) -> frame``: the rows behind ``card`` for the arguments of a
    :func:`csv_request`, built when **Download CSV** is clicked (decorator; one builder per card)."""

    def register(fn: CsvBuilder) -> CsvBuilder:
        _CSV_BUILDERS[card] = fn
        return fn

    return register


def csv_request(card: str, **args: Any) -> dict[str, Any]:
    """What a card's CSV store holds instead of the CSV text: the builder's arguments (small JSON values),
    so that the rows travel only when they are downloaded."""
    return {"card": card, "args": args}


def build_csv(db: str, card: str, args_json: str) -> tuple[int, str]:
    """``(HTTP status, body)`` of a CSV request: the CSV of the registered builder's rows (or
    :data:`NO_ROWS_CSV`), else a one-line reason (unknown card, unreadable or oversized arguments)."""
    builder = _CSV_BUILDERS.get(card)
    if builder is None:
        return 404, f"no CSV builder for card {card!r}\n"
    if len(args_json.encode()) > MAX_CSV_ARGS_BYTES:
        return 413, f"CSV request arguments longer than {MAX_CSV_ARGS_BYTES} bytes\n"
    try:
        args = json.loads(args_json or "{}")
    except ValueError:
        return 400, "CSV request arguments are not JSON\n"
    if not isinstance(args, dict):
        return 400, "CSV request arguments must be a JSON object\n"
    try:
        frame = builder(db, **args)
    except TypeError as exc:  # arguments the builder does not take
        return 400, f"bad CSV request arguments for {card}: {exc}\n"
    return 200, frame_csv(frame) or NO_ROWS_CSV


_DOWNLOAD_JS = """
function (nClicks, data, ident) {
    if (!nClicks) { return window.dash_clientside.no_update; }
    const name = "fabscope-" + String(ident.card).toLowerCase().replace(/[^a-z0-9-]+/g, "-") + ".csv";
    if (data && typeof data === "object") {  // a csv_request: the server builds the CSV now
        const config = JSON.parse(document.getElementById("_dash-config").textContent || "{}");
        const prefix = (config.requests_pathname_prefix || "/").replace(/\\/$/, "");
        const link = document.createElement("a");
        link.href = prefix + %(route)s + "?card=" + encodeURIComponent(data.card)
            + "&args=" + encodeURIComponent(JSON.stringify(data.args || {}));
        link.download = name;
        document.body.appendChild(link);
        link.click();
        link.remove();
        return window.dash_clientside.no_update;
    }
    return {content: data || %(no_rows)s, filename: name, type: "text/csv", base64: false};
}
"""


def download_payload(n_clicks: int | None, data: str | None, card: str) -> dict[str, Any] | None:
    """What the **Download CSV** callback hands to ``dcc.Download`` for CSV text (Python twin of the browser
    code; a :func:`csv_request` is fetched from :data:`CSV_ROUTE` instead)."""
    if not n_clicks:
        return None
    return {
        "content": data or NO_ROWS_CSV,
        "filename": csv_filename(card),
        "type": "text/csv",
        "base64": False,
    }


def register_shared_callbacks(app: Any) -> None:
    """One pattern-matching callback serving every card's **Download CSV** button, the CSV route and the
    server-side image route (:func:`app.dashboard.exports.register_image_route`).

    It runs in the browser (clientside): CSV text already in the card's store never goes back to the
    server, and keeps working while the server is busy; a :func:`csv_request` becomes a GET of
    :data:`CSV_ROUTE`, which builds the rows then. :func:`download_payload` is the same logic in Python.
    """
    import flask

    app.clientside_callback(
        _DOWNLOAD_JS % {"route": json.dumps(CSV_ROUTE), "no_rows": json.dumps(NO_ROWS_CSV)},
        Output({"type": "csv-download", "card": MATCH}, "data"),
        Input({"type": "csv-button", "card": MATCH}, "n_clicks"),
        State({"type": "csv-data", "card": MATCH}, "data"),
        State({"type": "csv-button", "card": MATCH}, "id"),
        prevent_initial_call=True,
    )

    def download_csv() -> flask.Response:
        card = flask.request.args.get("card", "")
        status, body = build_csv(current_db(), card, flask.request.args.get("args", "{}"))
        headers = (
            {"Content-Disposition": f'attachment; filename="{csv_filename(card)}"'} if status == 200 else {}
        )
        return flask.Response(
            body, status=status, mimetype="text/csv" if status == 200 else "text/plain", headers=headers
        )

    # under Dash's routes prefix, as the browser code puts it under the requests prefix
    route = str(app.config.routes_pathname_prefix or "/").rstrip("/") + CSV_ROUTE
    app.server.add_url_rule(route, "fabscope_csv", download_csv, methods=["GET"])
    from app.dashboard.exports import register_image_route  # exports draws with this module's colours

    register_image_route(app)


# ---- banners and empty states --------------------------------------------------------------
def sample_banner(tickers: Sequence[str]) -> html.Div | None:
    """The sample-data banner, or ``None`` when no sample prices are on screen."""
    if not tickers:
        return None
    shown = ", ".join(list(tickers)[:8]) + (" …" if len(tickers) > 8 else "")
    return html.Div(
        className="banner banner-sample",
        role="alert",
        children=[
            html.Strong("Sample prices on screen. "),
            "These series come from fabscope's deterministic offline sample provider — synthetic, "
            f"not market data ({shown}). Load real prices with ",
            html.Code("fabscope refresh --prices yahoo"),
            ".",
        ],
    )


def empty_state(reason: str | None, *, title: str = "No data yet") -> html.Div:
    """A panel that says what is missing and how to get it."""
    text = reason or f"no data yet — {REFRESH_HINT}"
    return html.Div(className="empty-state", children=[html.Strong(title), html.Div(text)])


def page_header(title: str, lede: str) -> html.Div:
    """Page title and one-line description."""
    return html.Div(className="page-header", children=[html.H1(title), html.P(lede, className="lede")])


def stat(
    label: str, value: str, *, sub: str | None = None, href: str | None = None, ident: str | None = None
) -> html.Div:
    """A headline figure (label, big value, small print), optionally linking to its page."""
    body = [
        html.Div(label, className="stat-label"),
        html.Div(value, className="stat-value"),
        html.Div(sub, className="stat-sub") if sub else None,
    ]
    if href:
        body.append(dcc.Link("details →", href=href, className="stat-link"))
    return html.Div(body, className="stat", id=ident) if ident else html.Div(body, className="stat")


def empty_stat(result: QueryResult, title: str) -> html.Div:
    """A headline-figure slot holding the empty state of ``result`` (why there is nothing to show)."""
    return html.Div(empty_state(result.reason, title=title), className="stat")
