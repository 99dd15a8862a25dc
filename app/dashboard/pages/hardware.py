"""Hardware: chips and systems side by side, power breakdown, perf/W, and an LLM serving calculator."""

from __future__ import annotations

from typing import Any

import dash
import polars as pl
from dash import Input, Output, callback, dcc, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import logic
from app.dashboard.pages import hardware_calculator as calc
from app.dashboard.pages.calculator_widgets import message_id

dash.register_page(__name__, path="/hardware", name="Hardware", title="fabscope · Hardware", order=4)

DEFAULT_CHIPS = ("h100-sxm", "h20", "b200", "ascend-910b", "ascend-910c")
DEFAULT_SYSTEMS = ("gb200-nvl72", "cloudmatrix-384", "hgx-h100-8", "hgx-h20-8")
SPEC_ROWS = (
    "vendor",
    "bf16_tflops",
    "int8_tops",
    "hbm_gb",
    "hbm_tbps",
    "scaleup_gbps",
    "tdp_w",
    "tflops_per_w",
    "flag",
)


def spec_table(ids: list[str] | None) -> Any:
    """Chips side by side: one row per spec, one column per chip."""
    chips = q.chip_specs(ui.current_db())
    if chips.empty:
        return ui.empty_state(chips.reason, title="Chip specs")
    table = logic.chip_table(chips.frame, ids)
    if table.is_empty():
        return ui.empty_state("pick at least one chip", title="Chip specs")
    records = []
    for spec in SPEC_ROWS:
        row: dict[str, Any] = {"spec": logic.CHIP_METRICS.get(spec, spec)}
        for r in table.iter_rows(named=True):
            v = r.get(spec)
            row[r["id"]] = f"{v:,.4g}" if isinstance(v, float) else ("—" if v is None else str(v))
        records.append(row)
    return ui.data_table(pl.DataFrame(records), table_id="hw-spec-table", page_size=len(SPEC_ROWS))


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
    """The LLM calculator: the sweep view and the answer panel (or the refusal)."""
    view, answer, _messages = calc.llm_outputs(
        system, model, phase, precision, batch, tpot, input_len, output_len
    )
    return view, answer


def layout(**_: object) -> html.Div:
    db = ui.current_db()
    chips, systems = q.chip_specs(db), q.system_perf(db)
    chip_ids = chips.frame["id"].to_list() if chips.ok else []
    system_ids = systems.frame["id"].to_list() if systems.ok else []
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
                            value=[c for c in DEFAULT_CHIPS if c in chip_ids] or chip_ids[:5],
                        ),
                        wide=True,
                    ),
                    ui.control(
                        "Metric",
                        dcc.Dropdown(
                            id="hw-chip-metric",
                            clearable=False,
                            value="bf16_tflops",
                            options=[{"label": v, "value": k} for k, v in logic.CHIP_METRICS.items()],
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
                            value=[s for s in DEFAULT_SYSTEMS if s in system_ids] or system_ids[:4],
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
            calc.llm_card(),
        ]
    )


@callback(
    *ui.card_outputs("hw-chips"),
    Output("hw-spec-wrap", "children"),
    Input("hw-chip-ids", "value"),
    Input("hw-chip-metric", "value"),
)
def _update_chips(ids: list[str] | None, metric: str) -> tuple:
    view = logic.chip_compare_view(q.chip_specs(ui.current_db()), ids or [], metric)
    return (*view.card_outputs, spec_table(ids or []))


@callback(
    *ui.card_outputs("hw-power"),
    *ui.card_outputs("hw-perfw"),
    Input("hw-system-ids", "value"),
    Input("hw-power-unit", "value"),
)
def _update_systems(ids: list[str] | None, unit: str) -> tuple:
    systems = q.system_perf(ui.current_db())
    power = logic.power_view(systems, ids or [], per_chip=unit == "chip")
    perfw = logic.perf_per_watt_view(systems, ids or [])
    return (*power.card_outputs, *perfw.card_outputs)


@callback(
    *ui.card_outputs("hw-llm"),
    Output("llm-answer-wrap", "children"),
    *[Output(message_id(control_id), "children") for control_id, _ in calc.LLM_CONTROLS.values()],
    *[Input(control_id, "value") for control_id, _ in calc.LLM_CONTROLS.values()],
)
def _update_llm(*values: Any) -> tuple:
    view, answer, messages = calc.llm_outputs(*values)
    return (*view.card_outputs, answer, *messages)
