"""The price-export layouts a ``csv:DIR`` drop recognises (see ``pipelines.sources.prices.csv_drop``).

Each ``Layout`` maps one export's header to the canonical columns; ``detect_layout`` picks it from the
header; symbols are made Yahoo-style (A-share codes get their exchange suffix, file names give the
ticker of single-ticker exports); dates are normalised to ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.sources.prices.base import INDEX_CURRENCY, ProviderError

AKSHARE_LOT = 100.0  # akshare 成交量 is in lots (手) of 100 shares (akshare docs, stock_zh_a_hist)
CURRENCY_ALIASES = {"RMB": "CNY", "CNH": "CNY", "US$": "USD", "HK$": "HKD"}  # how exports spell them

_YF = {
    "date": "date",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "adj close": "adj_close",
    "volume": "volume",
    "dividends": "dividends",
    "stock splits": "stock_splits",
    "capital gains": "capital_gains",
}
_CN_EXPORT = {
    "日期": "date",
    "开盘价": "open",
    "最高价": "high",
    "最低价": "low",
    "收盘价": "close",
    "成交量": "volume",
    "成交额": "turnover",
    "股票代码": "ticker",
    "代码": "ticker",
}
_AKSHARE = {
    "日期": "date",
    "开盘": "open",
    "最高": "high",
    "最低": "low",
    "收盘": "close",
    "成交量": "volume",
    "成交额": "turnover",
    "股票代码": "ticker",
    "振幅": "amplitude",
    "涨跌幅": "pct_change",
    "涨跌额": "change",
    "换手率": "turnover_rate",
}
_CANONICAL = {
    "date": "date",
    "ticker": "ticker",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "volume": "volume",
    "currency": "currency",
    "adj close": "adj_close",
    "adj_close": "adj_close",
}


@dataclass(frozen=True)
class Layout:
    """How one recognised export maps to the canonical columns."""

    name: str
    rename: Mapping[str, str]  # header (lower-cased for Latin layouts) → canonical name
    adjusted: bool  # True: split-adjusted as of the file's last date; False: raw prices
    ticker_in_file: bool
    volume_multiplier: float = 1.0
    code_tickers: bool = False  # tickers are A-share codes needing an exchange suffix


LAYOUTS = {
    "canonical": Layout("canonical", _CANONICAL, adjusted=True, ticker_in_file=True),
    "yf_download": Layout("yf_download", _YF, adjusted=True, ticker_in_file=False),
    "yf_history": Layout("yf_history", _YF, adjusted=True, ticker_in_file=False),
    "yf_multiheader": Layout("yf_multiheader", _YF, adjusted=True, ticker_in_file=True),
    "cn_export": Layout("cn_export", _CN_EXPORT, adjusted=False, ticker_in_file=False, code_tickers=True),
    "akshare": Layout(
        "akshare",
        _AKSHARE,
        adjusted=False,
        ticker_in_file=False,
        volume_multiplier=AKSHARE_LOT,
        code_tickers=True,
    ),
}

_A_SHARE = re.compile(r"^(?:(sh|sz|bj))?(\d{6})(?:\.(ss|sh|sz|bj))?$", re.IGNORECASE)


_COPY_SUFFIX = re.compile(r"\s*\(\d+\)$")


class UnknownLayout(ProviderError):
    """A dropped file whose header matches no known layout."""


def a_share_symbol(code: str) -> str:
    """Yahoo symbol of a 6-digit A-share code: ``688256`` → ``688256.SS``, ``002371`` → ``002371.SZ``."""
    m = _A_SHARE.match(code.strip())
    if not m:
        return code.strip().upper()
    prefix, digits, suffix = (m.group(1) or "").lower(), m.group(2), (m.group(3) or "").lower()
    exch = {"sh": "SS", "ss": "SS", "sz": "SZ", "bj": "BJ"}.get(suffix or prefix)
    if exch is None:
        exch = "SS" if digits[0] in "69" else "BJ" if digits[0] in "48" else "SZ"
    return f"{digits}.{exch}"


def ticker_from_name(path: Path, known: Sequence[str] = ()) -> str:
    """Ticker from a file name: ``NVDA.csv`` → ``NVDA``; ``SOX.csv`` → ``^SOX`` if known; ``688256.csv`` → ``688256.SS``."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    stem = _COPY_SUFFIX.sub("", stem)  # "NVDA (1).csv": a browser's second download of NVDA.csv
    upper = stem.strip().upper()
    known_set = set(known)
    if upper in known_set or stem in known_set:
        return upper if upper in known_set else stem
    if "^" + upper in known_set or "^" + upper in INDEX_CURRENCY:
        return "^" + upper
    if _A_SHARE.match(stem.strip()):
        return a_share_symbol(stem)
    return upper


def detect_layout(columns: Sequence[str]) -> Layout | None:
    """The layout whose header matches ``columns`` (None if none does)."""
    cols = [c.strip() for c in columns]
    lower = {c.lower() for c in cols}
    if {"date", "ticker", "close"} <= lower:
        return LAYOUTS["canonical"]
    if "日期" in cols and "收盘价" in cols:
        return LAYOUTS["cn_export"]
    if "日期" in cols and "收盘" in cols:
        return LAYOUTS["akshare"]
    if {"date", "close"} <= lower and lower <= set(_YF):
        return LAYOUTS["yf_history" if {"dividends", "stock splits"} & lower else "yf_download"]
    return None


def unpivot_multiheader(body: pl.DataFrame, fields: Sequence[str], tickers: Sequence[str]) -> pl.DataFrame:
    """The yfinance multi-level CSV (rows 1–3 = Price / Ticker / Date) to one row per (date, ticker).

    ``body``: the data records (``c0``… and ``__line``); ``fields`` / ``tickers``: the Price and Ticker rows."""
    fields = [str(v).strip() for v in fields]
    tickers = [str(v).strip() for v in tickers]
    cols = body.columns[:-1]
    parts = []
    for ticker in dict.fromkeys(t for t in tickers[1:] if t):
        picked = {
            cols[i]: fields[i].lower()
            for i in range(1, min(len(fields), len(tickers), len(cols)))
            if tickers[i] == ticker
        }
        part = body.select(
            pl.col(cols[0]).alias("date"), *(pl.col(c).alias(n) for c, n in picked.items()), "__line"
        )
        parts.append(part.with_columns(pl.lit(ticker).alias("ticker")))
    if not parts:
        return pl.DataFrame(
            schema={"date": pl.String, "ticker": pl.String, "close": pl.String, "__line": pl.Int64}
        )
    return pl.concat(parts, how="diagonal").rename(lambda c: _YF.get(c, c))


_DATE_COMPACT = r"^\s*\d{8}\s*$"
_DATE_PREFIX = r"^\s*\d{4}-\d{2}-\d{2}[ T]"


def normalise_dates(col: pl.Expr) -> pl.Expr:
    """``YYYYMMDD`` → ``YYYY-MM-DD``; ``YYYY-MM-DD hh:mm:ss+08:00`` → its local date; anything else untouched."""
    s = col.str.strip_chars()
    return (
        pl.when(s.str.contains(_DATE_COMPACT))
        .then(pl.concat_str([s.str.slice(0, 4), s.str.slice(4, 2), s.str.slice(6, 2)], separator="-"))
        .when(s.str.contains(_DATE_PREFIX))
        .then(s.str.slice(0, 10))
        .otherwise(s)
    )
