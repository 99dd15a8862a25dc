"""Market page views: normalised USD performance with export-control markers, and the event study.

Pure functions of :mod:`app.queries` results (no browser, no Dash context). The event-study summary
shows the warehouse's cross-sectional rows as stored (``event_study_cross_section``: one row per
window, group and — when the table has one — method); nothing here re-derives a statistic.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go
import polars as pl

from app import queries as q
from app.dashboard.components import DOMESTIC, FOREIGN, styled, thin
from app.dashboard.exports import mark_for_export
from app.dashboard.pages import market_tools as tools
from app.dashboard.views_common import View, empty_view, entity_styles, groups, merge_sources, plain

CAMBRICON = "688256.SS"
NVIDIA = "NVDA"
DEFAULT_TICKERS = (CAMBRICON, NVIDIA, "688981.SS", "AMD")
"""Tickers shown when the Market page opens (Cambricon, Nvidia, SMIC A-share, AMD)."""
DEFAULT_YEARS = 3
"""Default date range on the Market page: the last 3 years of stored prices."""
GROUP_LABELS = {"domestic_china": "domestic (China)", "foreign": "foreign"}
"""Display names of the event-study cross-section groups (``event_study_cross_section.group``)."""
PERFORMANCE_TITLE = "Normalised performance (USD)"
"""Title of the performance card and of its exported image."""
CAR_TITLE = "Event study: cumulative abnormal return per ticker"
"""Title of the event-study card and of its exported image."""
CROSS_SECTION_HIDDEN = ("event_id", "window", "source", "run_id")
"""Cross-section columns not shown in the summary table (the event and window are the picker's)."""


def default_range(first: date, last: date, years: int = DEFAULT_YEARS) -> tuple[date, date]:
    """Default Market date range: the last ``years`` years of stored prices (clipped to ``first``)."""
    start = max(first, last - timedelta(days=round(365.25 * years)))
    return start, last


PERFORMANCE_SCHEMA = dict(
    date=pl.Date, ticker=pl.String, close_usd=pl.Float64, index=pl.Float64, provider=pl.String
)
"""Columns of the normalised performance frame (``index``: 100 = first day shown, or the rebase day)."""


def normalise_usd(prices: pl.DataFrame, rebase: date | None = None) -> pl.DataFrame:
    """Per ticker: ``index`` = 100 × close_usd / close_usd of the first day shown (or of the first day on or
    after ``rebase``): a USD total-price index. Rows without a USD close are dropped (no FX rate that day).
    """
    if prices.is_empty():
        return pl.DataFrame(schema=PERFORMANCE_SCHEMA)
    perf = tools.rebased(prices, rebase)
    return perf.select(
        "date", "ticker", "close_usd", "index", "provider", *(["source"] if "source" in perf.columns else [])
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


EVENT_AXIS = "y2"
"""The hidden 0..1 axis the event markers sit on (at the top whatever the price axis shows)."""


def _event_markers(fig: go.Figure, events: pl.DataFrame) -> None:
    """Dotted verticals and ▼ markers with short labels, one legend entry (and colour) per category;
    hover: title, agency, citation; ``customdata``: the event id (clicking shows its price reaction)."""
    if "category" not in events.columns:
        events = events.with_columns(pl.lit(None, pl.String).alias("category"))
    fig.update_layout(
        shapes=[
            {
                "type": "line",
                "x0": r["announced_date"],
                "x1": r["announced_date"],
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": tools.category_colour(r["category"]), "width": 1, "dash": "dot"},
                "opacity": 0.45,
            }
            for r in events.iter_rows(named=True)
        ],
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
    )
    for _, category, part in groups(events.with_columns(pl.col("category").fill_null("other")), "category"):
        rows = list(part.iter_rows(named=True))
        fig.add_trace(
            go.Scatter(
                x=part["announced_date"].to_list(),
                y=[0.97 - 0.05 * (i % 3) for i in range(part.height)],
                yaxis=EVENT_AXIS,
                mode="markers+text",
                name=f"▼ {plain(category).replace('_', ' ')}",
                legendgroup="events",
                marker={"symbol": "triangle-down", "size": 9, "color": tools.category_colour(category)},
                text=[plain(tools.short_label(r["title"], r.get("agency"))) for r in rows],
                textposition="middle right",
                textfont={"size": 9, "color": tools.category_colour(category)},
                hovertext=[
                    f"{plain(r['title'])}<br>{plain(r['agency'])} · {plain(r['citation'] or '')}"
                    for r in rows
                ],
                customdata=part["event_id"].to_list(),
                hovertemplate="%{hovertext}<extra>click: price reaction</extra>",
            )
        )


MODE_AXES = {
    "index": "index, USD (100 = {base})",
    "relative": "relative to {bench}, USD (100 = {base}; above 100 = outperformed)",
    "drawdown": "drawdown from the running peak (%)",
}


def performance_view(
    prices: q.QueryResult,
    tickers_frame: pl.DataFrame,
    events: pl.DataFrame | None,
    *,
    height: int = 420,
    mode: str = "index",
    rebase: date | None = None,
    bench: q.QueryResult | None = None,
) -> View:
    """USD performance of the tickers: an index (100 = first day shown, or ``rebase``), relative to the
    benchmark in ``bench`` (``mode="relative"``) or the drawdown from the running peak; export-control
    markers (coloured by category) on top; one unified hover per day."""
    if prices.empty:
        return empty_view(prices.reason, height=height)
    perf = normalise_usd(prices.frame, rebase)
    if perf.is_empty():
        return empty_view(
            "no USD prices for this selection (FX rates missing?) — run `fabscope refresh`", height=height
        )
    bench_name = bench.frame["ticker"][0] if bench is not None and bench.ok else None
    if mode == "relative":
        if bench_name is None:
            reason = bench.reason if bench is not None and bench.reason else "pick a benchmark"
            return empty_view(f"no benchmark prices to compare with — {reason}", height=height)
        perf = tools.relative_to(perf, normalise_usd(bench.frame, rebase))
    elif mode == "drawdown":
        perf = tools.drawdown(perf)
    column = {"relative": "relative", "drawdown": "drawdown"}.get(mode, "index")
    scale = 100.0 if mode == "drawdown" else 1.0
    labels = ticker_labels(tickers_frame)
    domestic = domestic_set(tickers_frame)
    universe = list(labels) or perf["ticker"].unique().to_list()
    styles = entity_styles([*universe, *perf["ticker"].unique().to_list()], domestic)
    fig = go.Figure()
    for _, ticker, part in groups(perf.drop_nulls(column), "ticker"):
        x, y = part["date"].to_numpy(), part[column].to_numpy() * scale
        drawn = thin(x, y)  # long histories down-sampled for drawing; the CSV (``perf``) keeps every row
        fig.add_trace(
            go.Scatter(
                x=x[drawn],
                y=y[drawn],
                mode="lines",
                name=plain(labels.get(ticker, ticker)),
                line={"width": 2 if ticker in domestic else 1.6, **styles[ticker]},
                hovertemplate="%{y:.1f}<extra>" + plain(ticker) + "</extra>",
            )
        )
    shown_events = pl.DataFrame()
    if events is not None and not events.is_empty():
        lo, hi = perf["date"].min(), perf["date"].max()
        shown_events = events.filter(pl.col("announced_date").is_between(lo, hi))
        if not shown_events.is_empty():
            _event_markers(fig, shown_events)
    base = rebase.isoformat() if rebase else "first day shown"
    styled(
        fig,
        height=height,
        yaxis_title=MODE_AXES.get(mode, MODE_AXES["index"]).format(base=base, bench=plain(bench_name)),
        hovermode="x unified",
        xaxis={"hoverformat": "%Y-%m-%d"},
    )
    sample = tuple(sorted(set(perf.filter(pl.col("provider") == q.SAMPLE_PROVIDER)["ticker"].to_list())))
    if mode == "relative" and bench is not None and q.SAMPLE_PROVIDER in bench.frame["provider"].to_list():
        sample = tuple(sorted({*sample, bench_name}))
    sources = merge_sources(
        prices.sources,
        bench.sources if bench is not None and mode == "relative" else (),
        tuple(shown_events["source"].to_list()) if "source" in shown_events.columns else (),
    )
    title = PERFORMANCE_TITLE if mode == "index" else f"{PERFORMANCE_TITLE} — {MODES_TITLE[mode]}"
    mark_for_export(fig, title, sources, sample=bool(sample))
    return View(fig, perf, sources, sample_tickers=sample)


MODES_TITLE = {"relative": "relative to the benchmark", "drawdown": "drawdown"}


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


# ---- event study ------------------------------------------------------------------------------
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


def window_sort_key(w: str) -> tuple[int, str]:
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
    return sorted(es.frame["window"].unique().to_list(), key=window_sort_key)


def group_rows(cross: q.QueryResult | None, window: str) -> pl.DataFrame:
    """The stored cross-section rows of one window (every group and method), empty when there are none."""
    if cross is None or cross.empty or "window" not in cross.frame.columns:
        return pl.DataFrame()
    return cross.frame.filter(pl.col("window") == window)


def stored_group_means(cross: q.QueryResult | None, window: str) -> dict[bool, float]:
    """``{is_domestic: mean CAR}`` as the warehouse stores it for ``window`` (first row per group)."""
    rows = group_rows(cross, window)
    if rows.is_empty() or "mean_car" not in rows.columns:
        return {}
    out: dict[bool, float] = {}
    for r in rows.iter_rows(named=True):
        is_domestic = r["group"] == "domestic_china"
        if r["mean_car"] is not None:
            out.setdefault(is_domestic, float(r["mean_car"]))
    return out


def car_view(
    es: q.QueryResult,
    window: str | None = None,
    cross: q.QueryResult | None = None,
    *,
    height: int = 380,
    sample: bool = False,
) -> View:
    """Cumulative abnormal return per ticker for one event (and window), domestic vs foreign.

    The dashed group lines are the stored cross-section means (``cross``), never recomputed here.
    """
    if es.empty:
        return empty_view(es.reason, height=height)
    frame = es.frame
    windows = sorted(frame["window"].unique().to_list(), key=window_sort_key)
    win = window if window in windows else windows[0]
    part = frame.filter(pl.col("window") == win).sort("car", descending=True)
    means = stored_group_means(cross, win)
    fig = go.Figure()
    for flag, col, name, where in (
        (True, DOMESTIC, GROUP_LABELS["domestic_china"], "top left"),
        (False, FOREIGN, GROUP_LABELS["foreign"], "bottom right"),
    ):
        g = part.filter(pl.col("domestic_china") == flag)
        if g.is_empty():
            continue
        fig.add_trace(
            go.Bar(
                x=g["ticker"].to_list(),
                y=(g["car"] * 100).to_list(),
                name=name,
                marker_color=col,
                customdata=list(zip(g["t_stat"].to_list(), g["name"].to_list(), strict=True)),
                hovertemplate="%{x} %{customdata[1]}<br>CAR %{y:.2f}%<br>t = %{customdata[0]:.2f}<extra></extra>",
            )
        )
        if flag in means:
            mean = means[flag] * 100
            fig.add_hline(
                y=mean,
                line={"color": col, "dash": "dash", "width": 1},
                annotation_text=f"mean {name}: {mean:+.2f}%",
                annotation_position=where,
                annotation_font_color=col,
            )
    styled(
        fig,
        height=height,
        yaxis_title=f"CAR over {win} (%)",
        barmode="group",
        xaxis={"categoryorder": "array", "categoryarray": part["ticker"].to_list()},
    )
    sources = merge_sources(es.sources, cross.sources if cross is not None else ())
    mark_for_export(fig, f"{CAR_TITLE}, {win}", sources, sample=sample)
    return View(fig, frame, sources, note=win)


def cross_section_table(cross: q.QueryResult, window: str) -> tuple[pl.DataFrame, dict[str, str]]:
    """The stored cross-section rows of ``window`` as shown: every stored column except the event, window
    and source (so new statistic or method columns and rows show up), groups by their display name.

    Returns the frame and d3 formats for its numeric columns (CARs as signed percentages).
    """
    rows = group_rows(cross, window)
    if rows.is_empty():
        return rows, {}
    shown = rows.select([c for c in rows.columns if c not in CROSS_SECTION_HIDDEN])
    if "group" in shown.columns:
        shown = shown.with_columns(pl.col("group").replace(GROUP_LABELS))
    formats = {c: ("+.2%" if "car" in c else ".2f") for c, t in shown.schema.items() if t.is_float()}
    return shown, formats


def statistic_notes(columns: list[str], docs: dict[str, str]) -> str:
    """'t_stat: MacKinlay J1 …; …': what each shown statistic is, from the warehouse schema's column docs."""
    parts = [f"{c.replace('_', ' ')}: {docs[c]}" for c in columns if docs.get(c) and c not in ("group",)]
    return "; ".join(parts)


def summary_cells(cross: q.QueryResult, window: str, docs: dict[str, str]) -> dict[str, Any]:
    """Everything the summary card needs: rows, formats and the method notes (or why there is nothing)."""
    if cross.empty:
        return {"reason": cross.reason}
    frame, formats = cross_section_table(cross, window)
    if frame.is_empty():
        return {"reason": f"no cross-section stored for window {window} — run `fabscope refresh`"}
    return {"frame": frame, "formats": formats, "notes": statistic_notes(frame.columns, docs)}
