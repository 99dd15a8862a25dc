"""Shared dashboard pieces: chart cards (CSV download + sources), banners, empty states, theme.

A chart card is a titled panel holding a ``dcc.Graph`` plus two controls that every chart
in fabscope carries: **Download CSV** (the exact rows behind the chart) and **Sources**
(a list of the citations in those rows). Cards are addressed by a short ``card`` name;
the page callbacks fill ``card_outputs(card)`` = (figure, CSV text, sources list), and
one pattern-matching callback (:func:`register_shared_callbacks`) serves every download.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl
from dash import MATCH, Input, Output, State, dcc, html

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
FONT = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

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
    fig = figure if figure is not None else empty_figure("loading…")
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

_DOWNLOAD_JS = """
function (nClicks, data, ident) {
    if (!nClicks) { return window.dash_clientside.no_update; }
    const name = "fabscope-" + String(ident.card).toLowerCase().replace(/[^a-z0-9-]+/g, "-") + ".csv";
    return {content: data || %s, filename: name, type: "text/csv", base64: false};
}
"""


def download_payload(n_clicks: int | None, data: str | None, card: str) -> dict[str, Any] | None:
    """What the **Download CSV** callback hands to ``dcc.Download`` (Python twin of the browser code)."""
    if not n_clicks:
        return None
    return {
        "content": data or NO_ROWS_CSV,
        "filename": csv_filename(card),
        "type": "text/csv",
        "base64": False,
    }


def register_shared_callbacks(app: Any) -> None:
    """One pattern-matching callback serving every card's **Download CSV** button.

    It runs in the browser (clientside): the rows are already there in the card's store, so a
    download never sends them back to the server (the price CSV of every ticker is ~10 MB) and
    keeps working while the server is busy. :func:`download_payload` is the same logic in Python.
    """
    import json

    app.clientside_callback(
        _DOWNLOAD_JS % json.dumps(NO_ROWS_CSV),
        Output({"type": "csv-download", "card": MATCH}, "data"),
        Input({"type": "csv-button", "card": MATCH}, "n_clicks"),
        State({"type": "csv-data", "card": MATCH}, "data"),
        State({"type": "csv-button", "card": MATCH}, "id"),
        prevent_initial_call=True,
    )


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


def data_table(
    frame: pl.DataFrame,
    *,
    table_id: str,
    columns: Sequence[str] | None = None,
    formats: dict[str, str] | None = None,
    page_size: int = 12,
    filterable: bool | None = None,
) -> Any:
    """A sortable, filterable DataTable of ``frame`` (``formats``: column → d3 format, e.g. '.1%')."""
    from dash import dash_table

    cols = list(columns or frame.columns)
    view = frame.select([c for c in cols if c in frame.columns])
    specs = []
    for c in view.columns:
        spec: dict[str, Any] = {"name": c.replace("_", " "), "id": c}
        if formats and c in formats:
            spec.update(type="numeric", format={"specifier": formats[c]})
        specs.append(spec)
    records = view.with_columns(
        pl.col(c).cast(pl.String) for c, t in view.schema.items() if t.is_temporal()
    ).to_dicts()
    return dash_table.DataTable(
        id=table_id,
        columns=specs,
        data=records,
        page_size=page_size,
        sort_action="native",
        filter_action="native"
        if (filterable if filterable is not None else view.height > page_size)
        else "none",
        style_as_list_view=True,
        style_table={"overflowX": "auto"},
        style_header={"fontWeight": "600", "backgroundColor": "#f5f7fa", "borderBottom": "1px solid #d9dee4"},
        style_cell={
            "fontFamily": FONT,
            "fontSize": "12px",
            "padding": "6px 8px",
            "textAlign": "left",
            "whiteSpace": "normal",
            "height": "auto",
            "maxWidth": "420px",
        },
    )


# ---- controls and calculator answers ---------------------------------------------------------
def control(label: str, widget: Any, *, wide: bool = False) -> html.Div:
    """A labelled input in a controls row (``wide`` for multi-select dropdowns and long inputs); the label
    is tied to the widget by its id."""
    ident = getattr(widget, "id", None)
    tag = html.Label(label, htmlFor=ident) if isinstance(ident, str) else html.Label(label)
    return html.Div(className="control control-wide" if wide else "control", children=[tag, widget])


def id_options(ids: Iterable[str]) -> list[dict[str, str]]:
    """Dropdown/radio options whose label is the value itself."""
    return [{"label": i, "value": i} for i in ids]


Choices = Mapping[str, str] | Iterable[str] | Sequence[dict[str, str]]
"""Options of a picker: ``{value: label}``, values that are their own labels, or ready Dash options."""


def _options(choices: Choices, pad: str = "") -> list[dict[str, str]]:
    if isinstance(choices, Mapping):
        pairs: Iterable[tuple[str, str]] = choices.items()
    else:
        items = list(choices)
        if items and isinstance(items[0], dict):
            return items
        pairs = ((c, c) for c in items)
    return [{"label": f"{pad}{label}", "value": value} for value, label in pairs]


def picker(
    label: str,
    ident: str,
    choices: Choices,
    value: Any,
    *,
    width: int | None = None,
    wide: bool | None = None,
    **dropdown: Any,
) -> html.Div:
    """A labelled dropdown; ``width`` in px, or a ``wide`` slot (the default for ``multi=True``)."""
    if width:
        dropdown["style"] = {"width": f"{width}px"}
    widget = dcc.Dropdown(id=ident, options=_options(choices), value=value, **dropdown)
    return control(label, widget, wide=bool(dropdown.get("multi")) if wide is None else wide)


def choice(label: str, ident: str, choices: Choices, value: Any) -> html.Div:
    """A labelled inline radio group."""
    return control(label, dcc.RadioItems(id=ident, options=_options(choices, " "), value=value, inline=True))


def checks(
    label: str, ident: str, choices: Choices, value: list[str], *, wide: bool = False, **extra: Any
) -> html.Div:
    """A labelled inline checklist."""
    widget = dcc.Checklist(id=ident, options=_options(choices, " "), value=value, inline=True, **extra)
    return control(label, widget, wide=wide)


def date_range(label: str, ident: str, first: Any, last: Any, **extra: Any) -> html.Div:
    """A labelled date-range picker limited to ``first``..``last`` (dates shown as YYYY-MM-DD)."""
    widget = dcc.DatePickerRange(
        id=ident, min_date_allowed=first, max_date_allowed=last, display_format="YYYY-MM-DD", **extra
    )
    return control(label, widget)


def panel(title: str, *children: Any, subtitle: str | None = None, ident: str | None = None) -> html.Div:
    """A titled card without a chart (tables, details, editors)."""
    head = [html.H3(title, className="card-title")]
    if subtitle:
        head.append(html.Div(subtitle, className="card-subtitle"))
    extra = {"id": ident} if ident else {}
    return html.Div(className="card", children=[*head, *children], **extra)


def number(label: str, ident: str, value: Any, *, width: int = 120, step: Any = 1, **limits: Any) -> html.Div:
    """A labelled number box (``min``/``max``/``placeholder`` in ``limits``; ``width`` in px) that sends its
    value when the user leaves it or presses Enter."""
    widget = dcc.Input(
        id=ident,
        type="number",
        value=value,
        step=step,
        debounce=True,
        style={"width": f"{width}px"},
        **limits,
    )
    return control(label, widget)


def answer_slot(ident: str) -> html.Div:
    """An empty container (card footer) that a callback fills with a calculator answer or a table."""
    return html.Div(id=ident, style={"marginTop": "8px"})


def answer_panel(rows: Iterable[tuple[str, str]], ident: str) -> html.Div:
    """A calculator's answer: ``(label, formatted value)`` rows as a definition list."""
    items: list[Any] = []
    for label, value in rows:
        items += [html.Dt(label), html.Dd(value)]
    return html.Div(html.Dl(items), className="result", id=ident)


def error_panel(message: str, ident: str) -> html.Div:
    """A calculator's answer when the inputs are refused (the message says why)."""
    return html.Div(message, className="error-text", id=ident)


def empty_stat(result: QueryResult, title: str) -> html.Div:
    """A headline-figure slot holding the empty state of ``result`` (why there is nothing to show)."""
    return html.Div(empty_state(result.reason, title=title), className="stat")
