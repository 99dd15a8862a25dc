"""The Capacity page's etch and fab calculators as pure view functions (testable without a browser).

Each calculator builds a request of :mod:`hardware_sim.api.fab` from the controls, exactly as
``fabscope sim etch`` / ``sim fab`` do from their flags, and renders the result: limits, defaults and
refusals come from the request alone. A refused input withholds the answer and puts the refusal next to
the control it concerns (:func:`etch_outputs`, :func:`fab_outputs`); nothing is clamped or substituted.
"""

from __future__ import annotations

from typing import Any

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
from app.dashboard.views_common import View, empty_view, ranked_bars
from hardware_sim.api import RequestRefused
from hardware_sim.api.fab import EtchRequest, EtchResult, FabRequest, FabResult, arde_curve
from hardware_sim.fab import etch as etch_physics
from hardware_sim.fab.process_flows import process_flow_ids

#: Request field -> (control id, label) of the etch calculator; messages go to ``<control id>-msg``.
ETCH_CONTROLS = {
    "layers": ("etch-layers", "Layers"),
    "aspect_ratio": ("etch-ar", "Aspect ratio"),
    "chemistry": ("etch-chem", "Chemistry"),
    "chambers": ("etch-chambers", "Chambers"),
}
FAB_CONTROLS = {"process": ("fab-process", "Process flow"), "wspm": ("fab-wspm", "Wafer starts / month")}
#: Values the calculators open with (examples, not defaults: every default is the request's).
ETCH_EXAMPLE = {"mode": "layers", "layers": 232, "aspect_ratio": 60}
FAB_EXAMPLE_WSPM = 50_000


# ------------------------------------------------------------------------------------------- etch
def etch_request(mode: str, layers: Any, aspect_ratio: Any, chemistry: Any, chambers: Any) -> EtchRequest:
    """The request the controls describe (``mode``: ``layers`` or ``aspect_ratio`` says which box counts)."""
    values: dict[str, Any] = {"chemistry": chemistry, "chambers": chambers}
    if mode == "aspect_ratio":
        values["aspect_ratio"] = aspect_ratio
    else:
        values["layers"] = layers
    return EtchRequest.build(**values)


def etch_answer(
    mode: str, layers: Any, aspect_ratio: Any, chemistry: Any, chambers: Any
) -> EtchResult | RequestRefused:
    """The etch calculator's answer: the simulator's result, or the refusal of the inputs."""
    return ETCH.answer(mode, layers, aspect_ratio, chemistry, chambers)


def etch_rows(res: EtchResult) -> list[tuple[str, str]]:
    """(label, value) rows of an etch answer."""
    return [
        ("aspect ratio (per deck)", f"{res.aspect_ratio:.1f}"),
        (
            "bottom etch rate",
            f"{res.etch_rate_nm_min:.0f} nm/min (open field {res.open_field_rate_nm_min:.0f})",
        ),
        ("etch time", f"{res.etch_time_min:.1f} min over {res.decks} deck(s)"),
        ("hole depth", f"{res.stack_height_nm / 1000:.2f} µm, Ø {res.hole_diameter_nm:.0f} nm"),
        (
            "wafers per hour",
            f"{res.wafers_per_hour:.2f} per tool ({res.chambers} chamber(s), "
            f"{res.throughput_limited_by}-limited; each deck is a separate visit)",
        ),
    ]


def etch_view(res: EtchResult, *, height: int = 320) -> View:
    """Etch rate against aspect ratio around the answer (ARDE curve), the answer starred."""
    ars, rates = arde_curve(res.chemistry, max(10.0, res.aspect_ratio * 2))
    frame = pl.DataFrame({"aspect_ratio": ars, "etch_rate_nm_min": rates, "chemistry": res.chemistry})
    fig = go.Figure(
        go.Scatter(
            x=ars,
            y=rates,
            mode="lines",
            name="bottom etch rate",
            line={"color": ui.FOREIGN},
            hovertemplate="AR %{x:.0f}: %{y:.0f} nm/min<extra></extra>",
        )
    )
    fig.add_trace(answer_marker(res.aspect_ratio, res.etch_rate_nm_min, "your hole", ui.DOMESTIC))
    ui.styled(
        fig, height=height, xaxis_title="aspect ratio (depth / diameter)", yaxis_title="etch rate, nm/min"
    )
    return View(
        fig,
        frame,
        (
            "hardware_sim.fab.etch (Clausing transmission + Coburn & Winters ARDE; see docs/methodology-fab.md)",
            f"{res.chemistry}: {res.source} ({res.flag})",
        ),
    )


def etch_outputs(
    mode: str, layers: Any, aspect_ratio: Any, chemistry: Any, chambers: Any
) -> tuple[View, Any, list[str]]:
    """Everything the etch card shows: (view, answer panel, message beside each of :data:`ETCH_CONTROLS`)."""
    return ETCH.outputs(mode, layers, aspect_ratio, chemistry, chambers)


ETCH = Calculator(ETCH_CONTROLS, "etch-answer", etch_request, etch_view, etch_rows, 320)
"""The etch calculator (its first control value is the mode: layers or aspect ratio)."""


