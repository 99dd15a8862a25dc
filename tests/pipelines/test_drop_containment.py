"""Hostile drop folders (issue 18): links out of the folder, encodings, duplicated headers, vanishing files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.sensors import drop_cursor
from pipelines.sources.prices.base import ProviderError
from pipelines.sources.prices.csv_drop import read_drop, read_price_file
from pipelines.sources.prices.csv_text import drop_files, list_drop, read_strings

GOOD = "date,ticker,close\n2025-01-02,NVDA,100\n2025-01-03,NVDA,101\n"


def test_links_out_of_the_drop_folder_are_refused_and_never_read(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "token.csv").write_text("date,ticker,close\n2025-01-02,SECRET-TOKEN,1\n")
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "ok.csv").write_text(GOOD)
    (drop / "passwd.csv").symlink_to(secrets / "token.csv")
    (drop / "vault").symlink_to(secrets, target_is_directory=True)
    (drop / "inside").symlink_to(drop / "ok.csv")  # not a price name: ignored
    (drop / "again.csv").symlink_to(drop / "ok.csv")  # inside the folder: followed
    listing = list_drop(drop)
    assert [p.name for p in listing.files] == ["again.csv", "ok.csv"]
    assert sorted(Path(p).name for p in listing.refused) == ["passwd.csv", "vault"]
    res = read_drop(drop)
    assert set(res.frame["ticker"]) == {"NVDA"}
    assert sorted(Path(p).name for p in res.refused_files) == ["passwd.csv", "vault"]
    text = " ".join(res.refused_files.values()) + res.summary()
    assert "SECRET-TOKEN" not in text and all("\n" not in why for why in res.refused_files.values())
    assert all(not v.source_file.endswith("token.csv") for v in res.validations)


def test_latin1_file_is_not_decoded_as_gbk(tmp_path: Path) -> None:
    path = tmp_path / "stm.csv"
    path.write_bytes("date,ticker,close,name\n2025-01-02,STM,20.5,SOCIÉTÉ GÉNÉRALE\n".encode("latin-1"))
    raw = read_strings(path)
    assert raw.frame["name"].to_list() == ["SOCIÉTÉ GÉNÉRALE"]


def test_gbk_export_still_decodes(tmp_path: Path) -> None:
    path = tmp_path / "600519.csv"
    text = "日期,股票代码,开盘,收盘,最高,最低,成交量\n2025-01-02,600519,1500,1510,1520,1490,100\n"
    path.write_bytes(text.encode("gbk"))
    assert read_strings(path).frame.columns[0] == "日期"


def test_bytes_that_are_not_utf8_after_4_kib_are_never_replaced(tmp_path: Path) -> None:
    rows = "".join(f"2025-01-{d:02d},NVDA,{100 + d}\n" for d in range(1, 29)) * 10
    path = tmp_path / "late.csv"
    path.write_bytes(
        ("date,ticker,close\n" + rows).encode() + "2025-02-01,NVDA,1\u00e9\n".encode("utf-16-le")
    )
    try:
        raw = read_strings(path)
    except ProviderError as exc:
        assert "late.csv" in str(exc) and "\n" not in str(exc)
    else:
        assert not any("\ufffd" in str(v) for v in raw.frame.to_dicts()[-1].values())


def test_undecodable_bytes_are_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(b"date,ticker,close\n" + bytes([0x81, 0x30, 0xFF, 0xFE, 0x80, 0x41, 0xC9, 0xC9]) * 50)
    with pytest.raises(ProviderError, match="noise.csv.*encoding not recognised"):
        read_strings(path)


def test_duplicated_header_column_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("date,ticker,close,close\n2025-01-02,NVDA,100,9999\n")
    res = read_drop(tmp_path)
    ((path, why),) = res.refused_files.items()
    assert path.endswith("dup.csv") and "['close']" in why and res.frame.height == 0


def test_file_deleted_between_listing_and_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.csv").write_text(GOOD)
    (path,) = drop_files(tmp_path)
    path.unlink()
    with pytest.raises(ProviderError, match="a.csv: cannot read"):
        read_price_file(path)
    import pipelines.sources.prices.csv_text as csv_text

    monkeypatch.setattr(csv_text, "drop_files", lambda d: [tmp_path / "gone.csv"])
    assert drop_cursor(tmp_path) == "[]"


def test_contained_drop_still_reads_subfolders(tmp_path: Path) -> None:
    (tmp_path / "2025").mkdir()
    (tmp_path / "2025" / "x.csv").write_text(GOOD)
    assert read_drop(tmp_path).frame.filter(pl.col("ticker") == "NVDA").height == 2
