"""Process flows, tool counts, capex and tool demand from capacity rows."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from hardware_sim.fab import tool_counts
from hardware_sim.fab.process_flows import get_flow, process_flow_ids, tool_types

REPO = Path(__file__).resolve().parents[2]
REQUIRED = [
    "28nm-planar",
    "7nm-duv-saqp",
    "7nm-euv",
    "5nm-duv-smic",
    "3dnand-128",
    "3dnand-232",
    "dram-1x",
    "hbm-tsv",
]


def test_required_flows_exist_with_provenance() -> None:
    ids = process_flow_ids()
    for fid in REQUIRED:
        if not fid.startswith("3dnand"):
            assert fid in ids
        flow = get_flow(fid)
        assert flow.source and flow.flag in ("reported", "estimate")
        assert flow.steps
    for t in tool_types().values():
        assert t.source and t.flag in ("reported", "estimate") and t.wafers_per_hour > 0


def test_every_listed_id_loads() -> None:
    for fid in process_flow_ids():
        assert get_flow(fid).id == fid


def test_unknown_flow_names_valid_ids() -> None:
    with pytest.raises(KeyError, match="7nm-euv"):
        get_flow("3nm-magic")


@pytest.mark.parametrize(("euv", "duv"), [("7nm-euv", "7nm-duv-saqp"), ("5nm-euv", "5nm-duv-smic")])
def test_euv_flows_need_fewer_litho_passes(euv: str, duv: str) -> None:
    e, d = get_flow(euv), get_flow(duv)
    assert e.passes("litho_euv") > 0 and d.passes("litho_euv") == 0
    assert e.litho_passes() < d.litho_passes()


def test_tool_formula() -> None:
    flow = get_flow("28nm-planar")
    counts = {c.type: c for c in tool_counts.fab_tool_counts(flow, 10_000, uptime=0.9, utilisation=0.85)}
    c = counts["litho_duv"]
    assert c.count_exact == pytest.approx(10_000 * 45 * (1 / 250) / (720 * 0.9 * 0.85))
    assert c.count == math.ceil(c.count_exact)
    assert c.passes_per_wafer == 45 and c.wafers_per_hour == pytest.approx(250)


@pytest.mark.parametrize("fid", ["7nm-duv-saqp", "3dnand-232", "hbm-tsv"])
def test_tool_counts_scale_linearly_with_wspm(fid: str) -> None:
    base = {c.type: c for c in tool_counts.fab_tool_counts(fid, 5_000)}
    for k in (2, 3, 10):
        scaled = {c.type: c for c in tool_counts.fab_tool_counts(fid, 5_000 * k)}
        for t, c in base.items():
            assert scaled[t].count_exact == pytest.approx(k * c.count_exact)
            # installed (rounded-up) tools: linear up to rounding
            assert k * c.count - k < scaled[t].count <= k * c.count


def test_zero_wspm_needs_no_tools() -> None:
    assert all(c.count == 0 for c in tool_counts.fab_tool_counts("28nm-planar", 0))


def test_higher_uptime_needs_fewer_tools() -> None:
    lo = sum(c.count_exact for c in tool_counts.fab_tool_counts("28nm-planar", 20_000, uptime=0.8))
    hi = sum(c.count_exact for c in tool_counts.fab_tool_counts("28nm-planar", 20_000, uptime=0.95))
    assert hi < lo


def test_nand_flows_grow_with_layers_and_use_etch_model() -> None:
    flows = [get_flow(f"3dnand-{n}") for n in (64, 128, 232, 300)]
    etch_hours = [f.tool_hours_per_wafer("dry_etch") for f in flows]
    assert all(np.diff(etch_hours) > 0)
    assert flows[2].params["decks"] == 2
    assert get_flow("3dnand-176").params["layers"] == 176  # any layer count


def test_capex_plausible_against_capital_intensity() -> None:
    # Reference: > $3B per 10k WSPM at 5nm for the whole fab (IBS); tools are most of it.
    s = tool_counts.fab_summary("5nm-euv", 10_000)
    assert 1.5 < s["capex_usd_b"] < 4.0
    assert s["capex_usd_b"] > tool_counts.fab_summary("28nm-planar", 10_000)["capex_usd_b"]


def test_tool_count_matrix_matches_scalar() -> None:
    types, m = tool_counts.tool_count_matrix(["7nm-euv", "28nm-planar"], np.array([1000.0, 45000.0]))
    i = types.index("dry_etch")
    scalar = {c.type: c.count_exact for c in tool_counts.fab_tool_counts("28nm-planar", 45000.0)}
    assert m[1, i, 1] == pytest.approx(scalar["dry_etch"])
    assert m[1, types.index("litho_euv"), 0] == 0.0


def _row(**kw):
    base = {
        "company": "X",
        "fab": "F1",
        "country": "CN",
        "product": "logic",
        "node_class": "7nm-class",
        "wafer_size_mm": 300,
        "capacity_wspm": 10_000,
        "year": 2025,
        "status": "operating",
        "source": "test",
        "flag": "estimate",
    }
    base.update(kw)
    return base


def test_tool_demand_rows_shape_and_values() -> None:
    rows = tool_counts.tool_demand_rows([_row()], {"dry_etch": 0.6}, "base")
    by_type = {r["tool_type"]: r for r in rows}
    expected = {c.type: c.count_exact for c in tool_counts.fab_tool_counts("7nm-duv-saqp", 10_000)}
    assert set(by_type) == set(expected)
    for t, r in by_type.items():
        assert {"scenario_id", "year", "tool_type", "count", "domestic_share"} <= set(r)
        assert r["scenario_id"] == "base" and r["year"] == 2025
        assert r["count"] == pytest.approx(expected[t])
    assert by_type["dry_etch"]["domestic_share"] == 0.6
    assert by_type["dry_etch"]["domestic_count"] == pytest.approx(0.6 * expected["dry_etch"])
    assert by_type["litho_duv"]["domestic_share"] is None


def test_tool_demand_mapping_china_vs_elsewhere() -> None:
    assert tool_counts.flow_for_capacity_row(_row()) == "7nm-duv-saqp"
    assert tool_counts.flow_for_capacity_row(_row(country="US")) == "7nm-euv"
    assert tool_counts.flow_for_capacity_row(_row(product="nand", node_class="232L")) == "3dnand-232"
    assert (
        tool_counts.flow_for_capacity_row(_row(product="nand", node_class="nand-2xx-layer")) == "3dnand-232"
    )
    assert tool_counts.flow_for_capacity_row(_row(product="logic", node_class="quantum")) is None


def test_tool_demand_rules() -> None:
    rows = [
        _row(year=2024, capacity_wspm=10_000),
        _row(year=2025, capacity_wspm=20_000),
        _row(fab="F2", year=2024, capacity_wspm=5_000, status="planned"),  # not running
        _row(fab="F3", year=2024, wafer_size_mm=200),  # 200 mm: skipped
        _row(fab="F4", year=2024, capacity_wspm=None),  # undisclosed
        _row(fab="US fab", country="US", year=2024),  # outside China
        _row(fab="lines [A]", year=2024, capacity_wspm=1_000),
        _row(fab="lines [B]", year=2024, capacity_wspm=99_000),  # competing estimate: not added
        _row(fab="lines [A]", year=2025, capacity_wspm=1_000),
    ]
    d = tool_counts.tool_demand(rows, {}, "s")
    etch = {r["year"]: r for r in d.rows if r["tool_type"] == "dry_etch"}
    per_wafer = tool_counts.fab_tool_counts("7nm-duv-saqp", 1.0)
    k = next(c.count_exact for c in per_wafer if c.type == "dry_etch")
    assert etch[2024]["count"] == pytest.approx(11_000 * k)
    assert etch[2025]["count"] == pytest.approx(21_000 * k)
    assert etch[2025]["tools_new"] == pytest.approx(10_000 * k)
    reasons = " | ".join(why for _, why in d.skipped)
    assert (
        "200 mm" in reasons and "not disclosed" in reasons and "planned" in reasons and "competing" in reasons
    )


def test_tool_demand_aggregate_counts_only_the_remainder() -> None:
    rows = [
        _row(fab="company total (all fabs)", node_class="mixed", capacity_wspm=50_000, year=2024),
        _row(fab="F1", node_class="7nm-class", capacity_wspm=10_000, year=2024),
    ]
    d = tool_counts.tool_demand(rows, {}, "s")
    wspm = sorted((u.flow_id, u.wspm) for u in d.used)
    assert wspm == [("55nm-planar", 40_000.0), ("7nm-duv-saqp", 10_000.0)]


def test_tool_demand_on_bundled_capacity() -> None:
    with (REPO / "pipelines" / "reference" / "fab_capacity.csv").open(encoding="utf-8") as fh:
        capacity = list(csv.DictReader(fh))
    with (REPO / "pipelines" / "reference" / "tool_domestic_share.csv").open(encoding="utf-8") as fh:
        share = tool_counts.latest_domestic_share(csv.DictReader(fh))
    rows = tool_counts.tool_demand_rows(capacity, share, "baseline")
    assert rows
    keys = {(r["year"], r["tool_type"]) for r in rows}
    assert len(keys) == len(rows)  # one row per (year, tool type)
    for r in rows:
        assert r["count"] >= 0
        assert r["domestic_share"] is None or 0 <= r["domestic_share"] <= 1


def test_domestic_share_reference_file() -> None:
    with (REPO / "pipelines" / "reference" / "tool_domestic_share.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {"tool_type", "domestic_share", "year", "source", "flag", "notes"} <= set(rows[0])
    for r in rows:
        assert 0.0 <= float(r["domestic_share"]) <= 1.0
        assert r["flag"] in ("reported", "estimate") and r["source"]
        assert r["tool_type"] in tool_types()
    latest = tool_counts.latest_domestic_share(rows)
    assert latest["dry_etch"] == pytest.approx(0.60)
    assert tool_counts.latest_domestic_share(rows, year=2021)["litho_duv"] == pytest.approx(0.01)


def test_tool_demand_takes_each_years_domestic_share() -> None:
    """With a function of the year, each row carries the share in force that year (None before any)."""
    from functools import partial

    reference = [
        {"tool_type": "litho_duv", "year": 2021, "domestic_share": 0.01},
        {"tool_type": "litho_duv", "year": 2024, "domestic_share": 0.10},
    ]
    capacity = [_row(year=y) for y in (2020, 2022, 2025)]
    rows = tool_counts.tool_demand_rows(capacity, partial(tool_counts.latest_domestic_share, reference), "s")
    litho = {r["year"]: r for r in rows if r["tool_type"] == "litho_duv"}
    assert litho[2020]["domestic_share"] is None and litho[2020]["domestic_count"] is None
    assert litho[2022]["domestic_share"] == pytest.approx(0.01)
    assert litho[2025]["domestic_share"] == pytest.approx(0.10)
    assert litho[2025]["domestic_count"] == pytest.approx(0.10 * litho[2025]["count"])
