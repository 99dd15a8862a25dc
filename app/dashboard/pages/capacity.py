"""Capacity & tooling: fab capacity over time, tool demand and domestic share, domestic tool supply,
etch/fab calculators."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import share
from app.dashboard.pages import capacity_calculators as calc
from app.dashboard.pages import capacity_views as views

dash.register_page(
    __name__, path="/capacity", name="Capacity & tooling", title="fabscope · Capacity", order=3
)

SHARE = "capacity-share"
STATE = {
    "dimension": ("cap-dimension", "value"),
    "products": ("cap-products", "value"),
    "countries": ("cap-countries", "value"),
    "tools": ("cap-tool-scenario", "value"),
    "bars": ("cap-tool-measure", "value"),
    "supply": ("cap-supply-scenario", "value"),
    "etch": ("etch-mode", "value"),
    **{field: (control_id, "value") for field, (control_id, _) in calc.ETCH_CONTROLS.items()},
    **{field: (control_id, "value") for field, (control_id, _) in calc.FAB_CONTROLS.items()},
}
"""What of the page its link holds (``share``)."""


def capacity(db: str, dimension: str, products: list[str] | None, countries: list[str] | None) -> views.View:
    """Logic of the capacity chart."""
    return views.capacity_view(q.fab_capacity(db), dimension, products, countries)


def tool_demand(db: str, scenario_id: str | None, measure: str = "tools_new") -> views.View:
    """Logic of the tool-demand chart (falls back to the bundled domestic shares per tool type)."""
    return views.tool_demand_view(q.tool_demand(db, scenario_id), q.tool_domestic_share(db), measure)


def tool_supply(db: str, scenario_id: str | None) -> views.View:
    """Logic of the domestic tool-supply chart (new domestic tools demanded vs AMEC/Naura supply)."""
    return views.tool_supply_view(q.tool_supply(db, scenario_id))


def etch(mode: str, layers: Any, aspect_ratio: Any, chemistry: str, chambers: Any) -> tuple[views.View, Any]:
    """The etch calculator: ARDE curve and the answer panel (or the refusal)."""
    view, answer, _messages = calc.etch_outputs(mode, layers, aspect_ratio, chemistry, chambers)
    return view, answer


def fab(process: str | None, wspm: Any) -> tuple[views.View, Any]:
    """The fab calculator: tools per type and a summary (or the refusal)."""
    view, answer, _messages = calc.fab_outputs(process, wspm)
    return view, answer


def _scenario_picker(ident: str, rows: q.QueryResult) -> html.Div:
    """A scenario dropdown over the scenario ids in ``rows`` (the first picked; the reason when none)."""
    scenarios = rows.frame["scenario_id"].unique().sort().to_list() if rows.ok else []
    first = scenarios[0] if scenarios else None
    return ui.picker(
        "Scenario", ident, scenarios, first, width=260, placeholder=rows.reason if rows.empty else "scenario"
    )


def _capacity_card(db: str) -> html.Div:
    cap = q.fab_capacity(db)
    products = sorted(cap.frame["product"].drop_nulls().unique().to_list()) if cap.ok else []
    countries = sorted(cap.frame["country"].drop_nulls().unique().to_list()) if cap.ok else []
    return ui.chart_card(
        "cap-capacity",
        "Fab capacity over time",
        subtitle="300 mm-equivalent wafer starts/month (200 mm fabs × (200/300)²); each line is one fab or "
        "analyst series — never summed, since totals and competing estimates overlap; "
        "hollow = estimate",
        controls=[
            ui.choice("Colour by", "cap-dimension", views.CAPACITY_DIMENSIONS, "company"),
            ui.picker("Products", "cap-products", products, [], multi=True, placeholder="all"),
            ui.picker("Countries", "cap-countries", countries, [], multi=True, placeholder="all"),
        ],
    )


def _tool_cards(db: str) -> list[html.Div]:
    return [
        ui.chart_card(
            "cap-tools",
            "Tool demand by type and domestic share",
            subtitle="bars (stacked by type): annual additions (new tools that year) or the installed base; "
            "dotted: that year's share from domestic vendors (the latest reference figure of that year or "
            "before; a gap where there is none yet)",
            controls=[
                _scenario_picker("cap-tool-scenario", q.tool_demand(db)),
                ui.choice("Bars", "cap-tool-measure", views.TOOL_MEASURES, "tools_new"),
            ],
        ),
        ui.chart_card(
            "cap-supply",
            "Domestic etch & deposition tools: demand vs AMEC/Naura supply",
            subtitle="all figures are estimates — supply = upper bound from vendor revenue (revenue × split ÷ "
            "tool price); demand = floor from capacity additions (new tools × domestic share); "
            "solid: demand, hatched: supply; coverage in the hover",
            controls=[_scenario_picker("cap-supply-scenario", q.tool_supply(db))],
        ),
    ]


def layout(**query: object) -> html.Div:
    """The page; its state restored from the URL ``query`` (see :data:`STATE`)."""
    db = ui.current_db()
    tree = html.Div(
        [
            ui.page_header(
                "Capacity & tooling",
                "Who can make what, where; which tools that takes, and how much of "
                "them China can buy at home.",
            ),
            html.Div(share.share_control(SHARE), className="controls-row"),
            _capacity_card(db),
            *_tool_cards(db),
            html.Div(className="grid grid-2", children=[calc.etch_card(), calc.fab_card()]),
        ]
    )
    return share.restore(tree, query, STATE)


share.register("/capacity", SHARE, STATE)


@callback(
    *ui.card_outputs("cap-capacity"),
    Input("cap-dimension", "value"),
    Input("cap-products", "value"),
    Input("cap-countries", "value"),
)
def _update_capacity(dimension: str, products: list[str] | None, countries: list[str] | None) -> tuple:
    return capacity(ui.current_db(), dimension, products, countries).card_outputs


@callback(
    *ui.card_outputs("cap-tools"), Input("cap-tool-scenario", "value"), Input("cap-tool-measure", "value")
)
def _update_tools(scenario_id: str | None, measure: str) -> tuple:
    return tool_demand(ui.current_db(), scenario_id, measure).card_outputs


@callback(*ui.card_outputs("cap-supply"), Input("cap-supply-scenario", "value"))
def _update_supply(scenario_id: str | None) -> tuple:
    return tool_supply(ui.current_db(), scenario_id).card_outputs


@callback(
    *ui.card_outputs("cap-etch"),
    Output("etch-answer-wrap", "children"),
    *calc.ETCH.message_outputs(),
    Input("etch-mode", "value"),
    *calc.ETCH.inputs(),
)
def _update_etch(mode: str, layers: Any, ar: Any, chem: Any, chambers: Any) -> tuple:
    view, answer, messages = calc.etch_outputs(mode, layers, ar, chem, chambers)
    return (*view.card_outputs, answer, *messages)


@callback(
    *ui.card_outputs("cap-fab"),
    Output("fab-answer-wrap", "children"),
    *calc.FAB.message_outputs(),
    *calc.FAB.inputs(),
)
def _update_fab(process: Any, wspm: Any) -> tuple:
    view, answer, messages = calc.fab_outputs(process, wspm)
    return (*view.card_outputs, answer, *messages)
