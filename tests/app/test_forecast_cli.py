"""``fabscope forecast run|backtest|list|compare`` in-process, on a temporary warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from models.backtest import MODELS
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


@pytest.mark.slow  # fits the curves with emcee (seconds each)
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
    assert {m["name"] for m in doc["models"]} == set(MODELS) >= {"ensemble", "last_value", "linear_trend"}
    for m in doc["models"]:
        assert {"metric", "crps", "interval_score", "in_sample_mae", "beats_last_value", "n_points"} <= set(m)
    segments = {(v["segment"], v["metric"]) for v in doc["verdicts"]}
    assert {("ai_accelerators", "units"), ("wfe", "share"), ("hbm", "share")} <= segments
    assert all(v["message"] for v in doc["verdicts"])
    assert doc["pooled_coverage"]["n_points"] > 0
    assert Warehouse(db).query("SELECT count(*) AS n FROM forecast_backtest")["n"][0] == len(doc["models"])


@pytest.mark.slow
def test_run_as_of_a_date_uses_that_vintage_and_names_it(db, capsys):
    argv = ["forecast", "run", BASELINE, "--db", str(db), "--n-paths", "300", "--json"]
    now = _json(capsys, argv)
    then = _json(capsys, [*argv, "--as-of", "2024-12-31", "--metric", "h100e"])
    assert now["as_of"] is None and now["metric"] == "units"  # the stated default
    assert then["as_of"] == "2024-12-31" and then["metric"] == "h100e"
    assert then["scenario_id"] != now["scenario_id"]
    # no h100e-type figure was published by the end of 2024: the AI curves are skipped, WFE is fitted
    assert "ai_accelerators" not in then["models"]["fisher_pry"] and "wfe" in then["models"]["fisher_pry"]
    assert all(c["published"] <= "2024-12-31" for c in then["observation_checks"])
    # the structural posterior: diagnostics in every run, only that vintage's observations
    for doc in (now, then):
        assert (
            doc["calibration"]["ess"] >= doc["calibration"]["ess_floor"] and doc["calibration"]["rhat"] <= 1.1
        )
    assert all(o["published"] <= "2024-12-31" for o in then["calibration"]["observations"])
    assert then["calibration"]["n_observations"] < now["calibration"]["n_observations"]
    # the structural AI share differs by metric (H100e vs units)
    assert then["segments"]["ai_accelerators"] != now["segments"]["ai_accelerators"]
    stored = Warehouse(db).query(
        "SELECT as_of, metric FROM scenario_runs WHERE scenario_id = ?", [then["scenario_id"]]
    )
    assert str(stored["as_of"][0]) == "2024-12-31" and stored["metric"][0] == "h100e"


def _runs(db) -> int:
    return Warehouse(db).query("SELECT count(*) AS n FROM scenario_runs")["n"][0]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--as-of", "2019-01-01"], ["--as-of", "before the first observation"]),
        (["--as-of", "yesterday"], ["--as-of", "expected a date"]),
        (["--metric", "flops"], ["--metric", "expected one of ['h100e', 'units']", "'flops'"]),
    ],
)
def test_bad_as_of_is_one_line_exit_2_nothing_stored(db, capsys, extra, words):
    before = _runs(db)
    assert main(["forecast", "run", BASELINE, "--db", str(db), "--json", *extra]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1 and all(w in out.err for w in words)
    assert _runs(db) == before


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("wfe,2024,vibes,0.3,2025-01-01,x,estimate,", ["row 2, field metric", "unknown metric 'vibes'"]),
        ("wfe,2024,localisation_ratio,0.3,2999-01-01,x,estimate,", ["row 2, field published", "after today"]),
    ],
)
def test_bad_observation_file_is_one_line_naming_file_row_field(db, tmp_path, capsys, row, words):
    path = tmp_path / "obs.csv"
    path.write_text(
        "segment,year,metric,value,published,source,flag,notes\n"
        "wfe,2023,localisation_ratio,0.4,2023-10-01,x,estimate,\n" + row + "\n"
    )
    before = _runs(db)
    assert main(["forecast", "run", BASELINE, "--db", str(db), "--observations", str(path), "--json"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1
    assert str(path) in out.err and all(w in out.err for w in words), out.err
    assert _runs(db) == before


def test_bad_prior_range_in_a_scenario_is_one_line_and_nothing_stored(db, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"extends: {BASELINE}\nname: bad\nparameters:\n  foreign_preference:\n"
        "    {dist: uniform, low: 0.5, high: 1.4, source: x, flag: estimate}\n"
    )
    before = _runs(db)
    assert main(["forecast", "run", str(bad), "--db", str(db), "--json"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "foreign_preference" in err and str(bad) in err
    assert _runs(db) == before


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


@pytest.mark.slow  # fits the curves with emcee (seconds each)
def test_explain_names_the_drivers_of_a_stored_run(db, capsys):
    run = _json(capsys, ["forecast", "run", BASELINE, "--db", str(db), "--n-paths", "300", "--json"])
    doc = _json(capsys, ["forecast", "explain", run["scenario_id"], "--db", str(db), "--json"])
    assert doc["scenario_id"] == run["scenario_id"] and set(doc["segments"]) == {
        "ai_accelerators",
        "wfe",
        "hbm",
    }
    ai_2026 = next(r for r in doc["segments"]["ai_accelerators"] if r["year"] == 2026)["drivers"]
    # more foreign units allowed in -> lower domestic share: a top-two driver after the April 2025 rule
    rho = {d["parameter"]: d["rho"] for d in ai_2026}
    assert (
        "foreign_accelerators" in [d["parameter"] for d in ai_2026[:2]] and rho["foreign_accelerators"] < -0.3
    )
    # and demand matters: more demand, more unmet demand, more grey-market imports, lower share
    assert rho["accelerator_demand_base"] < -0.1 and rho["grey_market_fraction"] < -0.1
    assert all(-1 <= d["rho"] <= 1 for r in doc["segments"]["wfe"] for d in r["drivers"])
    assert main(["forecast", "explain", "nope-1", "--db", str(db), "--json"]) == 2
    assert "nope-1" in capsys.readouterr().err


@pytest.mark.slow  # fits the curves with emcee (seconds each)
def test_compare_gives_paired_differences_on_common_random_numbers(db, capsys):
    embargo = str(SCENARIO_DIR / "full-embargo.yaml")
    a = _json(capsys, ["forecast", "run", BASELINE, "--db", str(db), "--n-paths", "500", "--json"])
    b = _json(capsys, ["forecast", "run", embargo, "--db", str(db), "--n-paths", "500", "--json"])
    doc = _json(
        capsys, ["forecast", "compare", a["scenario_id"], b["scenario_id"], "--db", str(db), "--json"]
    )
    paired = doc["paired"]
    assert paired["common_random_numbers"] and paired["n_paths"] == 500
    ai = {r["year"]: r for r in paired["segments"]["ai_accelerators"]}
    # the embargo starts in July 2026: identical paths in 2025, a higher domestic share from 2027
    assert ai[2025]["diff_p10"] == ai[2025]["diff_p90"] == 0.0
    assert ai[2027]["diff_p10"] > 0 and ai[2027]["diff_p10"] <= ai[2027]["diff_p50"] <= ai[2027]["diff_p90"]
    assert ai[2027]["p_b_above"] > ai[2027]["p_a_above"]


def test_a_calibration_below_its_ess_floor_fails_with_one_line_and_stores_nothing(db, capsys, tmp_path):
    scen = tmp_path / "tight.yaml"
    scen.write_text(
        f"name: tight\nextends: {BASELINE}\ncalibration:\n  inputs: [domestic_wfe_base]\n"
        "  n_walkers: 8\n  n_steps: 60\n  ess_floor: 1.0e9\n",
        encoding="utf-8",
    )
    before = _runs(db)
    assert main(["forecast", "run", str(scen), "--db", str(db), "--n-paths", "100", "--json"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1
    assert "effective sample size" in out.err and "floor 1000000000" in out.err
    assert _runs(db) == before
