"""Backcast the structural model over history years and calibrate its weakest inputs to the history.

The scenario files' base values describe 2025 and the regimes carry the dated switches (including
the Oct 2023 rule), so the same scenario run over 2023-2024 is a *backcast* the observed
``substitution_history`` rows can check. ``calibrate`` grid-searches scale factors on a few
uncertain base distributions (``CALIBRATED``: foreign volume, buyer preference, foreign mix) to
minimise the weighted squared distance between the backcast median and each history row, using
the same row weights as the curves (``models.substitution.observation_weights``). The fit is
in-sample (6 rows for 2023-2024); its result is written into ``models/scenarios/baseline.yaml``
by hand, flagged ``estimate`` with "calibrated to substitution_history 2023-2024" as the basis,
and ``tests/test_forecast_scenarios.py`` checks that the shipped baseline still backcasts 2024
inside the observed range.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from models.scenarios import Fixed, Horizon, Normal, Scenario, Triangular, Uniform, draw_parameters
from models.substitution import segment_observations
from models.supply import simulate_supply

SEGMENT = "ai_accelerators"
BACKCAST_YEARS = (2023, 2024)
# Base parameters the calibration may move (weakest inputs: docs/methodology-forecasts.md, section 3).
CALIBRATED = ("foreign_accelerators", "foreign_preference", "foreign_high_end_fraction")
FRACTIONS = {"foreign_preference", "foreign_high_end_fraction"}


def scaled(dist, factor: float, cap: float | None = None):
    """The distribution with every location value multiplied by ``factor`` (optionally capped)."""

    def f(v):
        if v is None:
            return None
        out = v * factor
        return min(out, cap) if cap is not None else out

    if isinstance(dist, Fixed):
        return dist.model_copy(update={"value": f(dist.value)})
    if isinstance(dist, Uniform):
        return dist.model_copy(update={"low": f(dist.low), "high": f(dist.high)})
    if isinstance(dist, Triangular):
        return dist.model_copy(update={"low": f(dist.low), "mode": f(dist.mode), "high": f(dist.high)})
    if isinstance(dist, Normal):
        return dist.model_copy(
            update={"mean": f(dist.mean), "sd": dist.sd * factor, "low": f(dist.low), "high": f(dist.high)}
        )
    raise TypeError(f"cannot scale {type(dist).__name__}")


def with_scaled_base(scenario: Scenario, factors: dict[str, float]) -> Scenario:
    """A copy of ``scenario`` whose base distributions named in ``factors`` are scaled."""
    params = dict(scenario.parameters)
    for name, factor in factors.items():
        params[name] = scaled(params[name], factor, cap=1.0 if name in FRACTIONS else None)
    return scenario.model_copy(update={"parameters": params})


def backcast(
    scenario: Scenario, years: tuple[int, ...] = BACKCAST_YEARS, n_paths: int = 2000, seed: int | None = None
) -> dict[str, np.ndarray]:
    """Structural ``ai_accelerators`` shares over ``years``: {"years", "share", "unit_share"}.

    ``share`` (H100e) and ``unit_share`` are (3, n_years) arrays of p10/p50/p90. Same draws as a
    forward run with this seed (streams are keyed by parameter name, not by horizon).
    """
    back = scenario.model_copy(update={"horizon": Horizon(start_year=min(years), end_year=max(years))})
    out = simulate_supply(draw_parameters(back, seed=seed, n_paths=n_paths), back.horizon.years)[SEGMENT]
    pick = np.isin(back.horizon.years, years)
    q = (0.1, 0.5, 0.9)
    return {
        "years": back.horizon.years[pick],
        "share": np.quantile(out["share"], q, axis=0)[:, pick],
        "unit_share": np.quantile(out["unit_share"], q, axis=0)[:, pick],
    }


def history_targets(history, years: tuple[int, ...] = BACKCAST_YEARS):
    """(years, shares, weights) of the ``ai_accelerators`` history rows in ``years``."""
    X, y, w = segment_observations(history, SEGMENT)
    keep = np.isin(X[:, 0], years)
    return X[keep, 0].astype(int), y[keep], w[keep]


def calibration_loss(medians: np.ndarray, backcast_years: np.ndarray, history, years=BACKCAST_YEARS) -> float:
    """Weighted mean squared distance between backcast medians and every history row of those years."""
    t, y, w = history_targets(history, years)
    pred = medians[np.searchsorted(backcast_years, t)]
    return float(np.sum(w * (pred - y) ** 2) / np.sum(w))


@dataclass(frozen=True)
class CalibrationResult:
    """Best scale factors, their loss and backcast; ``table`` holds every grid point tried."""

    factors: dict[str, float]
    loss: float
    backcast: dict[str, np.ndarray]
    table: list[tuple[dict[str, float], float]]


def calibrate(
    scenario: Scenario,
    history,
    grid: dict[str, tuple[float, ...]],
    n_paths: int = 2000,
    seed: int | None = None,
) -> CalibrationResult:
    """Grid search over scale factors of base distributions; minimise ``calibration_loss`` (in-sample)."""
    names = list(grid)
    table = []
    best = None
    for combo in itertools.product(*(grid[n] for n in names)):
        factors = dict(zip(names, combo, strict=True))
        bc = backcast(with_scaled_base(scenario, factors), n_paths=n_paths, seed=seed)
        loss = calibration_loss(bc["share"][1], bc["years"], history)
        table.append((factors, loss))
        if best is None or loss < best[1]:
            best = (factors, loss, bc)
    assert best is not None
    return CalibrationResult(factors=best[0], loss=best[1], backcast=best[2], table=table)
