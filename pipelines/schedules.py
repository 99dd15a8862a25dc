"""Schedules: the daily refresh of every asset."""

from __future__ import annotations

import dagster as dg

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Materialise every asset into a staging copy; publish it if all assets and blocking checks pass.",
)

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule="30 22 * * 1-5",  # after the US close (22:30 UTC), weekdays
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekday refresh after the US market close.",
)

JOBS = [refresh_job]
SCHEDULES = [daily_refresh]
