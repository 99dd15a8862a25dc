"""Scenario files: schema errors name file and field; regimes; ids; Monte Carlo properties."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from models.scenarios import (
    SCENARIO_DIR,
    ScenarioError,
    draw_parameters,
    load_scenario,
    scenario_id,
    shipped_scenarios,
    year_fractions,
)
from models.supply import PARAMETERS, allocate_share

BASELINE = SCENARIO_DIR / "baseline.yaml"
N = 2000  # paths: enough for stable quantiles, fast


def test_shipped_scenarios_load_with_every_parameter_sourced():
    names = {load_scenario(p).name for p in shipped_scenarios()}
    assert {"baseline", "h20-allowed", "full-embargo", "smic-5nm-ramp"} <= names
    base = load_scenario(BASELINE)
    assert set(base.parameters) == set(PARAMETERS)
    assert all(d.source and d.flag in ("reported", "estimate") for d in base.parameters.values())
    assert base.horizon.years.size == 10


def _write(tmp_path: Path, text: str, name: str = "broken.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _baseline_with(tmp_path: Path, extra: str) -> Path:
    return _write(tmp_path, f"extends: {BASELINE}\nname: t\n{extra}")


def test_unknown_top_level_field_is_named_with_the_file(tmp_path):
    path = _baseline_with(tmp_path, "horizonn: {start_year: 2025, end_year: 2030}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    msg = str(err.value)
    assert str(path) in msg and "horizonn" in msg and "unknown field" in msg


def test_unknown_parameter_lists_what_is_expected(tmp_path):
    path = _baseline_with(
        tmp_path, "parameters:\n  demand_grwth: {dist: fixed, value: 0.1, source: x, flag: estimate}\n"
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert (
        str(path) in str(err.value) and "demand_grwth" in str(err.value) and "demand_growth" in str(err.value)
    )


def test_bad_distribution_names_the_parameter_field(tmp_path):
    path = _baseline_with(
        tmp_path,
        "parameters:\n  demand_growth: {dist: triangular, low: 0.5, mode: 0.1, high: 0.2, source: x, flag: estimate}\n",
    )
    with pytest.raises(ScenarioError, match=r"parameters\.demand_growth: need low <= mode <= high"):
        load_scenario(path)


def test_missing_source_and_bad_flag_are_reported(tmp_path):
    path = _baseline_with(tmp_path, "parameters:\n  demand_growth: {dist: fixed, value: 0.1, flag: guess}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    msg = str(err.value)
    assert "parameters.demand_growth.source: required field is missing" in msg
    assert "parameters.demand_growth.flag" in msg and "reported" in msg


def test_wrong_type_in_regime_names_the_path(tmp_path):
    path = _baseline_with(tmp_path, "regimes:\n  - name: x\n    start: someday\n")
    with pytest.raises(ScenarioError, match=r"regimes\[\d\]\.start"):
        load_scenario(path)


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = _write(tmp_path, "name: x\nhorizon: {start_year: 2025\n")
    with pytest.raises(ScenarioError, match=r"broken\.yaml: not valid YAML at line \d+"):
        load_scenario(path)


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.yaml")


def test_year_fractions_split_a_year_at_the_switch():
    frac = year_fractions([date(2026, 7, 2)], np.array([2025, 2026, 2027]))
    assert frac.shape == (2, 3)
    np.testing.assert_allclose(frac.sum(axis=0), 1.0)
    assert frac[:, 0].tolist() == [1.0, 0.0] and frac[:, 2].tolist() == [0.0, 1.0]
    assert frac[1, 1] == pytest.approx(183 / 365)


def test_regime_values_persist_until_overridden():
    scen = load_scenario(SCENARIO_DIR / "h20-allowed.yaml")
    base = load_scenario(BASELINE)
    fa = draw_parameters(scen, n_paths=500)["foreign_accelerators"]
    fb = draw_parameters(base, n_paths=500)["foreign_accelerators"]
    assert np.all(fa[:, 3:] >= 1.5e6) and np.all(fb[:, 3:] <= 1.0e6)
    np.testing.assert_array_equal(fa[:, 0], fb[:, 0])  # common random numbers before the switch


def test_scenario_id_changes_with_content_seed_and_warehouse_version(tmp_path):
    base = load_scenario(BASELINE)
    sid, digest = scenario_id(base, 1, "v1")
    assert scenario_id(load_scenario(BASELINE), 1, "v1") == (sid, digest)
    assert sid.startswith("baseline-") and len(digest) == 64
    assert scenario_id(base, 2, "v1")[0] != sid
    assert scenario_id(base, 1, "v2")[0] != sid
    changed = load_scenario(_baseline_with(tmp_path, "name: baseline\nn_paths: 500\n"))
    assert scenario_id(changed, 1, "v1")[0] != sid


def test_allocate_share_respects_caps_and_preferences():
    out = allocate_share(
        np.array([100.0, 100.0, 100.0, 0.0]),
        np.array([50.0, 50.0, 200.0, 10.0]),
        np.array([100.0, 0.0, 10.0, 10.0]),
        np.array([0.6, 0.6, 0.6, 0.6]),
    )
    assert out["foreign"].tolist() == [60.0, 0.0, 10.0, 0.0]
    assert out["domestic"].tolist() == [40.0, 50.0, 90.0, 0.0]
    assert out["unmet"].tolist() == [0.0, 50.0, 0.0, 0.0]
    np.testing.assert_allclose(out["share"], [0.4, 1.0, 0.9, 0.0])


# ---- Monte Carlo (structural model uses hardware_sim.fab.wafers) -------------------------------


@pytest.fixture(scope="module")
def runs():
    from models.montecarlo import structural_paths

    return {p.stem: structural_paths(load_scenario(p), n_paths=N) for p in shipped_scenarios()}


def test_same_seed_gives_identical_numbers_and_another_seed_does_not():
    from models.montecarlo import run_scenario

    scen = load_scenario(BASELINE)
    a = run_scenario(scen, seed=5, n_paths=N)
    b = run_scenario(load_scenario(BASELINE), seed=5, n_paths=N)
    c = run_scenario(scen, seed=6, n_paths=N)
    for key in a.quantiles:
        np.testing.assert_array_equal(a.quantiles[key], b.quantiles[key])
    assert any(not np.array_equal(a.quantiles[k], c.quantiles[k]) for k in a.quantiles)


def test_quantiles_are_ordered_and_in_unit_interval(runs):
    from models.montecarlo import quantiles

    for paths in runs.values():
        for p in paths.values():
            assert p.min() >= 0.0 and p.max() <= 1.0
            q = quantiles(p)
            assert np.all(q[0] <= q[1]) and np.all(q[1] <= q[2])


def _after_switch(paths, segment, start_year=2025, first=2027):
    return np.median(paths[segment], axis=0)[first - start_year :]


def test_h20_allowed_lowers_the_domestic_accelerator_share_after_the_switch(runs):
    base = _after_switch(runs["baseline"], "ai_accelerators")
    h20 = _after_switch(runs["h20-allowed"], "ai_accelerators")
    assert np.all(h20 < base)
    before = 0  # 2025: identical worlds before the switch
    assert (
        np.median(runs["h20-allowed"]["ai_accelerators"], 0)[before]
        == np.median(runs["baseline"]["ai_accelerators"], 0)[before]
    )


def test_full_embargo_raises_the_domestic_share_after_the_switch(runs):
    for segment in ("ai_accelerators", "wfe", "hbm"):
        base = _after_switch(runs["baseline"], segment)
        emb = _after_switch(runs["full-embargo"], segment)
        assert np.all(emb >= base) and np.any(emb > base), segment
    assert np.all(
        _after_switch(runs["full-embargo"], "ai_accelerators")
        > _after_switch(runs["baseline"], "ai_accelerators")
    )


def test_smic_5nm_ramp_raises_logic_output_but_hbm_still_binds():
    from models.supply import simulate_supply

    def run(name):
        scen = load_scenario(SCENARIO_DIR / name)
        return simulate_supply(draw_parameters(scen, n_paths=N), scen.horizon.years)

    base, n5 = run("baseline.yaml"), run("smic-5nm-ramp.yaml")
    logic_base = np.median(base["hbm"]["demand"], axis=0)[3:]  # HBM the logic could use, 2028+
    logic_n5 = np.median(n5["hbm"]["demand"], axis=0)[3:]
    assert np.all(logic_n5 > 1.2 * logic_base)
    assert n5["ai_accelerators"]["hbm_binds"][:, 3:].mean() > 0.9  # so more dies per wafer add nothing
    # ... but each HBM-bound package does more work: the domestic compute share rises from 2027 on,
    # path by path (common random numbers), and is unchanged before the ramp.
    acc_b, acc_n5 = base["ai_accelerators"]["share"], n5["ai_accelerators"]["share"]
    np.testing.assert_array_equal(acc_n5[:, :2], acc_b[:, :2])
    assert np.all(acc_n5[:, 2:] >= acc_b[:, 2:])
    assert np.all(np.median(acc_n5[:, 2:], axis=0) > np.median(acc_b[:, 2:], axis=0))


# ---- scenario trees: weighted branches mixed path by path ---------------------------------------

TREE = """
extends: baseline.yaml
name: h20-tree
branches:
  - name: h20_allowed
    weight: 0.4
    regimes:
      - name: h20_licences_again
        start: 2026-02-01  # after the baseline's H200 regime (2026-01-15), so it overrides it
        parameters:
          foreign_accelerators: {dist: uniform, low: 1.5e6, high: 2.5e6, source: test, flag: estimate}
  - name: embargo
    weight: 0.6
    regimes:
      - name: full_embargo
        start: 2026-02-01  # after the baseline's H200 regime (2026-01-15), so it overrides it
        parameters:
          foreign_accelerators: {dist: fixed, value: 0.0, source: test, flag: estimate}
