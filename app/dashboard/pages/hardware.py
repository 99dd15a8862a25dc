"""Hardware: chips and systems side by side, power breakdown, perf/W, and an LLM serving calculator."""

from __future__ import annotations

from typing import Any

import dash
import polars as pl
from dash import Input, Output, callback, dcc, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import logic
from app.dashboard.pages import hardware_views as views

dash.register_page(__name__, path="/hardware", name="Hardware", title="fabscope · Hardware", order=4)


def spec_table(db: str, ids: list[str] | None) -> Any:
    """Chips side by side: one row per spec, one column per chip."""
    chips = q.chip_specs(db)
    if chips.empty:
        return ui.empty_state(chips.reason, title="Chip specs")
    records = views.spec_records(chips.frame, ids)
    if not records:
        return ui.empty_state("pick at least one chip", title="Chip specs")
    return ui.data_table(pl.DataFrame(records), table_id="hw-spec-table", page_size=len(views.SPEC_ROWS))


def calculator(
    system: str | None,
    model: str | None,
    phase: str,
    precision: str,
    batch: Any,
    tpot: Any,
    input_len: Any,
    output_len: Any,
) -> tuple[logic.View, Any]:
    """Logic of the LLM calculator: the sweep view and the answer panel."""
    res = logic.llm_serving(system, model, phase, precision, batch, tpot, input_len, output_len)
    rows = logic.llm_result_rows(res)
    answer = (
        ui.error_panel(res["error"], "llm-answer") if "error" in res else ui.answer_panel(rows, "llm-answer")
    )
    return logic.llm_view(res), answer


def layout(**_: object) -> html.Div:
    db = ui.current_db()
    chips, systems = q.chip_specs(db), q.system_perf(db)
    chip_ids = chips.frame["id"].to_list() if chips.ok else []
    system_ids = systems.frame["id"].to_list() if systems.ok else []
    try:
        from hardware_sim.accelerators.catalog import llm_ids
        from hardware_sim.accelerators.catalog import system_ids as sim_systems

        models, calc_systems = llm_ids(), sim_systems()
    except ImportError:
        models, calc_systems = [], []
    default_model = "deepseek-r1" if "deepseek-r1" in models else (models[0] if models else None)
    default_system = (
        "cloudmatrix-384"
        if "cloudmatrix-384" in calc_systems
        else (calc_systems[0] if calc_systems else None)
    )
    return html.Div(
        [
            ui.page_header(
                "Hardware",
                "Accelerators and systems from the hardware_sim catalog; power built up from "
                "components; LLM serving estimated with a roofline model.",
            ),
            ui.chart_card(
                "hw-chips",
                "Chips side by side",
                subtitle="dense figures; red = Chinese vendor; TFLOP/s per W uses chip TDP only",
                controls=[
                    ui.control(
                        "Chips",
                        dcc.Dropdown(
                            id="hw-chip-ids",
                            options=ui.id_options(chip_ids),
                            multi=True,
                            value=[c for c in views.DEFAULT_CHIPS if c in chip_ids] or chip_ids[:5],
                        ),
                        wide=True,
                    ),
                    ui.control(
                        "Metric",
                        dcc.Dropdown(
                            id="hw-chip-metric",
                            clearable=False,
                            value="bf16_tflops",
                            options=[{"label": v, "value": k} for k, v in views.CHIP_METRICS.items()],
                            style={"width": "240px"},
                        ),
                    ),
                ],
                footer=ui.answer_slot("hw-spec-wrap"),
            ),
            html.Div(
                className="controls-row",
                children=[
                    ui.control(
                        "Systems",
                        dcc.Dropdown(
                            id="hw-system-ids",
                            options=ui.id_options(system_ids),
                            multi=True,
                            value=[s for s in views.DEFAULT_SYSTEMS if s in system_ids] or system_ids[:4],
                        ),
                        wide=True,
                    ),
                    ui.control(
                        "Power per",
                        dcc.RadioItems(
                            id="hw-power-unit",
                            inline=True,
                            value="chip",
                            options=[
                                {"label": " system (kW)", "value": "system"},
                                {"label": " accelerator (W)", "value": "chip"},
                            ],
                        ),
                    ),
                ],
            ),
            html.Div(
                className="grid grid-2",
                children=[
                    ui.chart_card(
                        "hw-power",
                        "Power breakdown",
                        subtitle="computed from components (chips, HBM, hosts, "
                        "switches, optics, cooling/PUE)",
                    ),
                    ui.chart_card(
                        "hw-perfw", "Performance per watt", subtitle="BF16 PFLOP/s per kW at the wall"
                    ),
                ],
            ),
            ui.chart_card(
                "hw-llm",
                "LLM serving calculator",
                subtitle="tokens/s per chip at the chosen batch (★) and across batches; with a TPOT target the "
                "largest batch meeting it is searched",
                controls=[
                    ui.control(
                        "System",
                        dcc.Dropdown(
                            id="llm-system",
                            options=ui.id_options(calc_systems),
                            value=default_system,
                            clearable=False,
                            style={"width": "190px"},
                        ),
                    ),
                    ui.control(
                        "Model",
                        dcc.Dropdown(
                            id="llm-model",
                            options=ui.id_options(models),
                            value=default_model,
                            clearable=False,
                            style={"width": "170px"},
                        ),
                    ),
                    ui.control(
                        "Phase",
                        dcc.RadioItems(
                            id="llm-phase", options=ui.id_options(logic.PHASES), value="decode", inline=True
                        ),
                    ),
                    ui.control(
                        "Precision",
                        dcc.RadioItems(
                            id="llm-precision",
                            options=ui.id_options(logic.PRECISIONS),
                            value="fp8",
                            inline=True,
                        ),
                    ),
                    ui.control(
                        "Batch / chip",
                        dcc.Input(
                            id="llm-batch",
                            type="number",
                            value=32,
                            min=1,
                            max=logic.MAX_CALC_BATCH,
                            step=1,
                            debounce=True,
                            style={"width": "120px"},
                        ),
                    ),
                    ui.control(
                        "TPOT target ms",
                        dcc.Input(
                            id="llm-tpot",
                            type="number",
                            value=None,
                            min=0,
                            step="any",
                            placeholder="optional",
                            debounce=True,
                            style={"width": "140px"},
                        ),
                    ),
                    ui.control(
                        "Input tokens",
                        dcc.Input(
                            id="llm-input",
                            type="number",
                            value=2048,
                            min=1,
                            step=1,
                            debounce=True,
                            style={"width": "130px"},
                        ),
                    ),
                    ui.control(
                        "Output tokens",
                        dcc.Input(
                            id="llm-output",
                            type="number",
                            value=512,
                            min=0,
                            step=1,
                            debounce=True,
                            style={"width": "130px"},
                        ),
                    ),
                ],
                footer=ui.answer_slot("llm-answer-wrap"),
            )
            if models
            else ui.empty_state(
                "hardware_sim.accelerators.llm is not available in this build", title="LLM calculator"
            ),
        ]
    )


