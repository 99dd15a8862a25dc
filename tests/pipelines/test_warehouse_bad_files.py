"""Warehouse edge cases: unreadable or newer files, failed staging, failed quarantine writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.warehouse import Warehouse, WarehouseError, write_quarantine


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _newer(tmp_path: Path) -> Warehouse:
    wh = Warehouse(tmp_path / "newer.duckdb")
    with wh.write() as con:
        con.execute("UPDATE schema_meta SET value = '999' WHERE key = 'schema_version'")
    return wh


@pytest.mark.parametrize("content", [b"", b"not a database\n", bytes(range(256)) * 40])
def test_reading_a_file_that_is_not_duckdb_is_a_warehouse_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "w.duckdb"
    path.write_bytes(content)
    with pytest.raises(WarehouseError, match="not a readable DuckDB warehouse"):
        Warehouse(path).query("SELECT 1")


def test_reading_a_newer_warehouse_is_refused(tmp_path: Path) -> None:
    wh = _newer(tmp_path)
    with pytest.raises(WarehouseError, match="newer"):
        wh.query("SELECT count(*) FROM fab_capacity")


def test_writing_over_a_corrupt_file_keeps_it_and_leaves_no_staging(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    path.write_bytes(b"garbage" * 1000)
    wh = Warehouse(path)
    with pytest.raises(WarehouseError, match="not a readable DuckDB warehouse"), wh.write():
        pass
    assert path.read_bytes() == b"garbage" * 1000
    assert list(wh.staging_dir.iterdir()) == []


def test_newer_warehouse_leaves_no_staging_copy(tmp_path: Path) -> None:
    wh = _newer(tmp_path)
    before = _sha(wh.path)
    with pytest.raises(WarehouseError, match="newer"), wh.write():
        pass
    assert _sha(wh.path) == before
    assert list(wh.staging_dir.iterdir()) == []


def test_failed_quarantine_write_rolls_back_and_the_connection_stays_usable(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    good = pl.DataFrame({"row": [2], "field": ["f"], "value": ["v"], "reason": ["r"]})
    bad = pl.DataFrame(
        {"row": ["two"], "field": ["f"], "value": ["v"], "reason": ["r"]}
    )  # row must be a number
    with wh.write() as con:
        write_quarantine(con, good, source_file="a.csv", asset="a")
        with pytest.raises(duckdb.Error):
            write_quarantine(con, bad, source_file="a.csv", asset="a")
        write_quarantine(con, good, source_file="b.csv", asset="b")
    rows = wh.query("SELECT source_file, row FROM quarantine ORDER BY source_file").rows()
    assert rows == [("a.csv", 2), ("b.csv", 2)]
