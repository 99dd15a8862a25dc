"""Review hardening of the forecasts: scenario errors end to end, run ids, idempotent storage,
estimator API conformance, ensemble weights, backtest scores by hand, vectorisation."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from app.cli import main
from models.backtest import backtest_series
from models.ensemble import SubstitutionEnsemble
from models.scenarios import SCENARIO_DIR, ScenarioError, load_scenario
from models.substitution import Bass, FisherPry, Gompertz
from pipelines.forecast_store import warehouse_version
from pipelines.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
BASELINE = SCENARIO_DIR / "baseline.yaml"
FAST = {"n_steps": 700, "ess_floor": 50.0}


def _fast_ensemble() -> SubstitutionEnsemble:
    return SubstitutionEnsemble(
        members=[("fisher_pry", FisherPry(**FAST)), ("gompertz", Gompertz(**FAST)), ("bass", Bass(**FAST))]
    )


ESTIMATOR_FACTORIES = {
    "fisher_pry": lambda: FisherPry(**FAST),
    "gompertz": lambda: Gompertz(**FAST),
    "bass": lambda: Bass(**FAST),
    "ensemble": _fast_ensemble,
}


@pytest.fixture
def db(history_db: Path) -> Path:
    return history_db


# ---- broken scenario files: one readable line naming file, field and expectation ---------------


def _dist(body: str) -> str:
    return "{" + body + ", source: x, flag: estimate}"


def _param(name: str, body: str) -> str:
    """A scenario ``parameters:`` block setting one parameter to the distribution ``body``."""
    return f"parameters:\n  {name}: {_dist(body)}\n"


# case | parameter | distribution | words the message must contain (" ; "-separated)
_PARAM_CASES = """
low_gt_high                 | demand_growth      | dist: uniform, low: 0.5, high: 0.1                   | parameters.demand_growth ; low <= high
negative_sd                 | demand_growth      | dist: normal, mean: 0.2, sd: -1                      | parameters.demand_growth.sd ; greater than or equal to 0
unknown_dist                | demand_growth      | dist: lognormal, low: 0.1, high: 0.2                 | parameters.demand_growth ; triangular
normal_clip_reversed        | demand_growth      | dist: normal, mean: 0.2, sd: 0.1, low: 0.5, high: 0.1 | parameters.demand_growth ; low <= high
fraction_above_one          | foreign_preference | dist: uniform, low: 0.5, high: 1.5                   | parameters.foreign_preference ; [0, 1]
packaging_yield_above_one   | packaging_yield    | dist: triangular, low: 0.9, mode: 1.0, high: 1.2     | parameters.packaging_yield ; [0, 1]
growth_below_minus_100pct   | demand_growth      | dist: fixed, value: -1.5                             | parameters.demand_growth ; > -1
unclipped_normal_fraction   | ai_logic_fraction  | dist: normal, mean: 0.1, sd: 0.05                    | parameters.ai_logic_fraction ; clip
nan_value                   | demand_growth      | dist: fixed, value: .nan                             | parameters.demand_growth.value ; finite
"""


BAD_SCENARIOS = {
    # name: (text after "extends: baseline / name: t", words the message must contain)
    "unknown_field": ("horizonn: {start_year: 2025, end_year: 2030}\n", ["horizonn", "unknown field"]),
    "wrong_type": ("seed: abc\n", ["seed", "integer"]),
    "dates_out_of_order": ("horizon: {start_year: 2030, end_year: 2025}\n", ["horizon", "before start_year"]),
    "bad_regime_date": ("regimes:\n  - name: x\n    start: someday\n", ["regimes[", "start"]),
    # found in review: these crashed with a traceback, were accepted silently, or reached the model
    "regimes_not_a_list": ("regimes: 7\n", ["regimes", "expected a list"]),
    "regime_not_a_mapping": ("regimes:\n  - 5\n", ["regimes[", "dictionary"]),
    "regime_value_out_of_range": (
        "regimes:\n  - name: x\n    start: 2027-01-01\n    parameters:\n"
        f"      foreign_wfe_access: {_dist('dist: fixed, value: 2.0')}\n",
        ["regimes[", "foreign_wfe_access", "[0, 1]"],
    ),
}
for _line in _PARAM_CASES.strip().splitlines():
    _case, _name, _body, _words = (cell.strip() for cell in _line.split("|"))
    BAD_SCENARIOS[_case] = (_param(_name, _body), _words.split(" ; "))


def _assert_one_clean_line(rc: int, out: str, err: str, path: Path, words: list[str]) -> None:
    assert rc == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0], lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
def test_broken_scenario_is_one_line_naming_file_and_field(case, db, tmp_path, capsys):
    text, words = BAD_SCENARIOS[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(f"extends: {BASELINE}\nname: t\n{text}")
    rc = main(["forecast", "run", str(path), "--db", str(db), "--n-paths", "50", "--json"])
    out = capsys.readouterr()
    _assert_one_clean_line(rc, out.out, out.err, path, words)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("invalid.yaml", b"name: x\nhorizon: {start_year: 2025\n", ["not valid YAML at line"]),
        ("binary.yaml", b"\x80\x81 not: utf8\n", ["UTF-8"]),
        ("list.yaml", b"- a\n- b\n", ["mapping"]),
    ],
)
def test_unreadable_scenario_file_is_one_line(name, content, words, db, tmp_path, capsys):
    path = tmp_path / name
    path.write_bytes(content)
    rc = main(["forecast", "run", str(path), "--db", str(db), "--json"])
    out = capsys.readouterr()
    _assert_one_clean_line(rc, out.out, out.err, path, words)


@pytest.mark.slow
def test_missing_scenario_file_via_the_console_script(db, tmp_path):
    """The real ``fabscope`` entry point: exit 2, one line, no traceback."""
    exe = Path(sys.executable).parent / "fabscope"
    missing = tmp_path / "nope.yaml"
    bad = tmp_path / "regimes.yaml"
    bad.write_text(f"extends: {BASELINE}\nname: t\nregimes: 7\n")
    for path, words in ((missing, ["no such scenario file"]), (bad, ["regimes", "expected a list"])):
        proc = subprocess.run(
            [str(exe), "forecast", "run", str(path), "--db", str(db), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        _assert_one_clean_line(proc.returncode, proc.stdout, proc.stderr, path, words)


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--n-paths", "0", ["--n-paths", "greater than or equal to 10"]),
        ("--n-paths", "3", ["--n-paths"]),
        ("--seed", "-1", ["--seed", "greater than or equal to 0"]),
    ],
)
def test_bad_overrides_are_clean_errors(flag, value, words, db, capsys):
    rc = main(["forecast", "run", str(BASELINE), "--db", str(db), flag, value, "--json"])
    out = capsys.readouterr()
    assert rc == 2 and out.out == "" and "Traceback" not in out.err
    assert all(w in out.err for w in words), out.err


def test_backtest_rejects_a_horizon_below_one_year(db, capsys):
    assert main(["forecast", "backtest", "--db", str(db), "--horizon", "0", "--json"]) == 2
    assert "--horizon" in capsys.readouterr().err
    with pytest.raises(ValueError, match="horizon"):
        backtest_series(pl.DataFrame({"year": [2020], "value": [0.1]}), horizon=0)


def test_shipped_scenarios_pass_the_parameter_ranges():
    from models.supply import PARAMETERS

    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        scen = load_scenario(path)
        for params in [scen.parameters, *(r.parameters for r in scen.regimes)]:
            for name, dist in params.items():
                assert PARAMETERS[name].contains(*dist.support()), (path.name, name)


def test_scenario_errors_in_python_are_scenario_errors(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(f"extends: {BASELINE}\nname: t\nregimes: 7\n")
    with pytest.raises(ScenarioError, match=r"r\.yaml: invalid scenario: regimes"):
        load_scenario(path)


# ---- run ids, idempotent storage, list/compare -------------------------------------------------


def _run(capsys, db: Path, *extra: str) -> dict:
    assert main(["forecast", "run", str(BASELINE), "--db", str(db), *extra, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow  # fits the curves with emcee (seconds each)
def test_run_id_covers_the_path_count_and_reruns_replace_rows(db, capsys):
    a = _run(capsys, db, "--n-paths", "300")
    b = _run(capsys, db, "--n-paths", "400")
    # different numbers of paths give different numbers, so they must be different runs
    assert a["models"] != b["models"]
    assert a["scenario_id"] != b["scenario_id"]
    count = "SELECT count(*) AS n FROM substitution_forecast WHERE scenario_id = ?"
    n_a = Warehouse(db).query(count, [a["scenario_id"]])["n"][0]
    again = _run(capsys, db, "--n-paths", "300")
    assert again["scenario_id"] == a["scenario_id"] and again["models"] == a["models"]
    assert Warehouse(db).query(count, [a["scenario_id"]])["n"][0] == n_a == 5 * 3 * 10
    dupes = Warehouse(db).query(
        "SELECT count(*) AS n FROM (SELECT scenario_id, segment, year, model FROM substitution_forecast "
        "GROUP BY ALL HAVING count(*) > 1)"
    )
    assert dupes["n"][0] == 0
    runs = Warehouse(db).query("SELECT scenario_id, n_paths FROM scenario_runs ORDER BY n_paths").rows()
    assert runs == [(a["scenario_id"], 300), (b["scenario_id"], 400)]
    # an override equal to the file's own value is the same run as no override
    scen = load_scenario(BASELINE)
    assert _run(capsys, db, "--n-paths", "300", "--seed", str(scen.seed))["scenario_id"] == a["scenario_id"]


@pytest.mark.slow
def test_compare_an_unstored_model_is_a_clear_error(db, capsys):
    a = _run(capsys, db, "--n-paths", "200")
    b = _run(capsys, db, "--n-paths", "200", "--seed", "4")
    doc = json.loads(
        capsys.readouterr().out
        if main(
            [
                "forecast",
                "compare",
                a["scenario_id"],
                b["scenario_id"],
                "--model",
                "gompertz",
                "--db",
                str(db),
                "--json",
            ]
        )
        == 0
        else "{}"
    )
    assert len(doc["segments"]["wfe"]) == 10
    rc = main(
        [
            "forecast",
            "compare",
            a["scenario_id"],
            b["scenario_id"],
            "--model",
            "gompertzz",
            "--db",
            str(db),
            "--json",
        ]
    )
    out = capsys.readouterr()
    assert rc == 2 and out.out == "" and "gompertzz" in out.err and "structural" in out.err


def test_warehouse_version_does_not_depend_on_row_order():
    frame = pl.DataFrame(
        {
            "segment": ["wfe", "wfe", "wfe"],
            "year": [2024, 2024, 2023],
            "domestic_share": [0.2, 0.25, 0.4],
            "metric": ["rate", "rate", "rate"],
            "source": ["press", "press", "press"],
            "flag": ["estimate"] * 3,
            "notes": ["a", "b", None],
        }
    )
    versions = {warehouse_version(frame[list(order)]) for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0])}
    assert len(versions) == 1
    changed = frame.with_columns(pl.Series("domestic_share", [0.2, 0.26, 0.4]))
    assert warehouse_version(changed) not in versions


# ---- estimators: scikit-learn API conformance --------------------------------------------------

X4 = np.array([[2021.0], [2022.0], [2023.0], [2024.0]])
Y4 = np.array([0.10, 0.20, 0.30, 0.35])


@pytest.mark.slow  # fits the curves with emcee (seconds each)
@pytest.mark.parametrize("name", sorted(ESTIMATOR_FACTORIES))
def test_sklearn_api_conformance(name):
    cls = ESTIMATOR_FACTORIES[name]
    est = cls()
    with pytest.raises(NotFittedError):
        est.predict(X4)
    params = est.get_params(deep=False)
    assert est.set_params(**params) is est
    cls = lambda: clone(est)  # noqa: E731 -- same hyper-parameters, unfitted
    assert clone(est).get_params(deep=False).keys() == params.keys()
    assert est.fit(X4, Y4) is est
    assert est.get_params(deep=False) == params  # fit does not touch the hyper-parameters
    assert est.n_features_in_ == 1
    pred = est.predict(X4)
    assert pred.shape == (4,) and np.all((pred >= 0) & (pred <= 1))
    np.testing.assert_array_equal(cls().fit(X4, Y4).predict(X4), pred)  # idempotent
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X4), pred)
    perm = [2, 0, 3, 1]
    np.testing.assert_allclose(cls().fit(X4[perm], Y4[perm]).predict(X4), pred, atol=1e-6)
    np.testing.assert_allclose(cls().fit(X4, Y4, sample_weight=[2.0] * 4).predict(X4), pred, atol=1e-6)
    assert -1.0 <= est.score(X4, Y4) <= 1.0
    with pytest.raises(ValueError):
        est.predict(np.array([[2020.0, 1.0]]))
    with pytest.raises(ValueError):
        cls().fit(X4[:, 0], Y4)  # 1-d X


@pytest.mark.parametrize("name", sorted(ESTIMATOR_FACTORIES))
@pytest.mark.parametrize("n", [1, 2, 4])
def test_fit_with_very_few_points_stays_in_unit_interval(name, n):
    far = np.arange(2000, 2061, dtype=float)[:, None]
    est = ESTIMATOR_FACTORIES[name]().fit(X4[:n], Y4[:n])
    pred = est.predict(far)
    assert np.all(np.isfinite(pred)) and pred.min() >= 0 and pred.max() <= 1
    q = est.predict_quantiles(far, n_paths=300, random_state=0)
    assert np.all(q[0] <= q[1]) and np.all(q[1] <= q[2]) and q.min() >= 0 and q.max() <= 1


@pytest.mark.parametrize("cls", [FisherPry, Gompertz, Bass])
def test_bad_sample_weights_and_ceiling_are_clear_errors(cls):
    with pytest.raises(ValueError, match="sample_weight"):
        cls().fit(X4, Y4, sample_weight=[1.0, np.nan, 1.0, 1.0])
    with pytest.raises(ValueError, match="sample_weight"):
        cls().fit(X4, Y4, sample_weight=[1.0, 1.0])
    with pytest.raises(ValueError, match="ceiling"):
        cls(ceiling=0.0).fit(X4, Y4)


def test_ensemble_weights_are_not_decided_by_rounding_noise():
    """All three curves forecast four zero shares to well within the data's precision (0.01):
    out-of-sample errors of 1e-7 against 1e-9 must not give one curve weight ~0."""
    X = np.array([[2010.0], [2011.0], [2012.0], [2013.0]])
    ens = _fast_ensemble().fit(X, np.zeros(4))
    assert all(m < 0.005 for m in ens.oos_mae_.values())
    np.testing.assert_allclose(list(ens.weights_.values()), 1 / 3, atol=0.2)
    assert min(ens.weights_.values()) > 0.15


# ---- backtest scores on a hand example ---------------------------------------------------------


def test_interval_score_and_crps_by_hand():
    from models.backtest import _scores, interval_score

    # inside the band: the width only; below it: width + (2 / 0.2) * miss
    np.testing.assert_allclose(
        interval_score(np.array([0.1, 0.1]), np.array([0.3, 0.3]), np.array([0.2, 0.0])),
        [0.2, 0.2 + 10 * 0.1],
    )
    # a point forecast (all paths equal): CRPS = absolute error
    paths = np.full((100, 2), 0.25)
    got = _scores(paths, np.array([0.25, 0.45]))
    np.testing.assert_allclose(got["crps"], [0.0, 0.2], atol=1e-12)
    np.testing.assert_allclose(got["abs_err"], [0.0, 0.2])
    assert got["covered"].tolist() == [True, False]


# ---- the Monte Carlo is vectorised over paths and years ----------------------------------------


def test_structural_monte_carlo_calls_the_simulator_once_per_stream_whatever_the_path_count(monkeypatch):
    import hardware_sim.fab.wafers as wafers
    from models.montecarlo import structural_paths

    real = wafers.good_accelerators_per_month
    shapes: list[tuple[int, ...]] = []

    def counting(**kwargs):
        out = real(**kwargs)
        shapes.append(np.shape(out["accelerators_per_month"]))
        return out

    monkeypatch.setattr(wafers, "good_accelerators_per_month", counting)
    scen = load_scenario(BASELINE)
    for n in (100, 5000):
        shapes.clear()
        paths = structural_paths(scen, n_paths=n)
        # one vectorised call (the stockpile's equivalent wafers use the simulator's yield functions)
        assert len(shapes) == 1 and all(s == (n, 10) for s in shapes)
        assert all(p.shape == (n, 10) for p in paths.values())


def test_h20_allowed_is_below_baseline_from_the_switch_year_and_embargo_above():
    from models.montecarlo import run_scenario

    res = {
        name: run_scenario(load_scenario(SCENARIO_DIR / f"{name}.yaml"), n_paths=2000)
        for name in ("baseline", "h20-allowed", "full-embargo")
    }
    q = {name: r.quantiles[("structural", "ai_accelerators")] for name, r in res.items()}
    after = slice(2026 - 2025, None)  # the switch is 2026-07-01: from 2026 on
    assert np.all(q["h20-allowed"][1, after] < q["baseline"][1, after])
    assert np.all(q["full-embargo"][1, after] > q["baseline"][1, after])
    for qq in q.values():
        assert np.all(qq[0] <= qq[1]) and np.all(qq[1] <= qq[2])
