"""Simulation study: are the curves' p10-p90 bands calibrated when the curve is the right one?

Data are drawn from a known Fisher-Pry curve (alpha 0.15/year, midpoint 2022, 12 yearly points
2014-2025) with Gaussian noise of sd 0.06 and 0.02 (above the noise floor ``min_noise`` =
0.01) and 0.005 (below it). For each replication a FisherPry is fitted with the production
sampler settings and its p10-p90 band for a *new* figure (a fresh observation, clipped to
[0, 1] as a share is) at 2014-2028 is scored by its exact coverage probability under the
true curve and noise, so the only Monte Carlo error is across replications.

Expected: 0.75-0.85 above the floor (nominal 0.80); at or above 0.80 below it, where the floor
makes the band conservative by design; every run's effective sample size above the floor.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from models.posterior import ESS_FLOOR, RHAT_MAX
from models.substitution import FisherPry

YEARS = np.arange(2014, 2026, dtype=float)
TARGET_YEARS = np.arange(2014, 2029, dtype=float)
ALPHA, T_MID = 0.15, 2022.0
REPLICATIONS = 30


def _curve(t: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-2.0 * ALPHA * (t - T_MID)))


def _coverage_of_new_figure(q10: np.ndarray, q90: np.ndarray, mean: np.ndarray, sd: float) -> np.ndarray:
    """P(q10 <= clip(N(mean, sd), 0, 1) <= q90), exactly (a band touching 0 or 1 covers the clipped mass)."""
    lower = np.where(q10 <= 0.0, 0.0, norm.cdf((q10 - mean) / sd))
    upper = np.where(q90 >= 1.0, 1.0, norm.cdf((q90 - mean) / sd))
    return upper - lower


def _study(noise_sd: float, seed: int) -> tuple[float, float, float]:
    """(mean coverage, min ESS, max R-hat) over the replications."""
    rng = np.random.default_rng(seed)
    mean = _curve(TARGET_YEARS)
    coverage, ess, rhat = [], [], []
    for r in range(REPLICATIONS):
        y = np.clip(_curve(YEARS) + noise_sd * rng.standard_normal(YEARS.size), 0.0, 1.0)
        est = FisherPry(random_state=r).fit(YEARS[:, None], y)
        q10, q90 = est.predict_quantiles(TARGET_YEARS[:, None], (0.1, 0.9), n_paths=4000, random_state=r)
        coverage.append(_coverage_of_new_figure(q10, q90, mean, noise_sd).mean())
        ess.append(est.ess_)
        rhat.append(est.rhat_)
    return float(np.mean(coverage)), float(min(ess)), float(max(rhat))


@pytest.mark.slow
@pytest.mark.parametrize("noise_sd", [0.06, 0.02])
def test_bands_are_calibrated_above_the_noise_floor(noise_sd):
    coverage, min_ess, max_rhat = _study(noise_sd, seed=1)
    assert 0.75 <= coverage <= 0.85, coverage
    assert min_ess >= ESS_FLOOR and max_rhat <= RHAT_MAX


@pytest.mark.slow
def test_bands_are_conservative_below_the_noise_floor():
    coverage, min_ess, max_rhat = _study(0.005, seed=2)
    assert coverage >= 0.80, coverage
    assert min_ess >= ESS_FLOOR and max_rhat <= RHAT_MAX
