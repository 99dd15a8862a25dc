"""Market-model event study (MacKinlay 1997, "Event Studies in Economics and Finance", JEL 35:13–39).

Per ticker and event: fit ``R_it = α_i + β_i R_mt + ε_it`` by OLS on the estimation window
(default trading days [-250, -30] relative to the event day 0), then abnormal returns
``AR_it = R_it − α̂_i − β̂_i R_mt`` in each event window. ``CAR(τ1, τ2) = Σ AR``; its variance
includes the estimation error of α̂, β̂ (MacKinlay eq. 13–14):

    Var(CAR) = σ̂²_ε · [L2 + L2²/L1 + (Σ_window R_m − L2·μ̂_m)² / Σ_est (R_m − μ̂_m)²]

with L1 estimation days, L2 window days, σ̂²_ε = SSR / (L1 − 2). ``t = CAR / √Var(CAR)``.
Cross-section (domestic vs foreign): mean CAR over N tickers with
``Var(mean CAR) = Σ Var(CAR_i) / N²`` (MacKinlay's J1, independence across tickers assumed).
Returns are simple daily returns (fractions); day 0 is the first trading day on or after the
event date. A return across a hole of more than ``MAX_RETURN_GAP_DAYS`` calendar days is dropped,
so an event falling in a gap of the data never gets a "day 0" months later. Pure NumPy/Polars: no
pipelines import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from fabscope.errors import DataError

ESTIMATION_WINDOW = (-250, -30)  # trading days relative to day 0 (MacKinlay uses a 250-day window)
EVENT_WINDOWS: tuple[tuple[int, int], ...] = ((-1, 1), (0, 5), (0, 20))
MIN_ESTIMATION_DAYS = 100  # fewer usable estimation days than this: no result for that ticker/event
MAX_RETURN_GAP_DAYS = 14  # a "daily" return spanning more calendar days than this (a hole in the data,
# e.g. two exports joined with months between them) is not a daily return: it is left out (NaN).
# 14 covers the longest exchange holidays (Chinese New Year, Golden Week: about 10 days).

RESULT_SCHEMA = {
    "event_id": pl.String,
    "ticker": pl.String,
    "window": pl.String,
    "car": pl.Float64,
    "car_var": pl.Float64,
    "t_stat": pl.Float64,
    "alpha": pl.Float64,
    "beta": pl.Float64,
    "n_estimation": pl.Int64,
    "event_day": pl.Date,
}


@dataclass(frozen=True)
class MarketModel:
    """OLS fit of stock on market returns over the estimation window."""

    alpha: float
    beta: float
    sigma2: float  # residual variance, SSR / (L1 − 2)
    n: int  # L1, estimation days used
    mean_market: float
    sxx_market: float  # Σ (R_m − mean)²


@dataclass(frozen=True)
class WindowResult:
    """CAR over one event window, its variance and t-statistic."""

    window: tuple[int, int]
    car: float
    car_var: float
    t_stat: float
    n_days: int


def window_label(window: tuple[int, int]) -> str:
    """``(-1, 1)`` → ``"[-1,+1]"``, ``(0, 5)`` → ``"[0,+5]"``."""
    return "[" + ",".join(f"+{d}" if d > 0 else str(d) for d in window) + "]"


def fit_market_model(stock: np.ndarray, market: np.ndarray) -> MarketModel:
    """OLS of ``stock`` on ``market`` (equal-length arrays of simple returns, NaN-free)."""
    n = len(stock)
    if n < 3:
        raise DataError("the market model needs at least 3 estimation days")
    mm = float(market.mean())
    sxx = float(((market - mm) ** 2).sum())
    if sxx <= 0:
        raise DataError("market returns are constant over the estimation window")
    beta = float(((market - mm) * (stock - stock.mean())).sum() / sxx)
    alpha = float(stock.mean() - beta * mm)
    resid = stock - alpha - beta * market
    return MarketModel(alpha, beta, float((resid**2).sum() / (n - 2)), n, mm, sxx)


def car_for_window(
    model: MarketModel, stock: np.ndarray, market: np.ndarray, window: tuple[int, int]
) -> WindowResult:
    """CAR and its MacKinlay variance over the window's returns ``stock``/``market`` (length L2)."""
    ar = stock - model.alpha - model.beta * market
    l2 = len(ar)
    car = float(ar.sum())
    dev = float(market.sum() - l2 * model.mean_market)
    var = model.sigma2 * (l2 + l2**2 / model.n + dev**2 / model.sxx_market)
    t = car / np.sqrt(var) if var > 0 else float("nan")
    return WindowResult(window, car, float(var), float(t), l2)


