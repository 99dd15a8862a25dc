"""Schedules: the weekday refresh of every asset.

The price provider of scheduled runs is ``$FABSCOPE_PRICES`` (``sample`` when unset; ``yahoo``,
``akshare`` or ``csv:DIR`` as for ``fabscope refresh --prices``), read when the schedule is evaluated,
so the Dagster daemon of a live deployment refreshes real prices without editing code.
"""

from __future__ import annotations

from datetime import UTC, date

import dagster as dg

from fabscope.errors import InputError
from fabscope.settings import env_var, get_settings

PRICES_ENV = env_var("prices")

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Materialise every asset into a staging copy; publish it if all assets and blocking checks pass.",
)


def scheduled_run_request(provider: str | None, today: date | None = None) -> dg.RunRequest | dg.SkipReason:
    """The run a scheduled refresh launches for price provider ``provider`` (None or empty: sample).

    ``today`` (the tick's date) becomes the run date, so a retried tick refreshes the same days."""
    from pipelines.assets.market import market_run_config

    provider = (provider or "").strip() or "sample"
    try:
        config = market_run_config(provider)
    except InputError as exc:
        return dg.SkipReason(f"${PRICES_ENV}={provider!r}: {exc}")
    if today is not None:
        config["resources"] = {"run_date": {"config": {"today": today.isoformat()}}}
    return dg.RunRequest(run_config=config, tags={"fabscope/prices": provider})


@dg.schedule(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule="30 22 * * 1-5",  # after the US close, weekdays
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"Weekday refresh after the US market close (22:30 UTC); prices from ${PRICES_ENV} "
    "(default sample).",
)
def daily_refresh(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time
    return scheduled_run_request(get_settings().prices, tick.astimezone(UTC).date() if tick else None)


JOBS = [refresh_job]
SCHEDULES = [daily_refresh]
