"""Fuzzing the CSV drop reader (issue 18): whatever bytes are dropped, the reader returns rows that pass
every plausibility rule, or quarantine rows / refusals naming the file, line and field — never a traceback."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.price_rules import FIRST_DATE, MAX_PRICE
from pipelines.sources.prices.csv_drop import PRICE_COLUMNS, read_drop

TODAY = date(2026, 5, 29)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COLUMNS = [*PRICE_COLUMNS[:8], "Date", "Close", "日期", "收盘价"]
VALUES = st.one_of(
    st.sampled_from(
        [
            "2025-01-02",
            "24-01-05",
            "0001-01-01",
            "2099-01-01",
            "20250102",
            "1e308",
            "-1",
            "0",
            "nan",
            "inf",
            "100",
            "99.5",
            "USD",
            "JPY",
            "€",
            "NVDA",
            "AMAT",
            "",
            '"',
            '"a,b"',
            "寒武纪",
            "\x00",
        ]
    ),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def _check(directory: Path) -> None:
    res = read_drop(directory, today=TODAY)
    f = res.frame
    if f.height:
        assert f.filter(pl.col("close").is_null() | (pl.col("close") <= 0)).height == 0
        assert f["close"].max() < MAX_PRICE  # stored in adjusted units: never above the raw bound here
        assert f["date"].min() >= FIRST_DATE and f["date"].max() <= TODAY
        ohlc = f.filter(pl.col("high").is_not_null() & pl.col("low").is_not_null())
        assert ohlc.filter(pl.col("low") > pl.col("high") * (1 + 1e-6)).height == 0
        assert f.select(pl.struct("ticker", "date").is_duplicated().any()).item() is False
    for v in res.validations:
        assert Path(v.source_file).parent == directory
        for r in v.quarantine.iter_rows(named=True):
            assert r["row"] >= 1 and r["field"] and r["reason"] and "\n" not in r["reason"]
    for path, why in res.refused_files.items():
        assert str(directory) in path and why and "Traceback" not in why


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "x.csv").write_bytes(data)
        _check(Path(d))


@pytest.mark.slow
@FUZZ
@given(
    header=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=8),
    rows=st.lists(st.lists(VALUES, max_size=9), max_size=12),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "latin-1", "utf-16"]),
)
def test_csv_like_files(header: list[str], rows: list[list[str]], sep: str, encoding: str) -> None:
    text = "\n".join(sep.join(r) for r in [header, *rows]) + "\n"
    with tempfile.TemporaryDirectory() as d:
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            data = text.encode("utf-8")
        (Path(d) / "drop.csv").write_bytes(data)
        _check(Path(d))


@pytest.mark.slow
@FUZZ
@given(
    closes=st.lists(st.floats(min_value=-10, max_value=1e9, allow_nan=False), min_size=1, max_size=40),
    other=st.lists(st.floats(min_value=-10, max_value=1e9, allow_nan=False), max_size=40),
)
def test_two_files_with_well_formed_rows(closes: list[float], other: list[float]) -> None:
    def body(values: list[float]) -> str:
        days = pl.date_range(date(2025, 1, 1), date(2025, 12, 31), eager=True)[: len(values)]
        return "date,ticker,close\n" + "".join(f"{d},NVDA,{c!r}\n" for d, c in zip(days, values, strict=True))

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "a.csv").write_text(body(closes))
        (Path(d) / "b.csv").write_text(body(other))
        _check(Path(d))
