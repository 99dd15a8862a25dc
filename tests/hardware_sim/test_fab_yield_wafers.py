"""Yield models, dies per wafer, and wafers -> good accelerators."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hardware_sim.fab import wafers
from hardware_sim.fab import yield_ as y


def test_yield_models_agree_at_low_defect_density() -> None:
    area, d0 = 100.0, 0.01  # λ = 0.01
    vals = [float(y.die_yield(area, d0, m)) for m in y.YIELD_MODELS]
    assert max(vals) - min(vals) < 1e-4
    assert vals[0] == pytest.approx(1 - 0.01, abs=1e-4)


def test_yield_models_diverge_at_high_defect_density() -> None:
    area, d0 = 600.0, 0.5  # λ = 3
    p, m, nb = (float(y.die_yield(area, d0, k)) for k in ("poisson", "murphy", "negative_binomial"))
    assert p == pytest.approx(math.exp(-3))
    assert m == pytest.approx(((1 - math.exp(-3)) / 3) ** 2)
    assert nb == pytest.approx((1 + 3 / y.DEFAULT_NEGBIN_ALPHA) ** -y.DEFAULT_NEGBIN_ALPHA)
    assert p < m < nb  # clustering leaves more good dies
    assert m / p > 2


def test_negative_binomial_tends_to_poisson() -> None:
    assert float(y.negative_binomial_yield(400, 0.3, alpha=1e6)) == pytest.approx(
        float(y.poisson_yield(400, 0.3)), rel=1e-5
    )


def test_murphy_zero_defects() -> None:
    assert float(y.murphy_yield(500, 0.0)) == 1.0


def test_unknown_yield_model() -> None:
    with pytest.raises(ValueError, match="murphy"):
        y.die_yield(100, 0.1, "bose-einstein")


@pytest.mark.parametrize("area", [50.0, 100.0, 400.0, 800.0])
def test_dies_per_wafer_formula_close_to_grid_count(area: float) -> None:
    side = math.sqrt(area)
    formula = float(y.dies_per_wafer(area))
    grid = y.dies_per_wafer_grid(side, side)
    assert formula <= grid  # the approximation is conservative
    assert formula > 0.85 * grid


def test_dies_per_wafer_edge_exclusion_and_scribe_reduce_count() -> None:
    base = float(y.dies_per_wafer(100.0))
    assert float(y.dies_per_wafer(100.0, edge_exclusion_mm=5.0)) < base
    assert float(y.dies_per_wafer(100.0, scribe_mm=0.3)) < base
    assert float(y.dies_per_wafer(100.0, wafer_diameter_mm=200.0)) < base


def test_accelerators_logic_vs_hbm_binding_switch() -> None:
    wspm = np.array([1_000.0, 5_000.0, 20_000.0, 80_000.0])
    out = wafers.good_accelerators_per_month(wspm, 600.0, 0.1, hbm_stacks_per_month=400_000.0)
    logic, hbm = out["logic_limited_per_month"], out["hbm_limited_per_month"]
    assert np.all(hbm == pytest.approx(400_000 / 8 * 0.9))
    assert np.allclose(out["accelerators_per_month"], np.minimum(logic, hbm))
    binds = out["hbm_binds"]
    assert binds.dtype == bool
    assert not binds[0] and binds[-1]  # switches from logic-bound to HBM-bound as wafers grow
    assert np.all(binds == (hbm < logic))


def test_accelerators_formula_and_broadcasting() -> None:
    out = wafers.good_accelerators_per_month(
        np.array([[10_000.0], [20_000.0]]),
        400.0,
        np.array([0.05, 0.2, 0.5]),
        np.inf,
        dies_per_accelerator=2,
        packaging_yield=0.8,
    )
    assert out["accelerators_per_month"].shape == (2, 3)
    dpw = float(y.dies_per_wafer(400.0))
    good = 10_000 * dpw * float(y.murphy_yield(400.0, 0.05))
    assert out["good_dies_per_month"][0, 0] == pytest.approx(good)
    assert out["accelerators_per_month"][0, 0] == pytest.approx(good / 2 * 0.8)
    assert not out["hbm_binds"].any()  # unlimited HBM never binds
    assert np.all(np.diff(out["accelerators_per_month"], axis=1) < 0)  # more defects, fewer accelerators


def test_accelerators_reject_bad_inputs() -> None:
    with pytest.raises(ValueError):
        wafers.good_accelerators_per_month(-1.0, 400.0, 0.1, 1e5)
    with pytest.raises(ValueError):
        wafers.good_accelerators_per_month(1.0, 400.0, 0.1, 1e5, packaging_yield=1.5)
