"""The ``sample`` provider: deterministic, seeded, labelled synthetic prices for offline use.

NOT real prices. Every row carries ``provider='sample'`` (``fabscope status`` then reports
``sample_data: true`` and the dashboard shows its banner). The method is in docs/sample-prices.md:

- a one-factor market model on a weekday calendar from ``SAMPLE_START``: each benchmark index
  follows a Gaussian random walk in log price; each stock's log return is
  ``beta × (its benchmark's log return) + idiosyncratic noise``;
- export-control events (``announced_date`` from the warehouse's ``export_controls``) are regime
  points: a zero-mean jump on the event day and doubled idiosyncratic volatility for the next
  ``EVENT_REGIME_DAYS`` trading days (no direction is assumed: the event study must find none);
- calibration to public anchors (``ANCHORS``): a constant is added to the ticker's daily log
  returns inside each anchor window so that the window's total return equals the anchor exactly
  (e.g. Cambricon ≈ +350 % in the year to mid-2025);
- levels are rebased to ``BASE_LEVEL`` local-currency units on the first day: they are not the
  stocks' real price levels; only returns are calibrated.

Deterministic and prefix-stable: every ticker draws from its own generator seeded with
``(seed, crc32(ticker))`` over a fixed calendar to ``SAMPLE_HORIZON_END``, so a given date's
price does not depend on the requested end date.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from pipelines.sources.prices.base import FetchResult, currency_for, to_canonical

PROVIDER = "sample"
SAMPLE_SEED = 20_251_129
SAMPLE_START = date(2018, 1, 2)
SAMPLE_HORIZON_END = date(2030, 12, 31)
BASE_LEVEL = 100.0  # every series starts at 100 local-currency units (a rebased index, not a real price)
TRADING_DAYS = 252
EVENT_REGIME_DAYS = 10  # assumption: event volatility regime lasts two trading weeks
EVENT_VOL_MULTIPLIER = 2.0  # assumption: idiosyncratic volatility doubles inside the event regime
EVENT_JUMP_SIGMAS = 3.0  # assumption: event-day jump ~ N(0, (3 σ_daily)²), zero mean
STOCK_BETA = 1.2  # assumption: semiconductor stocks are high-beta to their benchmark (typical 1.0–1.6)
VOLUME_MEDIAN = 1.0e7  # shares/day, a placeholder scale (synthetic volumes carry no information)

# Annualised volatilities by segment: order-of-magnitude assumptions (flag estimate), not fitted.
SEGMENT_VOL = {
    "index": 0.18,
    "accelerator": 0.55,
    "cpu": 0.45,
    "foundry": 0.35,
    "equipment": 0.40,
    "memory": 0.40,
}
DEFAULT_VOL = 0.40
BENCHMARK_DRIFT = 0.07  # assumption: 7 %/yr drift for every benchmark index


@dataclass(frozen=True)
class Anchor:
    """A public fact the sample reproduces exactly: total return of ``ticker`` from ``start`` to ``end``."""

    ticker: str
    start: date
    end: date
    total_return: float  # fraction: 3.5 = +350 %
    source: str
    flag: str


ANCHORS: tuple[Anchor, ...] = (
    Anchor(
        "688256.SS",
        date(2024, 6, 28),
        date(2025, 6, 30),
        3.5,
        "fabscope reference market.md: Cambricon's shares rose about 350% in the year to mid-2025",
        "estimate",
    ),
    Anchor(
        "NVDA",
        date(2024, 6, 28),
        date(2025, 6, 30),
        0.28,
        "approximate Nasdaq closes (about $124 on 2024-06-28, about $158 on 2025-06-30); not re-checked",
        "estimate",
    ),
)


def weekdays(start: date, end: date) -> pl.Series:
    """Monday–Friday dates from ``start`` to ``end`` inclusive (the sample's calendar; no holidays)."""
    days = pl.date_range(start, end, "1d", eager=True)
    return days.filter(days.dt.weekday() <= 5)


def _rng(seed: int, ticker: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(ticker.encode())])


def _event_positions(calendar: np.ndarray, events: Sequence[date]) -> np.ndarray:
    """Calendar index of the first trading day on/after each event date (inside the calendar)."""
    ev = np.array(sorted(set(events)), dtype="datetime64[D]")
    pos = np.searchsorted(calendar, ev)
    return pos[pos < len(calendar)]


def _log_returns(vol: float, drift: float, n: int, rng: np.random.Generator) -> np.ndarray:
    daily = vol / np.sqrt(TRADING_DAYS)
    return drift / TRADING_DAYS - 0.5 * daily**2 + daily * rng.standard_normal(n)


