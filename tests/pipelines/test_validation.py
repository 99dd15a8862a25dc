"""Validation on read: types, ranges, allowed values, duplicate keys → quarantine with file/row/field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.validation import ColumnRule, ValidationError, read_csv_validated

RULES = [
    ColumnRule("company"),
    ColumnRule("year", "int", min=1990, max=2040),
    ColumnRule("capacity_wspm", "float", min=0),
    ColumnRule("flag", allowed=("reported", "estimate")),
    ColumnRule("on", "bool", required=False),
    ColumnRule("date", "date", required=False),
]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fabs.csv"
    path.write_text(text)
    return path


def test_good_rows_are_typed(tmp_path: Path) -> None:
    res = read_csv_validated(
        _write(
            tmp_path, "company,year,capacity_wspm,flag,on,date\nSMIC,2024,50000,reported,yes,2024-01-31\n"
        ),
        RULES,
    )
    assert res.quarantine.height == 0
    row = res.good.row(0, named=True)
    assert row["year"] == 2024 and row["capacity_wspm"] == 50000.0 and row["on"] is True
    assert str(row["date"]) == "2024-01-31"


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("SMIC,twenty,1,reported,,", "year", "not a valid int"),
        ("SMIC,2024.5,1,reported,,", "year", "not a valid int"),
        ("SMIC,2024,-5,reported,,", "capacity_wspm", "below minimum"),
        ("SMIC,2024,abc,reported,,", "capacity_wspm", "not a valid float"),
        ("SMIC,2024,nan,reported,,", "capacity_wspm", "not a valid float"),
        ("SMIC,1900,1,reported,,", "year", "below minimum"),
        ("SMIC,2024,1,rumour,,", "flag", "not one of"),
        (",2024,1,reported,,", "company", "missing required"),
        ("SMIC,2024,1,reported,maybe,", "on", "not a valid bool"),
        ("SMIC,2024,1,reported,,2024-02-30", "date", "not a valid date"),
    ],
)
def test_bad_values_are_quarantined_with_row_and_field(
    tmp_path: Path, line: str, field: str, reason: str
) -> None:
    path = _write(
        tmp_path, "company,year,capacity_wspm,flag,on,date\nHua Hong,2023,10,estimate,,\n" + line + "\n"
    )
    res = read_csv_validated(path, RULES)
    assert res.good.height == 1 and res.good["company"].item() == "Hua Hong"
    q = res.quarantine.row(0, named=True)
    assert (q["row"], q["field"]) == (3, field) and reason in q["reason"]
    assert str(path) in res.summary() and "row 3" in res.summary()


def test_duplicate_keys_quarantine_every_copy(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "company,year,capacity_wspm,flag\nSMIC,2024,1,reported\nCXMT,2024,2,reported\nSMIC,2024,3,estimate\n",
    )
    res = read_csv_validated(path, RULES[:4], key=("company", "year"))
    assert res.good["company"].to_list() == ["CXMT"]
    assert sorted(res.quarantine["row"].to_list()) == [2, 4]
    assert all("duplicate key" in r for r in res.quarantine["reason"])


def test_missing_column_names_file_and_columns_found(tmp_path: Path) -> None:
    path = _write(tmp_path, "company,year\nSMIC,2024\n")
    with pytest.raises(ValidationError, match=r"fabs\.csv.*capacity_wspm.*found \['company', 'year'\]"):
        read_csv_validated(path, RULES)


def test_missing_file_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="file not found"):
        read_csv_validated(tmp_path / "nope.csv", RULES)
