"""Hardware: chips and systems side by side, power breakdown, perf/W, and an LLM serving calculator."""

from __future__ import annotations

from typing import Any

import dash
import polars as pl
from dash import Input, Output, callback, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import share
from app.dashboard.pages import hardware_calculator as calc
from app.dashboard.pages import hardware_views as views

dash.register_page(__name__, path="/hardware", name="Hardware", title="fabscope · Hardware", order=4)

SHARE = "hardware-share"
STATE = {
    "chips": ("hw-chip-ids", "value"),
    "metric": ("hw-chip-metric", "value"),
    "systems": ("hw-system-ids", "value"),
    "power": ("hw-power-unit", "value"),
    **{field: (control_id, "value") for field, (control_id, _) in calc.LLM_CONTROLS.items()},
}
"""What of the page its link holds (``share``)."""


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
) -> tuple[views.View, Any]:
    """The LLM calculator: the sweep view and the answer panel (or the refusal)."""
    view, answer, _messages = calc.llm_outputs(
        system, model, phase, precision, batch, tpot, input_len, output_len
    )
    return view, answer


def _defaults(preferred: tuple[str, ...], ids: list[str]) -> list[str]:
    """The ``preferred`` ids on offer, else the first as many of ``ids``."""
    return [i for i in preferred if i in ids] or ids[: len(preferred)]


def layout(**query: object) -> html.Div:
    """The page; its state restored from the URL ``query`` (see :data:`STATE`)."""
    db = ui.current_db()
    chips, systems = q.chip_specs(db), q.system_perf(db)
    chip_ids = chips.frame["id"].to_list() if chips.ok else []
    system_ids = systems.frame["id"].to_list() if systems.ok else []
    tree = html.Div(
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
                    ui.picker(
                        "Chips",
                        "hw-chip-ids",
                        chip_ids,
                        _defaults(views.DEFAULT_CHIPS, chip_ids),
                        multi=True,
                    ),
                    ui.picker(
                        "Metric",
                        "hw-chip-metric",
                        views.CHIP_METRICS,
                        "bf16_tflops",
                        width=240,
                        clearable=False,
                    ),
                ],
                footer=ui.answer_slot("hw-spec-wrap"),
            ),
            html.Div(
                className="controls-row",
                children=[
                    ui.picker(
                        "Systems",
                        "hw-system-ids",
                        system_ids,
                        _defaults(views.DEFAULT_SYSTEMS, system_ids),
                        multi=True,
                    ),
                    ui.choice(
                        "Power per",
                        "hw-power-unit",
                        {"system": "system (kW)", "chip": "accelerator (W)"},
                        "chip",
                    ),
                    share.share_control(SHARE),
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
            ui.panel(
                "Systems compared",
                html.Div(id="hw-systems-wrap"),
                subtitle="the systems picked above, as the warehouse stores them (system_perf, from hardware_sim)",
            ),
            calc.llm_card(),
        ]
    )
    return share.restore(tree, query, STATE)


share.register("/hardware", SHARE, STATE)


@callback(Output("hw-systems-wrap", "children"), Input("hw-system-ids", "value"))
def _update_systems_table(ids: list[str] | None) -> Any:
    systems = q.system_perf(ui.current_db())
    frame, formats = views.systems_table(systems, ids or [])
    if frame.is_empty():
        return ui.empty_state(systems.reason or "pick systems above", title="Systems")
    return ui.data_table(frame, table_id="hw-systems-table", formats=formats, page_size=20)


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
    *calc.LLM.message_outputs(),
    *calc.LLM.inputs(),
)
def _update_llm(*values: Any) -> tuple:
    view, answer, messages = calc.llm_outputs(*values)
    return (*view.card_outputs, answer, *messages)
