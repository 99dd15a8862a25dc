"""Forecasts page views: fan charts per scenario (with observed shares and third-party outlooks), run
comparison and the rerun overlay, and the stored-run helpers. Pure functions of :mod:`app.queries` results.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from app import queries as q
from app.dashboard.components import styled
from app.dashboard.views_common import View, colour, empty_view, flag_symbols, merge_sources, plain, points

FAN_MODELS = ("structural", "ensemble", "fisher_pry", "gompertz", "bass")
"""Forecast models offered in the fan chart's model picker (``substitution_forecast.model``)."""
RUN_COLUMNS = ("scenario_id", "name", "seed", "n_paths", "start_year", "end_year", "created_at", "file")
"""Columns of the stored-runs table."""


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
        c = colour(i)
        years = part["year"].to_list()
        fig.add_trace(
            go.Scatter(
                x=years + years[::-1],
                y=part["p90"].to_list() + part["p10"].to_list()[::-1],
                fill="toself",
                fillcolor=_rgba(c, 0.16),
                line={"width": 0},
                name=f"{plain(sid)} p10–p90",
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
                name=plain(sid),
                legendgroup=sid,
                line={"color": c, "width": 2},
                customdata=list(zip(part["p10"].to_list(), part["p90"].to_list(), strict=True)),
                hovertemplate="%{x}: p50 %{y:.0%} (p10 %{customdata[0]:.0%} – p90 %{customdata[1]:.0%})<extra>"
                + plain(sid)
                + "</extra>",
            )
        )
    extra: list[str] = []
    shown = [frame.with_columns(pl.lit("forecast").alias("series"))]
    for result, series, marker, label, hover in (
        (
            history,
            "observed",
            lambda r: {"color": "#1f2933", "size": 8, "symbol": flag_symbols(r["flag"].to_list())},
            lambda r: [f"{m} · {s}" for m, s in zip(r["metric"], r["source"], strict=True)],
            "%{x}: %{y:.0%} observed<br>%{text}<extra></extra>",
        ),
        (
            outlooks,
            "third-party outlook",
            lambda _r: {"color": "#e9a23b", "size": 10, "symbol": "x"},
            lambda r: [f"{p} ({m})" for p, m in zip(r["publisher"], r["metric"], strict=True)],
            "%{x}: %{y:.0%}<br>%{text}<extra>outlook</extra>",
        ),
    ):
        rows = result.frame.filter(pl.col("segment") == segment) if result is not None and result.ok else None
        if rows is None or rows.is_empty():
            continue
        shown.append(rows.with_columns(pl.lit(series).alias("series")))
        fig.add_trace(
            points(
                rows["year"],
                rows["domestic_share"],
                series,
                marker(rows),
                text=label(rows),
                hovertemplate=hover,
            )
        )
        extra += rows["source"].to_list()
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
    return View(fig, rows, merge_sources(fc.sources, extra), note=f"model: {model}")


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
    view = fan_view(fc, segment, ids, height=height)
    for trace in view.figure.data:  # the rerun dashed and the baseline drawn on top: neither hides the other
        if trace.name == run_id and run_id != baseline_id:
            trace.line.dash = "dash"
    on_top = [t for t in view.figure.data if t.name == baseline_id]
    view.figure.data = [t for t in view.figure.data if t.name != baseline_id] + on_top
    return view


def editor_defaults(runs: q.QueryResult, default_paths: int) -> tuple[int, int]:
    """(seed, paths) the scenario editor starts from: the stored baseline run's, so an unchanged rerun
    draws the same random numbers (common random numbers) and reproduces the baseline exactly; seed 1 and
    ``default_paths`` when no baseline run is stored."""
    base = baseline_run_id(runs)
    if base is None:
        return 1, default_paths
    row = runs.frame.filter(pl.col("scenario_id") == base).row(0, named=True)
    return int(row["seed"]), int(row["n_paths"] or default_paths)


DIFF_COLUMNS = ("year", "diff_p10", "diff_p50", "diff_p90", "p_a_above", "p_b_above")
"""Columns of the paired-difference rows (``forecast_store.paired_differences``), as stored in its doc."""


def difference_view(doc: dict | None, segment: str, *, reason: str | None = None, height: int = 320) -> View:
    """Rerun minus baseline, path by path: the p10–p90 band and p50 of the paired differences that
    ``pipelines.forecast_store.compare_runs`` returns (``doc["paired"]``), in percentage points."""
    paired = (doc or {}).get("paired") or {}
    rows = paired.get("segments", {}).get(segment) or []
    if not rows:
        return empty_view(reason or "run a scenario from the editor to see its difference", height=220)
    frame = pl.DataFrame(rows).select([c for c in DIFF_COLUMNS if c in rows[0]])
    years = frame["year"].to_list()
    pp = {c: (frame[c] * 100).to_list() for c in ("diff_p10", "diff_p50", "diff_p90")}
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=years, y=pp["diff_p90"], mode="lines", line={"width": 0}, showlegend=False))
    fig.add_trace(
        go.Scatter(
            x=years,
            y=pp["diff_p10"],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(31,95,168,0.18)",
            name="paired p10–p90",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=years,
            y=pp["diff_p50"],
            mode="lines+markers",
            name="paired p50 (rerun − baseline)",
            line={"color": colour(0), "width": 2},
            hovertemplate="%{x}: %{y:+.2f} pp<extra></extra>",
        )
    )
    fig.add_hline(y=0, line={"color": "#52606d", "width": 1, "dash": "dot"})
    crn = (
        "common random numbers" if paired.get("common_random_numbers") else "different seeds: pairing nominal"
    )
    styled(
        fig,
        height=height,
        yaxis_title="rerun − baseline, percentage points",
        xaxis={"title": "year", "dtick": 1, "tickformat": "d"},
    )
    a, b = (doc.get("a") or {}).get("scenario_id"), (doc.get("b") or {}).get("scenario_id")
    note = f"{b} − {a}: {paired.get('n_paths', 0):,} paired paths, {crn}"
    last = rows[-1]
    if "p_a_above" in last and "p_b_above" in last:
        threshold = paired.get("threshold")
        above = f"P(share > {threshold:.0%})" if threshold is not None else "P(share above the threshold)"
        note += (
            f"; {above} in {last['year']}: baseline {last['p_a_above']:.0%}, rerun {last['p_b_above']:.0%}"
        )
    return View(fig, frame.with_columns(pl.lit(a).alias("baseline"), pl.lit(b).alias("rerun")), (), note=note)


BACKTEST_SHOWN = (
    "name",
    "metric",
    "horizon_years",
    "lead_years",
    "crps",
    "interval_score",
    "coverage_p10_p90",
    "mae",
    "in_sample_mae",
    "beats_last_value",
    "n_origins",
    "n_points",
)
"""Backtest columns on the Forecasts page (``forecast_backtest``), in display order."""


def backtest_table(scores: q.QueryResult) -> tuple[pl.DataFrame, dict[str, str]]:
    """The stored backtest rows as shown, with the verdict as text, and d3 formats (errors in share points)."""
    if scores.empty:
        return pl.DataFrame(), {}
    frame = scores.frame.select([c for c in BACKTEST_SHOWN if c in scores.frame.columns])
    if "beats_last_value" in frame.columns:
        frame = frame.with_columns(
            pl.col("beats_last_value")
            .replace_strict({True: "beats last value", False: "worse than last value"}, default="—")
            .alias("beats_last_value")
        )
    formats = {
        c: (".0%" if c.startswith("coverage") else ".4f") for c, t in frame.schema.items() if t.is_float()
    }
    return frame, formats
