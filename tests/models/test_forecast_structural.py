"""Structural model in compute units: simulator ratios, unit share, the demand side."""

from __future__ import annotations

import numpy as np
import pytest

from hardware_sim.accelerators.llm import search_batch_for_tpot
from models import compute_equivalents as ce
from models.scenarios import SCENARIO_DIR, load_scenario

BASELINE = SCENARIO_DIR / "baseline.yaml"


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


def _demand_scaled(factor: float, name: str = "baseline.yaml", n: int = 3000) -> np.ndarray:
    """Unit-share paths with accelerator demand x ``factor`` on the same draws (common random numbers)."""
    from models.scenarios import draw_parameters
    from models.supply import simulate_supply

    scen = load_scenario(SCENARIO_DIR / name)
    params = draw_parameters(scen, n_paths=n)
    params["accelerator_demand_base"] = params["accelerator_demand_base"] * factor
    return simulate_supply(params, scen.horizon.years)["ai_accelerators"]["unit_share"]


@pytest.mark.parametrize("name", ["baseline.yaml", "full-embargo.yaml"])
def test_demand_moves_the_share_through_the_grey_market(name):
    # more unmet demand pulls more grey-market imports: doubling demand lowers the domestic share
    # in 2026-2030, by more than Monte Carlo noise (~0.005 at 3000 paths); halving it raises it
    years = load_scenario(SCENARIO_DIR / name).horizon.years
    later = (years >= 2026) & (years <= 2030)
    base, double, half = (np.median(_demand_scaled(f, name)[:, later], axis=0) for f in (1.0, 2.0, 0.5))
    assert np.all(double < base - 0.015), (double, base)
    assert np.all(half > base + 0.015), (half, base)


def test_fast_path_float32_compact_draws_match_the_reference_model():
    from models.scenarios import draw_parameters
    from models.supply import simulate_supply

    scen = load_scenario(BASELINE)
    full = simulate_supply(draw_parameters(scen, n_paths=400), scen.horizon.years)
    fast = simulate_supply(
        draw_parameters(scen, n_paths=400, compact=True, dtype=np.float32), scen.horizon.years
    )
    for segment, key in (("ai_accelerators", "unit_share"), ("ai_accelerators", "share"), ("wfe", "share")):
        assert fast[segment][key].dtype == np.float32 or segment == "ai_accelerators"
        np.testing.assert_allclose(fast[segment][key], full[segment][key], atol=1e-5)


def test_histogram_quantiles_agree_with_np_quantile():
    from models.montecarlo import quantiles, structural_paths, structural_quantiles_fast

    scen = load_scenario(BASELINE)
    fast = structural_quantiles_fast(scen, 20_000, chunk=5000)
    ref = structural_paths(scen, n_paths=20_000)
    for segment, q in fast.items():
        # different paths (chunk seeds), same model: Monte Carlo error at 20k paths is < 0.01
        np.testing.assert_allclose(q, quantiles(ref[segment]), atol=0.01)
        assert np.all(np.diff(q, axis=0) >= 0)
