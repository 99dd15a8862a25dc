"""What every page's view module shares: the :class:`View` a chart card shows, empty views, formatting.

Each page keeps its figure logic in ``app/dashboard/pages/<page>_views.py`` (pure functions of query
results, testable without a browser); this module holds only what two or more of them use.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import plotly.graph_objects as go
import polars as pl

from app import queries as q
from app.dashboard.components import COLORWAY, DOMESTIC, FOREIGN, empty_figure, frame_csv, sources_list

SEGMENT_LABELS = {"ai_accelerators": "AI accelerators", "wfe": "fab equipment (WFE)", "hbm": "HBM"}
"""Display names of the forecast segments (Overview headline figures and the Forecasts page)."""


@dataclass
class View:
    """What a chart card shows: the figure, the rows behind it, their sources, a note."""

    figure: go.Figure
    frame: pl.DataFrame = field(default_factory=pl.DataFrame)
    sources: tuple[str, ...] = ()
    note: str | None = None
    sample_tickers: tuple[str, ...] = ()
    csv_request: dict[str, Any] | None = None
    """``components.csv_request(...)``: the CSV is built on click from these arguments instead of being
    shipped as text with the figure (cards with large series)."""

    @property
    def card_outputs(self) -> tuple[go.Figure, str | dict[str, Any], list[Any]]:
        """(figure, CSV text or request, sources list children): the outputs of ``components.card_outputs``."""
        csv = self.csv_request if self.csv_request is not None else frame_csv(self.frame)
        return self.figure, csv, sources_list(self.sources)


def empty_view(reason: str | None, *, height: int = 300) -> View:
    """A view that says why there is nothing to plot."""
    return View(empty_figure(reason or f"no data yet — {q.REFRESH_HINT}", height=height), note=reason)


def merge_sources(*groups: Sequence[str]) -> tuple[str, ...]:
    """The non-empty citations of ``groups``, in order, each once."""
    return tuple(dict.fromkeys(s for g in groups for s in g if s))


def plain(text: object) -> str:
    """``text`` as literal text for Plotly labels (legends, hover boxes, titles): its ``<``, ``>`` and
    ``&`` escaped, so a scenario or ticker named ``<b>x</b>`` or ``<a href=...>`` shows as written."""
    return html.escape(str(text), quote=False)


def pct(x: float | None, digits: int = 0) -> str:
    """A fraction as a percentage ('34%'); '—' when unknown."""
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def colour(i: int) -> str:
    """The ``i``-th colour of the fabscope colourway (wraps around)."""
    return COLORWAY[i % len(COLORWAY)]


DOMESTIC_SHADES = (DOMESTIC, "#8b0000", "#e8684a", "#b5446e", "#f28e2b", "#6f1d1b")
"""Colours of China-domestic entities: the domestic red first, then other warm shades."""
FOREIGN_SHADES = (FOREIGN, "#0b3d91", "#5fa2dd", "#2a9d8f", "#6d597a", "#17becf")
"""Colours of foreign entities: the foreign blue first, then other cool shades."""
DASHES = ("solid", "dot", "dash", "longdash", "dashdot", "longdashdot")
"""Line dashes combined with the shades, so no two of up to 36 entities per side look alike."""


def entity_styles(entities: Sequence[str], domestic: set[str] | frozenset[str]) -> dict[str, dict[str, str]]:
    """``{entity: {"color", "dash"}}``: domestic entities in red shades, foreign ones in blue shades.

    Stable: an entity's style depends only on its rank among the entities of its side in ``entities``
    (pass the whole universe — e.g. every stored ticker — so a selection never reshuffles colours).
    Shades cycle first, then the dash changes, so colours do not repeat with identical dashes.
    """
    out: dict[str, dict[str, str]] = {}
    for side, shades in ((True, DOMESTIC_SHADES), (False, FOREIGN_SHADES)):
        members = sorted(e for e in dict.fromkeys(entities) if (e in domestic) == side)
        for rank, entity in enumerate(members):
            out[entity] = {
                "color": shades[rank % len(shades)],
                "dash": DASHES[(rank // len(shades)) % len(DASHES)],
            }
    return out


def flag_symbols(flags: Sequence[str | None]) -> list[str]:
    """Marker symbols for ``flag`` values: filled circle = reported, hollow = estimate (or unknown)."""
    return ["circle" if f == "reported" else "circle-open" for f in flags]


def parse_date(value: str | date | None) -> date | None:
    """A date from a date picker value ('YYYY-MM-DD' or ISO datetime); None if empty/invalid."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def groups(frame: pl.DataFrame, column: str) -> Iterator[tuple[int, Any, pl.DataFrame]]:
    """``(i, value, rows)`` for each distinct ``column`` value, in order of first appearance."""
    for i, value in enumerate(frame[column].unique(maintain_order=True).to_list()):
        yield i, value, frame.filter(pl.col(column) == value)


def points(x: Sequence[Any], y: Sequence[Any], name: str, marker: dict[str, Any], **hover: Any) -> go.Scatter:
    """A markers-only trace (``hover``: ``text``, ``customdata``, ``hovertemplate``)."""
    return go.Scatter(x=list(x), y=list(y), mode="markers", name=name, marker=marker, **hover)


def ranked_bars(
    frame: pl.DataFrame, x: str, y: str, hover_columns: Sequence[str], hovertemplate: str, *, colour: str
) -> go.Figure:
    """One bar per row of ``frame`` (``x`` labels, ``y`` heights, tallest first), ``hover_columns`` as the
    hover's ``customdata`` (``%{customdata[i]}`` in ``hovertemplate``)."""
    ranked = frame.sort(y, descending=True)
    return go.Figure(
        go.Bar(
            x=ranked[x].to_list(),
            y=ranked[y].to_list(),
            marker_color=colour,
            customdata=ranked.select(hover_columns).rows(),
            hovertemplate=hovertemplate,
        )
    )
