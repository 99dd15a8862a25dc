"""Vectorised Monte Carlo: scenario draws -> structural shares; history -> curve draws; quantiles.

``run_scenario`` produces p10/p50/p90 of the domestic share per segment, year and model:

- ``structural``: ``models.supply.simulate_supply`` on the scenario's parameter draws
  (one array of shape (n_paths, n_years) per parameter, no Python loop over paths);
- ``fisher_pry``, ``gompertz``, ``bass``, ``ensemble``: the curves fitted to the segment's
  history (all sources, weighted), sampled ``n_paths`` times (parameter uncertainty plus
  observation noise). These do not depend on the scenario's regimes, only on its horizon
  and seed, and are skipped for a segment without history.

Every random stream is keyed by (seed, label), so a rerun with the same scenario and seed
gives identical numbers and scenarios that share a parameter share its draws (common
random numbers make scenario comparisons paired).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from models.ensemble import SubstitutionEnsemble
from models.scenarios import Scenario, draw_parameters
from models.substitution import segment_observations
from models.supply import SEGMENTS, simulate_supply

QUANTILES = (0.1, 0.5, 0.9)
STRUCTURAL = "structural"


@dataclass
class ForecastResult:
    """Quantiles per (model, segment): arrays (3, n_years) for p10, p50, p90."""

    scenario: Scenario
    seed: int
    n_paths: int
    years: np.ndarray
    quantiles: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    fitted: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def rows(self, scenario_id: str) -> list[dict]:
        """One dict per (segment, year, model): scenario_id, segment, year, model, p10, p50, p90."""
        out = []
        for (model, segment), q in sorted(self.quantiles.items()):
            for j, year in enumerate(self.years):
                out.append(
                    {
                        "scenario_id": scenario_id,
                        "segment": segment,
                        "year": int(year),
                        "model": model,
                        "p10": float(q[0, j]),
                        "p50": float(q[1, j]),
                        "p90": float(q[2, j]),
                    }
                )
        return out

    def segments(self, model: str = STRUCTURAL) -> dict[str, list[dict]]:
        """``{segment: [{"year", "p10", "p50", "p90"}, ...]}`` for one model."""
        out: dict[str, list[dict]] = {}
        for (m, segment), q in sorted(self.quantiles.items()):
            if m != model:
                continue
            out[segment] = [
                {"year": int(y), "p10": float(q[0, j]), "p50": float(q[1, j]), "p90": float(q[2, j])}
                for j, y in enumerate(self.years)
            ]
        return out


def _seed_for(seed: int, *labels: str) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), *(zlib.crc32(label.encode("utf-8")) for label in labels)])


def quantiles(paths: np.ndarray, qs: tuple[float, ...] = QUANTILES) -> np.ndarray:
    """Quantiles over paths (axis 0): (len(qs), n_years); non-decreasing in q by construction."""
    return np.quantile(paths, qs, axis=0)


def structural_paths(
    scenario: Scenario, seed: int | None = None, n_paths: int | None = None
) -> dict[str, np.ndarray]:
    """Domestic share paths of the structural model: ``{segment: (n_paths, n_years)}``."""
    params = draw_parameters(scenario, seed=seed, n_paths=n_paths)
    out = simulate_supply(params, scenario.horizon.years)
    return {segment: out[segment]["share"] for segment in SEGMENTS}


def statistical_paths(
    history, years: np.ndarray, n_paths: int, seed: int
) -> tuple[dict[tuple[str, str], np.ndarray], dict[tuple[str, str], dict[str, float]]]:
    """Sampled curves of each estimator per segment with history: ``{(model, segment): paths}``.

    Also returns the fitted public parameters (and ensemble weights) per (model, segment).
    """
    paths: dict[tuple[str, str], np.ndarray] = {}
    fitted: dict[tuple[str, str], dict[str, float]] = {}
    X_new = np.asarray(years, dtype=float)[:, None]
    for segment in SEGMENTS:
        X, y, w = segment_observations(history, segment)
        if len(y) == 0:
            continue
        ens = SubstitutionEnsemble().fit(X, y, sample_weight=w)
        for name, est in ens.estimators_:
            rng = np.random.default_rng(_seed_for(seed, name, segment))
            paths[(name, segment)] = est.sample_paths(X_new, n_paths=n_paths, random_state=rng)
            fitted[(name, segment)] = {p: float(getattr(est, p)) for p in est._PARAMS} | {"sigma": est.sigma_}
        rng = np.random.default_rng(_seed_for(seed, "ensemble", segment))
        paths[("ensemble", segment)] = ens.sample_paths(X_new, n_paths=n_paths, random_state=rng)
        fitted[("ensemble", segment)] = dict(ens.weights_)
    return paths, fitted


def run_scenario(
    scenario: Scenario, history=None, seed: int | None = None, n_paths: int | None = None
) -> ForecastResult:
    """Monte Carlo for one scenario: structural quantiles, plus the curves when history is given."""
    seed = scenario.seed if seed is None else int(seed)
    n = scenario.n_paths if n_paths is None else int(n_paths)
    years = scenario.horizon.years
    result = ForecastResult(scenario=scenario, seed=seed, n_paths=n, years=years)
    for segment, p in structural_paths(scenario, seed=seed, n_paths=n).items():
        result.quantiles[(STRUCTURAL, segment)] = quantiles(p)
    if history is not None:
        paths, fitted = statistical_paths(history, years, n, seed)
        for key, p in paths.items():
            result.quantiles[key] = quantiles(p)
        result.fitted = fitted
    return result
