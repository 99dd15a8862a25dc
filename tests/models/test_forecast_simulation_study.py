"""Simulation study: are the curves' p10-p90 bands calibrated when the curve is the right one?

Data are drawn from a known Fisher-Pry curve (alpha 0.10/year, midpoint 2016, 24 yearly points
2004-2027, shares 0.08-0.92) with Gaussian noise of sd 0.06 and 0.02 (above the noise floor
``min_noise`` = 0.01) and 0.005 (below it). For each replication a FisherPry is fitted (emcee,
24 walkers; ``STUDY_STEPS`` steps per walker above the floor, the production ``N_STEPS`` below
it, where sigma sits on its lower bound and mixes more slowly) and its p10-p90 band for a *new*
figure (a fresh observation, clipped to [0, 1] as a share is) at 2004-2030 is scored by its
exact coverage probability under the true curve and noise, so the only Monte Carlo error is
across replications (about 0.02 for the pooled mean of the 12 replications above the floor).

Expected: 0.75-0.85 above the floor (nominal 0.80); at or above 0.80 below it, where the floor
makes the band conservative by design; every run's effective sample size above ``ESS_FLOOR``
and R-hat at most ``RHAT_MAX``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from models.posterior import ESS_FLOOR, N_STEPS, RHAT_MAX
from models.substitution import FisherPry

YEARS = np.arange(2004, 2028, dtype=float)
TARGET_YEARS = np.arange(2004, 2031, dtype=float)
ALPHA, T_MID = 0.10, 2016.0
STUDY_STEPS = 600  # per walker: ESS ~350 in this study, well above the floor


def _curve(t: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-2.0 * ALPHA * (t - T_MID)))


def _coverage_of_new_figure(q10: np.ndarray, q90: np.ndarray, mean: np.ndarray, sd: float) -> np.ndarray:
    """P(q10 <= clip(N(mean, sd), 0, 1) <= q90), exactly (a band touching 0 or 1 covers the clipped mass)."""
    lower = np.where(q10 <= 0.0, 0.0, norm.cdf((q10 - mean) / sd))
    upper = np.where(q90 >= 1.0, 1.0, norm.cdf((q90 - mean) / sd))
    return upper - lower


def _study(noise_sd: float, seed: int, replications: int, n_steps: int) -> tuple[list, list, list]:
    """(coverage, ESS, R-hat) per replication."""
    rng = np.random.default_rng(seed)
    mean = _curve(TARGET_YEARS)
    coverage, ess, rhat = [], [], []
    for r in range(replications):
        y = np.clip(_curve(YEARS) + noise_sd * rng.standard_normal(YEARS.size), 0.0, 1.0)
        est = FisherPry(random_state=r, n_steps=n_steps).fit(YEARS[:, None], y)
        q10, q90 = est.predict_quantiles(TARGET_YEARS[:, None], (0.1, 0.9), n_paths=4000, random_state=r)
        coverage.append(_coverage_of_new_figure(q10, q90, mean, noise_sd).mean())
        ess.append(est.ess_)
        rhat.append(est.rhat_)
    return coverage, ess, rhat


@pytest.mark.slow  # 12 emcee fits
def test_bands_are_calibrated_above_the_noise_floor():
    coverage, ess, rhat = [], [], []
    for noise_sd in (0.06, 0.02):
        c, e, r = _study(noise_sd, seed=1, replications=6, n_steps=STUDY_STEPS)
        coverage += c
        ess += e
        rhat += r
    assert 0.75 <= float(np.mean(coverage)) <= 0.85, np.mean(coverage)
    assert min(ess) >= ESS_FLOOR and max(rhat) <= RHAT_MAX


@pytest.mark.slow  # 3 emcee fits
def test_bands_are_conservative_below_the_noise_floor():
    coverage, ess, rhat = _study(0.005, seed=2, replications=3, n_steps=N_STEPS)
    assert float(np.mean(coverage)) >= 0.80, coverage
    assert min(ess) >= ESS_FLOOR and max(rhat) <= RHAT_MAX
