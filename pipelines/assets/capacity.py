"""Capacity group: fabs, HBM suppliers, equipment vendors, domestic tool shares."""


from pipelines.assets.reference_assets import reference_asset
from pipelines.checks import table_check

fab_capacity = reference_asset("fab_capacity", "capacity", "Fab capacity (wafer starts/month) by fab, node, year.")
hbm_suppliers = reference_asset("hbm_suppliers", "capacity", "HBM suppliers: shares and status by year.")
equipment_vendors = reference_asset(
    "equipment_vendors", "capacity", "Fab-equipment vendors: dated revenue and share figures."
)
tool_domestic_share = reference_asset(
    "tool_domestic_share", "capacity", "Share of tools bought in China that Chinese vendors supply, per tool type."
)

ASSETS = [fab_capacity, hbm_suppliers, equipment_vendors, tool_domestic_share]
CHECKS = [
    table_check("fab_capacity", min_rows=25, conditions=("capacity_wspm >= 0", "flag IN ('reported', 'estimate')")),
    table_check("hbm_suppliers", min_rows=3, conditions=("market_share IS NULL OR market_share BETWEEN 0 AND 1",)),
    table_check("equipment_vendors", min_rows=5),
    table_check("tool_domestic_share", min_rows=3, conditions=("domestic_share BETWEEN 0 AND 1",)),
]
