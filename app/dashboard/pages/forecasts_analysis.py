"""Why the forecast is what it is, on the Forecasts page: the tornado of a stored run (``fabscope forecast
explain``: rank correlations of each input with the domestic share, ``models.explain`` through
``pipelines.forecast_store.explain_run``) and probability statements P(share > x) from the run's own paths.

The paths are the stored run's, redrawn from its resolved scenario, seed, path count and metric
(``models.montecarlo.structural_paths``, the draw the run stored its p10/p50/p90 from): the probability
on screen is the model's, not a re-estimate from the quantiles.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from app import queries as q
from app.dashboard.components import DOMESTIC, FOREIGN, styled
from app.dashboard.errors import error_text
from app.dashboard.exports import mark_for_export
from app.dashboard.pages import forecasts_views as views
from app.dashboard.views_common import SEGMENT_LABELS, View, empty_view, plain
from fabscope.errors import FabscopeError

METRICS = {"units": "accelerator units", "h100e": "H100-equivalents"}
"""The AI-accelerator share metrics a run can be made with (``fabscope forecast run --metric``)."""
DEFAULT_THRESHOLD_PCT = 50
TORNADO_TITLE = "What drives the domestic share (rank correlation with each input)"


@lru_cache(maxsize=16)
def explain_doc(db: str, scenario_id: str) -> dict[str, Any]:
    """``forecast_store.explain_run`` of a stored run (``fabscope forecast explain RUN --json``); cached per
    run id, which names the run's content."""
    from pipelines import forecast_store
    from pipelines.warehouse import Warehouse

    with Warehouse(db).read() as con:
        return forecast_store.explain_run(con, scenario_id)


def tornado_view(doc: dict[str, Any] | None, segment: str, year: int | None, *, height: int = 360) -> View:
    """Horizontal bars of each driver's Spearman rho with the share of ``segment`` in ``year`` (largest
    |rho| on top; red raises the domestic share, blue lowers it)."""
    if not doc:
        return empty_view("pick a stored run to explain", height=height)
    rows = doc["segments"].get(segment) or []
    row = next((r for r in rows if r["year"] == year), rows[-1] if rows else None)
    if row is None or not row["drivers"]:
        return empty_view(f"no drivers for {segment} in run {doc['scenario_id']}", height=height)
    drivers = list(reversed(row["drivers"]))  # Plotly draws the first bar at the bottom
    rho = [d["rho"] for d in drivers]
    fig = go.Figure(
        go.Bar(
            x=rho,
            y=[plain(d["parameter"]) for d in drivers],
            orientation="h",
            marker_color=[DOMESTIC if r > 0 else FOREIGN for r in rho],
            hovertemplate="%{y}: rho %{x:+.2f}<extra></extra>",
            name="rank correlation",
        )
    )
    styled(fig, height=height, xaxis={"range": [-1, 1], "title": "Spearman rho with the domestic share"})
    fig.update_layout(margin={"l": 220})
    label = SEGMENT_LABELS.get(segment, segment)
    mark_for_export(
        fig, f"{TORNADO_TITLE}: {label}, {row['year']}", ("fabscope forecast explain (models.explain)",)
    )
    frame = pl.DataFrame(
        {"parameter": [d["parameter"] for d in row["drivers"]], "rho": [d["rho"] for d in row["drivers"]]}
    ).with_columns(
        pl.lit(doc["scenario_id"]).alias("scenario_id"),
        pl.lit(segment).alias("segment"),
        pl.lit(row["year"]).alias("year"),
    )
    note = (
        f"{doc['method']}; {doc['n_paths']:,} paths of {doc['scenario_id']} (metric {doc['metric']}), "
        f"{row['year']}. A screening measure: monotone effects, marginal association, not a variance share."
    )
    return View(fig, frame, ("fabscope forecast explain (models.explain)",), note=note)


@lru_cache(maxsize=8)
def _paths(db: str, scenario_id: str) -> tuple[dict[str, np.ndarray], list[int], int, str]:
    """The stored run's structural paths (``forecast_store.stored_run_paths``: its seed, path count and
    posterior, so they reproduce its stored quantiles)."""
    from pipelines import forecast_store
    from pipelines.warehouse import Warehouse

    with Warehouse(db).read() as con:
        return forecast_store.stored_run_paths(con, scenario_id)


def exceedance(db: str, scenario_id: str | None, segment: str, threshold: float) -> pl.DataFrame:
    """Per year: P(domestic share of ``segment`` > ``threshold``) over the stored run's structural paths
    (columns year, threshold, p_above, n_paths, metric); empty when the run is not stored."""
    if not scenario_id:
        return pl.DataFrame()
    try:
        paths, years, n, metric = _paths(db, scenario_id)
    except LookupError:
        return pl.DataFrame()
    share = paths[segment]
    return pl.DataFrame(
        {
            "year": years,
            "threshold": [threshold] * len(years),
            "p_above": [float(np.mean(share[:, j] > threshold)) for j in range(len(years))],
            "n_paths": [n] * len(years),
            "metric": [metric] * len(years),
        }
    )


