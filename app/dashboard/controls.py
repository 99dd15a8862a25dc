"""Dashboard controls (labelled pickers, radio choices, number boxes, panels) and calculator answer
panels: one look and one label/id convention for every page. Re-exported by ``components``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl
from dash import dash_table, dcc, html

FONT = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
"""The dashboard's font stack (figures and tables)."""


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
