"""Domestic tool supply vs demand (hardware_sim.fab.tool_supply) and the tool_supply asset."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from hardware_sim.fab.tool_supply import (
    REVENUE_SPLIT,
    projected_revenue,
    rate_for_year,
    supply_vs_demand,
    vendor_revenue_usd_b,
)
from pipelines.assets import capacity
from pipelines.warehouse import Warehouse

ASP = {"dry_etch": 5.0, "cvd": 4.0}
SPLITS = {"EtchCo": {"dry_etch": 0.5}, "DepCo": {"cvd": 0.2, "dry_etch": 0.1}}


def _vendor(name: str, year: int, usd_b: float) -> dict:
    return {"vendor": name, "year": year, "segment": "total_revenue", "revenue_usd_b": usd_b}


VENDORS = [_vendor("EtchCo", 2024, 1.0), _vendor("DepCo", 2024, 2.0), _vendor("DepCo", 2023, 1.0)]
DEMAND = [
    {"year": 2023, "tool_type": "dry_etch", "count": 100.0, "domestic_share": 0.5},
    {"year": 2024, "tool_type": "dry_etch", "count": 300.0, "domestic_share": 0.5},
    {"year": 2025, "tool_type": "dry_etch", "count": 350.0, "domestic_share": 0.5},
    {"year": 2024, "tool_type": "cvd", "count": 50.0, "domestic_share": 0.4},
    {"year": 2025, "tool_type": "cvd", "count": 40.0, "domestic_share": 0.4},
]


def _by(rows: list[dict], year: int, tool_type: str) -> dict:
    (row,) = [r for r in rows if r["year"] == year and r["tool_type"] == tool_type]
    return row


def test_hand_computed_example():
    rows = supply_vs_demand(DEMAND, VENDORS, ASP, splits=SPLITS, growth=0.1, groups={"dep": ("cvd",)})
    # 2023: EtchCo has no revenue yet (no back-casting) -> year left out.
    assert {r["year"] for r in rows} == {2024, 2025}
    etch = _by(rows, 2024, "dry_etch")
    # new = 300 - 100 = 200; domestic = 100; supply = 1.0e3*0.5/5 + 2.0e3*0.1/5 = 100 + 40 = 140
    assert etch["tools_new"] == pytest.approx(200)
    assert etch["domestic_tools_new"] == pytest.approx(100)
    assert etch["domestic_supply"] == pytest.approx(140)
    assert etch["coverage"] == pytest.approx(1.4)
    assert etch["gap"] == pytest.approx(-40)
    assert etch["supply_basis"] == "reported"
    # 2025: revenue grown 10%; cvd count fell -> 0 new tools -> coverage undefined.
    etch25 = _by(rows, 2025, "dry_etch")
    assert etch25["domestic_supply"] == pytest.approx(140 * 1.1)
    assert etch25["tools_new"] == pytest.approx(50)
    assert etch25["supply_basis"] == "projected"
    cvd25 = _by(rows, 2025, "cvd")
    assert cvd25["tools_new"] == 0 and cvd25["coverage"] is None
    assert cvd25["domestic_supply"] == pytest.approx(2.2e3 * 0.2 / 4)
    # cvd 2024 is the first cvd year: its whole count is new.
    assert _by(rows, 2024, "cvd")["domestic_tools_new"] == pytest.approx(20)
    assert _by(rows, 2024, "dep")["domestic_supply"] == pytest.approx(
        _by(rows, 2024, "cvd")["domestic_supply"]
    )


def test_supply_is_monotonic_in_revenue():
    supplies = []
    for rev in (0.5, 1.0, 2.0, 4.0):
        rows = supply_vs_demand(DEMAND, [_vendor("EtchCo", 2024, rev), *VENDORS[1:]], ASP, splits=SPLITS)
        supplies.append(_by(rows, 2024, "dry_etch")["domestic_supply"])
    assert supplies == sorted(supplies) and len(set(supplies)) == 4


def test_coverage_is_supply_over_domestic_demand():
    for r in supply_vs_demand(DEMAND, VENDORS, ASP, splits=SPLITS):
        if r["domestic_tools_new"]:
            assert r["coverage"] == pytest.approx(r["domestic_supply"] / r["domestic_tools_new"])
            assert r["gap"] == pytest.approx(r["domestic_tools_new"] - r["domestic_supply"])


def test_cny_revenue_is_converted_and_projection_needs_history():
    rows = [
        {"vendor": "X", "year": 2024, "segment": "total_revenue", "revenue_local": 7.19, "currency": "CNY"},
        {"vendor": "X", "year": 2024, "segment": "wfe", "market_share": 0.1},
    ]
    rates = {2023: 7.0, 2024: 7.19}
    assert vendor_revenue_usd_b(rows, rates) == {"X": {2024: pytest.approx(1.0)}}
    assert rate_for_year(rates, 2030) == 7.19 and rate_for_year(rates, 2000) == 7.0
    with pytest.raises(ValueError, match="cny_per_usd"):
        vendor_revenue_usd_b(rows)  # no FX table of its own: the caller passes the one the pipelines keep
    assert projected_revenue({2024: 1.0}, 2023) is None
    assert projected_revenue({2024: 1.0}, 2026, growth=0.5) == (pytest.approx(2.25), "projected")


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="no total_revenue row for vendor 'Ghost'"):
        supply_vs_demand(DEMAND, VENDORS, ASP, splits={"Ghost": {"dry_etch": 0.5}})
    with pytest.raises(ValueError, match="no ASP for tool type 'cvd'"):
        supply_vs_demand(DEMAND, VENDORS, {"dry_etch": 5.0}, splits=SPLITS)
    with pytest.raises(ValueError, match="sums to"):
        supply_vs_demand(DEMAND, VENDORS, ASP, splits={"EtchCo": {"dry_etch": 0.8, "cvd": 0.4}})


def test_default_splits_cover_amec_and_naura():
    assert set(REVENUE_SPLIT) == {"AMEC", "Naura"}
    assert REVENUE_SPLIT["AMEC"]["dry_etch"] == 0.75
    assert all(sum(s.values()) <= 1 for s in REVENUE_SPLIT.values())


@pytest.mark.slow
def test_materialize_capacity_assets_fills_tool_supply(tmp_path: Path, run_resources):
    db = tmp_path / "w.duckdb"
    result = dg.materialize(
        [*dg.load_assets_from_modules([capacity]), *dg.load_asset_checks_from_modules([capacity])],
        resources=run_resources(db),
    )
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert any(c.check_name == "tool_supply_valid" for c in checks) and all(c.passed for c in checks)
    got = Warehouse(db).query(
        "SELECT year, tool_type, domestic_supply, coverage FROM tool_supply WHERE scenario_id = 'reference'"
    )
    types = set(got["tool_type"].to_list())
    assert {"dry_etch", "cvd", "deposition"} <= types
    assert 2025 in got["year"].to_list() and 2026 in got["year"].to_list()
    assert (got["domestic_supply"] > 0).all()
