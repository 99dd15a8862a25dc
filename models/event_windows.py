"""Event-study calendar: nominal trading-day positions across data holes, day 0, same-day events.

Pure NumPy/Polars; used by ``models.event_study``. Dates are ``datetime64[D]`` arrays of trading days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import polars as pl

from models.event_markets import parse_announcement

MAX_RETURN_GAP_DAYS = 14  # a "daily" return spanning more calendar days than this (a hole in the data,
# e.g. two exports joined with months between them) is not a daily return: it is left out (NaN).
# 14 covers the longest exchange holidays (Chinese New Year, Golden Week: about 10 days).


def nominal_positions(days: np.ndarray, max_gap_days: int = MAX_RETURN_GAP_DAYS) -> np.ndarray:
    """Trading-day position of each row (``days``: sorted datetime64[D]). Consecutive rows are one
    day apart; across a hole longer than ``max_gap_days`` calendar days the missing weekdays count
    too, so windows keep their calendar length instead of jumping over the hole."""
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    gaps = np.diff(days).astype("int64")
    step = np.where(gaps > max_gap_days, np.busday_count(days[:-1], days[1:]), 1)
    return np.concatenate([[0], np.cumsum(step)]).astype(np.int64)


def first_weekday(when: date) -> date:
    return np.busday_offset(np.datetime64(when, "D"), 0, roll="forward").astype(object)


def day_zero_position(
    days: np.ndarray, positions: np.ndarray, when: np.datetime64, max_gap_days: int
) -> tuple[int, bool] | None:
    """Nominal position of day 0 (first trading day on or after ``when``) and whether it lies in a hole.

    ``None`` when ``when`` is after the last row (no data yet)."""
    idx = int(np.searchsorted(days, when, side="left"))
    if idx >= len(days):
        return None
    if idx == 0 or days[idx] == when or (days[idx] - days[idx - 1]).astype("int64") <= max_gap_days:
        return int(positions[idx]), False
    first_weekday = np.busday_offset(when, 0, roll="forward")  # an event on a Saturday: Monday
    return int(positions[idx - 1] + np.busday_count(days[idx - 1], first_weekday)), True


def collapse_same_day_events(events: Sequence[tuple[str, date]]) -> list[tuple[str, str, date]]:
    """``(event_id, date)`` → one ``(event_id, event_ids, date)`` per date: the first id (sorted) names
    the event, ``event_ids`` lists every id of that date joined by ``;``."""
    by_day: dict[date, list[str]] = {}
    for event_id, when in events:
        by_day.setdefault(when, []).append(event_id)
    return [(sorted(ids)[0], ";".join(sorted(ids)), when) for when, ids in sorted(by_day.items())]


def announcement_instants(events: Sequence[tuple]) -> dict[date, datetime]:
    """date → earliest announcement instant, for dates whose events all carry a time."""
    by_day: dict[date, list[datetime | None]] = {}
    for e in events:
        when = e[1]
        try:
            instant = parse_announcement(when, *(tuple(e[2:4]) + (None, None))[:2])
        except ValueError as exc:
            raise ValueError(f"event {e[0]}: {exc}") from None
        by_day.setdefault(when, []).append(instant)
    return {d: min(v) for d, v in by_day.items() if v and all(x is not None for x in v)}


def pair_returns(pair: pl.DataFrame, max_gap_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simple returns of ``close`` (stock) and ``m`` (benchmark) on their common dates, NaN across a hole."""
    s, m = pair["close"].to_numpy(), pair["m"].to_numpy()
    days = pair["date"].to_numpy().astype("datetime64[D]")
    spans = np.concatenate([[np.inf], np.diff(days).astype("int64")])
    r_s = np.concatenate([[np.nan], s[1:] / s[:-1] - 1.0])
    r_m = np.concatenate([[np.nan], m[1:] / m[:-1] - 1.0])
    hole = spans > max_gap_days
    r_s[hole] = np.nan
    r_m[hole] = np.nan
    return r_s, r_m, days