def statements(rows: pl.DataFrame, segment: str, scenario_id: str | None) -> list[str]:
    """'P(domestic share of AI accelerators > 50% in 2027) = 62%' for each year of ``rows``."""
    if rows.is_empty():
        return [
            f"no stored run {scenario_id} to state probabilities from" if scenario_id else "pick a stored run"
        ]
    label = SEGMENT_LABELS.get(segment, segment)
    return [
        f"P(domestic share of {label} > {r['threshold']:.0%} in {r['year']}) = {r['p_above']:.0%}"
        for r in rows.iter_rows(named=True)
    ]


def difference(db: str, run_id: str | None, segment: str) -> View:
    """Paired difference of ``run_id`` against the stored baseline, from ``forecast_store.compare_runs``."""
    if not run_id:
        return views.difference_view(None, segment)
    base = views.baseline_run_id(q.scenario_runs(db), q.forecast_scenarios(db))
    if base is None:
        return views.difference_view(None, segment, reason="no baseline run stored — run `fabscope refresh`")
    from pipelines import forecast_store  # SciPy/scikit-learn: only when a difference is drawn
    from pipelines.warehouse import Warehouse

    try:
        with Warehouse(db).read() as con:
            doc = forecast_store.compare_runs(con, base, run_id)
    except FabscopeError as exc:
        return views.difference_view(None, segment, reason=error_text(exc))
    view = views.difference_view(doc, segment)
    view.sources = ("pipelines.forecast_store.compare_runs (paired differences of the stored runs)",)
    return view


# ---- the card and its callback (layout pieces of the Forecasts page) --------------------------------
def run_years(runs: q.QueryResult, scenario_id: str | None) -> list[int]:
    """The horizon years of a stored run (``scenario_runs.start_year``..``end_year``)."""
    if runs.empty or not scenario_id:
        return []
    rows = runs.frame.filter(pl.col("scenario_id") == scenario_id)
    if rows.is_empty() or rows["start_year"][0] is None:
        return []
    return list(range(int(rows["start_year"][0]), int(rows["end_year"][0]) + 1))


def card(run_options: list[dict[str, str]], run_id: str | None, years: list[int]) -> Any:
    """The tornado card: run and year pickers, the chart, and P(share > x) for a chosen x."""
    from dash import dcc, html

    from app.dashboard import components as ui

    default_year = 2030 if 2030 in years else (years[-1] if years else None)
    return ui.chart_card(
        "forecast-tornado",
        "Why: the inputs that drive the share",
        subtitle="`fabscope forecast explain`: Spearman rank correlation of each uncertain input with the "
        "domestic share across the run's paths (red raises it, blue lowers it); below, P(share > x) from "
        "the same run's paths",
        controls=[
            ui.picker(
                "Run explained", "forecast-explain-run", run_options, run_id, wide=True, clearable=False
            ),
            ui.picker(
                "Year",
                "forecast-explain-year",
                [str(y) for y in years],
                str(default_year) if default_year else None,
                width=110,
            ),
            ui.control(
                "x (domestic share, %)",
                dcc.Input(
                    id="forecast-threshold",
                    type="number",
                    value=DEFAULT_THRESHOLD_PCT,
                    min=0,
                    max=100,
                    step=1,
                    debounce=True,
                    style={"width": "90px"},
                ),
            ),
        ],
        footer=html.Div(
            [html.Div(id="forecast-tornado-note", className="note"), html.Ul(id="forecast-exceedance")],
            className="detail",
        ),
    )


def tornado_outputs(db: str, run_id: str | None, year: Any, segment: str, threshold: Any) -> tuple:
    """(card outputs…, note, P statements) for the tornado card."""
    from dash import html

    try:
        doc = explain_doc(db, run_id) if run_id else None
    except FabscopeError as exc:  # a run gone from the warehouse: say so on the chart
        view = empty_view(error_text(exc), height=360)
        return (*view.card_outputs, view.note, [])
    year = int(year) if str(year).isdigit() else None
    view = tornado_view(doc, segment, year)
    try:
        x = float(threshold)
    except (TypeError, ValueError):
        return (
            *view.card_outputs,
            view.note,
            [html.Li("x: enter a share in 0..100 %", className="error-text")],
        )
    if not 0 <= x <= 100:
        return (
            *view.card_outputs,
            view.note,
            [html.Li(f"x must be in 0..100 %, got {x:g}", className="error-text")],
        )
    rows = exceedance(db, run_id, segment, x / 100)
    chosen = rows.filter(pl.col("year") == year) if year is not None and not rows.is_empty() else rows
    items = [html.Li(s) for s in statements(chosen if not chosen.is_empty() else rows, segment, run_id)]
    if not rows.is_empty():
        by_year = " · ".join(f"{r['year']} {r['p_above']:.0%}" for r in rows.iter_rows(named=True))
        items.append(html.Li(f"P(share > {x:g}%) by year: {by_year}", id="forecast-exceedance-years"))
        items.append(
            html.Li(
                f"from the run's {rows['n_paths'][0]:,} structural paths (metric {rows['metric'][0]}), the draw "
                "its stored p10/p50/p90 come from",
                className="muted",
            )
        )
    return (*view.card_outputs, view.note, items)
