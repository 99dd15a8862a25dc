"""The one home of "today" for the pipelines.

Every date that defaults to "the current day" (the last price day to fetch, the latest date a
reference file may hold) is a run's *run date*: injected through ``RunDateResource`` (run config
``resources.run_date.config.today``) or an explicit ``today`` argument, and read from the wall
clock only when none is given. Timestamps that record when something happened (``refreshed_at``,
``fetched_at``) are not dates of the data and stay wall-clock times.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fabscope.errors import InputError


def utc_today() -> date:
    """The current date in UTC: the only read of the wall clock for a date in fabscope."""
    return datetime.now(UTC).date()


def run_date(today: str | date | None = None) -> date:
    """``today`` as a date (a ``date`` or ``YYYY-MM-DD``); empty or None: ``utc_today()``.

    Raises ``InputError`` naming the value when it is not a date."""
    if isinstance(today, date):
        return today
    text = (today or "").strip()
    if not text:
        return utc_today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"today={text!r}: expected a date YYYY-MM-DD") from None
