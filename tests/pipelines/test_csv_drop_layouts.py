"""CSV drop: the awkward files analysts really drop (encodings, separators, blank/ragged lines, copies)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.sources.prices.csv_drop import read_drop
from pipelines.sources.prices.csv_text import drop_files


def ticker_universe() -> dict[str, str]:
    """The bundled ticker universe (symbol → listing currency), as a refresh passes it to the drop reader."""
    from pipelines.sources.reference import REFERENCE_DIR

    frame = pl.read_csv(REFERENCE_DIR / "tickers.csv", infer_schema_length=0)
    return dict(zip(frame["ticker"].to_list(), frame["currency"].to_list(), strict=True))


def _closes(res, ticker: str) -> list[float]:
    return res.frame.filter(pl.col("ticker") == ticker).sort("date")["close"].to_list()


def test_header_only_and_blank_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "header.csv").write_text("date,ticker,close\n")
    (tmp_path / "header_blank.csv").write_text("date,ticker,close\n\n\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "ok.csv").write_text("date,ticker,close\n2025-01-02,NVDA,100\n")
    res = read_drop(tmp_path)
    refused = {Path(p).name: why for p, why in res.refused_files.items()}
    assert set(refused) == {"header.csv", "header_blank.csv", "empty.csv"}
    assert "header.csv" in refused["header.csv"] and "no data rows" in refused["header.csv"]
    assert "['date', 'ticker', 'close']" in refused["header.csv"]
    assert "empty file" in refused["empty.csv"]
    assert res.tickers_ok == ["NVDA"]


def test_blank_lines_are_not_problems_and_line_numbers_stay_right(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        "date,ticker,close\n2025-01-02,NVDA,100\n\n2025-01-03,NVDA,abc\n2025-01-06,NVDA,102\n\n\n"
    )
    res = read_drop(tmp_path)
    (v,) = res.validations
    assert v.quarantine.select("row", "field", "value").rows() == [(4, "close", "abc")]
    assert _closes(res, "NVDA") == [100.0, 102.0]


def test_a_record_with_too_many_fields_is_quarantined_not_the_whole_file(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        "date,ticker,close\n2025-01-02,NVDA,100\n2025-01-03,NVDA,101,oops,x\n2025-01-06,NVDA,102\n"
    )
    res = read_drop(tmp_path)
    assert not res.refused_files
    (v,) = res.validations
    (row,) = v.quarantine.rows(named=True)
    assert row["row"] == 3 and row["field"] == "(record)" and "5 fields; the header has 3" in row["reason"]
    assert row["value"] == "2025-01-03,NVDA,101,oops,x"
    assert _closes(res, "NVDA") == [100.0, 102.0]


def test_utf16_excel_export_is_read(tmp_path: Path) -> None:
    text = "date,ticker,close\n2025-01-02,NVDA,100\n2025-01-03,NVDA,101\n"
    (tmp_path / "p.csv").write_bytes(text.encode("utf-16"))  # with BOM, as Excel writes "Unicode text"
    res = read_drop(tmp_path)
    assert not res.refused_files and _closes(res, "NVDA") == [100.0, 101.0]


def test_gbk_a_share_export_is_read(tmp_path: Path) -> None:
    text = "日期,开盘价,最高价,最低价,收盘价,成交量\n20250102,10,11,9,10.5,1000\n"
    (tmp_path / "688256.csv").write_bytes(text.encode("gbk"))
    res = read_drop(tmp_path)
    assert _closes(res, "688256.SS") == [10.5]


def test_utf8_chinese_export_longer_than_the_sniffed_head_is_not_taken_for_gbk(tmp_path: Path) -> None:
    # akshare-style rows with a Chinese name column; find a length where byte 4096 splits a character
    days = pl.date_range(date(2024, 1, 1), date(2024, 12, 31), eager=True).dt.strftime("%Y-%m-%d").to_list()
    for pad in range(60):
        head = (
            "日期,股票代码,名称,开盘,收盘,最高,最低,成交量\n"
            + f"{days[0]},688256,{'x' * pad},99,99,99,99,1\n"
        )
        rows = "".join(
            f"{d},688256,寒武纪,{100 + i},{100 + i},{100 + i},{100 + i},1\n" for i, d in enumerate(days[1:])
        )
        raw = (head + rows).encode("utf-8")
        try:
            raw[:4096].decode("utf-8")
        except UnicodeDecodeError:
            break
    else:  # pragma: no cover - a 3-byte character always straddles byte 4096 for one of the pads
        pytest.fail("no split found")
    (tmp_path / "ak.csv").write_bytes(raw)
    res = read_drop(tmp_path)
    assert not res.refused_files, res.refused_files
    assert res.tickers_ok == ["688256.SS"]


@pytest.mark.parametrize("sep, name", [(";", "p.csv"), ("\t", "p.txt"), ("|", "p.csv")])
def test_semicolon_tab_and_pipe_separated_files(tmp_path: Path, sep: str, name: str) -> None:
    (tmp_path / name).write_text(
        sep.join(["date", "ticker", "close"]) + "\n" + sep.join(["2025-01-02", "NVDA", "100.5"]) + "\n"
    )
    res = read_drop(tmp_path)
    assert not res.refused_files and _closes(res, "NVDA") == [100.5]


def test_binary_file_is_refused_with_a_readable_message(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_bytes(bytes(range(256)) * 8)
    res = read_drop(tmp_path)
    ((path, why),) = res.refused_files.items()
    assert path.endswith("x.csv") and "not a readable text CSV" in why and len(why) < 200


def test_browser_copy_suffix_is_not_part_of_the_ticker(tmp_path: Path) -> None:
    (tmp_path / "AMD (1).csv").write_text("Date,Close\n2025-01-02,120\n")
    assert read_drop(tmp_path).tickers_ok == ["AMD"]


def test_currency_codes_are_normalised(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        "date,ticker,close,currency\n2025-01-02,NVDA,100, usd\n2025-01-02,688256.SS,500,RMB\n"
    )
    res = read_drop(tmp_path)
    assert dict(res.frame.select("ticker", "currency").rows()) == {"NVDA": "USD", "688256.SS": "CNY"}


def test_subfolders_hold_two_exports_of_the_same_ticker(tmp_path: Path) -> None:
    (tmp_path / "2024").mkdir()
    (tmp_path / "2025").mkdir()
    (tmp_path / ".trash").mkdir()
    (tmp_path / "2024" / "NVDA.csv").write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-03-07,926.69,926.69,926.69,926.69,926.69,1\n2024-03-08,875.28,875.28,875.28,875.28,875.28,1\n"
    )
    (tmp_path / "2025" / "NVDA.csv").write_text(
        "Date,Close,High,Low,Open,Volume\n2025-05-12,122.97,122.97,122.97,122.97,1\n"
    )
    (tmp_path / ".trash" / "NVDA.csv").write_text("Date,Close\n2025-05-13,1\n")
    assert [p.relative_to(tmp_path).as_posix() for p in drop_files(tmp_path)] == [
        "2024/NVDA.csv",
        "2025/NVDA.csv",
    ]
    closes = _closes(read_drop(tmp_path), "NVDA")
    assert closes == pytest.approx([92.669, 87.528, 122.97])  # pre-split rows in post-split units


def test_real_pre_and_post_split_exports_dropped_as_subfolders(tmp_path: Path, real_prices: Path) -> None:
    for folder in ("prices_us_dieperdev", "prices_us_key07211"):
        shutil.copytree(real_prices / folder, tmp_path / folder)  # links out of a drop are refused
    res = read_drop(tmp_path, ticker_universe())
    assert not res.refused_files
    f = res.frame.sort("ticker", "date").with_columns(
        (pl.col("close") / pl.col("close").shift(1).over("ticker") - 1).alias("ret")
    )
    nvda = f.filter(pl.col("ticker") == "NVDA")
    assert nvda["date"].min() == date(2000, 1, 3) and nvda["date"].max() >= date(2026, 5, 1)
    assert f.filter(pl.col("date") >= date(2024, 1, 1))["ret"].min() > -0.5  # no fake split crash anywhere


def test_an_extra_latin_date_column_in_an_a_share_export_is_not_a_crash(tmp_path: Path) -> None:
    """Found by the fuzz suite: `date` beside 日期 in an A-share export crashed the rename (DuplicateError);
    the layout's own columns are read and the unmapped one is left out."""
    (tmp_path / "688256.csv").write_text("date,日期,收盘价\n2025-01-02,2025-01-03,10.5\n", encoding="utf-8")
    res = read_drop(tmp_path)
    assert not res.refused_files
    assert res.frame.select("date", "ticker", "close").rows() == [(date(2025, 1, 3), "688256.SS", 10.5)]
