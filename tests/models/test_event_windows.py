"""Calendar-time windows, same-day events, masking, sample benchmarks; clean data unchanged (issue 13)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from models.event_study import collapse_same_day_events, event_study, event_study_panel, window_label
from models.event_tests import cross_section


def _weekdays(start: date, n: int, holidays: tuple[tuple[date, date], ...] = ()) -> list[date]:
    out, d = [], start
    while len(out) < n:
        if d.weekday() < 5 and not any(a <= d <= b for a, b in holidays):
            out.append(d)
        d += timedelta(days=1)
    return out


GOLDEN_WEEK = ((date(2023, 10, 2), date(2023, 10, 6)),)


def _panel(days: list[date], seed: int, n_stocks: int = 4) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    m = rng.normal(0.0, 0.01, len(days))
    frames = [pl.DataFrame({"date": days, "ticker": "IDX", "close": 100 * np.cumprod(1 + m)})]
    for i in range(n_stocks):
        s = (0.8 + 0.2 * i) * m + rng.normal(0, 0.015, len(days))
        frames.append(pl.DataFrame({"date": days, "ticker": f"S{i}", "close": 50 * np.cumprod(1 + s)}))
    return pl.concat(frames)


def _row_counted_reference(prices: pl.DataFrame, ticker: str, when: date) -> dict[str, tuple[float, float]]:
    """The pre-issue-13 computation, independently: rows counted, OLS by statsmodels, MacKinlay variance."""
    pair = (
        prices.filter(pl.col("ticker") == ticker)
        .join(prices.filter(pl.col("ticker") == "IDX").select("date", pl.col("close").alias("m")), on="date")
        .sort("date")
    )
    s, m = pair["close"].to_numpy(), pair["m"].to_numpy()
    rs, rm = s[1:] / s[:-1] - 1, m[1:] / m[:-1] - 1
    days = pair["date"].to_list()[1:]
    i0 = next(i for i, d in enumerate(days) if d >= when)
    fit = sm.OLS(rs[i0 - 250 : i0 - 29], sm.add_constant(rm[i0 - 250 : i0 - 29])).fit()
    est_m = rm[i0 - 250 : i0 - 29]
    out = {}
    for w in ((-1, 1), (0, 5), (0, 20)):
        sl = slice(i0 + w[0], i0 + w[1] + 1)
        ar = rs[sl] - fit.params[0] - fit.params[1] * rm[sl]
        l1, l2 = len(est_m), len(ar)
        var = fit.scale * (
            l2 + l2**2 / l1 + (rm[sl].sum() - l2 * est_m.mean()) ** 2 / ((est_m - est_m.mean()) ** 2).sum()
        )
        out[window_label(w)] = (ar.sum(), ar.sum() / np.sqrt(var))
    return out


def test_clean_single_event_results_are_the_row_counted_market_model() -> None:
    days = _weekdays(date(2023, 1, 2), 320, GOLDEN_WEEK)  # exchange holidays, no hole
    prices = _panel(days, seed=5)
    when = days[290]
    out = event_study(prices, {f"S{i}": "IDX" for i in range(4)}, [("ev", when)])
    assert out.height == 12 and set(out["flag"].to_list()) == {"ok"}
    assert (out["gap_days"] == 0).all() and (out["masked_days"] == 0).all()
    for i in range(4):
        ref = _row_counted_reference(prices, f"S{i}", when)
        for row in out.filter(pl.col("ticker") == f"S{i}").iter_rows(named=True):
            car, t = ref[row["window"]]
            assert row["car"] == pytest.approx(car, rel=1e-10) and row["t_stat"] == pytest.approx(
                t, rel=1e-10
            )
            assert row["n_estimation"] == 221 and row["event_ids"] == "ev"


def test_clean_data_j1_cross_section_is_unchanged_and_every_method_is_named() -> None:
    days = _weekdays(date(2023, 1, 2), 320)
    prices = _panel(days, seed=6)
    study = event_study_panel(prices, {f"S{i}": "IDX" for i in range(4)}, [("ev", days[290])])
    groups = {"S0": "a", "S1": "a", "S2": "b", "S3": "b"}
    cs = cross_section(study.results, groups, study.abnormal)
    assert set(cs["method"].to_list()) == {"mackinlay_j1", "bmp", "bmp_kp", "grank", "calendar_time"}
    assert cs.height == 3 * 2 * 5
    j1 = cs.filter(pl.col("method") == "mackinlay_j1")
    for row in j1.iter_rows(named=True):  # J1 exactly as before: mean CAR / (√ΣVar / N)
        sub = study.results.filter(
            (pl.col("window") == row["window"])
            & pl.col("ticker").is_in([t for t, g in groups.items() if g == row["group"]])
        )
        assert row["mean_car"] == pytest.approx(sub["car"].mean())
        assert row["t_stat"] == pytest.approx(
            sub["car"].mean() / (np.sqrt(sub["car_var"].sum()) / sub.height)
        )
    assert cs.filter(pl.col("method") == "bmp_kp")["rbar"].is_not_null().all()


def test_same_day_events_collapse_into_one_listing_every_id() -> None:
    d = date(2024, 12, 2)
    assert collapse_same_day_events([("b-rule", d), ("a-list", d), ("c", date(2024, 12, 3))]) == [
        ("a-list", "a-list;b-rule", d),
        ("c", "c", date(2024, 12, 3)),
    ]
    days = _weekdays(date(2023, 1, 2), 320)
    prices = _panel(days, seed=7, n_stocks=1)
    out = event_study(prices, {"S0": "IDX"}, [("b-rule", days[290]), ("a-list", days[290])])
    assert out.height == 3 and set(out["event_ids"].to_list()) == {"a-list;b-rule"}
    assert set(out["event_id"].to_list()) == {"a-list"}  # one row per window, not two


def test_other_events_windows_are_masked_out_of_the_estimation() -> None:
    days = _weekdays(date(2023, 1, 2), 320)
    prices = _panel(days, seed=8, n_stocks=1)
    events = [("early", days[150]), ("late", days[290])]
    out = event_study(prices, {"S0": "IDX"}, events).filter(pl.col("event_id") == "late")
    # the early event's days [-1,+5] (MASK_WINDOW, 7 days) sit inside late's estimation window [-250,-30]
    assert (out["masked_days"] == 7).all() and (out["n_estimation"] == 221 - 7).all()
    wide = event_study(prices, {"S0": "IDX"}, events, mask_window=(-1, 20)).filter(
        pl.col("event_id") == "late"
    )
    assert (wide["masked_days"] == 22).all()
    unmasked = event_study(prices, {"S0": "IDX"}, events, mask_other_events=False)
    assert (unmasked.filter(pl.col("event_id") == "late")["n_estimation"] == 221).all()


def test_real_stock_is_never_regressed_on_a_sample_benchmark() -> None:
    days = _weekdays(date(2023, 1, 2), 320)
    prices = _panel(days, seed=9, n_stocks=2).with_columns(
        pl.when(pl.col("ticker") == "IDX").then(pl.lit("sample")).otherwise(pl.lit("csv")).alias("provider")
    )
    study = event_study_panel(prices, {"S0": "IDX", "S1": "IDX"}, [("ev", days[290])])
    assert study.results.height == 0
    assert set(study.skipped) == {"S0", "S1"} and "IDX" in study.skipped["S0"] and "S0" in study.skipped["S0"]
    sample_only = prices.with_columns(pl.lit("sample").alias("provider"))
    assert event_study_panel(sample_only, {"S0": "IDX"}, [("ev", days[290])]).results.height == 3