def _calibrate(logret: np.ndarray, calendar: np.ndarray, anchors: Sequence[Anchor]) -> np.ndarray:
    """Shift log returns inside each anchor window so the window's total return is the anchor's."""
    out = logret.copy()
    for a in anchors:
        lo = np.searchsorted(
            calendar, np.datetime64(a.start, "D"), side="right"
        )  # returns after the start close
        hi = np.searchsorted(calendar, np.datetime64(a.end, "D"), side="right")
        if hi - lo < 1:
            continue
        gap = np.log1p(a.total_return) - out[lo:hi].sum()
        out[lo:hi] += gap / (hi - lo)
    return out


def sample_prices(
    universe: pl.DataFrame,
    start: date,
    end: date,
    *,
    events: Sequence[date] = (),
    seed: int = SAMPLE_SEED,
    anchors: Sequence[Anchor] = ANCHORS,
) -> pl.DataFrame:
    """Canonical sample prices for every ticker of ``universe`` (columns ticker, segment, benchmark,
    is_benchmark, currency) on weekdays in [start, end]."""
    cal = weekdays(SAMPLE_START, max(SAMPLE_HORIZON_END, end)).to_numpy().astype("datetime64[D]")
    n = len(cal)
    event_pos = _event_positions(cal, events)
    regime = np.ones(n)
    for p in event_pos:
        regime[p : p + EVENT_REGIME_DAYS] = EVENT_VOL_MULTIPLIER
    rows = universe.to_dicts()
    bench_ret: dict[str, np.ndarray] = {}
    for r in rows:
        if r.get("is_benchmark"):
            bench_ret[r["ticker"]] = _log_returns(
                SEGMENT_VOL["index"], BENCHMARK_DRIFT, n, _rng(seed, r["ticker"])
            )
    frames = []
    keep = (cal >= np.datetime64(start, "D")) & (cal <= np.datetime64(end, "D"))
    for r in rows:
        ticker = r["ticker"]
        rng = _rng(seed, ticker)
        if ticker in bench_ret:
            logret = bench_ret[ticker]
        else:
            vol = SEGMENT_VOL.get(r.get("segment") or "", DEFAULT_VOL)
            daily = vol / np.sqrt(TRADING_DAYS)
            market = bench_ret.get(r.get("benchmark") or "", np.zeros(n))
            idio = daily * rng.standard_normal(n) * regime
            jumps = np.zeros(n)
            jumps[event_pos] = EVENT_JUMP_SIGMAS * daily * rng.standard_normal(len(event_pos))
            logret = STOCK_BETA * market + idio + jumps - 0.5 * (daily * regime) ** 2
        logret = _calibrate(logret, cal, [a for a in anchors if a.ticker == ticker])
        logret[0] = 0.0
        close = BASE_LEVEL * np.exp(np.cumsum(logret))
        rng_ohlc = _rng(seed + 1, ticker)
        gap = np.exp(0.2 * np.abs(logret) * rng_ohlc.standard_normal(n))
        open_ = np.concatenate([[BASE_LEVEL], close[:-1]]) * gap
        spread = 1.0 + np.abs(logret) * 0.5 + 0.002
        high = np.maximum(open_, close) * spread
        low = np.minimum(open_, close) / spread
        volume = np.round(VOLUME_MEDIAN * np.exp(0.5 * rng_ohlc.standard_normal(n)))
        frames.append(
            pl.DataFrame(
                {
                    "date": cal[keep],
                    "ticker": ticker,
                    "open": open_[keep],
                    "high": high[keep],
                    "low": low[keep],
                    "close": close[keep],
                    "volume": volume[keep],
                    "currency": r.get("currency") or currency_for(ticker),
                }
            )
        )
    frame = pl.concat(frames) if frames else pl.DataFrame()
    return to_canonical(
        frame,
        provider=PROVIDER,
        adj_factor=1.0,
        source=f"fabscope sample generator (seed {seed}; synthetic, see docs/sample-prices.md)",
    )


@dataclass
class SampleProvider:
    """``sample``: see the module docstring. ``universe`` as for ``sample_prices``."""

    universe: pl.DataFrame
    events: Sequence[date] = ()
    seed: int = SAMPLE_SEED
    name: str = PROVIDER

    def fetch(self, tickers: Sequence[str], start: date, end: date) -> FetchResult:
        """Sample prices for ``tickers`` (all of the universe if empty) on weekdays in [start, end]."""
        uni = self.universe.filter(pl.col("ticker").is_in(list(tickers))) if tickers else self.universe
        # benchmarks are always generated: stocks are built on their benchmark's returns
        uni = pl.concat([uni, self.universe.filter(pl.col("is_benchmark"))]).unique(
            "ticker", maintain_order=True
        )
        frame = sample_prices(uni, start, end, events=self.events, seed=self.seed)
        missing = sorted(set(tickers) - set(frame["ticker"].unique().to_list())) if tickers else []
        return FetchResult(frame, failures={t: "not in the ticker universe" for t in missing})
