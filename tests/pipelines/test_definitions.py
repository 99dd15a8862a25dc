"""The Dagster code location: what Dagster's loaders find in pipelines/assets, and what must stay named."""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg

import pipelines.assets
from pipelines.definitions import defs

# The names schedulers, the CLI and the UI rely on (extend freely; renaming one is a breaking change).
ASSET_GROUPS = {
    "chip_specs": "hardware",
    "system_perf": "hardware",
    "export_controls": "policy",
    "entity_list": "policy",
    "fab_capacity": "capacity",
    "hbm_suppliers": "capacity",
    "equipment_vendors": "capacity",
    "tool_domestic_share": "capacity",
    "tool_demand": "capacity",
    "tool_supply": "capacity",
    "tickers": "market",
    "fx_daily": "market",
    "prices_daily": "market",
    "event_study": "market",
    "substitution_history": "forecast",
    "substitution_outlooks": "forecast",
    "substitution_forecast": "forecast",
    "forecast_backtest": "forecast",
}
REFERENCE_ASSETS = (
    "entity_list",
    "equipment_vendors",
    "export_controls",
    "fab_capacity",
    "hbm_suppliers",
    "substitution_history",
    "substitution_outlooks",
    "tickers",
    "tool_domestic_share",
)


def test_assets_keep_their_keys_and_groups() -> None:
    graph = defs.resolve_asset_graph()
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert ASSET_GROUPS.items() <= groups.items()


def test_checks_jobs_schedule_and_sensor_keep_their_names() -> None:
    checks = {c.to_user_string() for c in defs.resolve_asset_graph().asset_check_keys}
    expected = {f"{a}:{a}_valid" for a in ASSET_GROUPS if a not in ("event_study",)} | {
        "event_study:event_study_valid",
        "prices_daily:prices_daily_fresh",
        *(f"{a}:no_quarantined_rows" for a in REFERENCE_ASSETS),
    }
    assert expected <= checks
    assert {"refresh", "market_refresh", "scenario_rerun"} <= {j.name for j in defs.resolve_all_job_defs()}
    assert defs.resolve_schedule_def("daily_refresh").job_name == "refresh"
    assert defs.resolve_sensor_def("csv_drop_sensor").job_name == "market_refresh"


def test_every_asset_and_check_of_every_group_module_is_loaded() -> None:
    """Nothing defined in pipelines/assets/*.py is left out of the code location."""
    graph = defs.resolve_asset_graph()
    loaded = {k.to_user_string() for k in graph.get_all_asset_keys()}
    loaded_checks = {c.to_user_string() for c in graph.asset_check_keys}
    for info in pkgutil.iter_modules(pipelines.assets.__path__):
        module = importlib.import_module(f"pipelines.assets.{info.name}")
        for asset in dg.load_assets_from_modules([module]):
            assert {k.to_user_string() for k in asset.keys} <= loaded, info.name
        for check in dg.load_asset_checks_from_modules([module]):
            assert {k.to_user_string() for k in check.check_keys} <= loaded_checks, info.name


def test_refresh_jobs_have_a_run_timeout() -> None:
    from pipelines.jobs import MAX_RUNTIME_S

    for name in ("refresh", "market_refresh", "scenario_rerun"):
        assert defs.resolve_job_def(name).tags["dagster/max_runtime"] == str(MAX_RUNTIME_S)
