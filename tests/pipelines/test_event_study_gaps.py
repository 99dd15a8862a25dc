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


def test_event_inside_a_hole_of_the_data_is_flagged_not_shifted() -> None:
    before = _weekdays(date(2023, 1, 2), 300)  # ends 2024-02-23
    after = _weekdays(date(2025, 5, 12), 40)  # resumes 14 months later
    prices = _series(before + after, seed=1, beta=1.2)
    # an event in the hole: a row-counted "day 0" would be 2025-05-12, its [-1,+1] return spanning 14 months
    out = event_study(prices, {"STOCK": "INDEX"}, [("in_gap", date(2024, 10, 17))])
    assert out.height == 3, out  # one flagged row per window, no CAR
    assert out["car"].is_nan().all()
    assert set(out["event_day"].to_list()) == {date(2024, 10, 17)}  # not shifted to 2025-05-12
    flag = out["flag"][0]
    assert "event_in_gap" in flag and "estimation_gap" in flag and "short_estimation" in flag
    # estimation window [-250,-30] nominal days: 2023-11-15 … 2024-09-05 holds 71 price days
    assert out["n_estimation"][0] < 100 and out["gap_days"][0] > 100


def test_estimation_window_never_jumps_across_a_hole() -> None:
    before = _weekdays(date(2023, 1, 2), 300)  # ends 2024-02-23
    after = _weekdays(date(2025, 1, 6), 300)  # resumes 10 months later
    prices = _series(before + after, seed=4, beta=1.0)
    event = after[150]  # 150 trading days after the restart: 100 estimation days after the hole
    out = event_study(prices, {"STOCK": "INDEX"}, [("ev", event)])
    row = out.row(0, named=True)
    assert row["flag"] == "estimation_gap" and row["event_day"] == event
    # days -150..-30 have prices; day -150's return spans the hole and is dropped
    assert row["n_estimation"] == 120
    assert row["gap_days"] == 100  # days -250..-151 fall in the hole (no rows), not filled from 2023


def test_event_before_the_hole_is_still_studied_and_holidays_are_kept() -> None:
    days = _weekdays(date(2023, 1, 2), 300)
    # a 9-day exchange holiday (Golden Week style) inside the estimation window stays a return
    days = [d for d in days if not date(2023, 10, 1) <= d <= date(2023, 10, 9)]
    prices = _series(days, seed=2, beta=0.8)
    out = event_study(prices, {"STOCK": "INDEX"}, [("ev", days[270])])
    assert sorted(out["window"].to_list()) == ["[-1,+1]", "[0,+20]", "[0,+5]"]
    assert out["n_estimation"][0] == 221  # [-250,-30] inclusive, no hole dropped
