"""Callback logic of the dashboard as plain functions (testable without a browser).

Each page callback is a thin wrapper: read with :mod:`app.queries`, shape with the
functions here, return figures/tables. Functions named ``*_view`` return a :class:`View`
(figure + the rows behind it + their sources + an optional note), which maps one-to-one
onto a chart card's outputs (figure, Download CSV, Sources). Nothing here opens a
browser or a Dash context; simulator calls go to the pure ``hardware_sim`` functions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go
import polars as pl

from app import queries as q
from app.dashboard.components import (
    COLORWAY,
    DOMESTIC,
    FOREIGN,
    empty_figure,
    frame_csv,
    sources_list,
    styled,
)

CAMBRICON = "688256.SS"
NVIDIA = "NVDA"
DEFAULT_TICKERS = (CAMBRICON, NVIDIA, "688981.SS", "AMD")
"""Tickers shown when the Market page opens (Cambricon, Nvidia, SMIC A-share, AMD)."""
DEFAULT_YEARS = 3
"""Default date range on the Market page: the last 3 years of stored prices."""
REFERENCE_WAFER_MM = 300
"""Capacity is shown in 300 mm-equivalent wafer starts/month: own-size WSPM × (d / 300 mm)²."""


@dataclass
class View:
    """What a chart card shows: the figure, the rows behind it, their sources, a note."""

    figure: go.Figure
    frame: pl.DataFrame = field(default_factory=pl.DataFrame)
    sources: tuple[str, ...] = ()
    note: str | None = None
    sample_tickers: tuple[str, ...] = ()

    @property
    def card_outputs(self) -> tuple[go.Figure, str, list[Any]]:
        """(figure, CSV text, sources list children): the outputs of ``components.card_outputs``."""
        return self.figure, frame_csv(self.frame), sources_list(self.sources)


def empty_view(reason: str | None, *, height: int = 300) -> View:
    """A view that says why there is nothing to plot."""
    return View(empty_figure(reason or f"no data yet — {q.REFRESH_HINT}", height=height), note=reason)


def _merge_sources(*groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for g in groups for s in g if s))


def _pct(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


# =========================================================================================
# Market
# =========================================================================================
def default_range(first: date, last: date, years: int = DEFAULT_YEARS) -> tuple[date, date]:
    """Default Market date range: the last ``years`` years of stored prices (clipped to ``first``)."""
    start = max(first, last - timedelta(days=round(365.25 * years)))
    return start, last


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


def normalise_usd(prices: pl.DataFrame) -> pl.DataFrame:
    """Per ticker: ``index`` = 100 × close_usd / first close_usd in the frame (USD total-price index).

    Rows without a USD close are dropped (no FX rate that day).
    """
    if prices.is_empty():
        return pl.DataFrame(
            schema={
                "date": pl.Date,
                "ticker": pl.String,
                "close_usd": pl.Float64,
                "index": pl.Float64,
                "provider": pl.String,
            }
        )
    clean = prices.filter(pl.col("close_usd").is_not_null() & (pl.col("close_usd") > 0)).sort(
        "ticker", "date"
    )
    return clean.with_columns(
        (100.0 * pl.col("close_usd") / pl.col("close_usd").first().over("ticker")).alias("index")
    ).select(
        "date", "ticker", "close_usd", "index", "provider", *(["source"] if "source" in clean.columns else [])
    )


def ticker_labels(tickers_frame: pl.DataFrame) -> dict[str, str]:
    """``ticker -> "TICKER · Name"`` for pickers and legends."""
    if tickers_frame.is_empty():
        return {}
    return {
        r["ticker"]: f"{r['ticker']} · {r['name']}" if r.get("name") else r["ticker"]
        for r in tickers_frame.iter_rows(named=True)
    }


def domestic_set(tickers_frame: pl.DataFrame) -> set[str]:
    """Tickers flagged ``domestic_china``."""
    if tickers_frame.is_empty() or "domestic_china" not in tickers_frame.columns:
        return set()
    return set(tickers_frame.filter(pl.col("domestic_china").fill_null(False))["ticker"].to_list())


def performance_view(
    prices: q.QueryResult, tickers_frame: pl.DataFrame, events: pl.DataFrame | None, *, height: int = 420
) -> View:
    """Normalised USD performance (100 = first day in range) with export-control event markers."""
    if prices.empty:
        return empty_view(prices.reason, height=height)
    perf = normalise_usd(prices.frame)
    if perf.is_empty():
        return empty_view(
            "no USD prices for this selection (FX rates missing?) — run `fabscope refresh`", height=height
        )
    labels = ticker_labels(tickers_frame)
    domestic = domestic_set(tickers_frame)
    fig = go.Figure()
    for i, ticker in enumerate(perf["ticker"].unique(maintain_order=True).to_list()):
        part = perf.filter(pl.col("ticker") == ticker)
        fig.add_trace(
            go.Scatter(
                x=part["date"].to_numpy(),
                y=part["index"].to_numpy(),
                mode="lines",
                name=labels.get(ticker, ticker),
                line={
                    "width": 2 if ticker in domestic else 1.6,
                    "color": COLORWAY[i % len(COLORWAY)],
                    "dash": "solid" if ticker in domestic else "dot",
                },
                hovertemplate="%{x|%Y-%m-%d}: %{y:.1f}<extra>" + ticker + "</extra>",
            )
        )
    shown_events = pl.DataFrame()
    if events is not None and not events.is_empty():
        lo, hi = perf["date"].min(), perf["date"].max()
        shown_events = events.filter(pl.col("announced_date").is_between(lo, hi))
        if not shown_events.is_empty():
            top = float(perf["index"].max()) * 1.04
            line = {"color": "rgba(200,16,46,0.35)", "width": 1, "dash": "dot"}
            fig.update_layout(
                shapes=[
                    {"type": "line", "x0": d, "x1": d, "y0": 0, "y1": 1, "yref": "paper", "line": line}
                    for d in shown_events["announced_date"].to_list()
                ]
            )
            fig.add_trace(
                go.Scatter(
                    x=shown_events["announced_date"].to_list(),
                    y=[top] * shown_events.height,
                    mode="markers",
                    name="export-control action",
                    marker={"symbol": "triangle-down", "size": 9, "color": DOMESTIC},
                    text=[
                        f"{r['title']}<br>{r['agency']} · {r['citation'] or ''}"
                        for r in shown_events.iter_rows(named=True)
                    ],
                    customdata=shown_events["event_id"].to_list(),
                    hovertemplate="%{x|%Y-%m-%d}<br>%{text}<extra>event</extra>",
                )
            )
    styled(fig, height=height, yaxis_title="index, USD (100 = first day shown)", hovermode="closest")
    sample = tuple(sorted(set(perf.filter(pl.col("provider") == q.SAMPLE_PROVIDER)["ticker"].to_list())))
    sources = _merge_sources(
        prices.sources, tuple(shown_events["source"].to_list()) if "source" in shown_events.columns else ()
    )
    return View(fig, perf, sources, sample_tickers=sample)


def event_options(events: q.QueryResult) -> list[dict[str, str]]:
    """Dropdown options for events with an event study: 'YYYY-MM-DD — title'."""
    if events.empty:
        return []
    out = []
    for r in events.frame.iter_rows(named=True):
        when = r["announced_date"].isoformat() if r.get("announced_date") else "?"
        title = (r.get("title") or r["event_id"])[:90]
        out.append({"label": f"{when} — {title}", "value": r["event_id"]})
    return out


def event_study_summary(es: pl.DataFrame) -> pl.DataFrame:
    """Mean CAR, mean t-stat and ticker count per window, domestic vs foreign."""
    if es.is_empty():
        return pl.DataFrame()
    return (
        es.with_columns(
            pl.when(pl.col("domestic_china"))
            .then(pl.lit("domestic (China)"))
            .otherwise(pl.lit("foreign"))
            .alias("group")
        )
        .group_by("window", "group")
        .agg(
            pl.col("car").mean().alias("mean_car"),
            pl.col("t_stat").mean().alias("mean_t"),
            pl.col("ticker").n_unique().alias("tickers"),
        )
        .sort("window", "group")
    )


def car_view(es: q.QueryResult, window: str | None = None, *, height: int = 380) -> View:
    """Cumulative abnormal return per ticker for one event (and window), domestic vs foreign."""
    if es.empty:
        return empty_view(es.reason, height=height)
    frame = es.frame
    windows = sorted(frame["window"].unique().to_list(), key=_window_sort_key)
    win = window if window in windows else windows[0]
    part = frame.filter(pl.col("window") == win).sort("car", descending=True)
    fig = go.Figure()
    for flag, colour, name, where in (
        (True, DOMESTIC, "domestic (China)", "top left"),
        (False, FOREIGN, "foreign", "bottom right"),
    ):
        g = part.filter(pl.col("domestic_china") == flag)
        if g.is_empty():
            continue
        fig.add_trace(
            go.Bar(
                x=g["ticker"].to_list(),
                y=(g["car"] * 100).to_list(),
                name=name,
                marker_color=colour,
                customdata=list(zip(g["t_stat"].to_list(), g["name"].to_list(), strict=True)),
                hovertemplate="%{x} %{customdata[1]}<br>CAR %{y:.2f}%<br>t = %{customdata[0]:.2f}<extra></extra>",
            )
        )
        mean = float(g["car"].mean()) * 100
        fig.add_hline(
            y=mean,
            line={"color": colour, "dash": "dash", "width": 1},
            annotation_text=f"mean {name}: {mean:+.2f}%",
            annotation_position=where,
            annotation_font_color=colour,
        )
    styled(
        fig,
        height=height,
        yaxis_title=f"CAR over {win} (%)",
        barmode="group",
        xaxis={"categoryorder": "array", "categoryarray": part["ticker"].to_list()},
    )
    return View(fig, frame, es.sources, note=win)


def _window_sort_key(w: str) -> tuple[int, str]:
    """Sort '[-1,+1]' < '[-5,+5]' < '[0,+20]' by width, then text."""
    try:
        lo, hi = (int(x) for x in w.strip("[]() ").split(","))
        return (hi - lo, w)
    except ValueError:
        return (10**6, w)


def window_options(es: q.QueryResult) -> list[str]:
    """Event windows present, narrowest first."""
    if es.empty:
        return []
    return sorted(es.frame["window"].unique().to_list(), key=_window_sort_key)


# =========================================================================================
# Policy
# =========================================================================================
ENTITY_LANE = "Entity List additions"


def policy_timeline_view(
    events: q.QueryResult, entities: q.QueryResult, *, include_entities: bool = True, height: int = 420
) -> View:
    """Timeline: one lane per category (announced date), plus Entity List additions by date."""
    if events.empty and (entities.empty or not include_entities):
        return empty_view(events.reason or entities.reason, height=height)
    fig = go.Figure()
    frames = []
    if not events.empty:
        ev = events.frame
        for i, cat in enumerate(sorted(ev["category"].drop_nulls().unique().to_list())):
            g = ev.filter(pl.col("category") == cat)
            fig.add_trace(
                go.Scatter(
                    x=g["announced_date"].to_list(),
                    y=[cat] * g.height,
                    mode="markers",
                    name=cat,
                    marker={
                        "size": 12,
                        "color": COLORWAY[i % len(COLORWAY)],
                        "line": {"width": 1, "color": "white"},
                        "symbol": [
                            "circle" if f == "reported" else "circle-open" for f in g["flag"].to_list()
                        ],
                    },
                    text=g["title"].to_list(),
                    customdata=g["event_id"].to_list(),
                    hovertemplate="%{x|%Y-%m-%d} · %{text}<extra>" + cat + "</extra>",
                )
            )
        frames.append(
            ev.select(
                "event_id",
                pl.col("announced_date").alias("date"),
                "category",
                "title",
                "agency",
                "citation",
                "source",
                "flag",
            )
        )
    if include_entities and not entities.empty:
        counts = (
            entities.frame.group_by("added_date", "event_id")
            .agg(pl.col("name").count().alias("n"), pl.col("name").str.join("; ").alias("names"))
            .sort("added_date")
        )
        fig.add_trace(
            go.Scatter(
                x=counts["added_date"].to_list(),
                y=[ENTITY_LANE] * counts.height,
                mode="markers",
                name=ENTITY_LANE,
                marker={
                    "size": [8 + 3 * min(n, 8) for n in counts["n"].to_list()],
                    "color": "#52606d",
                    "symbol": "diamond",
                },
                text=[
                    f"{n} part{'y' if n == 1 else 'ies'}: {names[:160]}"
                    for n, names in zip(counts["n"].to_list(), counts["names"].to_list(), strict=True)
                ],
                customdata=counts["event_id"].to_list(),
                hovertemplate="%{x|%Y-%m-%d} · %{text}<extra>Entity List</extra>",
            )
        )
        frames.append(
            entities.frame.select(
                "event_id",
                pl.col("added_date").alias("date"),
                pl.lit("entity_list_addition").alias("category"),
                pl.col("name").alias("title"),
                pl.lit("BIS").alias("agency"),
                "citation",
                "source",
                "flag",
            )
        )
    styled(
        fig,
        height=height,
        showlegend=False,
        hovermode="closest",
        margin={"l": 170, "r": 16, "t": 16, "b": 40},
        yaxis={"title": None, "categoryorder": "category descending"},
    )
    frame = pl.concat(frames, how="vertical_relaxed").sort("date") if frames else pl.DataFrame()
    return View(fig, frame, _merge_sources(events.sources, entities.sources if include_entities else ()))


def event_detail(events: pl.DataFrame, entities: pl.DataFrame, event_id: str | None) -> dict[str, Any] | None:
    """Everything about one event: its row plus the Entity List parties it added."""
    if not event_id or events.is_empty():
        return None
    row = events.filter(pl.col("event_id") == event_id)
    if row.is_empty():
        return None
    out = row.row(0, named=True)
    listed = entities.filter(pl.col("event_id") == event_id) if not entities.is_empty() else entities
    out["entities"] = listed["name"].to_list() if not listed.is_empty() else []
    return out


def latest_event(events: pl.DataFrame) -> dict[str, Any] | None:
    """The most recently announced action."""
    if events.is_empty():
        return None
    return events.sort("announced_date", "event_id").row(-1, named=True)


# =========================================================================================
# Capacity & tooling
# =========================================================================================
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
    colour = {g: COLORWAY[i % len(COLORWAY)] for i, g in enumerate(groups)}
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
                line={"color": colour[grp], "width": 1.5},
                marker={
                    "size": 8,
                    "color": colour[grp],
                    "symbol": [
                        "circle" if f == "reported" else "circle-open" for f in part["flag"].to_list()
                    ],
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
        xaxis_title="year",
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


def tool_demand_view(td: q.QueryResult, shares: q.QueryResult | None = None, *, height: int = 400) -> View:
    """Tools needed per year by tool type (bars) and domestic share (lines, right axis)."""
    if td.empty:
        if shares is not None and shares.ok:
            return tool_share_view(shares, height=height)
        return empty_view(td.reason, height=height)
    frame = td.frame
    fig = go.Figure()
    for i, (tool,) in enumerate(frame.select("tool_type").unique(maintain_order=True).iter_rows()):
        part = frame.filter(pl.col("tool_type") == tool).sort("year")
        c = COLORWAY[i % len(COLORWAY)]
        fig.add_trace(
            go.Bar(
                x=part["year"].to_list(),
                y=part["count"].to_list(),
                name=tool,
                marker_color=c,
                legendgroup=tool,
                hovertemplate="%{x}: %{y:,.0f} tools<extra>" + tool + "</extra>",
            )
        )
        if part["domestic_share"].is_not_null().any():
            fig.add_trace(
                go.Scatter(
                    x=part["year"].to_list(),
                    y=part["domestic_share"].to_list(),
                    yaxis="y2",
                    mode="lines+markers",
                    name=f"{tool} domestic share",
                    legendgroup=tool,
                    showlegend=False,
                    line={"color": c, "dash": "dot"},
                    hovertemplate="%{x}: %{y:.0%} domestic<extra>" + tool + "</extra>",
                )
            )
    styled(
        fig,
        height=height,
        barmode="stack",
        yaxis_title="tools",
        xaxis_title="year",
        margin={"r": 70},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "range": [0, 1],
            "showgrid": False,
            "title": "domestic share (dotted)",
        },
    )
    return View(fig, frame, td.sources)


TOOL_SUPPLY_SHOWN = ("dry_etch", "deposition")
"""Tool types of the supply chart shown at first (AMEC/Naura etch and the deposition group); the other tool
types with domestic supply (the deposition members cvd/pvd/ald/epi) start hidden, toggled in the legend."""


def _coverage_text(demand: float | None, supply: float | None, coverage: float | None) -> str:
    dem = "—" if demand is None else f"{demand:,.0f}"
    sup = "—" if supply is None else f"{supply:,.0f}"
    return f"demand {dem} · supply {sup} tools · coverage {_pct(coverage)}"


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
        c = COLORWAY[i % len(COLORWAY)]
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
    styled(fig, height=height, barmode="group", yaxis_title="domestic tools / year", xaxis_title="year")
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


# =========================================================================================
# Hardware
# =========================================================================================
CHIP_METRICS = {
    "bf16_tflops": "BF16 dense, TFLOP/s",
    "hbm_tbps": "HBM bandwidth, TB/s",
    "hbm_gb": "HBM capacity, GB",
    "scaleup_gbps": "scale-up bandwidth (both directions), GB/s",
    "tdp_w": "TDP, W",
    "tflops_per_w": "BF16 TFLOP/s per W",
}


def chip_table(chips: pl.DataFrame, ids: Sequence[str] | None = None) -> pl.DataFrame:
    """Chip specs side by side, with BF16 TFLOP/s per W (chip TDP only; null if TDP unpublished)."""
    frame = chips if ids is None else chips.filter(pl.col("id").is_in(list(ids)))
    return frame.with_columns(
        pl.when(pl.col("tdp_w") > 0).then(pl.col("bf16_tflops") / pl.col("tdp_w")).alias("tflops_per_w")
    )


def chip_compare_view(
    chips: q.QueryResult, ids: Sequence[str] | None, metric: str = "bf16_tflops", *, height: int = 360
) -> View:
    """One metric across the chosen chips (bars; domestic vendors in red)."""
    if chips.empty:
        return empty_view(chips.reason, height=height)
    metric = metric if metric in CHIP_METRICS else "bf16_tflops"
    table = chip_table(chips.frame, ids)
    if table.is_empty():
        return empty_view("pick at least one chip", height=height)
    table = table.sort(metric, descending=True, nulls_last=True)
    domestic_vendors = {
        "huawei",
        "cambricon",
        "hygon",
        "biren",
        "moore threads",
        "metax",
        "enflame",
        "iluvatar",
    }
    colours = [DOMESTIC if str(v).lower() in domestic_vendors else FOREIGN for v in table["vendor"].to_list()]
    fig = go.Figure(
        go.Bar(
            x=table["id"].to_list(),
            y=table[metric].to_list(),
            marker_color=colours,
            text=table["vendor"].to_list(),
            hovertemplate="%{x} (%{text}): %{y:,.3~f}<extra></extra>",
        )
    )
    styled(fig, height=height, yaxis_title=CHIP_METRICS[metric])
    srcs = tuple(s for v in table["sources"].drop_nulls().to_list() for s in str(v).split("; "))
    return View(fig, table, _merge_sources(srcs, chips.sources), note="red = Chinese vendor")


def power_breakdown(systems: pl.DataFrame, ids: Sequence[str] | None = None) -> pl.DataFrame:
    """Long frame: system id, component, kW (from the stored JSON breakdown)."""
    frame = systems if ids is None else systems.filter(pl.col("id").is_in(list(ids)))
    rows = []
    for r in frame.iter_rows(named=True):
        try:
            parts = json.loads(r["power_breakdown_kw"] or "{}")
        except (TypeError, json.JSONDecodeError):
            parts = {}
        for comp, kw in parts.items():
            if isinstance(kw, int | float):
                rows.append({"id": r["id"], "component": comp, "kw": float(kw)})
    return pl.DataFrame(rows, schema={"id": pl.String, "component": pl.String, "kw": pl.Float64})


def power_view(
    systems: q.QueryResult, ids: Sequence[str] | None, *, per_chip: bool = False, height: int = 380
) -> View:
    """Stacked power breakdown per system (kW at the wall, or W per accelerator)."""
    if systems.empty:
        return empty_view(systems.reason, height=height)
    long = power_breakdown(systems.frame, ids)
    if long.is_empty():
        return empty_view(
            "pick at least one system"
            if ids is not None and not ids
            else "no power breakdown stored for these systems",
            height=height,
        )
    chips = dict(zip(systems.frame["id"].to_list(), systems.frame["chips"].to_list(), strict=True))
    if per_chip:
        long = long.with_columns(
            (pl.col("kw") * 1000 / pl.col("id").replace_strict(chips, default=None)).alias("value")
        )
        unit = "W per accelerator"
    else:
        long = long.with_columns(pl.col("kw").alias("value"))
        unit = "kW per system"
    fig = go.Figure()
    for i, comp in enumerate(long["component"].unique(maintain_order=True).to_list()):
        part = long.filter(pl.col("component") == comp)
        fig.add_trace(
            go.Bar(
                x=part["id"].to_list(),
                y=part["value"].to_list(),
                name=comp,
                marker_color=COLORWAY[i % len(COLORWAY)],
                hovertemplate="%{x}: %{y:,.1f} " + unit + "<extra>" + comp + "</extra>",
            )
        )
    styled(fig, height=height, barmode="stack", yaxis_title=unit)
    return View(fig, long, systems.sources)


def perf_per_watt_view(systems: q.QueryResult, ids: Sequence[str] | None, *, height: int = 340) -> View:
    """System BF16 PFLOP/s per kW at the wall (incl. cooling), and totals."""
    if systems.empty:
        return empty_view(systems.reason, height=height)
    frame = systems.frame if ids is None else systems.frame.filter(pl.col("id").is_in(list(ids)))
    if frame.is_empty():
        return empty_view("pick at least one system", height=height)
    frame = frame.sort("pflops_per_kw", descending=True)
    fig = go.Figure(
        go.Bar(
            x=frame["id"].to_list(),
            y=frame["pflops_per_kw"].to_list(),
            marker_color=FOREIGN,
            customdata=list(zip(frame["bf16_pflops"].to_list(), frame["power_kw"].to_list(), strict=True)),
            hovertemplate="%{x}: %{y:.3f} PFLOP/s per kW<br>%{customdata[0]:,.0f} PFLOP/s · %{customdata[1]:,.0f} kW"
            "<extra></extra>",
        )
    )
    styled(fig, height=height, yaxis_title="BF16 PFLOP/s per kW")
    return View(fig, frame.drop("power_breakdown_kw"), systems.sources)


# =========================================================================================
# Forecasts
# =========================================================================================
SEGMENT_LABELS = {"ai_accelerators": "AI accelerators", "wfe": "fab equipment (WFE)", "hbm": "HBM"}


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    return f"rgba({r},{g},{b},{alpha})"


def pick_model(fc: pl.DataFrame) -> str | None:
    """The model to draw when several are stored: the scenario-driven 'structural' one, else 'ensemble'."""
    if fc.is_empty():
        return None
    models = fc["model"].unique().sort().to_list()
    for preferred in ("structural", "ensemble"):
        if preferred in models:
            return preferred
    return models[0]


def fan_view(
    fc: q.QueryResult,
    segment: str,
    scenario_ids: Sequence[str] | None = None,
    history: q.QueryResult | None = None,
    outlooks: q.QueryResult | None = None,
    model: str | None = None,
    *,
    height: int = 440,
) -> View:
    """Fan chart: p10–p90 band and p50 line per scenario for one segment, observed shares as points."""
    if fc.empty:
        return empty_view(fc.reason, height=height)
    frame = fc.frame.filter(pl.col("segment") == segment)
    if scenario_ids:
        frame = frame.filter(pl.col("scenario_id").is_in(list(scenario_ids)))
    if frame.is_empty():
        return empty_view(f"no forecast for segment {segment!r} in these scenarios", height=height)
    model = model if model and model in frame["model"].unique().to_list() else pick_model(frame)
    frame = frame.filter(pl.col("model") == model).sort("scenario_id", "year")
    present = frame["scenario_id"].unique(maintain_order=True).to_list()
    order = [s for s in dict.fromkeys(scenario_ids or []) if s in present] or present
    fig = go.Figure()
    for i, sid in enumerate(order):
        part = frame.filter(pl.col("scenario_id") == sid)
        c = COLORWAY[i % len(COLORWAY)]
        years = part["year"].to_list()
        fig.add_trace(
            go.Scatter(
                x=years + years[::-1],
                y=part["p90"].to_list() + part["p10"].to_list()[::-1],
                fill="toself",
                fillcolor=_rgba(c, 0.16),
                line={"width": 0},
                name=f"{sid} p10–p90",
                legendgroup=sid,
                hoverinfo="skip",
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=years,
                y=part["p50"].to_list(),
                mode="lines+markers",
                name=sid,
                legendgroup=sid,
                line={"color": c, "width": 2},
                customdata=list(zip(part["p10"].to_list(), part["p90"].to_list(), strict=True)),
                hovertemplate="%{x}: p50 %{y:.0%} (p10 %{customdata[0]:.0%} – p90 %{customdata[1]:.0%})<extra>"
                + sid
                + "</extra>",
            )
        )
    extra: list[str] = []
    shown = [frame.with_columns(pl.lit("forecast").alias("series"))]
    if history is not None and history.ok:
        h = history.frame.filter(pl.col("segment") == segment)
        if not h.is_empty():
            shown.append(h.with_columns(pl.lit("observed").alias("series")))
            fig.add_trace(
                go.Scatter(
                    x=h["year"].to_list(),
                    y=h["domestic_share"].to_list(),
                    mode="markers",
                    name="observed",
                    marker={
                        "color": "#1f2933",
                        "size": 8,
                        "symbol": [
                            "circle" if f == "reported" else "circle-open" for f in h["flag"].to_list()
                        ],
                    },
                    text=[
                        f"{m} · {s}"
                        for m, s in zip(h["metric"].to_list(), h["source"].to_list(), strict=True)
                    ],
                    hovertemplate="%{x}: %{y:.0%} observed<br>%{text}<extra></extra>",
                )
            )
            extra += h["source"].to_list()
    if outlooks is not None and outlooks.ok:
        o = outlooks.frame.filter(pl.col("segment") == segment)
        if not o.is_empty():
            shown.append(o.with_columns(pl.lit("third-party outlook").alias("series")))
            fig.add_trace(
                go.Scatter(
                    x=o["year"].to_list(),
                    y=o["domestic_share"].to_list(),
                    mode="markers",
                    name="third-party outlook",
                    marker={"color": "#e9a23b", "size": 10, "symbol": "x"},
                    text=[
                        f"{p} ({m})"
                        for p, m in zip(o["publisher"].to_list(), o["metric"].to_list(), strict=True)
                    ],
                    hovertemplate="%{x}: %{y:.0%}<br>%{text}<extra>outlook</extra>",
                )
            )
            extra += o["source"].to_list()
    styled(
        fig,
        height=height,
        yaxis={"tickformat": ".0%", "range": [0, 1], "title": "domestic share"},
        xaxis_title="year",
        hovermode="closest",
    )
    # the CSV holds every point drawn: forecast quantiles, observed shares and third-party outlooks
    rows = pl.concat(shown, how="diagonal_relaxed")
    rows = rows.select("series", *[c for c in rows.columns if c != "series"])
    return View(fig, rows, _merge_sources(fc.sources, extra), note=f"model: {model}")


def compare_runs_view(
    fc: q.QueryResult, run_a: str | None, run_b: str | None, segment: str, *, height: int = 400
) -> View:
    """Two scenario runs on one fan chart plus the p50 difference (B − A) in the CSV."""
    if fc.empty and fc.reason and not fc.reason.startswith("pick"):
        return empty_view(fc.reason, height=height)
    if not run_a or not run_b:
        return empty_view("pick two runs to compare", height=height)
    view = fan_view(fc, segment, [run_a, run_b], height=height)
    if view.frame.is_empty():
        return view
    view.frame = view.frame.filter(pl.col("series") == "forecast")
    a = view.frame.filter(pl.col("scenario_id") == run_a).select("year", pl.col("p50").alias("p50_a"))
    b = view.frame.filter(pl.col("scenario_id") == run_b).select("year", pl.col("p50").alias("p50_b"))
    diff = (
        a.join(b, on="year", how="full", coalesce=True)
        .sort("year")
        .with_columns((pl.col("p50_b") - pl.col("p50_a")).alias("p50_b_minus_a"))
    )
    return View(
        view.figure,
        diff.with_columns(pl.lit(run_a).alias("run_a"), pl.lit(run_b).alias("run_b")),
        view.sources,
        note=view.note,
    )


def latest_shares(history: pl.DataFrame) -> pl.DataFrame:
    """Per segment: the latest year observed and the range (min–max) of the shares sources give for it."""
    if history.is_empty():
        return pl.DataFrame()
    latest = history.group_by("segment").agg(pl.col("year").max().alias("year"))
    return (
        history.join(latest, on=["segment", "year"])
        .group_by("segment", "year")
        .agg(
            pl.col("domestic_share").min().alias("low"),
            pl.col("domestic_share").max().alias("high"),
            pl.col("source").n_unique().alias("sources"),
        )
        .sort("segment")
    )


def share_range_text(low: float, high: float) -> str:
    """'34%' or '20–25%' for a share range (fractions)."""
    if abs(high - low) < 0.005:
        return _pct(low)
    return f"{low * 100:.0f}–{high * 100:.0f}%"


def one_year_return(prices: pl.DataFrame, ticker: str) -> float | None:
    """Fractional USD return of ``ticker`` over the last 365 days stored (None if not enough data)."""
    part = prices.filter((pl.col("ticker") == ticker) & pl.col("close_usd").is_not_null()).sort("date")
    if part.height < 2:
        return None
    last_date = part["date"][-1]
    window = part.filter(pl.col("date") >= last_date - timedelta(days=365))
    if window.height < 2:
        return None
    return float(window["close_usd"][-1] / window["close_usd"][0] - 1.0)


def run_options(runs: q.QueryResult) -> list[dict[str, str]]:
    """Dropdown options for stored runs: 'name · id · created'."""
    if runs.empty:
        return []
    out = []
    for r in runs.frame.iter_rows(named=True):
        when = f"{r['created_at']:%Y-%m-%d %H:%M}" if r.get("created_at") else "?"
        out.append({"label": f"{r['name']} · {r['scenario_id']} · {when}", "value": r["scenario_id"]})
    return out


def baseline_run_id(runs: q.QueryResult, fallback_ids: Sequence[str] = ()) -> str | None:
    """The newest stored run named 'baseline' (else a forecast id starting 'baseline', else None)."""
    if runs.ok:
        base = runs.frame.filter(pl.col("name") == "baseline")
        if not base.is_empty():
            return base.sort("created_at", descending=True, nulls_last=True)["scenario_id"][0]
    for sid in fallback_ids:
        if str(sid).startswith("baseline"):
            return str(sid)
    return None


def latest_per_name(runs: q.QueryResult, limit: int = 4) -> list[str]:
    """Newest run id of each scenario name (baseline first), at most ``limit``."""
    if runs.empty:
        return []
    newest = runs.frame.sort("created_at", descending=True, nulls_last=True).unique(
        "name", keep="first", maintain_order=True
    )
    ids = newest.sort(pl.col("name") != "baseline", "name")["scenario_id"].to_list()
    return ids[:limit]


def overlay_view(
    fc: q.QueryResult, baseline_id: str | None, run_id: str | None, segment: str, *, height: int = 400
) -> View:
    """The rerun's fan against the baseline's, for one segment."""
    if not run_id:
        return empty_view("run a scenario from the editor to overlay it against the baseline", height=220)
    ids = [i for i in (baseline_id, run_id) if i]
    return fan_view(fc, segment, ids, height=height)
