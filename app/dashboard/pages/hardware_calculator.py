"""The Hardware page's LLM serving calculator as pure view functions (testable without a browser).

The calculator builds an :class:`hardware_sim.api.accelerators.LlmServeRequest` from the controls, exactly
as ``fabscope sim llm`` does from its flags, and renders the result (and a batch sweep of the same request).
Limits, defaults and refusals come from the request alone; a refused input withholds the answer and puts
the refusal next to its control.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, get_args

import numpy as np
import plotly.graph_objects as go
import polars as pl
from dash import dcc, html

from app.dashboard import components as ui
from app.dashboard.pages.calculator_widgets import (
    Calculator,
    answer_marker,
    control_with_message,
    default_of,
    number_box,
)
from app.dashboard.views_common import View
from hardware_sim.accelerators.catalog import llm_ids, system_ids
from hardware_sim.api import RequestRefused
from hardware_sim.api.accelerators import MAX_BATCH_PER_CHIP, LlmServeRequest, LlmServeResult

#: Request field -> (control id, label); messages go to ``<control id>-msg``.
LLM_CONTROLS = {
    "system": ("llm-system", "System"),
    "model": ("llm-model", "Model"),
    "phase": ("llm-phase", "Phase"),
    "precision": ("llm-precision", "Precision"),
    "batch": ("llm-batch", "Batch / chip"),
    "tpot_ms": ("llm-tpot", "TPOT target ms"),
    "input_len": ("llm-input", "Input tokens"),
    "output_len": ("llm-output", "Output tokens"),
}
#: What the calculator opens with (examples; every default is the request's).
LLM_EXAMPLE = {"system": "cloudmatrix-384", "model": "deepseek-r1", "phase": "decode"}
BOUND_COLOURS = {"compute": "#1f5fa8", "memory": "#e9a23b", "network": "#c8102e"}
SWEEP_POINTS = 14


def llm_request(
    system: Any,
    model: Any,
    phase: Any,
    precision: Any,
    batch: Any,
    tpot_ms: Any,
    input_len: Any,
    output_len: Any,
) -> LlmServeRequest:
    """The request the controls describe; an empty TPOT box means no target (the request's default)."""
    values = {
        "system": system,
        "model": model,
        "phase": phase,
        "precision": precision,
        "batch": batch,
        "input_len": input_len,
        "output_len": output_len,
    }
    if tpot_ms not in (None, ""):
        values["tpot_ms"] = tpot_ms
    return LlmServeRequest.build(**values)


def llm_answer(*values: Any) -> LlmServeResult | RequestRefused:
    """The calculator's answer for the control values (in :data:`LLM_CONTROLS` order): the simulator's
    result, or the refusal of the inputs."""
    return LLM.answer(*values)


def llm_rows(res: LlmServeResult) -> list[tuple[str, str]]:
    """(label, value) rows of a serving answer."""
    rows = [
        ("tokens/s per chip", f"{res.tokens_per_s_per_chip:,.0f}"),
        ("bound", res.bound),
        ("batch per chip", f"{res.batch:,}"),
        ("precision", res.precision),
    ]
    if res.ttft_ms is not None:
        rows.append(("TTFT", f"{res.ttft_ms:,.1f} ms"))
    if res.tpot_ms is not None:
        rows.append(("TPOT", f"{res.tpot_ms:,.2f} ms"))
    if res.tpot_target_ms is not None:
        rows.append(
            ("TPOT target", f"{res.tpot_target_ms:g} ms — {'met' if res.meets_target else 'NOT met'}")
        )
    rows += [
        ("layout", res.layout),
        ("memory fit", memory_fit(res)),
        ("max batch (memory)", f"{res.max_batch:,}"),
        *validation_rows(res.phase),
    ]
    if res.cost_per_mtok_usd is not None:
        rows.append(("cost per million tokens", f"${res.cost_per_mtok_usd:,.3f} (estimate)"))
    rows += [("note", note) for note in res.notes]
    if res.layout_note:
        rows.append(("layout rule", res.layout_note))
    return rows


def memory_fit(res: LlmServeResult) -> str:
    """Whether weights + KV cache fit the usable HBM per chip, as the simulator's result says
    (``fits_memory``; GB figures from the result)."""
    used = res.weights_gb_per_chip + res.kv_gb_per_chip
    verdict = "fits" if res.fits_memory else "does NOT fit"
    return (
        f"{verdict}: {res.weights_gb_per_chip:.1f} GB weights + {res.kv_gb_per_chip:.1f} GB KV = {used:.1f} GB"
        f" of {res.usable_gb_per_chip:.0f} GB usable HBM per chip ({used / res.usable_gb_per_chip:.0%})"
    )


@lru_cache(maxsize=1)
def _validation() -> dict[str, Any]:
    from hardware_sim.accelerators.validation import validate

    return validate()


def validation_rows(phase: str) -> list[tuple[str, str]]:
    """The simulator's validation against published serving figures (``hardware_sim`` validation, as
    ``fabscope sim validate`` reports it): the geometric-mean error over every serving case, in-sample
    and leave-one-source-out, and the error of each published case of this ``phase``."""
    doc = _validation()
    summary = doc["summary"]["serving"]
    plain, loso = summary["plain"], summary["loso"]
    rows = [
        (
            "validation error (tokens/s)",
            f"±{plain['geo_mean_error_pct']:.0f}% geometric mean over {plain['n']} published serving cases "
            f"(leave-one-source-out ±{loso['geo_mean_error_pct']:.0f}%; worst ×{plain['worst_factor']:.2f})",
        )
    ]
    cases = [c for c in doc["cases"] if c["kind"] == "serving" and phase in c["id"]]
    if cases:
        rows.append(
            (
                f"published {phase} cases",
                "; ".join(
                    f"{c['id']} {c['error_pct']:+.0f}% (LOSO {c['loso_error_pct']:+.0f}%)" for c in cases
                ),
            )
        )
    return rows


def sweep_batches(top: int, points: int = SWEEP_POINTS) -> list[int]:
    """Log-spaced whole batch sizes 1…``top`` (at most ``points``; ``top`` capped at the request's limit)."""
    top = max(1, min(int(top), MAX_BATCH_PER_CHIP))
    return sorted({int(b) for b in np.unique(np.round(np.geomspace(1, top, num=min(points, top))))})


def llm_sweep(res: LlmServeResult, points: int = SWEEP_POINTS) -> pl.DataFrame:
    """Tokens/s per chip and step time across batch sizes for the answer's configuration (no TPOT target)."""
    rows = []
    for b in sweep_batches(max(res.max_batch, res.batch), points):
        r = LlmServeRequest.build(
            system=res.system,
            model=res.model,
            phase=res.phase,
            precision=res.precision,
            batch=b,
            input_len=res.input_len,
            output_len=res.output_len,
        ).run()
        rows.append(
            {
                "batch": b,
                "tokens_per_s_per_chip": r.tokens_per_s_per_chip,
                "step_ms": r.ttft_ms if r.ttft_ms is not None else r.tpot_ms,
                "bound": r.bound,
                "fits_memory": r.fits_memory,
            }
        )
    return pl.DataFrame(rows)


def llm_view(res: LlmServeResult, *, height: int = 340) -> View:
    """Batch sweep of the answer's configuration, the answer starred; marker colour = bound."""
    sweep = llm_sweep(res)
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
    hover = "batch %{x}: %{y:,.0f} tok/s/chip<extra>answer</extra>"
    fig.add_trace(answer_marker(res.batch, res.tokens_per_s_per_chip, "your answer", "#1f2933", hover))
    ui.styled(
        fig,
        height=height,
        xaxis={"type": "log", "title": "batch per chip (concurrent sequences)"},
        yaxis_title="tokens/s per chip",
    )
    frame = sweep.with_columns(
        pl.lit(res.system).alias("system"),
        pl.lit(res.model).alias("model"),
        pl.lit(res.phase).alias("phase"),
        pl.lit(res.precision).alias("precision"),
    )
    return View(
        fig,
        frame,
        ("hardware_sim.accelerators.llm (roofline model; derates and sources in hardware_sim)",),
        note="marker colour: blue compute-, amber memory-, red network-bound",
    )


def llm_outputs(*values: Any) -> tuple[View, Any, list[str]]:
    """Everything the card shows for the control values (in :data:`LLM_CONTROLS` order): (view, answer
    panel, message beside each control)."""
    return LLM.outputs(*values)


LLM = Calculator(LLM_CONTROLS, "llm-answer", llm_request, llm_view, llm_rows, 340)
"""The LLM serving calculator."""


def llm_card() -> html.Div:
    """The LLM serving calculator card: controls (defaults and options from :class:`LlmServeRequest`)."""
    ids = {field: control_id for field, (control_id, _) in LLM_CONTROLS.items()}
    models, systems = llm_ids(), system_ids()

    def dropdown(field: str, options: list[str], width: str) -> dcc.Dropdown:
        return dcc.Dropdown(
            id=ids[field],
            options=ui.id_options(options),
            value=LLM_EXAMPLE[field] if LLM_EXAMPLE[field] in options else options[0],
            clearable=False,
            style={"width": width},
        )

    def radio(field: str, value: Any) -> dcc.RadioItems:
        options = get_args(LlmServeRequest.model_fields[field].annotation)
        return dcc.RadioItems(id=ids[field], options=ui.id_options(options), value=value, inline=True)

    widgets = {
        "system": dropdown("system", systems, "190px"),
        "model": dropdown("model", models, "170px"),
        "phase": radio("phase", LLM_EXAMPLE["phase"]),
        "precision": radio("precision", default_of(LlmServeRequest, "precision")),
        "batch": number_box(ids["batch"], default_of(LlmServeRequest, "batch")),
        "tpot_ms": dcc.Input(
            id=ids["tpot_ms"],
            type="number",
            value=None,
            step="any",
            placeholder="optional",
            debounce=True,
            style={"width": "140px"},
        ),
        "input_len": number_box(ids["input_len"], default_of(LlmServeRequest, "input_len"), "130px"),
        "output_len": number_box(ids["output_len"], default_of(LlmServeRequest, "output_len"), "130px"),
    }
    return ui.chart_card(
        "hw-llm",
        "LLM serving calculator",
        subtitle="tokens/s per chip at the chosen batch (★) and across batches; with a TPOT target the "
        "largest batch meeting it is searched",
        controls=[control_with_message(label, widgets[f], ids[f]) for f, (_, label) in LLM_CONTROLS.items()],
        footer=ui.answer_slot("llm-answer-wrap"),
    )
