"""Hardware page views: chips side by side, system power breakdown and performance per watt.

Pure functions of :mod:`app.queries` results. (The LLM serving calculator lives apart from these charts.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl

from app import queries as q
from app.dashboard.components import DOMESTIC, FOREIGN, styled
from app.dashboard.views_common import View, colour, empty_view, groups, merge_sources, ranked_bars
from pipelines.schema import TABLES

DEFAULT_CHIPS = ("h100-sxm", "h20", "b200", "ascend-910b", "ascend-910c")
"""Chips compared when the Hardware page opens."""
DEFAULT_SYSTEMS = ("gb200-nvl72", "cloudmatrix-384", "hgx-h100-8", "hgx-h20-8")
"""Systems compared when the Hardware page opens."""
SPEC_ROWS = (
    *(c for c in TABLES["chip_specs"].column_names if c not in ("id", "sources", "flag", "source")),
    "tflops_per_w",
    "flag",
)
"""Rows of the chips-side-by-side table: the stored ``chip_specs`` figures, TFLOP/s per W, the flag."""
DOMESTIC_VENDORS = frozenset(
    {"huawei", "cambricon", "hygon", "biren", "moore threads", "metax", "enflame", "iluvatar"}
)
"""Chinese accelerator vendors (lower case), drawn in the domestic colour."""
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
    colours = [DOMESTIC if str(v).lower() in DOMESTIC_VENDORS else FOREIGN for v in table["vendor"].to_list()]
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
    return View(fig, table, merge_sources(srcs, chips.sources), note="red = Chinese vendor")


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


def _hover(unit: str, component: str) -> str:
    return "%{x}: %{y:,.1f} " + unit + "<extra>" + component + "</extra>"


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
    bars = [
        go.Bar(
            x=part["id"], y=part["value"], name=comp, marker_color=colour(i), hovertemplate=_hover(unit, comp)
        )
        for i, comp, part in groups(long, "component")
    ]
    fig = go.Figure(bars)
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
    hover = "%{x}: %{y:.3f} PFLOP/s per kW<br>%{customdata[0]:,.0f} PFLOP/s · %{customdata[1]:,.0f} kW<extra></extra>"
    fig = ranked_bars(frame, "id", "pflops_per_kw", ("bf16_pflops", "power_kw"), hover, colour=FOREIGN)
    styled(fig, height=height, yaxis_title="BF16 PFLOP/s per kW")
    return View(fig, frame.drop("power_breakdown_kw"), systems.sources)


def spec_records(chips: pl.DataFrame, ids: Sequence[str] | None) -> list[dict[str, Any]]:
    """Chips side by side as table rows: one row per spec in :data:`SPEC_ROWS`, one column per chip id."""
    table = chip_table(chips, ids)
    records = []
    for spec in SPEC_ROWS:
        row: dict[str, Any] = {"spec": CHIP_METRICS.get(spec, spec)}
        for r in table.iter_rows(named=True):
            v = r.get(spec)
            row[r["id"]] = f"{v:,.4g}" if isinstance(v, float) else ("—" if v is None else str(v))
        records.append(row)
    return records if not table.is_empty() else []


SYSTEM_COLUMNS = {
    "id": "system",
    "chips": "accelerators",
    "bf16_pflops": "BF16 PFLOP/s",
    "hbm_tb": "HBM, TB",
    "hbm_tbps": "HBM bandwidth, TB/s",
    "scaleup_tbps": "scale-up bandwidth, TB/s",
    "power_kw": "power at the wall, kW",
    "pflops_per_kw": "PFLOP/s per kW",
    "source": "source",
}
"""Columns of the systems comparison table (``system_perf`` column -> header), in display order."""


def systems_table(
    systems: q.QueryResult, ids: Sequence[str] | None = None
) -> tuple[pl.DataFrame, dict[str, str]]:
    """The stored ``system_perf`` rows of ``ids`` (all when empty) with display headers, and d3 formats.

    Every value is the warehouse's (the simulator's system totals); nothing is recomputed here.
    """
    if systems.empty:
        return pl.DataFrame(), {}
    frame = systems.frame
    if ids:
        frame = frame.filter(pl.col("id").is_in(list(ids)))
    shown = frame.select([c for c in SYSTEM_COLUMNS if c in frame.columns]).rename(
        {c: h for c, h in SYSTEM_COLUMNS.items() if c in frame.columns}
    )
    formats = {
        h: ",.2f" for c, h in SYSTEM_COLUMNS.items() if c in frame.columns and frame.schema[c].is_float()
    }
    return shown, formats
