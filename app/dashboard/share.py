"""Shareable views: a page's state in the URL query string, restored on load, with a "copy link" control.

One mechanism for every page. A page names its state once, ``STATE = {"key": ("component-id", "prop")}``;
then

- its ``layout(**query)`` returns ``restore(tree, query, STATE)``: each control named in the query gets
  the value from the link, kept only when the control itself accepts it (a value among a picker's
  options, a date inside a date picker's range, a number for a number box) — a hand-edited or stale link
  never puts an unknown value on screen, and a missing key leaves the page's default;
- :func:`share_control` puts the "Link to this view" anchor and its copy button on the page, and
  :func:`register` wires one callback writing the link (``path?key=value&…``) whenever a control moves,
  plus a browser-side one that hands the absolute URL to the copy button.

Lists are joined by commas; an emptied list is written as ``key=`` (so "none picked" survives a reload).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode

from dash import Input, Output, callback, clientside_callback, dcc, html

State = Mapping[str, tuple[str, str]]
"""``{query key: (component id, property)}``: what of a page goes into its link."""


def share_query(state: Mapping[str, Any]) -> str:
    """The URL query string (``?a=1&b=x,y``) holding ``state``; lists joined by commas (an empty list as
    ``b=``), ``None`` and empty strings left out."""
    pairs = {
        k: ",".join(map(str, v)) if isinstance(v, list | tuple) else _scalar(v)
        for k, v in state.items()
        if v is not None and v != ""
    }
    return "?" + urlencode(pairs) if pairs else ""


def _scalar(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _option_values(options: Any) -> list[str]:
    """The values a picker offers (Dash options as dicts, plain values or a ``{value: label}`` mapping)."""
    if isinstance(options, Mapping):
        return [str(v) for v in options]
    out = []
    for o in options or []:
        out.append(str(o["value"]) if isinstance(o, Mapping) else str(o))
    return out


def _number(raw: str) -> int | float | None:
    try:
        x = float(raw)
    except ValueError:
        return None
    if x != x or x in (float("inf"), float("-inf")):
        return None
    return int(x) if x.is_integer() and "." not in raw and "e" not in raw.lower() else x


def _day(raw: str, component: Any) -> str | None:
    try:
        day = date.fromisoformat(raw[:10])
    except ValueError:
        return None
    lo, hi = getattr(component, "min_date_allowed", None), getattr(component, "max_date_allowed", None)
    lo, hi = (date.fromisoformat(str(b)[:10]) if b else None for b in (lo, hi))
    if (lo and day < lo) or (hi and day > hi):
        return None
    return day.isoformat()


def accepted(component: Any, prop: str, raw: Any) -> tuple[bool, Any]:
    """``(True, value)`` when ``component`` accepts the link's ``raw`` text for ``prop``, else ``(False, None)``.

    Pickers (dropdowns, radio items, checklists) accept their own option values (lists for multi-select
    dropdowns and checklists); date pickers a date in their allowed range; number boxes a finite number
    (the calculators then refuse an out-of-range one beside the box, as if typed); text boxes any text.
    """
    text = ",".join(map(str, raw)) if isinstance(raw, list) else str(raw)
    kind = type(component).__name__
    if kind in {"Dropdown", "RadioItems", "Checklist"}:
        allowed = _option_values(getattr(component, "options", None))
        many = kind == "Checklist" or bool(getattr(component, "multi", False))
        values = [v for v in text.split(",") if v] if many else [text]
        if any(v not in allowed for v in values) or (not many and not values):
            return False, None
        typed = {str(v): v for v in _raw_option_values(getattr(component, "options", None))}
        picked = [typed.get(v, v) for v in values]
        return True, picked if many else picked[0]
    if kind in {"DatePickerRange", "DatePickerSingle"}:
        day = _day(text, component)
        return day is not None, day
    if kind == "Input" and getattr(component, "type", None) == "number":
        number = _number(text)
        return number is not None, number
    return True, text


def _raw_option_values(options: Any) -> Iterable[Any]:
    if isinstance(options, Mapping):
        return list(options)
    return [o["value"] if isinstance(o, Mapping) else o for o in options or []]


def restore(tree: Any, query: Mapping[str, Any], state: State) -> Any:
    """``tree`` (a page layout) with the controls of ``state`` set from the URL ``query`` where the control
    accepts the value (see :func:`accepted`); returns ``tree``."""
    wanted = {cid: (key, prop) for key, (cid, prop) in state.items() if key in query}
    if not wanted:
        return tree
    for component in tree._traverse():
        ident = getattr(component, "id", None)
        if not isinstance(ident, str) or ident not in wanted:
            continue
        key, prop = wanted[ident]
        ok, value = accepted(component, prop, query[key])
        if ok:
            setattr(component, prop, value)
    return tree


def share_control(ident: str) -> html.Div:
    """The "Link to this view" anchor (``ident``, its ``href`` the page's link) and a copy-link button
    (``<ident>-copy``) that puts the absolute URL on the clipboard."""
    return html.Div(
        className="share-control",
        children=[
            html.A("Link to this view", id=ident, href="", className="btn btn-small"),
            dcc.Clipboard(
                id=f"{ident}-copy",
                content="",
                title="copy the link to this view",
                className="btn btn-small copy-link",
            ),
        ],
    )


def register(path: str, ident: str, state: State) -> None:
    """The callbacks of a page's share control: the link ``path?…`` from the current values of ``state``,
    and (in the browser) the absolute URL handed to the copy button."""
    keys: Sequence[str] = list(state)

    @callback(Output(ident, "href"), *[Input(cid, prop) for cid, prop in state.values()])
    def _link(*values: Any) -> str:
        return path + share_query(dict(zip(keys, values, strict=True)))

    clientside_callback(
        "function (href) { return href ? new URL(href, window.location.href).href : ''; }",
        Output(f"{ident}-copy", "content"),
        Input(ident, "href"),
    )
