"""Capacity & tooling page views: fab capacity over time, tool demand by year with that year's domestic
share, and domestic tool supply against demand. Pure functions of :mod:`app.queries` results.

(The etch and fab calculators live apart from these charts.)
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from app import queries as q
from app.dashboard.components import DOMESTIC, styled
from app.dashboard.views_common import View, colour, empty_view, flag_symbols, groups, pct

REFERENCE_WAFER_MM = 300
"""Capacity is shown in 300 mm-equivalent wafer starts/month: own-size WSPM × (d / 300 mm)²."""
YEAR_AXIS = {"title": "year", "dtick": 1, "tickformat": "d"}
"""An x axis of whole years."""
CAPACITY_DIMENSIONS = {
    "company": "company",
    "country": "country",
    "node_class": "node class",
    "product": "product",
}


def capacity_300eq(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``wspm_300eq`` = capacity_wspm × (wafer_size_mm / 300)² (300 mm-equivalent wafers/month)."""
    return frame.with_columns(
        (
            pl.col("capacity_wspm")
            * (pl.col("wafer_size_mm").fill_null(REFERENCE_WAFER_MM) / REFERENCE_WAFER_MM) ** 2
        ).alias("wspm_300eq")
    )


def capacity_view(
    cap: q.QueryResult,
    dimension: str = "company",
    products: Sequence[str] | None = None,
    countries: Sequence[str] | None = None,
    *,
    height: int = 440,
) -> View:
    """Capacity over time: one line per fab series (company · fab), coloured by ``dimension``.

    Series are never summed: the bundled rows mix company totals, single fabs and competing
    analyst series (kept apart by a bracket in ``fab``), so a sum would double count.
    Hollow markers are ``estimate`` figures, filled ones ``reported``.
    """
    if cap.empty:
        return empty_view(cap.reason, height=height)
    dim = dimension if dimension in CAPACITY_DIMENSIONS else "company"
    frame = capacity_300eq(cap.frame).filter(pl.col("capacity_wspm").is_not_null())
    if products:
        frame = frame.filter(pl.col("product").is_in(list(products)))
    if countries:
        frame = frame.filter(pl.col("country").is_in(list(countries)))
    if frame.is_empty():
        return empty_view("no capacity figures match these filters", height=height)
    frame = frame.sort(dim, "company", "fab", "year")
    groups = frame[dim].fill_null("?").unique(maintain_order=True).to_list()
    colour_of = {g: colour(i) for i, g in enumerate(groups)}
    fig = go.Figure()
    seen_groups: set[str] = set()
    for (company, fab, grp), part in frame.group_by(
        "company", "fab", pl.col(dim).fill_null("?").alias("_g"), maintain_order=True
    ):
        fig.add_trace(
            go.Scatter(
                x=part["year"].to_list(),
                y=part["wspm_300eq"].to_list(),
                mode="lines+markers",
                name=str(grp),
                legendgroup=str(grp),
                showlegend=grp not in seen_groups,
                line={"color": colour_of[grp], "width": 1.5},
                marker={
                    "size": 8,
                    "color": colour_of[grp],
                    "symbol": flag_symbols(part["flag"].to_list()),
                },
                text=[
                    f"{company} · {fab}<br>{n} · {s} · {f}"
                    for n, s, f in zip(
                        part["node_class"].to_list(),
                        part["status"].to_list(),
                        part["flag"].to_list(),
                        strict=True,
                    )
                ],
                hovertemplate="%{x}: %{y:,.0f} wspm (300mm-eq)<br>%{text}<extra>" + str(grp) + "</extra>",
            )
        )
        seen_groups.add(grp)
    styled(
        fig,
        height=height,
        yaxis_title="wafer starts / month (300 mm-eq)",
        xaxis=YEAR_AXIS,
        legend_title_text=CAPACITY_DIMENSIONS[dim],
    )
    cols = [
        "company",
        "fab",
        "country",
        "product",
        "node_class",
        "year",
        "status",
        "wafer_size_mm",
        "capacity_wspm",
        "wspm_300eq",
        "source",
        "flag",
    ]
    return View(
        fig,
        frame.select(cols),
        cap.sources,
        note="lines are fab series (never summed); hollow markers = estimate",
    )


TOOL_MEASURES = {
    "tools_new": "annual additions (new tools that year)",
    "count": "installed base (tools needed to run that year's capacity)",
}
"""What the tool-demand bars can show (``tool_demand`` columns): the default is the annual additions."""


def _share_line(part: pl.DataFrame, tool: str, line_colour: str) -> go.Scatter:
    """One tool type's domestic share per year, dotted on the right axis (gaps where unknown)."""
    return go.Scatter(
        x=part["year"].to_list(),
        y=part["domestic_share"].to_list(),
        yaxis="y2",
        mode="lines+markers",
        name=f"{tool} domestic share",
        legendgroup=tool,
        showlegend=False,
        line={"color": line_colour, "dash": "dot"},
        hovertemplate="%{x}: %{y:.0%} domestic that year<extra>" + tool + "</extra>",
    )


