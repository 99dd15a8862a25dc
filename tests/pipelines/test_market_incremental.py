"""Incremental live refreshes: stored history follows the units of a new fetch (split/bonus/dividend)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl
import pytest

from pipelines.market_store import overlap_ratios, store_prices
from pipelines.warehouse import migrate


def _rows(
    ticker: str, start: date, closes: list[float], provider: str, volume: float = 1000.0
) -> pl.DataFrame:
    days = [start + timedelta(days=i) for i in range(len(closes))]
    return pl.DataFrame(
        {
            "date": days,
            "ticker": ticker,
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "volume": volume,
            "currency": "USD",
            "adj_factor": 1.0,
            "provider": provider,
            "source": "test",
            "close_usd": closes,
        }
    )


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    migrate(c)
    return c


def _series(con: duckdb.DuckDBPyConnection, ticker: str) -> pl.DataFrame:
    cols = {
        "date": pl.Date,
        "close": pl.Float64,
        "close_usd": pl.Float64,
        "volume": pl.Float64,
        "adj_factor": pl.Float64,
    }
    rows = con.execute(
        "SELECT date, close, close_usd, volume, adj_factor FROM prices_daily WHERE ticker = ? ORDER BY date",
        [ticker],
    ).fetchall()
    return pl.DataFrame(rows, schema=cols, orient="row")


def test_split_unknown_to_the_split_table_does_not_leave_a_fake_crash(con) -> None:
    store_prices(con, _rows("ABC", date(2025, 1, 1), [100.0] * 10, "yahoo"), "yahoo", None)
    store_prices(con, _rows("OTHER", date(2025, 1, 1), [7.0] * 10, "yahoo"), "yahoo", None)
    # next incremental fetch: last 3 stored days again plus 3 new ones, all in post 2:1 split units
    store_prices(con, _rows("ABC", date(2025, 1, 8), [50.0] * 6, "yahoo", volume=2000.0), "yahoo", None)
    s = _series(con, "ABC")
    assert s.height == 13
    assert s["close"].to_list() == [50.0] * 13 and s["close_usd"].to_list() == [50.0] * 13
    assert s["volume"].to_list() == [2000.0] * 13 and s["adj_factor"][0] == pytest.approx(0.5)
    assert _series(con, "OTHER")["close"].to_list() == [7.0] * 10  # other tickers untouched


def test_dividend_rescales_prices_but_not_volumes(con) -> None:
    store_prices(con, _rows("DIV", date(2025, 1, 1), [100.0] * 10, "akshare"), "akshare", None)
    store_prices(con, _rows("DIV", date(2025, 1, 8), [98.0] * 6, "akshare"), "akshare", None)
    s = _series(con, "DIV")
    assert s["close"].to_list() == pytest.approx([98.0] * 13) and s["volume"].to_list() == [1000.0] * 13


def test_disagreeing_overlap_is_a_revision_not_a_unit_change(con) -> None:
    store_prices(con, _rows("REV", date(2025, 1, 1), [100.0] * 10, "yahoo"), "yahoo", None)
    store_prices(con, _rows("REV", date(2025, 1, 8), [100.0, 100.0, 101.0, 102.0], "yahoo"), "yahoo", None)
    assert _series(con, "REV")["close"].head(7).to_list() == [100.0] * 7


def test_same_units_and_csv_drops_are_left_alone(con) -> None:
    store_prices(con, _rows("CSV", date(2025, 1, 1), [100.0] * 10, "csv"), "csv", None)
    store_prices(con, _rows("CSV", date(2025, 1, 8), [50.0] * 6, "csv"), "csv", None)
    assert _series(con, "CSV")["close"].head(7).to_list() == [100.0] * 7  # a drop is stored as dropped
    store_prices(con, _rows("SAME", date(2025, 1, 1), [100.0] * 10, "yahoo"), "yahoo", None)
    store_prices(con, _rows("SAME", date(2025, 1, 8), [100.0] * 3 + [120.0] * 3, "yahoo"), "yahoo", None)
    assert _series(con, "SAME")["close"].head(10).to_list() == [100.0] * 10


def test_overlap_ratios_keep_only_consistent_changes_of_units() -> None:
    days = [date(2025, 1, d) for d in (6, 7, 8)]
    stored = pl.DataFrame(
        {
            "ticker": ["SPLIT"] * 3 + ["NOISE"] * 3 + ["SAME"] * 3,
            "date": days * 3,
            "old": [100.0, 110.0, 120.0, 100.0, 100.0, 100.0, 50.0, 50.0, 50.0],
        }
    )
    fetched = pl.DataFrame(
        {
            "ticker": ["SPLIT"] * 3 + ["NOISE"] * 3 + ["SAME"] * 3,
            "date": days * 3,
            "close": [50.0, 55.0, 60.0, 100.0, 103.0, 97.0, 50.0, 50.0, 50.0],
        }
    )
    got = overlap_ratios(fetched, stored)
    assert got.to_dicts() == [{"ticker": "SPLIT", "ratio": 0.5}]  # a revision and no change are left alone