def event_cars(
    stock: np.ndarray,
    market: np.ndarray,
    event_index: int,
    *,
    estimation: tuple[int, int] = ESTIMATION_WINDOW,
    windows: Sequence[tuple[int, int]] = EVENT_WINDOWS,
    min_estimation_days: int = MIN_ESTIMATION_DAYS,
) -> tuple[MarketModel, list[WindowResult]] | None:
    """Market model + CARs for one event at position ``event_index`` of aligned return arrays.

    Windows are inclusive; an event window running past the data, or too few finite
    estimation days, gives ``None`` for the event (or drops that window).
    """
    lo, hi = max(event_index + estimation[0], 0), event_index + estimation[1]
    if hi < lo:
        return None
    est = slice(lo, hi + 1)
    s_est, m_est = stock[est], market[est]
    ok = np.isfinite(s_est) & np.isfinite(m_est)
    if ok.sum() < min_estimation_days:
        return None
    try:
        model = fit_market_model(s_est[ok], m_est[ok])
    except DataError:
        return None
    out = []
    for w in windows:
        a, b = event_index + w[0], event_index + w[1]
        if a < 0 or b >= len(stock):
            continue
        s_w, m_w = stock[a : b + 1], market[a : b + 1]
        if not (np.isfinite(s_w).all() and np.isfinite(m_w).all()):
            continue
        out.append(car_for_window(model, s_w, m_w, w))
    return model, out


def event_study(
    prices: pl.DataFrame,
    benchmark_of: Mapping[str, str],
    events: Sequence[tuple[str, date]],
    *,
    estimation: tuple[int, int] = ESTIMATION_WINDOW,
    windows: Sequence[tuple[int, int]] = EVENT_WINDOWS,
    min_estimation_days: int = MIN_ESTIMATION_DAYS,
    max_gap_days: int = MAX_RETURN_GAP_DAYS,
) -> pl.DataFrame:
    """CARs for every (event, ticker, window). ``prices``: date, ticker, close (one currency per ticker);
    ``benchmark_of``: ticker → benchmark ticker (present in ``prices``); ``events``: (event_id, event date)."""
    rows: list[dict] = []
    parts = prices.select("date", "ticker", "close").partition_by("ticker", as_dict=True, include_key=False)
    closes = {key[0]: frame.sort("date") for key, frame in parts.items()}
    for ticker, bench in sorted(benchmark_of.items()):
        if ticker == bench or ticker not in closes or bench not in closes:
            continue
        pair = closes[ticker].join(closes[bench].rename({"close": "m"}), on="date", how="inner").sort("date")
        if pair.height < min_estimation_days + 2:
            continue
        s = pair["close"].to_numpy()
        m = pair["m"].to_numpy()
        days = pair["date"].to_numpy().astype("datetime64[D]")
        spans = np.concatenate([[np.inf], np.diff(days).astype("int64")])
        r_s = np.concatenate([[np.nan], s[1:] / s[:-1] - 1.0])
        r_m = np.concatenate([[np.nan], m[1:] / m[:-1] - 1.0])
        hole = spans > max_gap_days
        r_s[hole] = np.nan
        r_m[hole] = np.nan
        for event_id, when in events:
            idx = int(np.searchsorted(days, np.datetime64(when, "D"), side="left"))
            if idx >= len(days):
                continue
            fitted = event_cars(
                r_s, r_m, idx, estimation=estimation, windows=windows, min_estimation_days=min_estimation_days
            )
            if fitted is None:
                continue
            model, results = fitted
            for res in results:
                rows.append(
                    {
                        "event_id": event_id,
                        "ticker": ticker,
                        "window": window_label(res.window),
                        "car": res.car,
                        "car_var": res.car_var,
                        "t_stat": res.t_stat,
                        "alpha": model.alpha,
                        "beta": model.beta,
                        "n_estimation": model.n,
                        "event_day": days[idx].item(),
                    }
                )
    return pl.DataFrame(rows, schema=RESULT_SCHEMA)


def cross_section(results: pl.DataFrame, group_of: Mapping[str, str]) -> pl.DataFrame:
    """Mean CAR per (event, window, group) with MacKinlay's J1 t-statistic; ``group_of``: ticker → group."""
    if results.height == 0:
        return pl.DataFrame(
            schema={
                "event_id": pl.String,
                "window": pl.String,
                "group": pl.String,
                "n": pl.Int64,
                "mean_car": pl.Float64,
                "t_stat": pl.Float64,
            }
        )
    tagged = results.with_columns(
        pl.col("ticker").replace_strict(dict(group_of), default=None, return_dtype=pl.String).alias("group")
    ).filter(pl.col("group").is_not_null())
    return (
        tagged.group_by("event_id", "window", "group")
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("car").mean().alias("mean_car"),
            (pl.col("car_var").sum().sqrt() / pl.len()).alias("_se"),
        )
        .with_columns((pl.col("mean_car") / pl.col("_se")).alias("t_stat"))
        .drop("_se")
        .sort("event_id", "window", "group")
    )
