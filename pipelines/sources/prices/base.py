"""The price-provider interface: canonical frame layout, per-ticker failures, bounded retries.

Every provider returns a ``FetchResult``: one Polars frame in the canonical layout
(``CANONICAL_SCHEMA``: prices in the listing currency, ``adj_factor`` the multiplier
already applied to the raw close for splits/dividends) plus a summary of what failed
per ticker. A ticker that fails never drops the others: ``fetch_each`` catches the
failure, records it and moves on. Network calls go through ``with_retries`` (bounded
attempts, exponential backoff).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, TypeVar

import polars as pl

from fabscope.errors import DataError
from pipelines.validation import ValidationResult

CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "ticker": pl.String(),
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "currency": pl.String(),
    "adj_factor": pl.Float64(),
    "provider": pl.String(),
    "source": pl.String(),
}
"""Columns every provider returns, in this order (``close_usd`` is added by the asset from ``fx_daily``)."""

RETRY_ATTEMPTS = 3  # bounded: a dead endpoint costs at most 3 calls per ticker
RETRY_BACKOFF_S = 1.0  # first wait; doubles after each failed attempt (1 s, 2 s)

# Listing currency by Yahoo suffix (exchange); indices by symbol. Bare symbols are US listings (USD).
SUFFIX_CURRENCY = {
    ".SS": "CNY",
    ".SZ": "CNY",
    ".BJ": "CNY",
    ".HK": "HKD",
    ".KS": "KRW",
    ".KQ": "KRW",
    ".T": "JPY",
    ".TW": "TWD",
    ".TWO": "TWD",
    ".AS": "EUR",
    ".PA": "EUR",
    ".DE": "EUR",
    ".MI": "EUR",
}
INDEX_CURRENCY = {
    "^HSI": "HKD",
    "^KS11": "KRW",
    "^N225": "JPY",
    "^TWII": "TWD",
    "^STOXX50E": "EUR",
    "^SOX": "USD",
    "^GSPC": "USD",
    "^IXIC": "USD",
    "^DJI": "USD",
    "000300.SS": "CNY",
}

T = TypeVar("T")


class ProviderError(DataError):
    """A provider cannot run at all (bad spec, missing optional library, missing folder)."""


@dataclass
class FetchResult:
    """Canonical prices, per-ticker failures and (for file sources) the validation results."""

    frame: pl.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    validations: list[ValidationResult] = field(default_factory=list)
    refused_files: dict[str, str] = field(default_factory=dict)
    splits: pl.DataFrame | None = None

    @property
    def tickers_ok(self) -> list[str]:
        """Tickers with at least one stored row."""
        return sorted(self.frame["ticker"].unique().to_list()) if self.frame.height else []

    def summary(self) -> str:
        """What was fetched and what failed, one line per failure."""
        lines = [f"{self.frame.height} rows for {len(self.tickers_ok)} tickers"]
        lines += [f"  FAILED {t}: {why}" for t, why in sorted(self.failures.items())]
        lines += [f"  REFUSED {f}: {why}" for f, why in sorted(self.refused_files.items())]
        lines += [f"  {v.summary()}" for v in self.validations if v.quarantine.height]
        return "\n".join(lines)


class PriceProvider(Protocol):
    """Anything with a ``name`` and ``fetch(tickers, start, end)`` (``end`` inclusive)."""

    name: str

    def fetch(self, tickers: Sequence[str], start: date, end: date) -> FetchResult: ...


@dataclass
class RetryingProvider:
    """Fields and per-ticker loop shared by the network providers (``yahoo``, ``akshare``).

    ``known`` maps ticker → listing currency (the tickers table); ``attempts``/``backoff_s``/``sleep``
    bound the retries of each ticker (tests pass a recording ``sleep``).
    """

    known: Mapping[str, str] | None = None
    attempts: int = RETRY_ATTEMPTS
    backoff_s: float = RETRY_BACKOFF_S
    sleep: Callable[[float], None] = field(default=time.sleep)

    def fetch_each(self, tickers: Iterable[str], fetch_one: Callable[[str], pl.DataFrame]) -> FetchResult:
        """:func:`fetch_each` with this provider's retry settings."""
        return fetch_each(
            tickers, fetch_one, attempts=self.attempts, backoff_s=self.backoff_s, sleep=self.sleep
        )


def require_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` itself, or ``ProviderError("no rows returned")`` when it is empty (a retryable failure)."""
    if frame.height == 0:
        raise ProviderError("no rows returned")
    return frame


def empty_prices() -> pl.DataFrame:
    """An empty frame in the canonical layout."""
    return pl.DataFrame(schema=CANONICAL_SCHEMA)


def to_canonical(df: pl.DataFrame, **constants: object) -> pl.DataFrame:
    """Select/cast ``df`` to ``CANONICAL_SCHEMA``; missing columns become ``constants[name]`` or NULL."""
    exprs = []
    for name, dtype in CANONICAL_SCHEMA.items():
        if name in constants:
            exprs.append(pl.lit(constants[name]).cast(dtype).alias(name))
        elif name in df.columns:
            exprs.append(pl.col(name).cast(dtype).alias(name))
        elif name == "adj_factor":
            exprs.append(pl.lit(1.0).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(exprs)


def currency_for(ticker: str, known: Mapping[str, str] | None = None) -> str:
    """Listing currency of a Yahoo symbol: from ``known`` (the tickers table), else by suffix; default USD."""
    if known and ticker in known:
        return known[ticker]
    if ticker in INDEX_CURRENCY:
        return INDEX_CURRENCY[ticker]
    for suffix, ccy in sorted(SUFFIX_CURRENCY.items(), key=lambda kv: -len(kv[0])):
        if ticker.upper().endswith(suffix):
            return ccy
    return "USD"


def with_retries(
    call: Callable[[], T],
    *,
    attempts: int = RETRY_ATTEMPTS,
    backoff_s: float = RETRY_BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
) -> T:
    """Call ``call`` up to ``attempts`` times, sleeping ``backoff_s * 2**k`` between tries; re-raise the last error."""
    last: BaseException | None = None
    for k in range(attempts):
        try:
            return call()
        except retry_on as exc:  # bounded retry loop
            last = exc
            if k + 1 < attempts:
                sleep(backoff_s * 2**k)
    assert last is not None
    raise last


def fetch_each(
    tickers: Iterable[str],
    fetch_one: Callable[[str], pl.DataFrame],
    *,
    attempts: int = RETRY_ATTEMPTS,
    backoff_s: float = RETRY_BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """Run ``fetch_one`` per ticker with retries; failures (errors or no rows) are recorded, never fatal."""
    frames: list[pl.DataFrame] = []
    failures: dict[str, str] = {}
    for ticker in tickers:
        try:
            frame = with_retries(
                lambda t=ticker: fetch_one(t), attempts=attempts, backoff_s=backoff_s, sleep=sleep
            )
        except Exception as exc:  # one ticker failing never drops the others
            failures[ticker] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(
                ": "
            )
            continue
        if frame.height == 0:
            failures[ticker] = "no rows returned"
            continue
        frames.append(frame)
    frame = pl.concat(frames, how="vertical") if frames else empty_prices()
    return FetchResult(frame=frame, failures=failures)
