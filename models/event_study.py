"""Market-model event study (MacKinlay 1997, "Event Studies in Economics and Finance", JEL 35:13–39).

Per ticker and event: fit ``R_it = α_i + β_i R_mt + ε_it`` by OLS on the estimation window
(default trading days [-250, -30] relative to the event day 0), then abnormal returns
``AR_it = R_it − α̂_i − β̂_i R_mt`` in each event window. ``CAR(τ1, τ2) = Σ AR``; its variance
includes the estimation error of α̂, β̂ (MacKinlay eq. 13–14):

    Var(CAR) = σ̂²_ε · [L2 + L2²/L1 + (Σ_window R_m − L2·μ̂_m)² / Σ_est (R_m − μ̂_m)²]

with L1 estimation days, L2 window days, σ̂²_ε = SSR / (L1 − 2). ``t = CAR / √Var(CAR)``.
Group tests (J1, BMP, BMP-KP, generalized rank, calendar-time portfolio) are in
``models.event_tests``. Returns are simple daily returns (fractions). Relative days are nominal
trading days (``models.event_windows``): rows of the pair's data, plus the missing weekdays of a hole
(a return across more than ``MAX_RETURN_GAP_DAYS`` calendar days is dropped), so windows keep their
calendar length; each row carries ``n_estimation``, ``gap_days``, ``masked_days``, ``limit_days`` and
a ``flag`` (``FLAGS``) instead of being shifted or dropped. Day 0 is the first trading day on or
after the date the listing's exchange can react (``models.event_markets``). Pure NumPy/Polars
(statsmodels for the Dimson option): no pipelines import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from fabscope.errors import DataError
from models.event_markets import (
    THIN_TRADING,
    DimsonModel,
    dimson_abnormal,
    dimson_car,
    fit_dimson,
    lagged_market,
    limit_days,
    reaction_date,
)
from models.event_windows import (
    MAX_RETURN_GAP_DAYS,
    announcement_instants,
    collapse_same_day_events,
    day_zero_position,
    first_weekday,
    nominal_positions,
    pair_returns,
)

ESTIMATION_WINDOW = (-250, -30)  # trading days relative to day 0 (MacKinlay uses a 250-day window)
EVENT_WINDOWS: tuple[tuple[int, int], ...] = ((-1, 1), (0, 5), (0, 20))
# Days around another event left out of an estimation window: its short-run reaction. Masking
# the whole union of the event windows ([-1,+20]) of the ~10 events a year of 2025 leaves no
# estimation window at all (2026-01-13: 221 − 199 = 22 days on a complete history).
MASK_WINDOW = (-1, 5)
MIN_ESTIMATION_DAYS = 100  # fewer usable estimation days than this: no result for that ticker/event

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
    "event_ids": pl.String,  # every event id of that date, ";"-joined (event_id is the first)
    "benchmark": pl.String,
    "gap_days": pl.Int64,
    "masked_days": pl.Int64,
    "flag": pl.String,
    "limit_days": pl.Int64,  # days of the window at the daily price limit
}
ABNORMAL_SCHEMA = {  # one row per (event, ticker, day) behind the CARs: residuals and window ARs
    "event_id": pl.String,
    "ticker": pl.String,
    "date": pl.Date,
    "rel_day": pl.Int64,  # nominal trading days from day 0
    "window": pl.String,  # null: estimation day; else the event window the AR belongs to
    "ar": pl.Float64,  # abnormal return (estimation: OLS residual), fraction per day
    "sigma": pl.Float64,  # residual sd of the ticker's market model, fraction per day
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


@dataclass(frozen=True)
class EventFit:
    """One (ticker, event): the market model (None when too few estimation days), window CARs and the
    data diagnostics. Row indices point into the pair's aligned return arrays."""

    model: MarketModel | DimsonModel | None
    results: list[WindowResult]
    estimation_days: int  # L1: finite, unmasked returns used in the fit
    gap_days: int  # nominal trading days of the estimation window with no price row (a data hole)
    masked_days: int  # estimation days left out because another event's window covers them
    flag: str  # FLAG_OK or FLAGS joined by ";"
    estimation_rows: np.ndarray  # row indices used in the fit
    window_rows: dict[tuple[int, int], np.ndarray]  # per window: row indices of its days
    limit_days: dict[tuple[int, int], int]  # per window: days at the daily price limit


