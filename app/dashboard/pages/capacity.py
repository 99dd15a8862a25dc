"""Capacity & tooling: fab capacity over time, tool demand and domestic share, domestic tool supply,
etch/fab calculators."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import logic
from app.dashboard.pages import capacity_views as views

dash.register_page(
    __name__, path="/capacity", name="Capacity & tooling", title="fabscope · Capacity", order=3
)


def capacity(db: str, dimension: str, products: list[str] | None, countries: list[str] | None) -> views.View:
    """Logic of the capacity chart."""
    return views.capacity_view(q.fab_capacity(db), dimension, products, countries)


def tool_demand(db: str, scenario_id: str | None, measure: str = "tools_new") -> views.View:
    """Logic of the tool-demand chart (falls back to the bundled domestic shares per tool type)."""
    return views.tool_demand_view(q.tool_demand(db, scenario_id), q.tool_domestic_share(db), measure)


def tool_supply(db: str, scenario_id: str | None) -> views.View:
    """Logic of the domestic tool-supply chart (new domestic tools demanded vs AMEC/Naura supply)."""
    return views.tool_supply_view(q.tool_supply(db, scenario_id))


def etch(mode: str, layers: Any, aspect_ratio: Any, chemistry: str, chambers: Any) -> tuple[logic.View, Any]:
    """Logic of the etch calculator: ARDE curve and the answer panel."""
    res = logic.etch_calculator(mode, layers, aspect_ratio, chemistry, chambers)
    if "error" in res:
        return logic.etch_view(res), ui.error_panel(res["error"], "etch-answer")
    rows = [
        ("aspect ratio (per deck)", f"{res['aspect_ratio']:.1f}"),
        (
            "bottom etch rate",
            f"{res['etch_rate_nm_min']:.0f} nm/min (open field {res['open_field_rate_nm_min']:.0f})",
        ),
        ("etch time", f"{res['etch_time_min']:.1f} min over {res['decks']} deck(s)"),
        ("hole depth", f"{res['stack_height_nm'] / 1000:.2f} µm, Ø {res['hole_diameter_nm']:.0f} nm"),
        (
            "wafers per hour",
            f"{res['wafers_per_hour']:.2f} per tool ({res['chambers']} chamber(s), "
            f"{res['limited_by']}-limited)",
        ),
    ]
    return logic.etch_view(res), ui.answer_panel(rows, "etch-answer")


def fab(process: str | None, wspm: Any) -> tuple[logic.View, Any]:
    """Logic of the fab calculator: tools per type and a summary."""
    res = logic.fab_calculator(process, wspm)
    view = logic.fab_view(res)
    if "error" in res:
        return view, ui.error_panel(res["error"], "fab-answer")
    total = sum(float(t["count"]) for t in res["tools"])
    rows = [
        ("process", f"{res.get('process', process)}: {res.get('name', '')}"),
        ("wafer starts / month", f"{int(res.get('wspm', wspm)):,}"),
        ("tools (all types)", f"{res.get('total_tools', total):,.0f}"),
    ]
    for key, label, fmt in (
        ("litho_passes", "litho passes / wafer", "{:,.0f}"),
        ("capex_usd_b", "tool capex, USD bn", "{:,.2f}"),
        ("capex_usd_b_per_10k_wspm", "capex per 10k WSPM, USD bn", "{:,.2f}"),
        ("uptime", "uptime", "{:.0%}"),
        ("utilisation", "utilisation", "{:.0%}"),
        ("hours_per_month", "hours / month", "{:,.0f}"),
    ):
        if isinstance(res.get(key), int | float):
            rows.append((label, fmt.format(res[key])))
    rows.append(("flag", f"{res.get('flag', 'estimate')} — tool counts are first-principles estimates"))
    return view, ui.answer_panel(rows, "fab-answer")


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


def _calculator_cards() -> html.Div:
    flows = logic.process_flow_ids()
    default_flow = next((f for f in flows if "7nm" in f), flows[0] if flows else None)
    etch_card = ui.chart_card(
        "cap-etch",
        "Etch calculator (high-aspect-ratio holes)",
        subtitle="hardware_sim.fab.etch: Knudsen transport (Clausing) + ion shadowing; 3D NAND stacks "
        "over 128 layers are etched in decks",
        controls=[
            ui.choice(
                "Input", "etch-mode", {"layers": "NAND layers", "aspect_ratio": "aspect ratio"}, "layers"
            ),
            ui.number("Layers", "etch-layers", 232, min=1, max=logic.MAX_LAYERS),
            ui.number("Aspect ratio", "etch-ar", 60, step="any", min=1, max=logic.MAX_ASPECT_RATIO),
            ui.choice("Chemistry", "etch-chem", ("conventional", "cryo"), "conventional"),
            ui.number("Chambers", "etch-chambers", 4, width=110, min=1, max=12),
        ],
        footer=ui.answer_slot("etch-answer-wrap"),
    )
    fab_card = ui.chart_card(
        "cap-fab",
        "Fab calculator (tools for a process and WSPM)",
        subtitle="tools = WSPM × passes × hours per pass ÷ (hours/month × uptime × utilisation)",
        controls=[
            ui.picker(
                "Process flow",
                "fab-process",
                flows,
                default_flow,
                width=220,
                clearable=False,
                placeholder="no process flows in this build",
            ),
            ui.number("Wafer starts / month", "fab-wspm", 50000, width=150, min=1, max=logic.MAX_WSPM),
        ],
        footer=ui.answer_slot("fab-answer-wrap"),
    )
    return html.Div(className="grid grid-2", children=[etch_card, fab_card])


def layout(**_: object) -> html.Div:
    db = ui.current_db()
    return html.Div(
        [
            ui.page_header(
                "Capacity & tooling",
                "Who can make what, where; which tools that takes, and how much of "
                "them China can buy at home.",
            ),
            _capacity_card(db),
            *_tool_cards(db),
            _calculator_cards(),
        ]
    )


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
    Input("etch-mode", "value"),
    Input("etch-layers", "value"),
    Input("etch-ar", "value"),
    Input("etch-chem", "value"),
    Input("etch-chambers", "value"),
)
def _update_etch(mode: str, layers: Any, ar: Any, chem: str, chambers: Any) -> tuple:
    view, answer = etch(mode, layers, ar, chem, chambers)
    return (*view.card_outputs, answer)


@callback(
    *ui.card_outputs("cap-fab"),
    Output("fab-answer-wrap", "children"),
    Input("fab-process", "value"),
    Input("fab-wspm", "value"),
)
def _update_fab(process: str | None, wspm: Any) -> tuple:
    view, answer = fab(process, wspm)
    return (*view.card_outputs, answer)
