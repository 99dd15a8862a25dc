"""The Dagster code location: ``dagster dev -m pipelines.definitions``.

One file per kind, as in Dagster's own examples: assets and the checks on them in
``pipelines/assets/<group>.py`` (found by Dagster's package loaders, every module of the package),
jobs in ``pipelines/jobs.py``, schedules in ``pipelines/schedules.py``, sensors in
``pipelines/sensors.py``, the warehouse resource in ``pipelines/resources.py``. Everything runs with the
in-process executor: one run = one warehouse staging copy, published at the end (see
``pipelines.resources.WarehouseResource``).
"""

from __future__ import annotations

import dagster as dg

from pipelines import assets
from pipelines.jobs import market_refresh_job, refresh_job, scenario_rerun
from pipelines.progress import progress_logger
from pipelines.resources import run_resources
from pipelines.schedules import daily_refresh
from pipelines.sensors import csv_drop_sensor


def build_definitions(db_path: str | None = None) -> dg.Definitions:
    """All fabscope definitions, writing to ``db_path`` (default: the CONTRACT rule)."""
    return dg.Definitions(
        assets=dg.load_assets_from_package_module(assets),
        asset_checks=dg.load_asset_checks_from_package_module(assets),
        jobs=[refresh_job, market_refresh_job, scenario_rerun],
        schedules=[daily_refresh],
        sensors=[csv_drop_sensor],
        resources=run_resources(db_path),
        executor=dg.in_process_executor,
        loggers={"console": dg.default_loggers()["console"], "progress": progress_logger},
    )


defs = build_definitions()