FLAG_OK = "ok"
FLAGS = {
    "limit_hit": "the event window has price-limit days (A-shares): the CAR is censored toward 0",
    "estimation_gap": "the estimation window spans a hole in the data (gap_days > 0)",
    "short_estimation": "too few estimation days left around a hole or other events: no CAR",
    "event_window_gap": "the event window spans a hole in the data: no CAR",
    "event_in_gap": "day 0 falls inside a hole in the data (no price that week): no CAR",
}


def fit_event(
    stock: np.ndarray,
    market: np.ndarray,
    day0: int,
    *,
    positions: np.ndarray | None = None,
    masked: np.ndarray | None = None,
    limited: np.ndarray | None = None,
    day0_in_gap: bool = False,
    estimation: tuple[int, int] = ESTIMATION_WINDOW,
    windows: Sequence[tuple[int, int]] = EVENT_WINDOWS,
    min_estimation_days: int = MIN_ESTIMATION_DAYS,
    thin_trading: str = "none",
) -> EventFit:
    """Market model + CARs for one event with day 0 at nominal position ``day0``.

    ``positions``: nominal trading-day position of each return (default: the row number, i.e. no
    holes); ``masked``: returns left out of the estimation (other events' windows); ``limited``:
    returns at a daily price limit (left out of the estimation, counted per window);
    ``thin_trading``: ``"none"`` (market model) or ``"dimson"`` (betas at t−1, t, t+1). Windows are
    inclusive and in nominal days; a window past the last row is left out (no data yet), a window
    with a missing day gives a NaN CAR flagged ``event_window_gap``."""
    if thin_trading not in THIN_TRADING:
        raise ValueError(f"thin_trading={thin_trading!r}: expected one of {', '.join(THIN_TRADING)}")
    pos = np.arange(len(stock)) if positions is None else positions
    finite = np.isfinite(stock) & np.isfinite(market)
    lo, hi = day0 + estimation[0], day0 + estimation[1]
    in_est = (pos >= lo) & (pos <= hi)
    present = int(in_est.sum())
    span = max(0, min(hi, int(pos[-1])) - max(lo, int(pos[0])) + 1) if len(pos) else 0
    gap_days = max(0, span - present)
    use = in_est & finite
    use_all = use.copy()
    masked_days = int((use & masked).sum()) if masked is not None else 0
    if masked is not None:
        use &= ~masked
    if limited is not None:
        use &= ~limited
    if thin_trading == "dimson":  # the lagged design needs the neighbouring market returns too
        use &= np.isfinite(lagged_market(market)).all(axis=1)
    rows = np.flatnonzero(use)
    flags = ["estimation_gap"] if gap_days else []
    if day0_in_gap:
        flags.append("event_in_gap")
    model = None
    if len(rows) >= min_estimation_days:
        try:
            if thin_trading == "dimson":
                model = fit_dimson(stock, market, rows)
            else:
                model = fit_market_model(stock[rows], market[rows])
        except DataError:
            model = None
    enough_without = int(use_all.sum()) >= min_estimation_days  # before masking and limit days
    if model is None and not flags and not (masked_days and enough_without):
        # too little history, as before issue 13 (e.g. a listing younger than the window): no rows
        return EventFit(None, [], len(rows), gap_days, masked_days, FLAG_OK, rows, {}, {})
    if model is None:
        flags.append("short_estimation")
    out: list[WindowResult] = []
    window_rows: dict[tuple[int, int], np.ndarray] = {}
    limits: dict[tuple[int, int], int] = {}
    for w in windows:
        a, b = day0 + w[0], day0 + w[1]
        if len(pos) == 0 or b > pos[-1] or a < pos[0]:
            continue
        sel = np.flatnonzero((pos >= a) & (pos <= b))
        complete = len(sel) == b - a + 1 and bool(finite[sel].all())
        limits[w] = int(limited[sel].sum()) if limited is not None else 0
        if isinstance(model, DimsonModel) and complete:
            complete = bool(np.isfinite(lagged_market(market)[sel]).all())
        if model is not None and complete and not day0_in_gap:
            out.append(_window_result(model, stock, market, sel, w))
            window_rows[w] = sel
        else:
            out.append(WindowResult(w, float("nan"), float("nan"), float("nan"), int(finite[sel].sum())))
            if not complete and "event_window_gap" not in flags and not day0_in_gap:
                flags.append("event_window_gap")
    flag = ";".join(flags) or FLAG_OK
    return EventFit(model, out, len(rows), gap_days, masked_days, flag, rows, window_rows, limits)


