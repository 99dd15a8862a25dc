"""Vectorised Monte Carlo: scenario draws -> structural shares; history -> curve draws; quantiles.

``run_scenario`` produces p10/p50/p90 of the domestic share per segment, year and model:

- ``structural``: ``models.supply.simulate_supply`` on the scenario's parameter draws
  (one array of shape (n_paths, n_years) per parameter, no Python loop over paths); the
  AI-accelerator share is in units or H100e (``metric``). Given a calibration
  (``models.calibration.CalibrationResult``), the calibrated inputs come from its posterior draws
  (resampled per path) and every other input from its prior;
- ``fisher_pry``, ``gompertz``, ``bass``, ``ensemble``: the curves fitted to the segment's
  share observations of the same kind (``models.observations``), sampled ``n_paths`` times
  from their emcee posteriors (parameter and noise uncertainty plus observation noise).
  These do not depend on the scenario's regimes, only on its horizon and seed, and are
  skipped for a segment without observations.

``checks`` compares every observation inside the horizon with the structural model through
that metric's measurement model (unit share with unit share, unit counts with unit counts).

Every random stream is keyed by (seed, label), so a rerun with the same scenario and seed
gives identical numbers and scenarios that share a parameter share its draws (common
random numbers make scenario comparisons paired).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from models.backtest import series_arrays
from models.ensemble import fit_default_ensemble
from models.observations import DEFAULT_AI_METRIC, METRICS, share_series, target_output
from models.scenarios import Scenario, draw_parameters
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
    metric: str = DEFAULT_AI_METRIC
    quantiles: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    fitted: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)
    calibration: dict | None = None

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


def posterior_quantiles(calibration, n_paths: int, seed: int) -> dict[str, np.ndarray] | None:
    """Per-path quantiles of the calibrated inputs (``draw_parameters(quantiles=...)``), or None."""
    return None if calibration is None else calibration.quantiles_for(n_paths, seed)


def structural_outputs(
    scenario: Scenario, seed: int | None = None, n_paths: int | None = None, calibration=None
) -> dict[str, dict[str, np.ndarray]]:
    """Every structural output path: ``{segment: {output: (n_paths, n_years)}}`` (``simulate_supply``).

    ``calibration``: a ``models.calibration.CalibrationResult`` whose posterior the calibrated
    inputs are drawn from (None: every input from its prior).
    """
    seed = scenario.seed if seed is None else seed
    n = scenario.n_paths if n_paths is None else n_paths
    q = posterior_quantiles(calibration, n, seed)
    params = draw_parameters(scenario, seed=seed, n_paths=n, quantiles=q)
    return simulate_supply(params, scenario.horizon.years)


def structural_paths(
    scenario: Scenario,
    seed: int | None = None,
    n_paths: int | None = None,
    metric: str = DEFAULT_AI_METRIC,
    calibration=None,
) -> dict[str, np.ndarray]:
    """Domestic share paths of the structural model: ``{segment: (n_paths, n_years)}``.

    ``metric`` (``units`` | ``h100e``) picks the AI-accelerator share (``models.observations``).
    """
    out = structural_outputs(scenario, seed=seed, n_paths=n_paths, calibration=calibration)
    return {segment: out[segment][target_output(segment, metric)] for segment in SEGMENTS}


def observation_checks(
    outputs: dict[str, dict[str, np.ndarray]], years: np.ndarray, observations, seed: int
) -> list[dict]:
    """Each observation inside the horizon against its measurement model on the structural outputs.

    For a share metric the predicted figure is output + N(0, proxy_sd), for a count
    output * exp(N(0, proxy_sd)) (``models.observations.METRICS``). One dict per observation:
    segment, year, metric, observed, p10, p50, p90, inside (p10 <= observed <= p90), published, source.
    """
    rng = np.random.default_rng(_seed_for(seed, "observation_checks"))
    out = []
    for row in observations.iter_rows(named=True):
        spec = METRICS[row["metric"]]
        if row["year"] not in years:
            continue
        j = int(np.searchsorted(years, row["year"]))
        paths = outputs[spec.segment][spec.output][:, j].astype(float)
        noise = rng.standard_normal(paths.shape) * spec.proxy_sd
        pred = np.clip(paths + noise, 0.0, 1.0) if spec.kind == "share" else paths * np.exp(noise)
        q10, q50, q90 = np.quantile(pred, QUANTILES)
        out.append(
            {
                "segment": row["segment"],
                "year": int(row["year"]),
                "metric": row["metric"],
                "observed": float(row["value"]),
                "p10": float(q10),
                "p50": float(q50),
                "p90": float(q90),
                "inside": bool(q10 <= row["value"] <= q90),
                "published": str(row["published"]),
                "source": row["source"],
            }
        )
    return out


def statistical_paths(
    observations, years: np.ndarray, n_paths: int, seed: int, metric: str = DEFAULT_AI_METRIC
) -> tuple[dict[tuple[str, str], np.ndarray], dict[tuple[str, str], dict[str, float]]]:
    """Sampled curves of each estimator per segment with share observations: ``{(model, segment): paths}``.

    Each segment's curves are fitted to the observations that measure its target output
    (``models.observations.share_series``; the AI-accelerator target follows ``metric``).
    Also returns, per (model, segment), the fitted parameters, sigma and the sampler's
    diagnostics (ess, rhat), and the ensemble's weights. Raises ``SamplerError`` when a
    posterior does not mix.
    """
    paths: dict[tuple[str, str], np.ndarray] = {}
    fitted: dict[tuple[str, str], dict[str, float]] = {}
    X_new = np.asarray(years, dtype=float)[:, None]
    for segment in SEGMENTS:
        series = share_series(observations, segment, target_output(segment, metric))
        if series.height == 0:
            continue
        t, y, w, proxy = series_arrays(series)
        ens = fit_default_ensemble(t, y, w, proxy)
        for name, est in ens.estimators_:
            rng = np.random.default_rng(_seed_for(seed, name, segment))
            paths[(name, segment)] = est.sample_paths(X_new, n_paths=n_paths, random_state=rng)
            fitted[(name, segment)] = (
                {p: float(getattr(est, p)) for p in est._PARAMS} | {"sigma": est.sigma_} | est.diagnostics()
            )
        rng = np.random.default_rng(_seed_for(seed, "ensemble", segment))
        paths[("ensemble", segment)] = ens.sample_paths(X_new, n_paths=n_paths, random_state=rng)
        fitted[("ensemble", segment)] = dict(ens.weights_)
    return paths, fitted


def run_scenario(
    scenario: Scenario,
    observations=None,
    seed: int | None = None,
    n_paths: int | None = None,
    metric: str = DEFAULT_AI_METRIC,
    calibration=None,
) -> ForecastResult:
    """Monte Carlo for one scenario: structural quantiles, plus the curves when observations are given.

    ``observations``: a frame in the ``models.observations`` layout (already cut to a vintage
    if one is wanted). ``metric``: the AI-accelerator share reported (``units`` | ``h100e``).
    ``calibration``: the structural posterior (``models.calibration.calibrate``) or None (prior).
    """
    seed = scenario.seed if seed is None else int(seed)
    n = scenario.n_paths if n_paths is None else int(n_paths)
    years = scenario.horizon.years
    result = ForecastResult(scenario=scenario, seed=seed, n_paths=n, years=years, metric=metric)
    outputs = structural_outputs(scenario, seed=seed, n_paths=n, calibration=calibration)
    if calibration is not None:
        from models.calibration import summary

        result.calibration = summary(scenario, calibration)
    for segment in SEGMENTS:
        result.quantiles[(STRUCTURAL, segment)] = quantiles(outputs[segment][target_output(segment, metric)])
    if observations is not None and observations.height:
        paths, fitted = statistical_paths(observations, years, n, seed, metric)
        for key, p in paths.items():
            result.quantiles[key] = quantiles(p)
        result.fitted = fitted
        result.checks = observation_checks(outputs, years, observations, seed)
    return result


# ---- the fast path: many paths, chunked, float32, streaming quantiles ------------------------------

HIST_BINS = 1 << 14  # share histogram resolution: quantiles exact to 1/16384 (~0.00006)
CHUNK_PATHS = 16_384  # paths per chunk: a (chunk, 10 years) float32 array is 640 KiB, cache-sized


def _hist_quantiles(counts: np.ndarray, qs: tuple[float, ...] = QUANTILES) -> np.ndarray:
    """Quantiles (len(qs), n_years) from per-year share histograms ``counts`` (n_years, HIST_BINS)."""
    cum = np.cumsum(counts, axis=1)
    total = cum[:, -1:]
    out = np.empty((len(qs), counts.shape[0]))
    for i, q in enumerate(qs):
        idx = np.argmax(cum >= np.maximum(q * total, 1), axis=1)
        out[i] = (idx + 0.5) / counts.shape[1]
    return out


def structural_quantiles_fast(
    scenario: Scenario,
    n_paths: int,
    seed: int | None = None,
    metric: str = DEFAULT_AI_METRIC,
    calibration=None,
    chunk: int = CHUNK_PATHS,
    dtype=np.float32,
) -> dict[str, np.ndarray]:
    """p10/p50/p90 of each segment's structural share over ``n_paths`` paths: ``{segment: (3, n_years)}``.

    The same model as ``run_scenario``'s structural path, run in chunks of ``chunk`` paths (chunk
    i drawn with its own seed, so memory stays flat), in ``dtype`` (float32: shares to ~1e-6, far
    below the Monte Carlo error), with per-year histograms of HIST_BINS bins instead of a sort
    (quantiles to 1/HIST_BINS). Parameters in force all horizon long stay (paths, 1) and broadcast.
    """
    seed = scenario.seed if seed is None else int(seed)
    years = scenario.horizon.years
    n_years = len(years)
    counts = {segment: np.zeros(n_years * HIST_BINS, dtype=np.int64) for segment in SEGMENTS}
    offsets = (np.arange(n_years, dtype=np.int32) * HIST_BINS)[None, :]
    for i, start in enumerate(range(0, n_paths, chunk)):
        m = min(chunk, n_paths - start)
        chunk_seed = (seed * 1_000_003 + i) % (2**63 - 1)
        q = posterior_quantiles(calibration, m, chunk_seed)
        params = draw_parameters(scenario, seed=chunk_seed, n_paths=m, quantiles=q, compact=True, dtype=dtype)
        out = simulate_supply(params, years)
        for segment in SEGMENTS:
            share = np.broadcast_to(out[segment][target_output(segment, metric)], (m, n_years))
            idx = np.minimum((share * HIST_BINS).astype(np.int32), HIST_BINS - 1) + offsets
            counts[segment] += np.bincount(idx.ravel(), minlength=n_years * HIST_BINS)
    return {s: _hist_quantiles(c.reshape(n_years, HIST_BINS)) for s, c in counts.items()}
