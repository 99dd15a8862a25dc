"""Day 0 across markets (announcement time and zone) and A-share price-limit days (issue 13)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from models.event_markets import dimson_car, fit_dimson, limit_days, parse_announcement, reaction_date
from models.event_study import car_for_window, event_study, fit_market_model


def test_us_after_close_announcement_reaches_asia_and_us_the_next_session() -> None:
    monday = date(2025, 4, 14)
    after_close = parse_announcement(monday, "16:30", "America/New_York")  # 04:30 Tuesday in Shanghai
    assert reaction_date(monday, after_close, "NASDAQ") == date(2025, 4, 15)
    assert reaction_date(monday, after_close, "SSE STAR") == date(2025, 4, 15)
    morning = parse_announcement(monday, "10:00", "America/New_York")  # 22:00 Monday in Shanghai: closed
    assert reaction_date(monday, morning, "NASDAQ") == monday
    assert reaction_date(monday, morning, "SSE STAR") == date(2025, 4, 15)
    assert reaction_date(monday, morning, "HKEX") == date(2025, 4, 15)
    beijing_noon = parse_announcement(monday, "12:00", "Asia/Shanghai")  # 00:00 New York, same day
    assert reaction_date(monday, beijing_noon, "SSE STAR") == monday
    assert reaction_date(monday, beijing_noon, "NYSE") == monday
    assert reaction_date(monday, None, "SSE STAR") == monday  # no time: the date, as before


def test_tokyo_close_moved_from_15_00_to_15_30() -> None:
    d_old, d_new = date(2024, 10, 1), date(2024, 11, 5)
    at_1510 = parse_announcement(d_old, "15:10", "Asia/Tokyo")
    assert reaction_date(d_old, at_1510, "TSE") == d_old + timedelta(days=1)
    assert reaction_date(d_new, parse_announcement(d_new, "15:10", "Asia/Tokyo"), "TSE") == d_new


def test_bad_announcement_time_names_the_field() -> None:
    with pytest.raises(ValueError, match="announced_time"):
        parse_announcement(date(2025, 1, 1), "4pm", "America/New_York")
    with pytest.raises(ValueError, match="announced_tz"):
        parse_announcement(date(2025, 1, 1), "16:00", None)


def _weekdays(start: date, n: int) -> list[date]:
    return [d.item() for d in np.busday_offset(np.datetime64(start, "D"), np.arange(n), roll="forward")]


def _pair(days: list[date], stock_returns: np.ndarray, seed: int = 1) -> pl.DataFrame:
    m = np.random.default_rng(seed).normal(0, 0.01, len(days))
    return pl.concat(
        [
            pl.DataFrame({"date": days, "ticker": "IDX", "close": 100 * np.cumprod(1 + m)}),
            pl.DataFrame({"date": days, "ticker": "A", "close": 10 * np.cumprod(1 + stock_returns + m)}),
        ]
    )


def test_timed_event_moves_day_zero_per_exchange_in_the_study() -> None:
    days = _weekdays(date(2023, 1, 2), 320)
    rets = np.random.default_rng(2).normal(0, 0.01, len(days))
    prices = _pair(days, rets)
    when = days[290]
    ev = [("e", when, "16:30", "America/New_York")]
    asia = event_study(prices, {"A": "IDX"}, ev, exchange_of={"A": "SSE STAR"})
    assert set(asia["event_day"].to_list()) == {days[291]}
    untimed = event_study(prices, {"A": "IDX"}, [("e", when)], exchange_of={"A": "SSE STAR"})
    assert set(untimed["event_day"].to_list()) == {when}


def test_limit_days_are_flagged_and_kept_out_of_the_estimation() -> None:
    r = np.array([0.0999, -0.0995, 0.05, np.nan, 0.1985])
    assert limit_days(r, 0.10).tolist() == [True, True, False, False, True]
    assert limit_days(r, 0.20).tolist() == [False, False, False, False, True]
    assert not limit_days(r, None).any()
    days = _weekdays(date(2023, 1, 2), 320)
    rng = np.random.default_rng(3)
    rets = rng.normal(0, 0.01, len(days))
    i0 = 290
    rets[i0] = 0.20  # limit-up on day 0 (STAR ±20 %)
    rets[i0 - 100] = -0.20  # a limit-down day inside the estimation window
    market = 100 * np.cumprod(1 + rng.normal(0, 0.01, len(days)))
    prices = pl.concat(
        [
            pl.DataFrame({"date": days, "ticker": "IDX", "close": market}),
            pl.DataFrame({"date": days, "ticker": "A", "close": 10 * np.cumprod(1 + rets)}),
        ]
    )
    out = event_study(prices, {"A": "IDX"}, [("e", days[i0])], price_limit_of={"A": 0.20})
    row = out.filter(pl.col("window") == "[0,+5]").row(0, named=True)
    assert row["limit_days"] == 1 and row["flag"] == "limit_hit" and np.isfinite(row["car"])
    assert row["n_estimation"] == 220  # 221 days minus the limit-down day
    plain = event_study(prices, {"A": "IDX"}, [("e", days[i0])])
    assert set(plain["flag"].to_list()) == {"ok"} and plain["n_estimation"][0] == 221


def test_dimson_with_no_lags_is_exactly_the_market_model() -> None:
    rng = np.random.default_rng(4)
    m = rng.normal(0, 0.01, 130)
    s = 1.2 * m + rng.normal(0, 0.01, 130)
    est, win = np.arange(120), np.arange(125, 128)
    model = fit_dimson(s, m, est, lags=0)
    ref = fit_market_model(s[est], m[est])
    assert model.beta == pytest.approx(ref.beta, rel=1e-12) and model.sigma2 == pytest.approx(ref.sigma2)
    car, var = dimson_car(model, s, m, win)
    res = car_for_window(ref, s[win], m[win], (0, 2))
    assert car == pytest.approx(res.car, rel=1e-10) and var == pytest.approx(res.car_var, rel=1e-10)


def test_dimson_betas_recover_a_lagged_response() -> None:
    days = _weekdays(date(2023, 1, 2), 320)
    rng = np.random.default_rng(5)
    m = rng.normal(0, 0.01, len(days))
    s = 0.5 * m + 0.5 * np.concatenate([[0.0], m[:-1]]) + rng.normal(0, 0.004, len(days))  # stale half
    prices = pl.concat(
        [
            pl.DataFrame({"date": days, "ticker": "IDX", "close": 100 * np.cumprod(1 + m)}),
            pl.DataFrame({"date": days, "ticker": "A", "close": 10 * np.cumprod(1 + s)}),
        ]
    )
    plain = event_study(prices, {"A": "IDX"}, [("e", days[290])])
    dimson = event_study(prices, {"A": "IDX"}, [("e", days[290])], thin_trading="dimson")
    assert plain["beta"][0] == pytest.approx(0.5, abs=0.1)
    assert dimson["beta"][0] == pytest.approx(1.0, abs=0.1)
    assert dimson["n_estimation"][0] == 221 and set(dimson["flag"].to_list()) == {"ok"}
    with pytest.raises(ValueError, match="thin_trading"):
        event_study(prices, {"A": "IDX"}, [("e", days[290])], thin_trading="scholes")
