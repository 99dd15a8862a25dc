"""Forecast group: substitution forecasts for the shipped scenarios, backtests, the scenario-rerun op.

Thin wrappers over ``pipelines.forecast_store`` (which calls ``models``); the history is
read from the warehouse table written by the ``observations`` asset.
"""

import dagster as dg

from models.scenarios import ScenarioError, shipped_scenarios
from pipelines.checks import table_check
from pipelines.failures import as_failure
from pipelines.forecast_store import run_and_store_backtest, run_and_store_scenario
from pipelines.resources import WarehouseResource

GROUP = "forecast"


@dg.asset(
    name="substitution_forecast",
    group_name=GROUP,
    deps=["observations"],
    kinds={"duckdb", "python"},
    description="p10/p50/p90 domestic share per segment, year and model for every shipped scenario "
    "(models/scenarios/*.yaml); one row per run in scenario_runs.",
)
def substitution_forecast(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    runs = []
    with warehouse.connection() as con:
        for path in shipped_scenarios():
            out = run_and_store_scenario(con, path)
            context.log.info(f"{path.name}: scenario_id {out['scenario_id']}")
            runs.append({"file": path.name, "scenario_id": out["scenario_id"]})
    return dg.MaterializeResult(metadata={"runs": dg.MetadataValue.json(runs), "scenarios": len(runs)})


@dg.asset(
    name="forecast_backtest",
    group_name=GROUP,
    deps=["observations"],
    kinds={"duckdb", "python"},
    description="Vintage backtests (MAE, CRPS, interval score, p10-p90 coverage) of every curve, the "
    "ensemble and naive last-value / linear-trend forecasts, per segment and metric.",
)
def forecast_backtest(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.connection() as con:
        doc = run_and_store_backtest(con)
    for verdict in doc["verdicts"]:
        context.log.info(verdict["message"])
    return dg.MaterializeResult(
        metadata={
            "rows": len(doc["models"]),
            "verdicts": dg.MetadataValue.json(doc["verdicts"]),
            "pooled_coverage": dg.MetadataValue.json(doc["pooled_coverage"]),
        }
    )


class ScenarioRerunConfig(dg.Config):
    """Run config of ``scenario_rerun``: a scenario file (or YAML text) and an optional seed."""

    scenario_file: str
    seed: int | None = None
    n_paths: int | None = None


@dg.op(description="Run one scenario file and store it (substitution_forecast, scenario_runs).")
def rerun_scenario(
    context: dg.OpExecutionContext, config: ScenarioRerunConfig, warehouse: WarehouseResource
) -> str:
    try:
        with warehouse.connection() as con:
            out = run_and_store_scenario(con, config.scenario_file, seed=config.seed, n_paths=config.n_paths)
    except ScenarioError as exc:
        raise as_failure(exc) from None
    context.log.info(f"stored scenario_id {out['scenario_id']}")
    return out["scenario_id"]


substitution_forecast_valid = table_check(
    "substitution_forecast",
    min_rows=1,
    conditions=("p10 <= p50 AND p50 <= p90", "p10 >= 0 AND p90 <= 1"),
)
forecast_backtest_valid = table_check(
    "forecast_backtest",
    min_rows=0,
    conditions=(
        "mape IS NULL OR mape >= 0",
        "coverage_p10_p90 IS NULL OR coverage_p10_p90 BETWEEN 0 AND 1",
        "crps IS NULL OR crps >= 0",
    ),
)
