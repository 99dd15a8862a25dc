"""Sensors: the CSV drop folder.

``csv_drop_sensor`` watches ``$FABSCOPE_DROP_DIR`` (default ``./data/drop``). When a price file
appears or changes (cursor = file names, sizes and mtimes), it launches the ``market_refresh``
job with the ``csv:DIR`` provider; the run validates every file, quarantines bad rows and
stores the rest (see ``pipelines.sources.prices.csv_drop``).
"""

import hashlib
import json
from pathlib import Path

import dagster as dg

from fabscope.settings import get_settings
from pipelines.jobs import market_refresh_job

SENSOR_INTERVAL_S = 60


def drop_dir() -> Path:
    """The watched folder: ``$FABSCOPE_DROP_DIR``, else ``./data/drop`` (absolute)."""
    return get_settings().drop_dir


def drop_cursor(directory: Path) -> str:
    """A stable fingerprint of the folder's price files: JSON list of [name, size, mtime_ns]."""
    from pipelines.sources.prices.csv_text import drop_files

    entries = []
    for p in drop_files(directory):
        try:
            st = p.stat()
        except OSError:  # deleted or replaced between listing and stat: the next evaluation sees it
            continue
        entries.append([p.name, st.st_size, st.st_mtime_ns])
    return json.dumps(entries, separators=(",", ":"))


def evaluate_drop(directory: Path, cursor: str | None) -> tuple[dg.RunRequest | dg.SkipReason, str | None]:
    """What the sensor does for ``directory`` given the previous cursor: (request or skip, new cursor)."""
    from pipelines.assets.market import market_run_config

    if not directory.is_dir():
        return dg.SkipReason(f"drop folder {directory} does not exist"), cursor
    current = drop_cursor(directory)
    if current == "[]":
        return dg.SkipReason(f"no price files in {directory}"), current
    if current == cursor:
        return dg.SkipReason("no new or changed files"), cursor
    run_key = hashlib.sha256(f"{directory}|{current}".encode()).hexdigest()[:32]
    return dg.RunRequest(
        run_key=run_key,
        run_config=market_run_config(f"csv:{directory}"),
        tags={"fabscope/prices": f"csv:{directory}"},
    ), current


@dg.sensor(
    job=market_refresh_job,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches a market refresh from the CSV drop folder ($FABSCOPE_DROP_DIR, default "
    "./data/drop) when files appear or change.",
)
def csv_drop_sensor(context: dg.SensorEvaluationContext):
    result, cursor = evaluate_drop(drop_dir(), context.cursor)
    if cursor is not None and cursor != context.cursor:
        context.update_cursor(cursor)
    return result