@callback(
    *ui.card_outputs("hw-chips"),
    Output("hw-spec-wrap", "children"),
    Input("hw-chip-ids", "value"),
    Input("hw-chip-metric", "value"),
)
def _update_chips(ids: list[str] | None, metric: str) -> tuple:
    db = ui.current_db()
    view = views.chip_compare_view(q.chip_specs(db), ids or [], metric)
    return (*view.card_outputs, spec_table(db, ids or []))


@callback(
    *ui.card_outputs("hw-power"),
    *ui.card_outputs("hw-perfw"),
    Input("hw-system-ids", "value"),
    Input("hw-power-unit", "value"),
)
def _update_systems(ids: list[str] | None, unit: str) -> tuple:
    systems = q.system_perf(ui.current_db())
    power = views.power_view(systems, ids or [], per_chip=unit == "chip")
    perfw = views.perf_per_watt_view(systems, ids or [])
    return (*power.card_outputs, *perfw.card_outputs)


@callback(
    *ui.card_outputs("hw-llm"),
    Output("llm-answer-wrap", "children"),
    Input("llm-system", "value"),
    Input("llm-model", "value"),
    Input("llm-phase", "value"),
    Input("llm-precision", "value"),
    Input("llm-batch", "value"),
    Input("llm-tpot", "value"),
    Input("llm-input", "value"),
    Input("llm-output", "value"),
)
def _update_llm(
    system: str | None,
    model: str | None,
    phase: str,
    precision: str,
    batch: Any,
    tpot: Any,
    n_in: Any,
    n_out: Any,
) -> tuple:
    view, answer = calculator(system, model, phase, precision, batch, tpot, n_in, n_out)
    return (*view.card_outputs, answer)
