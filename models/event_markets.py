"""Day 0 across markets and daily price limits for the event study (issue 13).

- **Day 0**: an announcement with a known time (``export_controls.announced_time`` + ``announced_tz``)
  reaches each exchange on the first session that opens after it. In the exchange's own zone, an
  announcement at or after the close (e.g. a US rule at 16:30 New York = 04:30 Shanghai next day,
  before the Asian open; a 10:00 New York release = 22:00 Shanghai, after the Asian close) moves the
  reaction to the next calendar day; day 0 is then the first trading day on or after that date.
  Without a time the announcement date is used as before (first trading day on or after it).
- **Price limits**: A-shares cannot move more than ±10 % (main boards) or ±20 % (STAR, ChiNext) from
  the previous close (``tickers.price_limit``). A return at the limit (within ``LIMIT_TOLERANCE``,
  prices are rounded to 0.01 CNY) is censored: the true reaction was larger and spills into the
  next days. Limit days are left out of the estimation window and counted in each event window
  (``limit_days``, flag ``limit_hit``: the CAR is a lower bound in absolute value).
- **Thin trading**: optional Dimson (1979) betas, the stock regressed on the market at t−1, t, t+1
  (``thin_trading="dimson"``), for stocks whose prices lag the index (an Asian close against a US
  index, stale quotes). Scholes–Williams is not implemented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

# exchange (tickers.exchange) → (IANA zone, regular-session close). Sources: exchange trading-hours pages.
EXCHANGE_SESSIONS: dict[str, tuple[str, time]] = {
    "NASDAQ": ("America/New_York", time(16, 0)),
    "NYSE": ("America/New_York", time(16, 0)),
    "SNP": ("America/New_York", time(16, 0)),
    "SSE": ("Asia/Shanghai", time(15, 0)),
    "SSE STAR": ("Asia/Shanghai", time(15, 0)),
    "SZSE": ("Asia/Shanghai", time(15, 0)),
    "HKEX": ("Asia/Hong_Kong", time(16, 0)),
    "TWSE": ("Asia/Taipei", time(13, 30)),
    "KRX": ("Asia/Seoul", time(15, 30)),
    "TSE": ("Asia/Tokyo", time(15, 30)),
    "OSA": ("Asia/Tokyo", time(15, 30)),
}
TSE_LONGER_SESSION_FROM = date(2024, 11, 5)  # Tokyo closed at 15:00 before this day
LIMIT_TOLERANCE = 0.002  # a return within 0.2 percentage points of the limit is a limit day


def parse_announcement(announced: date, hhmm: str | None, tz: str | None) -> datetime | None:
    """The announcement instant, or None without a time. Raises ``ValueError`` naming the bad field."""
    if not hhmm:
        return None
    try:
        hour, minute = (int(x) for x in hhmm.strip().split(":"))
        local = time(hour, minute)
    except ValueError:
        raise ValueError(f"announced_time={hhmm!r}: expected HH:MM") from None
    if not tz:
        raise ValueError(f"announced_time={hhmm!r} without announced_tz")
    return datetime.combine(announced, local, tzinfo=ZoneInfo(tz))


def reaction_date(announced: date, instant: datetime | None, exchange: str | None) -> date:
    """The calendar date from which ``exchange`` can react: the local date of ``instant``, plus one day
    when it falls at or after that exchange's close. Without an instant or a known exchange:
    ``announced``."""
    if instant is None or exchange not in EXCHANGE_SESSIONS:
        return announced
    zone, close = EXCHANGE_SESSIONS[exchange]
    local = instant.astimezone(ZoneInfo(zone))
    if exchange in ("TSE", "OSA") and local.date() < TSE_LONGER_SESSION_FROM:
        close = time(15, 0)
    return local.date() + timedelta(days=1) if local.time() >= close else local.date()


def limit_days(returns: np.ndarray, limit: float | None) -> np.ndarray:
    """Boolean mask of returns at the daily price limit (fraction, e.g. 0.10); all False without one."""
    if limit is None or not np.isfinite(limit) or limit <= 0:
        return np.zeros(len(returns), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.isfinite(returns) & (np.abs(returns) >= limit - LIMIT_TOLERANCE)


# ---- thin trading: Dimson (1979) betas ------------------------------------------------------------
DIMSON_LAGS = 1  # market returns at t−1, t, t+1
THIN_TRADING = ("none", "dimson")  # event_study thin_trading choices


@dataclass(frozen=True)
class DimsonModel:
    """OLS of the stock on market returns at leads/lags −k…+k (Dimson 1979, JFE 7:197); ``beta = Σ β_k``.

    ``params``: [α, β_−k … β_+k]; ``cov``: their covariance σ²(X'X)⁻¹ (statsmodels)."""

    alpha: float
    beta: float
    sigma2: float
    n: int
    params: np.ndarray
    cov: np.ndarray
    lags: int


def lagged_market(market: np.ndarray, lags: int = DIMSON_LAGS) -> np.ndarray:
    """(len, 2·lags + 2) design: a constant and ``market`` shifted to t−lags … t+lags (NaN off the ends)."""
    n = len(market)
    cols = [np.ones(n)]
    for k in range(-lags, lags + 1):
        col = np.full(n, np.nan)
        if k <= 0:
            col[-k:] = market[: n + k] if k else market
        else:
            col[:-k] = market[k:]
        cols.append(col)
    return np.column_stack(cols)


def fit_dimson(
    stock: np.ndarray, market: np.ndarray, rows: np.ndarray, lags: int = DIMSON_LAGS
) -> DimsonModel:
    """Dimson regression on ``rows`` (indices whose lagged design is finite), by statsmodels OLS."""
    import statsmodels.api as sm

    x = lagged_market(market, lags)[rows]
    fit = sm.OLS(stock[rows], x).fit()
    params = np.asarray(fit.params)
    return DimsonModel(
        float(params[0]),
        float(params[1:].sum()),
        float(fit.scale),
        len(rows),
        params,
        np.asarray(fit.cov_params()),
        lags,
    )


def dimson_abnormal(
    model: DimsonModel, stock: np.ndarray, market: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Abnormal returns on ``rows``: ``R − X b`` with the lagged design."""
    return stock[rows] - lagged_market(market, model.lags)[rows] @ model.params


def dimson_car(
    model: DimsonModel, stock: np.ndarray, market: np.ndarray, rows: np.ndarray
) -> tuple[float, float]:
    """CAR over ``rows`` and its variance ``σ²·L2 + ι'X_w Cov(b) X_w'ι`` (MacKinlay's eq. 13–14 for any
    regressors: with lags = 0 it is exactly the market-model variance)."""
    x_sum = lagged_market(market, model.lags)[rows].sum(axis=0)
    car = float(dimson_abnormal(model, stock, market, rows).sum())
    return car, float(model.sigma2 * len(rows) + x_sum @ model.cov @ x_sum)
