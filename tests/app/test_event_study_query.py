"""The dashboard's event-study query leaves out rows stored without a CAR (flagged data problems)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from app import queries as q
from pipelines.warehouse import Warehouse, replace_rows


def test_flagged_rows_without_car_are_not_charted(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse(db).write() as con:
        replace_rows(
            con,
            "event_study",
            pl.DataFrame(
                {
                    "event_id": ["e1", "e1", "e2"],
                    "ticker": ["A", "B", "A"],
                    "window": ["[-1,+1]"] * 3,
                    "car": [0.01, None, None],
                    "t_stat": [1.0, None, None],
                    "source": ["es"] * 3,
                    "flag": ["ok", "event_in_gap", "short_estimation"],
                },
                schema_overrides={"car": pl.Float64, "t_stat": pl.Float64},
            ),
        )
    assert q.event_study(db, "e1").frame["ticker"].to_list() == ["A"]
    only_flagged = q.event_study(db, "e2")
    assert only_flagged.empty and "match" in only_flagged.reason  # a reason, not a chart of NULLs


def test_group_tests_of_an_event_come_from_the_warehouse(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    rows = pl.DataFrame(
        {
            "event_id": ["e1"] * 3,
            "window": ["[0,+5]", "[0,+5]", "[-1,+1]"],
            "group": ["foreign"] * 3,
            "method": ["bmp_kp", "mackinlay_j1", "bmp_kp"],
            "n": [5, 5, 5],
            "mean_car": [0.013, 0.013, -0.001],
            "t_stat": [-0.12, 0.60, -0.46],
            "p_value": [0.91, 0.55, 0.67],
            "rbar": [-0.03, None, -0.03],
            "source": ["es"] * 3,
        },
        schema_overrides={"n": pl.Int32},
    )
    with Warehouse(db).write() as con:
        replace_rows(con, "event_study_cross_section", rows)
    res = q.event_study_cross_section(db, "e1", "[0,+5]")
    assert res.frame["method"].to_list() == ["bmp_kp", "mackinlay_j1"]
    assert res.frame["t_stat"].to_list() == [-0.12, 0.60]
    assert q.event_study_cross_section(db, "e1").frame.height == 3
    assert q.event_study_cross_section(db, "nope").empty