def _window_result(
    model: MarketModel | DimsonModel,
    stock: np.ndarray,
    market: np.ndarray,
    sel: np.ndarray,
    w: tuple[int, int],
) -> WindowResult:
    if isinstance(model, DimsonModel):
        car, var = dimson_car(model, stock, market, sel)
        return WindowResult(w, car, var, car / np.sqrt(var) if var > 0 else float("nan"), len(sel))
    return car_for_window(model, stock[sel], market[sel], w)


def abnormal_returns(
    model: MarketModel | DimsonModel, stock: np.ndarray, market: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Abnormal returns (fractions) on ``rows`` under either model."""
    if isinstance(model, DimsonModel):
        return dimson_abnormal(model, stock, market, rows)
    return stock[rows] - model.alpha - model.beta * market[rows]


def event_cars(
    stock: np.ndarray,
    market: np.ndarray,
    event_index: int,
    *,
    estimation: tuple[int, int] = ESTIMATION_WINDOW,
    windows: Sequence[tuple[int, int]] = EVENT_WINDOWS,
    min_estimation_days: int = MIN_ESTIMATION_DAYS,
) -> tuple[MarketModel, list[WindowResult]] | None:
    """Market model + CARs for one event at row ``event_index`` of hole-free aligned return arrays."""
    fit = fit_event(
        stock,
        market,
        event_index,
        estimation=estimation,
        windows=windows,
        min_estimation_days=min_estimation_days,
    )
    return None if fit.model is None else (fit.model, fit.results)


def _row_flag(flag: str, limit_hits: int) -> str:
    if not limit_hits:
        return flag
    return "limit_hit" if flag == FLAG_OK else f"{flag};limit_hit"


@dataclass(frozen=True)
class EventStudy:
    """Per-(event, ticker, window) results, the abnormal returns behind them, and skipped pairs."""

    results: pl.DataFrame  # RESULT_SCHEMA
    abnormal: pl.DataFrame  # ABNORMAL_SCHEMA: estimation residuals and event-window ARs
    skipped: dict[str, str]  # ticker → why its pair was not studied


def event_study_panel(
    prices: pl.DataFrame,
    benchmark_of: Mapping[str, str],
    events: Sequence[tuple],
    *,
    estimation: tuple[int, int] = ESTIMATION_WINDOW,
    windows: Sequence[tuple[int, int]] = EVENT_WINDOWS,
    min_estimation_days: int = MIN_ESTIMATION_DAYS,
    max_gap_days: int = MAX_RETURN_GAP_DAYS,
    mask_other_events: bool = True,
    mask_window: tuple[int, int] = MASK_WINDOW,
    thin_trading: str = "none",
    exchange_of: Mapping[str, str] | None = None,
    price_limit_of: Mapping[str, float | None] | None = None,
) -> EventStudy:
    """CARs for every (event, ticker, window), plus the abnormal returns the group tests need.

    ``prices``: date, ticker, close (one currency per ticker), optionally ``provider``: a real stock
    whose benchmark series is ``provider='sample'`` is skipped (named in ``skipped``), never
    regressed on synthetic data. ``benchmark_of``: ticker → benchmark ticker. ``events``:
    (event_id, date) or (event_id, date, "HH:MM", zone); events of the same date are collapsed into
    one (``event_ids`` lists them; it keeps the earliest time when every one has a time). With
    ``mask_other_events`` the days ``mask_window`` around other events are left out of each estimation.
    ``exchange_of`` (ticker → exchange) moves day 0 to the first session after a timed
    announcement; ``price_limit_of`` (ticker → daily limit, fraction) flags limit days;
    ``thin_trading="dimson"`` fits Dimson betas (``models.event_markets``)."""
    rows: list[dict] = []
    ab_rows: list[pl.DataFrame] = []
    skipped: dict[str, str] = {}
    cols = ["date", "ticker", "close"] + (["provider"] if "provider" in prices.columns else [])
    parts = prices.select(cols).partition_by("ticker", as_dict=True, include_key=False)
    closes = {key[0]: frame.sort("date") for key, frame in parts.items()}
    collapsed = collapse_same_day_events([(e[0], e[1]) for e in events])
    instants = announcement_instants(events)
    for ticker, bench in sorted(benchmark_of.items()):
        if ticker == bench or ticker not in closes or bench not in closes:
            continue
        if "provider" in cols:
            real = closes[ticker].filter(pl.col("provider") != "sample").height > 0
            if real and closes[bench].filter(pl.col("provider") == "sample").height > 0:
                skipped[ticker] = f"{ticker} has real prices but its benchmark {bench} only sample prices"
                continue
        pair = (
            closes[ticker]
            .select("date", "close")
            .join(closes[bench].select("date", pl.col("close").alias("m")), on="date", how="inner")
            .sort("date")
        )
        if pair.height < min_estimation_days + 2:
            continue
        r_s, r_m, days = pair_returns(pair, max_gap_days)
        pos = nominal_positions(days, max_gap_days)
        limited = limit_days(r_s, (price_limit_of or {}).get(ticker))
        exchange = (exchange_of or {}).get(ticker)
        reacts = {when: reaction_date(when, instants.get(when), exchange) for _, _, when in collapsed}
        day0s = [
            (eid, ids, reacts[when], d0)
            for eid, ids, when in collapsed
            if (d0 := day_zero_position(days, pos, np.datetime64(reacts[when], "D"), max_gap_days))
            is not None
        ]
        for eid, ids, when, (day0, in_gap) in day0s:
            masked = None
            if mask_other_events:
                masked = np.zeros(len(pos), dtype=bool)
                for other, _, _, (d, _) in day0s:
                    if other != eid:
                        masked |= (pos >= d + mask_window[0]) & (pos <= d + mask_window[1])
            fit = fit_event(
                r_s,
                r_m,
                day0,
                positions=pos,
                masked=masked,
                limited=limited if limited.any() else None,
                day0_in_gap=in_gap,
                estimation=estimation,
                windows=windows,
                min_estimation_days=min_estimation_days,
                thin_trading=thin_trading,
            )
            if not fit.results:
                continue
            idx0 = np.flatnonzero(pos == day0)
            event_day = days[idx0[0]].item() if len(idx0) and not in_gap else first_weekday(when)
            model = fit.model
            for res in fit.results:
                rows.append(
                    {
                        "event_id": eid,
                        "ticker": ticker,
                        "window": window_label(res.window),
                        "car": res.car,
                        "car_var": res.car_var,
                        "t_stat": res.t_stat,
                        "alpha": model.alpha if model else None,
                        "beta": model.beta if model else None,
                        "n_estimation": fit.estimation_days,
                        "event_day": event_day,
                        "event_ids": ids,
                        "benchmark": bench,
                        "gap_days": fit.gap_days,
                        "masked_days": fit.masked_days,
                        "flag": _row_flag(fit.flag, fit.limit_days.get(res.window, 0)),
                        "limit_days": fit.limit_days.get(res.window, 0),
                    }
                )
            if model is None:
                continue
            est = fit.estimation_rows
            ar_est = abnormal_returns(model, r_s, r_m, est)
            parts_ = [
                pl.DataFrame(
                    {
                        "date": days[est],
                        "rel_day": (pos[est] - day0).astype(np.int64),
                        "ar": ar_est,
                        "window": None,
                    },
                    schema_overrides={"window": pl.String},
                )
            ]
            for w, sel in fit.window_rows.items():
                parts_.append(
                    pl.DataFrame(
                        {
                            "date": days[sel],
                            "rel_day": (pos[sel] - day0).astype(np.int64),
                            "ar": abnormal_returns(model, r_s, r_m, sel),
                            "window": window_label(w),
                        }
                    )
                )
            ab_rows.append(
                pl.concat(parts_).with_columns(
                    pl.lit(eid).alias("event_id"),
                    pl.lit(ticker).alias("ticker"),
                    pl.lit(float(np.sqrt(model.sigma2))).alias("sigma"),
                )
            )
    results = pl.DataFrame(rows, schema=RESULT_SCHEMA)
    abnormal = (
        pl.concat(ab_rows).select(*ABNORMAL_SCHEMA).cast(ABNORMAL_SCHEMA)
        if ab_rows
        else pl.DataFrame(schema=ABNORMAL_SCHEMA)
    )
    return EventStudy(results, abnormal, skipped)


def event_study(
    prices: pl.DataFrame, benchmark_of: Mapping[str, str], events: Sequence[tuple[str, date]], **kw
) -> pl.DataFrame:
    """The per-(event, ticker, window) frame of ``event_study_panel`` (same arguments)."""
    return event_study_panel(prices, benchmark_of, events, **kw).results
