"""Event study on joined exports with a hole in the data (e.g. NVDA 2024-03-08 … 2025-05-12)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

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


US_BOTH_EXPORTS = [
    "AMD",
    "ASML",
    "NVDA",
    "TSM",
]  # in both US exports: 2000 … 2024-03-08, 2025-05-12 … 2026-05-11
HOLE = (date(2024, 3, 9), date(2025, 5, 11))


def test_real_exports_give_flagged_not_shifted_rows_for_events_in_their_hole(real_prices: Path) -> None:
    from pipelines.sources.prices.csv_drop import read_drop
    from pipelines.sources.reference import REFERENCE_FILES

    px = (
        read_drop(real_prices)
        .frame.filter(pl.col("ticker").is_in(US_BOTH_EXPORTS))
        .select("date", "ticker", "close")
    )
    # No index series spans both exports (SOX.csv starts 2025-05-12), so each stock is measured against
    # an equally weighted portfolio of the other three (a peer benchmark with the same hole).
    wide = px.pivot(on="ticker", index="date", values="close").sort("date").drop_nulls()
    peers = []
    for t in US_BOTH_EXPORTS:
        r = np.mean(
            [wide[o].to_numpy()[1:] / wide[o].to_numpy()[:-1] - 1 for o in US_BOTH_EXPORTS if o != t], 0
        )
        close = 100 * np.concatenate([[1.0], np.cumprod(1 + r)])
        peers.append(pl.DataFrame({"date": wide["date"], "ticker": f"EW-{t}", "close": close}))
    events = REFERENCE_FILES["export_controls"].load().good.select("event_id", "announced_date")
    out = event_study(
        pl.concat([px, *peers]), {t: f"EW-{t}" for t in US_BOTH_EXPORTS}, list(events.iter_rows())
    )
    in_hole = events.filter(pl.col("announced_date").is_between(*HOLE))
    assert in_hole.height >= 7
    rows = out.filter(pl.col("event_day").is_between(*HOLE))
    assert rows["event_id"].n_unique() == in_hole["event_id"].n_unique() - 1  # 2024-12-02 holds two ids
    assert rows["car"].is_nan().all() and rows["flag"].str.contains("event_in_gap").all()
    assert rows.height == rows["event_id"].n_unique() * 4 * 3  # every stock and window, none dropped
    # after the hole: estimation windows reach into it and say so, never filled from before 2024-03-08
    after = out.filter(pl.col("event_day") > HOLE[1])
    assert (
        after.height and (after["gap_days"] > 0).all() and after["flag"].str.contains("estimation_gap").all()
    )
    before = out.filter(pl.col("event_day") < HOLE[0])
    assert (before["gap_days"] == 0).all() and before.filter(pl.col("flag") == "ok").height > 0
