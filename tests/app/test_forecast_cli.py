"""``fabscope forecast run|backtest|list|compare`` in-process, on a temporary warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from models.scenarios import SCENARIO_DIR
from pipelines.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
BASELINE = str(SCENARIO_DIR / "baseline.yaml")


@pytest.fixture
def db(history_db: Path) -> Path:
    return history_db


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_run_prints_the_contract_keys_and_stores_the_run(db, capsys):
    doc = _json(capsys, ["forecast", "run", BASELINE, "--db", str(db), "--n-paths", "400", "--json"])
    assert doc["scenario_id"].startswith("baseline-")
    assert set(doc["segments"]) == {"ai_accelerators", "wfe", "hbm"}
    rows = doc["segments"]["wfe"]
    assert [r["year"] for r in rows] == list(range(2025, 2035))
    assert all(
        set(r) == {"year", "p10", "p50", "p90"} and 0 <= r["p10"] <= r["p50"] <= r["p90"] <= 1 for r in rows
    )
    assert {"structural", "fisher_pry", "gompertz", "bass", "ensemble"} <= set(doc["models"])
    stored = Warehouse(db).query(
        "SELECT count(*) AS n, count(DISTINCT model) AS m FROM substitution_forecast WHERE scenario_id = ?",
        [doc["scenario_id"]],
    )
    assert stored["n"][0] == 5 * 3 * 10 and stored["m"][0] == 5
    runs = Warehouse(db).query("SELECT scenario_id, seed, yaml FROM scenario_runs")
    assert runs["scenario_id"].to_list() == [doc["scenario_id"]] and "name: baseline" in runs["yaml"][0]


@pytest.mark.slow
def test_rerun_is_reproducible_and_a_new_seed_is_a_new_run(db, capsys):
    argv = ["forecast", "run", BASELINE, "--db", str(db), "--n-paths", "300", "--json"]
    first = _json(capsys, argv)
    again = _json(capsys, argv)
    assert again["scenario_id"] == first["scenario_id"] and again["models"] == first["models"]
    other = _json(capsys, [*argv, "--seed", "99"])
    assert other["scenario_id"] != first["scenario_id"] and other["segments"] != first["segments"]
    listed = _json(capsys, ["forecast", "list", "--db", str(db), "--json"])
    assert {r["scenario_id"] for r in listed["runs"]} == {first["scenario_id"], other["scenario_id"]}
    cmp_ = _json(
        capsys, ["forecast", "compare", first["scenario_id"], other["scenario_id"], "--db", str(db), "--json"]
    )
    assert cmp_["a"]["scenario_id"] == first["scenario_id"] and len(cmp_["segments"]["hbm"]) == 10
    row = cmp_["segments"]["hbm"][3]
    assert row["p50_diff"] == pytest.approx(row["b"]["p50"] - row["a"]["p50"])


@pytest.mark.slow
def test_backtest_json_keys(db, capsys):
    doc = _json(capsys, ["forecast", "backtest", "--db", str(db), "--json"])
    assert doc["models"]
    for m in doc["models"]:
        assert {"name", "segment", "mape", "horizon_years", "n_origins", "coverage_p10_p90"} <= set(m)
    assert {m["name"] for m in doc["models"]} == {"fisher_pry", "gompertz", "bass", "ensemble"}
    assert Warehouse(db).query("SELECT count(*) AS n FROM forecast_backtest")["n"][0] == len(doc["models"])


def test_broken_scenario_is_one_line_on_stderr_naming_file_and_field(db, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {BASELINE}\nname: bad\nseeds: 3\n")
    assert main(["forecast", "run", str(bad), "--db", str(db), "--json"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "seeds" in lines[0] and "Traceback" not in out.err


def test_compare_unknown_id_is_a_clear_error(db, capsys):
    assert main(["forecast", "compare", "nope-1", "nope-2", "--db", str(db), "--json"]) == 2
    assert "nope-1" in capsys.readouterr().err
