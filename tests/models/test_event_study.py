"""MacKinlay market-model event study against a hand-computed example."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from models.event_study import (
    event_cars,
    event_study,
    fit_market_model,
    window_label,
)
from models.event_tests import cross_section

# Estimation days (4): market m, stock s. By hand:
#   mean m = 0.005, Sxx = 0.0005; mean s = 0.00775, Sxy = 0.000545
#   beta = 0.000545 / 0.0005 = 1.09; alpha = 0.00775 - 1.09 * 0.005 = 0.0023
#   residuals -0.0012, 0.0006, 0.0009, -0.0003 → SSR = 2.7e-6, sigma² = 2.7e-6 / (4 - 2) = 1.35e-6
# Event window [0,+1]: m = 0.03, -0.02; s = 0.05, -0.01
#   AR0 = 0.05 - 0.0023 - 1.09*0.03 = 0.015; AR1 = -0.01 - 0.0023 + 1.09*0.02 = 0.0095; CAR = 0.0245
#   Var(CAR) = sigma² (L2 + L2²/L1 + (Σm - L2·mean m)²/Sxx) = 1.35e-6 (2 + 1 + 0) = 4.05e-6
#   t = 0.0245 / sqrt(4.05e-6) = 12.1742
EST_M = [0.01, -0.01, 0.02, 0.00]
EST_S = [0.012, -0.008, 0.025, 0.002]
WIN_M = [0.03, -0.02]
WIN_S = [0.05, -0.01]
CAR, VAR, T = 0.0245, 4.05e-6, 0.0245 / np.sqrt(4.05e-6)


def test_market_model_fit_matches_hand_computation() -> None:
    model = fit_market_model(np.array(EST_S), np.array(EST_M))
    assert model.beta == pytest.approx(1.09)
    assert model.alpha == pytest.approx(0.0023)
    assert model.sigma2 == pytest.approx(1.35e-6)
    assert (model.n, model.mean_market, model.sxx_market) == (4, pytest.approx(0.005), pytest.approx(0.0005))


def test_car_and_t_stat_match_hand_computation() -> None:
    # positions 0-3 estimation (days -5..-2), 4 is day -1 (unused), 5-6 the event window [0,+1]
    stock = np.array([*EST_S, 0.5, *WIN_S])
    market = np.array([*EST_M, -0.3, *WIN_M])
    fitted = event_cars(stock, market, 5, estimation=(-5, -2), windows=((0, 1),), min_estimation_days=3)
    assert fitted is not None
    _, (res,) = fitted
    assert res.car == pytest.approx(CAR)
    assert res.car_var == pytest.approx(VAR)
    assert res.t_stat == pytest.approx(T, rel=1e-9)
    assert res.t_stat == pytest.approx(12.1742, abs=1e-4)


def test_variance_includes_market_deviation_term() -> None:
    stock = np.array([*EST_S, 0.0, 0.05, 0.01])
    market = np.array([*EST_M, 0.0, 0.03, 0.02])  # Σm = 0.05, so (0.05 - 2*0.005)² / 0.0005 = 3.2
    _, (res,) = event_cars(stock, market, 5, estimation=(-5, -2), windows=((0, 1),), min_estimation_days=3)
    assert res.car_var == pytest.approx(1.35e-6 * (2 + 1 + 3.2))


def test_too_little_estimation_history_gives_no_result() -> None:
    stock = np.array([*EST_S, 0.0, *WIN_S])
    market = np.array([*EST_M, 0.0, *WIN_M])
    assert event_cars(stock, market, 5, estimation=(-5, -2), windows=((0, 1),), min_estimation_days=5) is None


def _prices_from_returns(ticker: str, returns: list[float], start: date) -> pl.DataFrame:
    closes = 100.0 * np.cumprod([1.0, *(1.0 + np.array(returns))])
    days = [start + timedelta(days=i) for i in range(len(closes))]
    return pl.DataFrame({"date": days, "ticker": ticker, "close": closes})


def test_event_study_frame_from_prices_matches_hand_computation() -> None:
    start = date(2024, 1, 1)
    prices = pl.concat(
        [
            _prices_from_returns("STOCK", [*EST_S, 0.5, *WIN_S], start),
            _prices_from_returns("INDEX", [*EST_M, -0.3, *WIN_M], start),
        ]
    )
    event_day = start + timedelta(days=6)  # close 6 is the first return of the window
    out = event_study(
        prices,
        {"STOCK": "INDEX"},
        [("ev1", event_day)],
        estimation=(-5, -2),
        windows=((0, 1),),
        min_estimation_days=3,
    )
    assert out.height == 1
    row = out.row(0, named=True)
    assert (row["event_id"], row["ticker"], row["window"]) == ("ev1", "STOCK", "[0,+1]")
    assert row["car"] == pytest.approx(CAR) and row["t_stat"] == pytest.approx(T, rel=1e-9)
    assert row["event_day"] == event_day


def test_event_on_a_non_trading_day_uses_the_next_trading_day() -> None:
    start = date(2024, 1, 1)
    prices = pl.concat(
        [
            _prices_from_returns("STOCK", [*EST_S, 0.5, *WIN_S], start),
            _prices_from_returns("INDEX", [*EST_M, -0.3, *WIN_M], start),
        ]
    ).filter(pl.col("date") != start + timedelta(days=6))
    out = event_study(
        prices,
        {"STOCK": "INDEX"},
        [("ev1", start + timedelta(days=6))],
        estimation=(-5, -2),
        windows=((0, 0),),
        min_estimation_days=3,
    )
    assert out["event_day"].to_list() == [start + timedelta(days=7)]


def test_cross_section_mean_car_and_j1_t_stat() -> None:
    results = pl.DataFrame(
        {
            "event_id": ["e"] * 3,
            "ticker": ["A", "B", "C"],
            "window": ["[0,+5]"] * 3,
            "car": [0.10, 0.04, -0.02],
            "car_var": [0.0004, 0.0005, 0.0009],
        }
    )
    cs = cross_section(results, {"A": "domestic_china", "B": "domestic_china", "C": "foreign"})
    cs = cs.filter(pl.col("method") == "mackinlay_j1")
    dom = cs.filter(pl.col("group") == "domestic_china").row(0, named=True)
    assert dom["n"] == 2 and dom["mean_car"] == pytest.approx(0.07)
    assert dom["t_stat"] == pytest.approx(0.07 / (np.sqrt(0.0009) / 2))  # sqrt(Σ var)/N = 0.015
    foreign = cs.filter(pl.col("group") == "foreign").row(0, named=True)
    assert foreign["t_stat"] == pytest.approx(-0.02 / 0.03)


def test_window_labels() -> None:
    assert [window_label(w) for w in ((-1, 1), (0, 5), (0, 20))] == ["[-1,+1]", "[0,+5]", "[0,+20]"]
