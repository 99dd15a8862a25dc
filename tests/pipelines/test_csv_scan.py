"""The one CSV reader (DuckDB ``read_csv`` with rejects): physical line numbers for good and rejected records."""

from __future__ import annotations

from pathlib import Path

from pipelines.csv_scan import scan_csv
from pipelines.sources.prices.csv_drop import read_drop


def _scan(tmp_path: Path, data: bytes, width: int):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    return scan_csv(path, data, width=width)


def test_every_line_a_record_fills_the_lines_the_rejects_leave(tmp_path: Path) -> None:
    scan = _scan(tmp_path, b"a,b\n1,2\n3,4,5\n6,7\n", 2)
    assert scan.rows.select("c0", "__line").rows() == [("1", 2), ("6", 4)]
    assert scan.rejects.select("line", "error_type", "fields").rows() == [(3, "TOO MANY COLUMNS", 3)]


def test_blank_lines_and_quoted_newlines_keep_physical_line_numbers(tmp_path: Path) -> None:
    scan = _scan(tmp_path, b'a,b\n1,2\n\n"x\ny",3\n4,5,6\n7,8\n', 2)
    assert scan.rows.select("c0", "__line").rows() == [("1", 2), ("x\ny", 4), ("7", 7)]
    assert scan.rejects["line"].to_list() == [6]


def test_a_quote_never_closed_refuses_the_drop_file_naming_its_line(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text('date,ticker,close\n2025-01-02,NVDA,100\n2025-01-03,"NVDA,101\n')
    res = read_drop(tmp_path)
    (why,) = res.refused_files.values()
    assert "line 3" in why and "never closed" in why
