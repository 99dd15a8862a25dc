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


def _store_shipped_scenarios(context: dg.AssetExecutionContext, con) -> dg.MaterializeResult:
    runs = []
    for path in shipped_scenarios():
        out = run_and_store_scenario(con, path)
        context.log.info(f"{path.name}: scenario_id {out['scenario_id']}")
        runs.append({"file": path.name, "scenario_id": out["scenario_id"]})
    return dg.MaterializeResult(metadata={"runs": dg.MetadataValue.json(runs), "scenarios": len(runs)})


def _store_backtest(context: dg.AssetExecutionContext, con) -> dg.MaterializeResult:
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


def _forecast_asset(name: str, description: str, body) -> dg.AssetsDefinition:
    """A forecast-group asset (after ``observations``) that runs ``body(context, connection)``."""

    @dg.asset(
        name=name,
        group_name=GROUP,
        deps=["observations"],
        kinds={"duckdb", "python"},
        description=description,
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.connection() as con:
            return body(context, con)

    return _asset


substitution_forecast = _forecast_asset(
    "substitution_forecast",
    "p10/p50/p90 domestic share per segment, year and model for every shipped scenario "
    "(models/scenarios/*.yaml); one row per run in scenario_runs.",
    _store_shipped_scenarios,
)
forecast_backtest = _forecast_asset(
    "forecast_backtest",
    "Vintage backtests (MAE, CRPS, interval score, p10-p90 coverage) of every curve, the "
    "ensemble and naive last-value / linear-trend forecasts, per segment and metric.",
    _store_backtest,
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


# (table, least rows, conditions every row meets)
_CHECKS = (
    ("substitution_forecast", 1, ("p10 <= p50 AND p50 <= p90", "p10 >= 0 AND p90 <= 1")),
    (
        "forecast_backtest",
        0,
        (
            "mape IS NULL OR mape >= 0",
            "coverage_p10_p90 IS NULL OR coverage_p10_p90 BETWEEN 0 AND 1",
            "crps IS NULL OR crps >= 0",
        ),
    ),
)
substitution_forecast_valid, forecast_backtest_valid = (
    table_check(table, min_rows=rows, conditions=conditions) for table, rows, conditions in _CHECKS
)
