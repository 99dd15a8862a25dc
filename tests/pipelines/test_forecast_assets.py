"""Forecast Dagster assets, their blocking checks, and the scenario_rerun job."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from models.scenarios import SCENARIO_DIR
from pipelines.assets import forecast, history
from pipelines.jobs import scenario_rerun
from pipelines.warehouse import Warehouse


@pytest.mark.slow  # fits the curves with emcee (seconds each)
def test_assets_write_forecasts_for_every_shipped_scenario_and_pass_checks(tmp_path: Path, run_resources):
    db = tmp_path / "w.duckdb"
    result = dg.materialize(
        [
            history.observations,
            *dg.load_assets_from_modules([forecast]),
            *dg.load_asset_checks_from_modules([forecast]),
        ],
        resources=run_resources(db),
        selection=["observations", "substitution_forecast", "forecast_backtest"],
    )
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    wh = Warehouse(db)
    runs = wh.query("SELECT name FROM scenario_runs ORDER BY name")["name"].to_list()
    assert runs == ["baseline", "full-embargo", "h20-allowed", "smic-5nm-ramp"]
    bad = wh.query("SELECT count(*) AS n FROM substitution_forecast WHERE NOT (p10 <= p50 AND p50 <= p90)")
    assert bad["n"][0] == 0
    assert wh.query("SELECT count(*) AS n FROM forecast_backtest")["n"][0] > 0


def test_scenario_rerun_job_takes_a_file_as_run_config(tmp_path: Path, run_resources):
    db = tmp_path / "w.duckdb"
    result = scenario_rerun.execute_in_process(
        run_config={
            "ops": {
                "rerun_scenario": {
                    "config": {
                        "scenario_file": str(SCENARIO_DIR / "full-embargo.yaml"),
                        "seed": 3,
                        "n_paths": 200,
                    }
                }
            }
        },
        resources=run_resources(db),
    )
    assert result.success
    sid = result.output_for_node("rerun_scenario")
    stored = Warehouse(db).query("SELECT scenario_id, seed, n_paths FROM scenario_runs")
    assert stored.rows() == [(sid, 3, 200)]
