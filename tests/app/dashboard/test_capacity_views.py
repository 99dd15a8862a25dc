"""Capacity page: fab capacity (300 mm-equivalent, never summed), tool demand by year with that year's
domestic share, domestic tool supply."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from app import queries as q
from app.dashboard.pages import capacity_views as cv

CAP = pl.DataFrame(
    {
        "company": ["A", "A", "A", "B"],
        "fab": ["total", "total", "Fab 1", "Fab 8in"],
        "country": ["CN", "CN", "CN", "US"],
        "product": ["logic", "logic", "logic", "specialty"],
        "node_class": ["mixed", "mixed", "28nm+", "28nm+"],
        "wafer_size_mm": [300, 300, 300, 200],
        "capacity_wspm": [100.0, 120.0, 40.0, 90.0],
        "year": [2023, 2024, 2024, 2024],
        "status": ["operating"] * 4,
        "source": ["s"] * 4,
        "flag": ["reported", "estimate", "reported", "reported"],
    }
)


def test_capacity_is_300mm_equivalent_and_never_summed(qr) -> None:
    eq = cv.capacity_300eq(CAP)
    assert eq.filter(pl.col("fab") == "Fab 8in")["wspm_300eq"][0] == pytest.approx(90 * (200 / 300) ** 2)
    view = cv.capacity_view(qr(CAP), "company")
    assert len(view.figure.data) == 3  # one trace per (company, fab) series, not one per company
    totals = [list(t.y) for t in view.figure.data]
    assert [100.0, 120.0] in totals  # the company total is drawn as given, not added to Fab 1
    only_us = cv.capacity_view(qr(CAP), "country", countries=["US"])
    assert len(only_us.figure.data) == 1
    assert cv.capacity_view(qr(CAP), "company", products=["dram"]).figure.layout.annotations


def test_tool_demand_shows_additions_or_installed_base_with_each_years_share(qr, empty) -> None:
    td = pl.DataFrame(
        {
            "scenario_id": ["s"] * 4,
            "year": [2025, 2025, 2026, 2026],
            "tool_type": ["etch", "litho", "etch", "litho"],
            "count": [10.0, 5.0, 12.0, 6.0],
            "tools_new": [10.0, 5.0, 2.0, 1.0],
            "domestic_share": [0.5, None, 0.55, 0.02],
            "source": ["x"] * 4,
        }
    )
    view = cv.tool_demand_view(qr(td))
    bars = {t.name: list(t.y) for t in view.figure.data if t.type == "bar"}
    assert bars == {"etch": [10.0, 2.0], "litho": [5.0, 1.0]} and view.figure.layout.barmode == "stack"
    assert "annual additions" in view.figure.layout.yaxis.title.text and view.note.startswith("annual")
    base = cv.tool_demand_view(qr(td), measure="count")
    assert {t.name: list(t.y) for t in base.figure.data if t.type == "bar"}["etch"] == [10.0, 12.0]
    assert "installed base" in base.figure.layout.yaxis.title.text
    share = {t.name: list(t.y) for t in view.figure.data if t.type == "scatter"}
    assert share["litho domestic share"] == [None, 0.02]  # each year's own figure; a gap when unknown
    assert cv.tool_demand_view(qr(td), measure="nonsense").note == view.note
    assert view.figure.layout.xaxis.dtick == 1  # whole years
    shares = pl.DataFrame(
        {
            "tool_type": ["etch", "litho_duv"],
            "domestic_share": [0.6, 0.01],
            "year": [2024, 2021],
            "source": ["s", "s"],
            "flag": ["estimate"] * 2,
        }
    )
    fallback = cv.tool_demand_view(empty(), qr(shares))
    assert list(fallback.figure.data[0].y) == ["litho_duv", "etch"]


def test_stored_tool_demand_uses_each_years_reference_share(refreshed_db: Path) -> None:
    """DUV litho: no figure before 2021, 1% from 2021, 10% from 2024 (tool_domestic_share.csv)."""
    td = q.tool_demand(refreshed_db)
    assert td.ok, td.reason
    litho = dict(
        td.frame.filter(pl.col("tool_type") == "litho_duv").select("year", "domestic_share").iter_rows()
    )
    assert litho[2017] is None and litho[2021] == pytest.approx(0.01) and litho[2023] == pytest.approx(0.01)
    assert litho[2024] == pytest.approx(0.10) and litho[2026] == pytest.approx(0.10)
    etch = td.frame.filter(pl.col("tool_type") == "dry_etch").sort("year")
    steps = etch["count"].diff().fill_null(etch["count"][0]).clip(lower_bound=0)
    assert etch["tools_new"].to_list() == pytest.approx(steps.to_list())  # additions, apart from the base


def test_tool_supply_grouped_demand_vs_supply_with_coverage_hover(qr, empty) -> None:
    ts = pl.DataFrame(
        {
            "scenario_id": ["s"] * 5,
            "year": [2025, 2025, 2025, 2026, 2026],
            "tool_type": ["cvd", "deposition", "dry_etch", "deposition", "dry_etch"],
            "domestic_tools_new": [4.0, 10.0, 50.0, 12.0, 60.0],
            "domestic_supply": [6.0, 20.0, 40.0, None, 45.0],
            "coverage": [1.5, 2.0, 0.8, None, 0.75],
            "source": ["x"] * 5,
            "flag": ["estimate"] * 5,
        }
    )
    view = cv.tool_supply_view(qr(ts))
    names = [t.name for t in view.figure.data]
    assert names == [
        "dry_etch demand",
        "dry_etch supply",
        "deposition demand",
        "deposition supply",
        "cvd demand",
        "cvd supply",
    ]
    assert view.figure.layout.barmode == "group"
    etch_supply = view.figure.data[1]
    assert list(etch_supply.y) == [40.0, 45.0] and "coverage 80%" in etch_supply.text[0]
    assert list(view.figure.data[2].x) == [2025]  # the row without a supply figure is dropped
    assert view.figure.data[4].visible == "legendonly" and view.figure.data[0].visible is True
    assert "estimate" in view.note and view.frame.height == 4
    assert cv.tool_supply_view(empty()).figure.layout.annotations
    none = ts.with_columns(pl.lit(None, dtype=pl.Float64).alias("domestic_supply"))
    assert cv.tool_supply_view(qr(none)).note == "no tool type has a domestic supply figure yet"
