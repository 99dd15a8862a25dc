"""The dashboard calculators (LLM serving, etch, fab) as plain functions (testable without a browser).

What is left of the former ``logic`` module: every chart's view now lives beside its page in
``app/dashboard/pages/<page>_views.py``; these calculator sections move to
``pages/hardware_calculator.py`` and ``pages/capacity_calculators.py``.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl

from app.dashboard.components import DOMESTIC, FOREIGN, styled
from app.dashboard.errors import error_result
from app.dashboard.views_common import View, empty_view
from app.dashboard.views_common import merge_sources as _merge_sources

# =========================================================================================
# Hardware: LLM serving calculator (hardware_sim.accelerators.llm)
# =========================================================================================
PRECISIONS = ("bf16", "fp8", "int8")
PHASES = ("prefill", "decode")
MAX_CALC_BATCH = 4096
"""Largest batch per chip the calculator accepts (guards the sweep)."""
MAX_CALC_LEN = 262_144
"""Longest input/output length (tokens) the calculator accepts."""


def _bounded_int(value: Any, name: str, lo: int, hi: int) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a whole number, got {value!r}") from None
    if not lo <= n <= hi:
        raise ValueError(f"{name}: {n} is outside {lo}..{hi}")
    return n


def llm_serving(
    system: str | None,
    model: str | None,
    phase: str,
    precision: str,
    batch: Any,
    tpot_ms: Any,
    input_len: Any,
    output_len: Any,
) -> dict[str, Any]:
    """One LLM serving estimate from ``hardware_sim.accelerators.llm`` (``serve``, or the TPOT batch search).

    Returns the simulator's dict (tokens/s per chip, TTFT or TPOT in ms, bound, layout...) or
    ``{"error": message}`` for bad input — never raises for user input.
    """
    from hardware_sim.accelerators import llm

    try:
        if not system or not model:
            raise ValueError("pick a system and a model")
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}")
        n_in = _bounded_int(input_len, "input length", 1, MAX_CALC_LEN)
        n_out = _bounded_int(output_len, "output length", 0, MAX_CALC_LEN)
        if phase == "decode" and tpot_ms not in (None, ""):
            target = float(tpot_ms)
            if not 0 < target <= 10_000:
                raise ValueError(f"TPOT target: {target} ms is outside (0, 10000]")
            return llm.search_batch_for_tpot(system, model, target, n_in, n_out, precision)
        b = _bounded_int(batch if batch not in (None, "") else 1, "batch", 1, MAX_CALC_BATCH)
        return llm.serve(system, model, phase, b, n_in, n_out, precision, with_ops=False)
    except (KeyError, ValueError) as exc:
        return error_result(exc)


def llm_result_rows(res: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs to show for a serving estimate."""
    if "error" in res:
        return [("error", res["error"])]
    rows = [
        ("tokens/s per chip", f"{res['tokens_per_s_per_chip']:,.0f}"),
        ("bound", res["bound"]),
        ("batch per chip", f"{res['batch']:,}"),
    ]
    if "ttft_ms" in res:
        rows.append(("TTFT", f"{res['ttft_ms']:,.1f} ms"))
    if "tpot_ms" in res:
        rows.append(("TPOT", f"{res['tpot_ms']:,.2f} ms"))
    if "tpot_target_ms" in res:
        rows.append(
            ("TPOT target", f"{res['tpot_target_ms']:g} ms — {'met' if res['meets_target'] else 'NOT met'}")
        )
    rows += [
        ("layout", res.get("layout", "—")),
        (
            "memory per chip",
            f"{res['weights_gb_per_chip']:.1f} GB weights + {res['kv_gb_per_chip']:.1f} GB KV"
            f" of {res['usable_gb_per_chip']:.0f} GB usable",
        ),
        ("max batch (memory)", f"{res['max_batch']:,}"),
    ]
    for note in res.get("notes", []):
        rows.append(("note", note))
    if res.get("layout_note"):
        rows.append(("layout rule", res["layout_note"]))
    return rows


