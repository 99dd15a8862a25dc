"""Why the number is what it is: rank-correlation tornado of the structural model's inputs.

For one scenario (and seed), each uncertain input is drawn per path and per year exactly as in
the forecast (``models.scenarios.draw_parameters``: same streams, regime values blended by the
fraction of the year they are in force) and the structural model is run on the draws. For each
segment and year the driver score of an input is Spearman's rank correlation between its
per-path value and the domestic share (``rho`` in [-1, 1]; sign = direction). Inputs that do not
vary (fixed values) are left out. Rank correlation is a screening measure: it sees monotone
effects and, for correlated or interacting inputs, credits each with its marginal association;
it does not decompose the variance (Sobol indices would).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from models.observations import DEFAULT_AI_METRIC, target_output
from models.scenarios import Scenario, draw_parameters
from models.supply import SEGMENTS, simulate_supply

EXPLAIN_PATHS = 4000
TOP_DRIVERS = 8


def _rank_corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation per column of x (n, k) with y (n,); NaN for a constant column."""
    rx = rankdata(x, axis=0)
    ry = rankdata(y)
    rx = rx - rx.mean(axis=0)
    ry = ry - ry.mean()
    den = np.sqrt((rx**2).sum(axis=0) * (ry**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry[:, None]).sum(axis=0) / den, np.nan)


def explain(
    scenario: Scenario,
    seed: int | None = None,
    n_paths: int = EXPLAIN_PATHS,
    metric: str = DEFAULT_AI_METRIC,
    top: int = TOP_DRIVERS,
) -> dict[str, list[dict]]:
    """``{segment: [{"year", "drivers": [{"parameter", "rho"}...]}...]}``, drivers by |rho|, top ``top``."""
    params = draw_parameters(scenario, seed=seed, n_paths=n_paths)
    years = scenario.horizon.years
    out = simulate_supply(params, years)
    names = sorted(params)
    result: dict[str, list[dict]] = {}
    for segment in SEGMENTS:
        share = out[segment][target_output(segment, metric)]
        rows = []
        for j, year in enumerate(years):
            x = np.column_stack([params[n][:, j] for n in names])
            rho = _rank_corr(x, share[:, j])
            order = [i for i in np.argsort(-np.nan_to_num(np.abs(rho), nan=-1.0)) if np.isfinite(rho[i])]
            rows.append(
                {
                    "year": int(year),
                    "drivers": [{"parameter": names[i], "rho": float(rho[i])} for i in order[:top]],
                }
            )
        result[segment] = rows
    return result
