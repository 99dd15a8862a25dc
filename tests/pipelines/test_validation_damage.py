"""Validation on read, hardened: damage stays row-local and every problem names file, line and field."""

from __future__ import annotations

import codecs
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipelines.sources.reference import REFERENCE_FILES
from pipelines.validation import ColumnRule, ValidationError, read_csv_validated

RULES = [ColumnRule("company"), ColumnRule("year", "int", min=1990, max=2040)]


def _write(tmp_path: Path, data: str | bytes, name: str = "fabs.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _problems(res) -> list[tuple]:
    return res.quarantine.select("row", "field").rows()


def test_blank_lines_are_skipped_and_do_not_shift_line_numbers(tmp_path: Path) -> None:
    res = read_csv_validated(_write(tmp_path, "company,year\nSMIC,2024\n\n,,\nHua Hong,twenty\n\n"), RULES)
    assert res.good["company"].to_list() == ["SMIC"]
    assert _problems(res) == [(5, "year")]


def test_line_numbers_count_multi_line_quoted_fields(tmp_path: Path) -> None:
    text = 'company,year,notes\nSMIC,2024,"two\nlines"\nCXMT,1800,x\n'
    res = read_csv_validated(_write(tmp_path, text), [*RULES, ColumnRule("notes", required=False)])
    assert res.good["notes"].to_list() == ["two\nlines"]
    assert _problems(res) == [(4, "year")]


def test_row_with_extra_fields_is_quarantined_not_the_whole_file(tmp_path: Path) -> None:
    res = read_csv_validated(
        _write(tmp_path, "company,year\nSMIC,2024\nCXMT,2023,oops,more\nYMTC,2022\n"), RULES
    )
    assert res.good["company"].to_list() == ["SMIC", "YMTC"]
    q = res.quarantine.row(0, named=True)
    assert q["row"] == 3 and q["value"] == "oops,more" and "4 fields" in q["reason"]


def test_trailing_empty_fields_on_data_rows_are_accepted(tmp_path: Path) -> None:
    res = read_csv_validated(_write(tmp_path, "company,year\nSMIC,2024,,\nCXMT,2023,\n"), RULES)
    assert res.quarantine.height == 0 and res.good.height == 2


def test_bom_crlf_and_padded_header_are_accepted(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + b" company , year ,,\r\nSMIC,2024\r\n"
    res = read_csv_validated(_write(tmp_path, data), RULES)
    assert res.quarantine.height == 0 and res.good.rows() == [("SMIC", 2024)]


def test_bytes_that_are_not_utf8_quarantine_their_row(tmp_path: Path) -> None:
    res = read_csv_validated(_write(tmp_path, b"company,year\nSMIC,2024\nSoci\xe9t\xe9,2023\n"), RULES)
    assert res.good["company"].to_list() == ["SMIC"]
    q = res.quarantine.row(0, named=True)
    assert (q["row"], q["field"]) == (3, "company") and "UTF-8" in q["reason"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("company,company,year\nSMIC,x,2024\n", "duplicate column"),
        ("", "empty file"),
        ("\n\n", "empty file"),
        ('company,year\nSMIC,"2024\nCXMT,2023\n', "line 2"),
        (codecs.BOM_UTF16_LE + "company,year\n".encode("utf-16-le"), "UTF-16"),
        ("company,,year\nSMIC,x,2024\n", "no name"),
    ],
)
def test_unreadable_files_give_one_clear_error(tmp_path: Path, data: str | bytes, message: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(ValidationError, match=message) as err:
        read_csv_validated(path, RULES)
    assert str(path) in str(err.value)


def _export_controls(tmp_path: Path, rows: list[str]) -> Path:
    header = "event_id,announced_date,effective_date,agency,title,citation,category,source,flag,notes"
    return _write(tmp_path, "\n".join([header, *rows]) + "\n", "export_controls.csv")


def test_export_control_dates_out_of_order_or_mistyped_are_quarantined(tmp_path: Path, today: date) -> None:
    tomorrow = (today + timedelta(days=1)).isoformat()
    rows = [
        "ok,2022-10-07,2022-10-07,BIS,t,c,chips_and_sme,s,reported,",
        "signed-before,2018-04-16,2018-04-15,BIS,t,c,licence_requirement,s,reported,",  # a day early: fine
        "swapped,2023-11-17,2023-10-17,BIS,t,c,chips_and_sme,s,reported,",
        f"future,{tomorrow},{tomorrow},BIS,t,c,chips_and_sme,s,reported,",
        "typo,2022-10-07,2202-10-07,BIS,t,c,chips_and_sme,s,reported,",
    ]
    res = REFERENCE_FILES["export_controls"].load(_export_controls(tmp_path, rows), today=today)
    assert res.good["event_id"].to_list() == ["ok", "signed-before"]
    problems = {(r["row"], r["field"]): r["reason"] for r in res.quarantine.iter_rows(named=True)}
    assert "before announced_date" in problems[(4, "effective_date")]
    assert "after today" in problems[(5, "announced_date")]
    assert "above maximum" in problems[(6, "effective_date")]


def test_bundled_reference_files_still_validate_cleanly(today: date) -> None:
    for ref in REFERENCE_FILES.values():
        res = ref.load(today=today)
        assert res.quarantine.height == 0, res.summary()
        assert res.good.height > 0