def llm_sweep(
    system: str,
    model: str,
    phase: str,
    precision: str,
    input_len: int,
    output_len: int,
    max_batch: int,
    points: int = 14,
) -> pl.DataFrame:
    """Tokens/s per chip and step time across batch sizes 1…``max_batch`` (log-spaced)."""
    import numpy as np

    from hardware_sim.accelerators import llm

    top = max(1, min(int(max_batch), MAX_CALC_BATCH))
    batches = sorted({int(b) for b in np.unique(np.round(np.geomspace(1, top, num=min(points, top))))})
    rows = []
    for b in batches:
        r = llm.serve(system, model, phase, b, input_len, output_len, precision, with_ops=False)
        rows.append(
            {
                "batch": b,
                "tokens_per_s_per_chip": r["tokens_per_s_per_chip"],
                "step_ms": r.get("ttft_ms", r.get("tpot_ms")),
                "bound": r["bound"],
                "fits_memory": r["fits_memory"],
            }
        )
    return pl.DataFrame(rows)


BOUND_COLOURS = {"compute": "#1f5fa8", "memory": "#e9a23b", "network": "#c8102e"}


def llm_view(res: dict[str, Any], *, height: int = 340) -> View:
    """Batch sweep of the chosen configuration, the answer highlighted; colour = bound."""
    if "error" in res:
        return empty_view(res["error"], height=height)
    sweep = llm_sweep(
        res["system"],
        res["model"],
        res["phase"],
        res["precision"],
        res["input_len"],
        res["output_len"],
        max(res["max_batch"], res["batch"]),
    )
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=sweep["batch"].to_list(),
            y=sweep["tokens_per_s_per_chip"].to_list(),
            mode="lines+markers",
            name="sweep",
            line={"color": "#8d99ae"},
            marker={"size": 8, "color": [BOUND_COLOURS.get(b, "#888") for b in sweep["bound"].to_list()]},
            customdata=list(zip(sweep["step_ms"].to_list(), sweep["bound"].to_list(), strict=True)),
            hovertemplate="batch %{x}: %{y:,.0f} tok/s/chip<br>step %{customdata[0]:.1f} ms · %{customdata[1]}-bound"
            "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[res["batch"]],
            y=[res["tokens_per_s_per_chip"]],
            mode="markers",
            name="your answer",
            marker={"size": 14, "symbol": "star", "color": "#1f2933"},
            hovertemplate="batch %{x}: %{y:,.0f} tok/s/chip<extra>answer</extra>",
        )
    )
    styled(
        fig,
        height=height,
        xaxis={"type": "log", "title": "batch per chip (concurrent sequences)"},
        yaxis_title="tokens/s per chip",
    )
    frame = sweep.with_columns(
        pl.lit(res["system"]).alias("system"),
        pl.lit(res["model"]).alias("model"),
        pl.lit(res["phase"]).alias("phase"),
        pl.lit(res["precision"]).alias("precision"),
    )
    return View(
        fig,
        frame,
        ("hardware_sim.accelerators.llm (roofline model; derates and sources in hardware_sim)",),
        note="marker colour: blue compute-, amber memory-, red network-bound",
    )


# =========================================================================================
# Capacity: etch and fab calculators (hardware_sim.fab.etch / hardware_sim.fab.tool_counts)
# =========================================================================================
MAX_LAYERS = 1000
MAX_ASPECT_RATIO = 200.0
MAX_WSPM = 1_000_000


def etch_calculator(
    mode: str, layers: Any, aspect_ratio: Any, chemistry: str = "conventional", chambers: Any = None
) -> dict[str, Any]:
    """High-aspect-ratio hole etch: aspect ratio, etch rate (nm/min), time (min), wafers/hour.

    ``mode`` is ``layers`` (3D NAND channel hole of that many layers) or ``aspect_ratio``.
    Returns the CONTRACT ``sim etch`` keys, or ``{"error": message}`` for bad input.
    """
    try:
        from hardware_sim.fab import etch
    except ImportError as exc:
        return {"error": f"hardware_sim.fab.etch is not available in this build ({exc})"}
    try:
        if mode == "layers":
            n = _bounded_int(layers, "layers", 1, MAX_LAYERS)
            res = etch.channel_hole_etch(n, chemistry)
        else:
            try:
                ar = float(aspect_ratio)
            except (TypeError, ValueError):
                ar = float("nan")
            if not 0 < ar <= MAX_ASPECT_RATIO:
                raise ValueError(
                    f"aspect ratio: expected a number in (0, {MAX_ASPECT_RATIO:g}], got {aspect_ratio!r}"
                )
            res = etch.hole_etch_for_aspect_ratio(ar, chemistry)
        out = etch_record(res, chambers)
    except (KeyError, ValueError, TypeError) as exc:
        return error_result(exc)
    return out


