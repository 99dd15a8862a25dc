"""Event study on joined exports with a hole in the data (e.g. NVDA 2024-03-08 … 2025-05-12)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from models.event_study import event_study


def _weekdays(start: date, n: int) -> list[date]:
    out, d = [], start
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def _series(days: list[date], seed: int, beta: float) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    m = rng.normal(0, 0.01, len(days))
    s = beta * m + rng.normal(0, 0.005, len(days))
    return pl.concat(
        [
            pl.DataFrame({"date": days, "ticker": "INDEX", "close": 100 * np.cumprod(1 + m)}),
            pl.DataFrame({"date": days, "ticker": "STOCK", "close": 50 * np.cumprod(1 + s)}),
        ]
    )


def test_event_inside_a_hole_of_the_data_gets_no_far_away_day_zero() -> None:
    before = _weekdays(date(2023, 1, 2), 300)  # ends early 2024
    after = _weekdays(date(2025, 5, 12), 40)  # resumes 14 months later
    prices = _series(before + after, seed=1, beta=1.2)
    # an event in the hole: its "day 0" would be 2025-05-12, its [-1,+1] return spanning 14 months
    out = event_study(prices, {"STOCK": "INDEX"}, [("in_gap", date(2024, 10, 17))])
    assert out.height == 0, out


def test_event_before_the_hole_is_still_studied_and_holidays_are_kept() -> None:
    days = _weekdays(date(2023, 1, 2), 300)
    # a 9-day exchange holiday (Golden Week style) inside the estimation window stays a return
    days = [d for d in days if not date(2023, 10, 1) <= d <= date(2023, 10, 9)]
    prices = _series(days, seed=2, beta=0.8)
    out = event_study(prices, {"STOCK": "INDEX"}, [("ev", days[270])])
    assert sorted(out["window"].to_list()) == ["[-1,+1]", "[0,+20]", "[0,+5]"]
    assert out["n_estimation"][0] == 221  # [-250,-30] inclusive, no hole dropped