def etch_card() -> html.Div:
    """The etch calculator card: controls (defaults from :class:`EtchRequest`), chart, answer."""
    ids = {field: control_id for field, (control_id, _) in ETCH_CONTROLS.items()}
    return ui.chart_card(
        "cap-etch",
        "Etch calculator (high-aspect-ratio holes)",
        subtitle="hardware_sim.fab.etch: Knudsen transport (Clausing) + ion shadowing; 3D NAND stacks over "
        f"{etch_physics.DEFAULT_MAX_LAYERS_PER_DECK} layers are etched in decks",
        controls=[
            ui.control(
                "Input",
                dcc.RadioItems(
                    id="etch-mode",
                    inline=True,
                    value=ETCH_EXAMPLE["mode"],
                    options=[
                        {"label": " NAND layers", "value": "layers"},
                        {"label": " aspect ratio", "value": "aspect_ratio"},
                    ],
                ),
            ),
            control_with_message("Layers", number_box(ids["layers"], ETCH_EXAMPLE["layers"]), ids["layers"]),
            control_with_message(
                "Aspect ratio",
                number_box(ids["aspect_ratio"], ETCH_EXAMPLE["aspect_ratio"]),
                ids["aspect_ratio"],
            ),
            control_with_message(
                "Chemistry",
                dcc.RadioItems(
                    id=ids["chemistry"],
                    inline=True,
                    value=default_of(EtchRequest, "chemistry"),
                    options=[{"label": f" {c}", "value": c} for c in sorted(etch_physics.CHEMISTRIES)],
                ),
                ids["chemistry"],
            ),
            control_with_message(
                "Chambers",
                number_box(ids["chambers"], default_of(EtchRequest, "chambers"), "110px"),
                ids["chambers"],
            ),
        ],
        footer=ui.answer_slot("etch-answer-wrap"),
    )


# ------------------------------------------------------------------------------------------- fab
def fab_answer(process: Any, wspm: Any) -> FabResult | RequestRefused:
    """The fab calculator's answer: the simulator's result, or the refusal of the inputs."""
    return FAB.answer(process, wspm)


def fab_rows(res: FabResult) -> list[tuple[str, str]]:
    """(label, value) rows of a fab answer."""
    return [
        ("process", f"{res.process}: {res.name}"),
        ("wafer starts / month", f"{res.wspm:,.0f}"),
        ("tools (all types)", f"{res.total_tools:,}"),
        ("litho passes / wafer", f"{res.litho_passes:,.0f}"),
        ("tool capex, USD bn", f"{res.capex_usd_b:,.2f}"),
        *(
            [("capex per 10k WSPM, USD bn", f"{res.capex_usd_b_per_10k_wspm:,.2f}")]
            if res.capex_usd_b_per_10k_wspm is not None
            else []
        ),
        ("uptime", f"{res.uptime:.0%}"),
        ("utilisation", f"{res.utilisation:.0%}"),
        ("hours / month", f"{res.hours_per_month:,.0f}"),
        ("flag", f"{res.flag} — tool counts are first-principles estimates"),
    ]


def fab_view(res: FabResult, *, height: int = 360) -> View:
    """Tool count per tool type for the fab calculator's answer."""
    tools = pl.DataFrame([t.model_dump() for t in res.tools], infer_schema_length=None)
    if tools.is_empty():
        return empty_view("the process flow lists no tools", height=height)
    tools = tools.sort("count", descending=True)
    hover = "%{x}: %{y:,.0f} tools<br>%{customdata[0]:g} passes/wafer · %{customdata[1]:.1f} wafers/h<extra></extra>"
    fig = ranked_bars(
        tools, "type", "count", ("passes_per_wafer", "wafers_per_hour"), hover, colour=ui.FOREIGN
    )
    ui.styled(fig, height=height, yaxis_title="tools needed")
    sources = tuple(dict.fromkeys(s for s in [res.source, *tools["source"].to_list()] if s))
    return View(fig, tools, sources)


def fab_outputs(process: Any, wspm: Any) -> tuple[View, Any, list[str]]:
    """Everything the fab card shows: (view, answer panel, message beside each of :data:`FAB_CONTROLS`)."""
    return FAB.outputs(process, wspm)


FAB = Calculator(
    FAB_CONTROLS,
    "fab-answer",
    lambda process, wspm: FabRequest.build(process=process, wspm=wspm),
    fab_view,
    fab_rows,
    360,
)
"""The fab calculator."""


def fab_card() -> html.Div:
    """The fab calculator card: process flow and WSPM (limits from :class:`FabRequest`), chart, answer."""
    flows = process_flow_ids()
    process_id, wspm_id = FAB_CONTROLS["process"][0], FAB_CONTROLS["wspm"][0]
    return ui.chart_card(
        "cap-fab",
        "Fab calculator (tools for a process and WSPM)",
        subtitle="tools = WSPM × passes × hours per pass ÷ (hours/month × uptime × utilisation)",
        controls=[
            control_with_message(
                "Process flow",
                dcc.Dropdown(
                    id=process_id,
                    options=flows,
                    value=next((f for f in flows if "7nm" in f), flows[0]),
                    clearable=False,
                    style={"width": "220px"},
                ),
                process_id,
            ),
            control_with_message(
                "Wafer starts / month", number_box(wspm_id, FAB_EXAMPLE_WSPM, "150px"), wspm_id
            ),
        ],
        footer=ui.answer_slot("fab-answer-wrap"),
    )