def etch_record(res: Any, chambers: Any = None) -> dict[str, Any]:
    """CONTRACT ``sim etch`` keys from a ``ChannelHoleEtch`` (+ tool throughput at ``chambers``)."""
    from dataclasses import asdict

    from hardware_sim.fab.tool_throughput import tool_throughput

    rec = {k: v for k, v in asdict(res).items() if not (isinstance(v, float) and v != v)}
    n_ch = _bounded_int(chambers, "chambers", 1, 12) if chambers not in (None, "") else 1
    tp = tool_throughput(res.etch_time_min, chambers=n_ch)
    rec.update(
        chambers=n_ch,
        wafers_per_hour=tp.wafers_per_hour,
        effective_wafers_per_hour=tp.effective_wafers_per_hour,
        limited_by=tp.limited_by,
    )
    return rec


def etch_view(res: dict[str, Any], *, height: int = 320) -> View:
    """Etch rate and time against aspect ratio around the answer (ARDE curve)."""
    if "error" in res:
        return empty_view(res["error"], height=height)
    import numpy as np

    from hardware_sim.fab import etch

    chem = etch.get_chemistry(res["chemistry"])
    top = max(10.0, res["aspect_ratio"] * 2)
    ars = np.linspace(1.0, top, 60)
    rates = np.asarray(etch.etch_rate_nm_min(ars, chem), dtype=float)
    frame = pl.DataFrame({"aspect_ratio": ars, "etch_rate_nm_min": rates, "chemistry": res["chemistry"]})
    fig = go.Figure(
        go.Scatter(
            x=ars,
            y=rates,
            mode="lines",
            name="bottom etch rate",
            line={"color": FOREIGN},
            hovertemplate="AR %{x:.0f}: %{y:.0f} nm/min<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[res["aspect_ratio"]],
            y=[res["etch_rate_nm_min"]],
            mode="markers",
            name="your hole",
            marker={"size": 13, "symbol": "star", "color": DOMESTIC},
        )
    )
    styled(fig, height=height, xaxis_title="aspect ratio (depth / diameter)", yaxis_title="etch rate, nm/min")
    return View(
        fig,
        frame,
        (
            "hardware_sim.fab.etch (Clausing transmission + Coburn & Winters ARDE; "
            "see docs/methodology-fab.md)",
            f"{chem.name}: {chem.source} ({chem.flag})",
        ),
    )


def process_flow_ids() -> list[str]:
    """Process-flow ids the fab calculator offers (empty if the simulator lacks them)."""
    try:
        from hardware_sim.fab.process_flows import process_flow_ids as ids
    except ImportError:
        return []
    return list(ids())


def fab_calculator(process: str | None, wspm: Any) -> dict[str, Any]:
    """Tools needed for ``wspm`` wafer starts/month of ``process`` (CONTRACT ``sim fab`` keys) or ``{"error"}``."""
    try:
        from hardware_sim.fab import tool_counts as fab
    except ImportError as exc:
        return {"error": f"hardware_sim.fab.tool_counts is not available in this build ({exc})"}
    try:
        if not process:
            raise ValueError("pick a process flow")
        n = _bounded_int(wspm, "WSPM", 1, MAX_WSPM)
        return dict(fab.fab_summary(process, n))
    except (KeyError, ValueError, TypeError) as exc:
        return error_result(exc)


def fab_view(res: dict[str, Any], *, height: int = 360) -> View:
    """Tool count per tool type for the fab calculator's answer."""
    if "error" in res:
        return empty_view(res["error"], height=height)
    tools = pl.DataFrame(res["tools"], infer_schema_length=None)
    if tools.is_empty():
        return empty_view("the process flow lists no tools", height=height)
    tools = tools.sort("count", descending=True)
    fig = go.Figure(
        go.Bar(
            x=tools["type"].to_list(),
            y=tools["count"].to_list(),
            marker_color=FOREIGN,
            customdata=list(
                zip(tools["passes_per_wafer"].to_list(), tools["wafers_per_hour"].to_list(), strict=True)
            ),
            hovertemplate="%{x}: %{y:,.0f} tools<br>%{customdata[0]:g} passes/wafer · %{customdata[1]:.1f} wafers/h"
            "<extra></extra>",
        )
    )
    styled(fig, height=height, yaxis_title="tools needed")
    srcs = _merge_sources(
        [str(res["source"])] if res.get("source") else [],
        tools["source"].drop_nulls().to_list() if "source" in tools.columns else [],
    )
    return View(fig, tools, srcs or ("hardware_sim.fab.tool_counts process flows",))