def tool_demand_view(
    td: q.QueryResult, shares: q.QueryResult | None = None, measure: str = "tools_new", *, height: int = 400
) -> View:
    """Tools per year by tool type (stacked bars: annual additions or installed base, as ``measure`` says)
    and each year's domestic share (dotted lines, right axis; a gap where the reference data has no figure
    yet for that year)."""
    if td.empty:
        if shares is not None and shares.ok:
            return tool_share_view(shares, height=height)
        return empty_view(td.reason, height=height)
    measure = measure if measure in TOOL_MEASURES else "tools_new"
    label = TOOL_MEASURES[measure]
    frame = td.frame
    fig = go.Figure()
    for i, tool, rows in groups(frame, "tool_type"):
        part = rows.sort("year")
        c = colour(i)
        fig.add_trace(
            go.Bar(
                x=part["year"].to_list(),
                y=part[measure].to_list(),
                name=tool,
                marker_color=c,
                legendgroup=tool,
                hovertemplate="%{x}: %{y:,.0f} tools · " + label + "<extra>" + tool + "</extra>",
            )
        )
        if part["domestic_share"].is_not_null().any():
            fig.add_trace(_share_line(part, tool, c))
    styled(
        fig,
        height=height,
        barmode="stack",
        yaxis_title=f"tools: {label}",
        xaxis=YEAR_AXIS,
        legend_title_text=f"bars: {label.split(' (')[0]}",
        margin={"r": 70},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "range": [0, 1],
            "showgrid": False,
            "title": "domestic share that year (dotted)",
        },
    )
    return View(fig, frame, td.sources, note=label)


TOOL_SUPPLY_SHOWN = ("dry_etch", "deposition")
"""Tool types of the supply chart shown at first (AMEC/Naura etch and the deposition group); the other tool
types with domestic supply (the deposition members cvd/pvd/ald/epi) start hidden, toggled in the legend."""


def _coverage_text(demand: float | None, supply: float | None, coverage: float | None) -> str:
    dem = "—" if demand is None else f"{demand:,.0f}"
    sup = "—" if supply is None else f"{supply:,.0f}"
    return f"demand {dem} · supply {sup} tools · coverage {pct(coverage)}"


def tool_supply_view(ts: q.QueryResult, *, height: int = 400) -> View:
    """Per year: new tools demanded from domestic vendors vs what they can supply (grouped bars, tools/year).

    One colour per tool type; solid bars = domestic new-tool demand (``domestic_tools_new``), hatched bars =
    domestic supply (``domestic_supply``); coverage (supply ÷ demand) in the hover. Only tool types with a
    supply figure are drawn; :data:`TOOL_SUPPLY_SHOWN` first, the rest hidden until picked in the legend.
    """
    if ts.empty:
        return empty_view(ts.reason, height=height)
    frame = ts.frame.filter(pl.col("domestic_supply").is_not_null())
    if frame.is_empty():
        return empty_view("no tool type has a domestic supply figure yet", height=height)
    types = frame["tool_type"].unique(maintain_order=True).to_list()
    types = [t for t in TOOL_SUPPLY_SHOWN if t in types] + [t for t in types if t not in TOOL_SUPPLY_SHOWN]
    fig = go.Figure()
    for i, tool in enumerate(types):
        part = frame.filter(pl.col("tool_type") == tool).sort("year")
        c = colour(i)
        visible: bool | str = True if tool in TOOL_SUPPLY_SHOWN else "legendonly"
        text = [
            _coverage_text(d, s, cov)
            for d, s, cov in zip(
                part["domestic_tools_new"].to_list(),
                part["domestic_supply"].to_list(),
                part["coverage"].to_list(),
                strict=True,
            )
        ]
        for kind, col, pattern in (("demand", "domestic_tools_new", ""), ("supply", "domestic_supply", "/")):
            fig.add_trace(
                go.Bar(
                    x=part["year"].to_list(),
                    y=part[col].to_list(),
                    name=f"{tool} {kind}",
                    legendgroup=tool,
                    offsetgroup=f"{tool}-{kind}",
                    visible=visible,
                    text=text,
                    textposition="none",
                    marker={"color": c, "pattern": {"shape": pattern}},
                    hovertemplate="%{x}: %{y:,.0f} tools " + kind + "<br>%{text}<extra>" + tool + "</extra>",
                )
            )
    styled(fig, height=height, barmode="group", yaxis_title="domestic tools / year", xaxis=YEAR_AXIS)
    return View(
        fig,
        frame,
        ts.sources,
        note="estimates: supply = upper bound from vendor revenue; demand = floor from capacity additions",
    )


def tool_share_view(shares: q.QueryResult, *, height: int = 360) -> View:
    """Domestic-supplier share of tools bought in China, per tool type (bundled reference)."""
    if shares.empty:
        return empty_view(shares.reason, height=height)
    frame = shares.frame
    label = "tool_type" if "tool_type" in frame.columns else frame.columns[0]
    part = frame.sort("domestic_share")
    hover = [f"{r.get('year', '')} · {r.get('flag', '')}" for r in part.iter_rows(named=True)]
    fig = go.Figure(
        go.Bar(
            x=part["domestic_share"].to_list(),
            y=part[label].cast(pl.String).to_list(),
            orientation="h",
            marker_color=DOMESTIC,
            text=hover,
            hovertemplate="%{y}: %{x:.0%} domestic<br>%{text}<extra></extra>",
        )
    )
    styled(
        fig,
        height=height,
        xaxis={"tickformat": ".0%", "range": [0, 1], "title": "domestic share"},
        margin={"l": 140, "r": 16, "t": 16, "b": 40},
    )
    return View(fig, frame, shares.sources)
