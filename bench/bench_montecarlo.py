"""Benchmark: vectorised structural Monte Carlo vs a plain-Python loop over paths and years.

Runs the baseline scenario (10,000 paths x 10 years x 3 segments). The baseline is the same
model evaluated one (path, year) at a time in Python, on the same parameter draws; it runs
on the first ``LOOP_PATHS`` paths and is scaled linearly to 10,000 (stated in the output).
Also times the full ``run_scenario`` (structural + fitting the three curves per segment with
emcee and sampling them and the ensemble), first with the fits and then with the posteriors
cached.

    python bench/bench_montecarlo.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from models.montecarlo import quantiles, run_scenario
from models.scenarios import SCENARIO_DIR, draw_parameters, load_scenario
from models.supply import SEGMENTS, simulate_supply

N_PATHS = 10_000
LOOP_PATHS = 500
REPEATS = 5


def _best(fn, repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def vectorised(scenario, params) -> dict:
    out = simulate_supply(params, scenario.horizon.years)
    return {seg: quantiles(out[seg]["share"]) for seg in SEGMENTS}


def plain_loop(scenario, params, n_paths: int) -> np.ndarray:
    """Same model, one path and year at a time (scalar arrays), quantiles at the end."""
    years = scenario.horizon.years
    shares = np.empty((len(SEGMENTS), n_paths, len(years)))
    for i in range(n_paths):
        for j, year in enumerate(years):
            point = {name: v[i : i + 1, j : j + 1] for name, v in params.items()}
            out = simulate_supply(point, np.array([year]))
            for s, seg in enumerate(SEGMENTS):
                shares[s, i, j] = float(out[seg]["share"][0, 0])
    return np.quantile(shares, (0.1, 0.5, 0.9), axis=1)


def main() -> None:
    scenario = load_scenario(SCENARIO_DIR / "baseline.yaml")
    t_draw = _best(lambda: draw_parameters(scenario, n_paths=N_PATHS))
    params = draw_parameters(scenario, n_paths=N_PATHS)
    t_vec = _best(lambda: vectorised(scenario, params))
    t0 = time.perf_counter()
    loop_q = plain_loop(scenario, params, LOOP_PATHS)
    t_loop = (time.perf_counter() - t0) * N_PATHS / LOOP_PATHS
    # sanity: the loop computes the same model (compare on the same subset of paths)
    sub = {k: v[:LOOP_PATHS] for k, v in params.items()}
    vec_sub = vectorised(scenario, sub)
    assert np.allclose(loop_q, np.stack([vec_sub[s] for s in SEGMENTS], axis=1), atol=1e-12)

    from models import ensemble
    from pipelines.sources.reference import REFERENCE_FILES

    observations = REFERENCE_FILES["observations"].load().good
    t0 = time.perf_counter()
    run_scenario(scenario, observations, n_paths=N_PATHS)  # first run: fits (emcee) every curve
    t_first = time.perf_counter() - t0
    # later runs on the same observations reuse the fitted posteriors (cached per process)
    t_full = _best(lambda: run_scenario(scenario, observations, n_paths=N_PATHS), repeats=3)
    assert ensemble._FIT_CACHE, "the fitted ensembles are cached"

    years = len(scenario.horizon.years)
    print(f"paths {N_PATHS} x years {years} x segments {len(SEGMENTS)}")
    print(f"parameter draws ({len(params)} parameters, regimes)  {t_draw * 1e3:8.1f} ms")
    print(f"structural model + quantiles, vectorised  {t_vec * 1e3:8.1f} ms")
    print(
        f"same, plain-Python loop (x{N_PATHS // LOOP_PATHS} from {LOOP_PATHS} paths) {t_loop * 1e3:8.0f} ms"
    )
    print(f"ratio loop / vectorised                   {t_loop / t_vec:8.0f}x")
    print(f"full run_scenario, first (9 emcee fits)   {t_first * 1e3:8.1f} ms")
    print(f"full run_scenario, posteriors cached      {t_full * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
