"""Structural model in compute units: simulator ratios, the 2023-2024 backcast, calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hardware_sim.accelerators.llm import search_batch_for_tpot
from models import compute_equivalents as ce
from models.calibration import backcast, calibrate, calibration_loss, history_targets, with_scaled_base
from models.scenarios import SCENARIO_DIR, load_scenario

HISTORY = Path(__file__).resolve().parents[2] / "pipelines" / "reference" / "substitution_history.csv"
BASELINE = SCENARIO_DIR / "baseline.yaml"
# Backcast tolerance: the median may sit at most 0.02 outside the span of that year's history rows
# (Monte Carlo noise at 2000 paths is ~0.005; the rows themselves are rounded to 0.01).
TOLERANCE = 0.02


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    return pl.read_csv(HISTORY)


@pytest.mark.parametrize(
    "system, chip", [("hgx-h100-8", "h100-sxm"), ("hgx-h20-8", "h20"), ("cloudmatrix-384", "ascend-910c")]
)
def test_ratios_match_the_simulators_serving_search(system, chip):
    ref = search_batch_for_tpot(system, ce.SERVING_MODEL, ce.TPOT_TARGET_MS)
    # same layout as the reference workload: TP4 over packages (TP8 over dies for the two-rank 910C)
    assert ref["chips_in_replica"] == 4 and ref["dp"] == 1 and ref["pp"] == 1
    assert ce.decode_tokens_per_s(chip) == pytest.approx(ref["tokens_per_s_per_chip"], rel=1e-9)


def test_h20_counts_for_more_in_serving_than_in_dense_compute_and_less_than_an_h100():
    assert ce.h100e("h100-sxm") == 1.0
    assert ce.bf16_ratio("h20") < 0.2 < ce.h100e("h20") < 1.0
    r = ce.stream_ratios()
    assert r["foreign_low_end"] < r["foreign_high_end"]
    assert 0 < r["domestic_per_die"] < ce.h100e("ascend-910c")


def test_decode_gain_is_monotone_and_below_the_compute_factor():
    f = np.array([1.0, 1.2, 1.5, 2.0])
    g = ce.decode_gain(f)
    assert g[0] == pytest.approx(1.0)
    # memory-bound: extra FLOP/s buy less, and nothing once the KV cache caps the batch
    assert g[1] > g[0] and np.all(np.diff(g) >= 0) and np.all(g[1:] < f[1:])


def test_backcast_2024_lands_inside_the_observed_history_range(history):
    bc = backcast(load_scenario(BASELINE), years=(2023, 2024), n_paths=2000)
    years, shares, _ = history_targets(history)
    for j, year in enumerate(bc["years"]):
        obs = shares[years == year]
        lo, hi = obs.min() - TOLERANCE, obs.max() + TOLERANCE
        assert lo <= bc["share"][1, j] <= hi, (year, bc["share"][1, j], obs)
    # and the band overlaps the observed spread in both years
    assert np.all(bc["share"][0] < 0.37) and np.all(bc["share"][2] > 0.10)


def test_calibration_finds_the_shipped_factors_and_a_worse_start_is_worse(history):
    scen = load_scenario(BASELINE)
    shipped = backcast(scen, n_paths=1000)
    shipped_loss = calibration_loss(shipped["share"][1], shipped["years"], history)
    # an uncalibrated preference (the old 0.40/0.60/0.80 = shipped / 1.6) fits worse
    worse = backcast(with_scaled_base(scen, {"foreign_preference": 1 / 1.6}), n_paths=1000)
    assert calibration_loss(worse["share"][1], worse["years"], history) > 2 * shipped_loss
    res = calibrate(scen, history, {"foreign_preference": (1 / 1.6, 1.0)}, n_paths=1000)
    assert res.factors == {"foreign_preference": 1.0} and len(res.table) == 2


def test_unit_share_is_kept_and_differs_from_the_compute_share():
    from models.scenarios import draw_parameters
    from models.supply import simulate_supply

    scen = load_scenario(BASELINE)
    acc = simulate_supply(draw_parameters(scen, n_paths=500), scen.horizon.years)["ai_accelerators"]
    assert acc["unit_share"].shape == acc["share"].shape
    assert np.all((acc["unit_share"] >= 0) & (acc["unit_share"] <= 1))
    assert not np.allclose(acc["unit_share"], acc["share"])


# ---- the demand side: unmet demand goes somewhere -------------------------------------------------


def _ai_outputs(scenario, n=2000):
    from models.montecarlo import structural_outputs

    return structural_outputs(scenario, n_paths=n)["ai_accelerators"]


def test_unmet_demand_is_accounted_for_grey_market_rental_abroad_priced_out():
    out = _ai_outputs(load_scenario(BASELINE))
    total = out["domestic"] + out["foreign"] + out["cloud_abroad"] + out["unmet"]
    np.testing.assert_allclose(total, out["demand"], rtol=1e-9)
    assert np.all(out["grey_market"] >= 0) and np.all(out["grey_market"] <= out["foreign"] + 1e-9)
    assert np.all(out["cloud_abroad"] >= 0) and np.all(out["unmet"] >= -1e-9)


def test_an_embargo_does_not_hand_the_whole_unmet_market_to_domestic_suppliers():
    from models.scenarios import Fixed

    embargo = load_scenario(SCENARIO_DIR / "full-embargo.yaml")
    no_grey = embargo.model_copy(
        update={
            "parameters": {
                **embargo.parameters,
                "grey_market_accelerators": Fixed(dist="fixed", value=0.0, source="test", flag="estimate"),
            }
        }
    )
    with_grey, without = _ai_outputs(embargo)["share"], _ai_outputs(no_grey)["share"]
    years = embargo.horizon.years
    later = years >= 2027
    # grey-market imports keep the embargo share below the mechanical one, every later year
    assert np.all(np.median(with_grey[:, later], axis=0) < np.median(without[:, later], axis=0) - 0.05)
