"""Capacity group: fabs, HBM suppliers, equipment vendors, domestic tool shares, tool demand."""

from functools import partial

import dagster as dg
import polars as pl

from pipelines.assets.reference_assets import reference_asset
from pipelines.checks import table_check
from pipelines.resources import WarehouseResource
from pipelines.schema import TABLES
from pipelines.warehouse import replace_rows

REFERENCE_SCENARIO = "reference"  # tool demand for the bundled capacity figures as they stand
TOOL_DEMAND_SOURCE = (
    "hardware_sim.fab.tool_counts tool counts from fab_capacity; each year's domestic share from "
    "tool_domestic_share (latest figure of that year or before)"
)

fab_capacity = reference_asset(
    "fab_capacity", "capacity", "Fab capacity (wafer starts/month) by fab, node, year."
)
hbm_suppliers = reference_asset("hbm_suppliers", "capacity", "HBM suppliers: shares and status by year.")
equipment_vendors = reference_asset(
    "equipment_vendors", "capacity", "Fab-equipment vendors: dated revenue and share figures."
)
tool_domestic_share = reference_asset(
    "tool_domestic_share",
    "capacity",
    "Share of tools bought in China that Chinese vendors supply, per tool type.",
)


def _store_reference_scenario(
    con, table: str, rows: list[dict], run_id: str | None, **constants: str
) -> pl.DataFrame:
    """Replace the ``REFERENCE_SCENARIO`` rows of ``table`` with ``rows`` (plus ``constants`` columns)."""
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.lit(v).alias(k) for k, v in constants.items()
    )
    frame = frame.select([c for c in TABLES[table].column_names if c in frame.columns])
    replace_rows(con, table, frame, where={"scenario_id": REFERENCE_SCENARIO}, run_id=run_id)
    return frame


def _derived_asset(description: str, *deps: object):
    """``@dg.asset`` of a capacity table fabscope derives in Python from the stored ``deps``."""
    return dg.asset(
        group_name="capacity", deps=list(deps), kinds={"duckdb", "python"}, description=description
    )


@_derived_asset(
    "Tools needed per year and tool type for the bundled fab capacity (hardware_sim.fab.tool_counts), "
    "with the domestic-supplier share of each tool type.",
    fab_capacity,
    tool_domestic_share,
)
def tool_demand(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from hardware_sim.fab.tool_counts import latest_domestic_share, tool_demand_rows

    with warehouse.connection() as con:
        capacity = con.sql("SELECT * FROM fab_capacity WHERE capacity_wspm IS NOT NULL").pl().to_dicts()
        share_rows = con.sql("SELECT * FROM tool_domestic_share").pl().to_dicts()
        shares_of_year = partial(latest_domestic_share, share_rows)  # each year's share, never the latest's
        rows = tool_demand_rows(capacity, shares_of_year, scenario_id=REFERENCE_SCENARIO)
        frame = _store_reference_scenario(con, "tool_demand", rows, context.run_id, source=TOOL_DEMAND_SOURCE)
    return dg.MaterializeResult(metadata={"rows": frame.height, "tool_types": frame["tool_type"].n_unique()})


@_derived_asset(
    "Domestic (AMEC, Naura) etch and deposition tools supplyable per year from vendor revenue, "
    "against new tools demanded (hardware_sim.fab.tool_supply).",
    tool_demand,
    equipment_vendors,
)
def tool_supply(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    from hardware_sim.fab.process_flows import tool_types
    from hardware_sim.fab.tool_supply import supply_vs_demand
    from pipelines.sources.fx import FX_ANCHORS

    asp = {name: t.capex_usd_m for name, t in tool_types().items()}
    with warehouse.connection() as con:
        demand = con.sql("SELECT * FROM tool_demand WHERE scenario_id = ?", params=[REFERENCE_SCENARIO]).pl()
        vendors = con.sql("SELECT * FROM equipment_vendors").pl()
        rows = supply_vs_demand(demand.to_dicts(), vendors.to_dicts(), asp, cny_per_usd=FX_ANCHORS["CNY"])
        frame = _store_reference_scenario(
            con, "tool_supply", rows, context.run_id, scenario_id=REFERENCE_SCENARIO
        )
    return dg.MaterializeResult(metadata={"rows": frame.height, "years": frame["year"].n_unique()})


fab_capacity_valid = table_check(
    "fab_capacity",
    min_rows=25,
    conditions=("capacity_wspm IS NULL OR capacity_wspm >= 0", "flag IN ('reported', 'estimate')"),
)
hbm_suppliers_valid = table_check(
    "hbm_suppliers", min_rows=3, conditions=("market_share IS NULL OR market_share BETWEEN 0 AND 1",)
)
equipment_vendors_valid = table_check("equipment_vendors", min_rows=5)
tool_domestic_share_valid = table_check(
    "tool_domestic_share", min_rows=3, conditions=("domestic_share BETWEEN 0 AND 1",)
)
tool_demand_valid = table_check(
    "tool_demand",
    min_rows=10,
    conditions=("count >= 0", "domestic_share IS NULL OR domestic_share BETWEEN 0 AND 1"),
)
tool_supply_valid = table_check(
    "tool_supply",
    min_rows=6,
    conditions=(
        "domestic_supply >= 0",
        "tools_new >= 0",
        "coverage IS NULL OR coverage >= 0",
        "flag = 'estimate'",
    ),
)