"""


def test_a_scenario_tree_mixes_its_branches_by_weight_on_common_draws():
    from models.montecarlo import structural_paths
    from models.scenarios import draw_parameters

    tree = load_scenario(TREE)
    base = load_scenario(SCENARIO_DIR / "baseline.yaml")
    draws = draw_parameters(tree, n_paths=4000)
    j2027 = list(tree.horizon.years).index(2027)
    allowed = draws["foreign_accelerators"][:, j2027] > 1.0e6
    assert abs(allowed.mean() - 0.4) < 0.03  # 40% of paths follow the H20 branch
    assert np.all(draws["foreign_accelerators"][~allowed, j2027] == 0.0)
    share, base_share = structural_paths(tree, n_paths=4000), structural_paths(base, n_paths=4000)
    ai = share["ai_accelerators"]
    # before the branches split (2025) every path equals the baseline's (common random numbers)
    np.testing.assert_array_equal(ai[:, 0], base_share["ai_accelerators"][:, 0])
    # later the embargo paths sit above the H20 paths, the mixture between them
    assert np.median(ai[~allowed, j2027]) > np.median(ai[allowed, j2027]) + 0.1


def test_branch_weights_must_sum_to_one():
    bad = TREE.replace("weight: 0.6", "weight: 0.7")
    with pytest.raises(ScenarioError, match="branches: weights must sum to 1, got 1.1"):
        load_scenario(bad)
