"""`fabscope sim etch` and `fabscope sim fab`, run in-process."""

from __future__ import annotations

import json

import pytest

from app.cli import main


def _json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_sim_etch_layers_json(capsys) -> None:
    doc = _json(capsys, ["sim", "etch", "--layers", "64", "--json"])
    for key in ("aspect_ratio", "etch_rate_nm_min", "etch_time_min", "wafers_per_hour"):
        assert isinstance(doc[key], float) and doc[key] > 0
    assert doc["aspect_ratio"] == pytest.approx(64 * 60 / 65)
    assert doc["etch_rate_nm_min"] < doc["open_field_rate_nm_min"]


def test_sim_etch_cryo_is_faster(capsys) -> None:
    conv = _json(capsys, ["sim", "etch", "--aspect-ratio", "40", "--json"])
    cryo = _json(capsys, ["sim", "etch", "--aspect-ratio", "40", "--chemistry", "cryo", "--json"])
    assert cryo["aspect_ratio"] == conv["aspect_ratio"] == 40
    assert cryo["etch_time_min"] < conv["etch_time_min"]
    assert cryo["wafers_per_hour"] > conv["wafers_per_hour"]


def test_sim_etch_hole_diameter_changes_aspect_ratio(capsys) -> None:
    doc = _json(capsys, ["sim", "etch", "--layers", "64", "--hole-diameter-nm", "100", "--json"])
    assert doc["aspect_ratio"] == pytest.approx(64 * 60 / 100)


def test_sim_fab_json(capsys) -> None:
    doc = _json(capsys, ["sim", "fab", "--process", "7nm-duv-saqp", "--wspm", "45000", "--json"])
    assert doc["tools"]
    for t in doc["tools"]:
        assert {"type", "count", "passes_per_wafer", "wafers_per_hour"} <= set(t)
    types = {t["type"]: t for t in doc["tools"]}
    assert "litho_euv" not in types and types["dry_etch"]["count"] > 0
    assert doc["capex_usd_b"] > 0


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["sim", "fab", "--process", "nope", "--wspm", "1000"], "7nm-euv"),
        (["sim", "fab", "--process", "28nm-planar", "--wspm", "-5"], "--wspm"),
        (["sim", "fab", "--process", "28nm-planar", "--wspm", "nan"], "finite"),
        (["sim", "fab", "--process", "28nm-planar", "--wspm", "1", "--uptime", "1.5"], "--uptime"),
        (["sim", "etch", "--layers", "0"], "--layers"),
        (["sim", "etch", "--aspect-ratio", "-3"], "--aspect-ratio"),
        (["sim", "fab", "--process", "7nm-euv", "--wspm", "1e12"], "world"),
        (["sim", "fab", "--process", "3dnand-100000", "--wspm", "1000"], "1..1000"),
        (["sim", "etch", "--layers", "5000"], "--layers: must be in 1..1,000, got 5000"),
        (["sim", "etch", "--layers", "2.5"], "--layers: must be a whole number, got 2.5"),
        (["sim", "etch", "--aspect-ratio", "201"], "--aspect-ratio: must be in (0, 200], got 201"),
        (["sim", "etch", "--layers", "232", "--chambers", "13"], "--chambers: must be in 1..12, got 13"),
        (["sim", "etch", "--aspect-ratio", "40", "--decks", "2"], "--decks: applies to a layer count only"),
        (["sim", "etch"], "give either a layer count or an aspect ratio"),
        (["sim", "etch", "--layers", "1", "--chemistry", "magic"], "--chemistry: must be one of"),
        (["sim", "fab", "--wspm", "1000"], "--process: a value is required"),
    ],
)
def test_sim_fab_etch_errors(capsys, argv, needle) -> None:
    assert main(argv) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert needle in out.err
