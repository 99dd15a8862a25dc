"""Capacity & tooling: fab capacity over time, tool demand and domestic share, domestic tool supply,
etch/fab calculators."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import logic
from app.dashboard.pages import capacity_calculators as calc
from app.dashboard.pages.calculator_widgets import message_id

dash.register_page(
    __name__, path="/capacity", name="Capacity & tooling", title="fabscope · Capacity", order=3
)


def capacity(dimension: str, products: list[str] | None, countries: list[str] | None) -> logic.View:
    """Logic of the capacity chart."""
    return logic.capacity_view(q.fab_capacity(ui.current_db()), dimension, products, countries)


def tool_demand(scenario_id: str | None) -> logic.View:
    """Logic of the tool-demand chart (falls back to the bundled domestic shares per tool type)."""
    db = ui.current_db()
    return logic.tool_demand_view(q.tool_demand(db, scenario_id), q.tool_domestic_share(db))


def tool_supply(scenario_id: str | None) -> logic.View:
    """Logic of the domestic tool-supply chart (new domestic tools demanded vs AMEC/Naura supply)."""
    return logic.tool_supply_view(q.tool_supply(ui.current_db(), scenario_id))


def etch(mode: str, layers: Any, aspect_ratio: Any, chemistry: str, chambers: Any) -> tuple[logic.View, Any]:
    """The etch calculator: ARDE curve and the answer panel (or the refusal)."""
    view, answer, _messages = calc.etch_outputs(mode, layers, aspect_ratio, chemistry, chambers)
    return view, answer


def fab(process: str | None, wspm: Any) -> tuple[logic.View, Any]:
    """The fab calculator: tools per type and a summary (or the refusal)."""
    view, answer, _messages = calc.fab_outputs(process, wspm)
    return view, answer


def layout(**_: object) -> html.Div:
    db = ui.current_db()
    cap = q.fab_capacity(db)
    products = sorted(cap.frame["product"].drop_nulls().unique().to_list()) if cap.ok else []
    countries = sorted(cap.frame["country"].drop_nulls().unique().to_list()) if cap.ok else []
    td = q.tool_demand(db)
    scenarios = td.frame["scenario_id"].unique().sort().to_list() if td.ok else []
    ts = q.tool_supply(db)
    supply_scenarios = ts.frame["scenario_id"].unique().sort().to_list() if ts.ok else []
    return html.Div(
        [
            ui.page_header(
                "Capacity & tooling",
                "Who can make what, where; which tools that takes, and how much of "
                "them China can buy at home.",
            ),
            ui.chart_card(
                "cap-capacity",
                "Fab capacity over time",
                subtitle="300 mm-equivalent wafer starts/month (200 mm fabs × (200/300)²); each line is one fab or "
                "analyst series — never summed, since totals and competing estimates overlap; "
                "hollow = estimate",
                controls=[
                    ui.control(
                        "Colour by",
                        dcc.RadioItems(
                            id="cap-dimension",
                            inline=True,
                            value="company",
                            options=[
                                {"label": f" {v}", "value": k} for k, v in logic.CAPACITY_DIMENSIONS.items()
                            ],
                        ),
                    ),
                    ui.control(
                        "Products",
                        dcc.Dropdown(
                            id="cap-products", options=products, value=[], multi=True, placeholder="all"
                        ),
                        wide=True,
                    ),
                    ui.control(
                        "Countries",
                        dcc.Dropdown(
                            id="cap-countries", options=countries, value=[], multi=True, placeholder="all"
                        ),
                        wide=True,
                    ),
                ],
            ),
            ui.chart_card(
                "cap-tools",
                "Tool demand by type and domestic share",
                subtitle="bars: tools needed per year (stacked by type); dotted: share from domestic vendors",
                controls=[
                    ui.control(
                        "Scenario",
                        dcc.Dropdown(
                            id="cap-tool-scenario",
                            options=scenarios,
                            value=scenarios[0] if scenarios else None,
                            placeholder=td.reason if td.empty else "scenario",
                            style={"width": "260px"},
                        ),
                    )
                ],
            ),
            ui.chart_card(
                "cap-supply",
                "Domestic etch & deposition tools: demand vs AMEC/Naura supply",
                subtitle="all figures are estimates — supply = upper bound from vendor revenue (revenue × split ÷ "
                "tool price); demand = floor from capacity additions (new tools × domestic share); "
                "solid: demand, hatched: supply; coverage in the hover",
                controls=[
                    ui.control(
                        "Scenario",
                        dcc.Dropdown(
                            id="cap-supply-scenario",
                            options=supply_scenarios,
                            value=supply_scenarios[0] if supply_scenarios else None,
                            placeholder=ts.reason if ts.empty else "scenario",
                            style={"width": "260px"},
                        ),
                    )
                ],
            ),
            html.Div(
                className="grid grid-2",
                children=[
                    calc.etch_card(),
                    calc.fab_card(),
                ],
            ),
        ]
    )


@callback(
    *ui.card_outputs("cap-capacity"),
    Input("cap-dimension", "value"),
    Input("cap-products", "value"),
    Input("cap-countries", "value"),
)
def _update_capacity(dimension: str, products: list[str] | None, countries: list[str] | None) -> tuple:
    return capacity(dimension, products, countries).card_outputs


@callback(*ui.card_outputs("cap-tools"), Input("cap-tool-scenario", "value"))
def _update_tools(scenario_id: str | None) -> tuple:
    return tool_demand(scenario_id).card_outputs


@callback(*ui.card_outputs("cap-supply"), Input("cap-supply-scenario", "value"))
def _update_supply(scenario_id: str | None) -> tuple:
    return tool_supply(scenario_id).card_outputs


@callback(
    *ui.card_outputs("cap-etch"),
    Output("etch-answer-wrap", "children"),
    *[Output(message_id(control_id), "children") for control_id, _ in calc.ETCH_CONTROLS.values()],
    Input("etch-mode", "value"),
    *[Input(control_id, "value") for control_id, _ in calc.ETCH_CONTROLS.values()],
)
def _update_etch(mode: str, layers: Any, ar: Any, chem: Any, chambers: Any) -> tuple:
    view, answer, messages = calc.etch_outputs(mode, layers, ar, chem, chambers)
    return (*view.card_outputs, answer, *messages)


@callback(
    *ui.card_outputs("cap-fab"),
    Output("fab-answer-wrap", "children"),
    *[Output(message_id(control_id), "children") for control_id, _ in calc.FAB_CONTROLS.values()],
    *[Input(control_id, "value") for control_id, _ in calc.FAB_CONTROLS.values()],
)
def _update_fab(process: Any, wspm: Any) -> tuple:
    view, answer, messages = calc.fab_outputs(process, wspm)
    return (*view.card_outputs, answer, *messages)
