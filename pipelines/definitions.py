"""The Dagster code location: ``dagster dev -m pipelines.definitions``.

Assets live in ``pipelines/assets/<group>.py`` modules, each exposing ``ASSETS`` and
``CHECKS`` (and optionally ``JOBS``, ``SCHEDULES``, ``SENSORS``). Everything runs with the
in-process executor: one run = one warehouse staging copy, published at the end (see
``pipelines.resources.WarehouseResource``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

import dagster as dg

from pipelines import schedules, sensors
from pipelines.progress import progress_logger
from pipelines.resources import run_resources

GROUP_MODULES = ("market", "policy", "capacity", "hardware", "history", "forecast")


def _modules() -> list[ModuleType]:
    mods = []
    for name in GROUP_MODULES:
        try:
            mods.append(importlib.import_module(f"pipelines.assets.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"pipelines.assets.{name}":
                raise
    return [*mods, schedules, sensors]


def _collect(attr: str) -> list:
    return [item for mod in _modules() for item in getattr(mod, attr, [])]


def build_definitions(db_path: str | None = None) -> dg.Definitions:
    """All fabscope definitions, writing to ``db_path`` (default: the CONTRACT rule)."""
    return dg.Definitions(
        assets=_collect("ASSETS"),
        asset_checks=_collect("CHECKS"),
        jobs=_collect("JOBS"),
        schedules=_collect("SCHEDULES"),
        sensors=_collect("SENSORS"),
        resources=run_resources(db_path),
        executor=dg.in_process_executor,
        loggers={"console": dg.default_loggers()["console"], "progress": progress_logger},
    )


defs = build_definitions()
