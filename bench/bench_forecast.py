"""Benchmark: 10^6 paths x 10 years x 3 segments of the calibrated structural model.

The calibrated model is the baseline scenario with its calibrated inputs drawn from the cached
posterior (``models.calibration``; the emcee run is not repeated) and every other input from its
prior. Three ways of computing p10/p50/p90 of the domestic share (H100e for AI accelerators)
per segment and year:

- fast: ``models.montecarlo.structural_quantiles_fast`` -- chunks of 16k paths, float32,
  per-path constants kept (paths, 1), streaming histogram quantiles; timed on 10^6 paths;
- vectorised float64 (today's ``run_scenario`` structural path: full (paths, years) float64
  arrays, ``np.quantile``), timed on ``VEC_PATHS`` and scaled linearly to 10^6;
- plain-Python loop (the baseline as before: one (path, year) at a time), timed on ``LOOP_PATHS``
  and scaled linearly to 10^6.

Wall time and CPU time (``time.process_time``) are printed: the machine is shared, so compare
ratios measured in the same run.

    python bench/bench_forecast.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from bench_montecarlo import plain_loop

from models.calibration import calibrate
from models.montecarlo import quantiles, structural_outputs, structural_quantiles_fast
from models.scenarios import SCENARIO_DIR, draw_parameters, load_scenario
from models.supply import SEGMENTS
from pipelines.sources.reference import REFERENCE_FILES

N_PATHS = 1_000_000
VEC_PATHS = 100_000
LOOP_PATHS = 100
REPEATS = 3


def _timed(fn, repeats: int = 1):
    best = (float("inf"), float("inf"), None)
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0, out), key=lambda b: b[0])
    return best


def loop_baseline(scenario, calibration, n_paths: int) -> np.ndarray:
    """``bench_montecarlo.plain_loop`` (one path and year at a time) on the calibrated draws."""
    params = draw_parameters(scenario, n_paths=n_paths, quantiles=calibration.quantiles_for(n_paths, 1))
    return plain_loop(scenario, params, n_paths)


def vectorised(scenario, calibration, n_paths: int) -> dict:
    out = structural_outputs(scenario, n_paths=n_paths, calibration=calibration)
    return {seg: quantiles(out[seg]["share"]) for seg in SEGMENTS}


def main() -> None:
    scenario = load_scenario(SCENARIO_DIR / "baseline.yaml")
    observations = REFERENCE_FILES["observations"].load().good
    wall, cpu, post = _timed(lambda: calibrate(scenario, observations, seed=scenario.seed))
    print(
        f"calibration (emcee, {post.n_observations} observations): {wall:.1f} s wall, {cpu:.1f} s CPU; "
        f"ESS {post.ess:.0f}, R-hat {post.rhat:.3f}"
    )
    wall_c, cpu_c, _ = _timed(lambda: calibrate(scenario, observations, seed=scenario.seed))
    print(f"calibration again (cached draws): {wall_c * 1e3:.1f} ms")
    years = len(scenario.horizon.years)
    structural_quantiles_fast(
        scenario, 50_000, metric="h100e", calibration=post
    )  # warm-up (imports, simulator tables)
    wall_f, cpu_f, fast = _timed(
        lambda: structural_quantiles_fast(scenario, N_PATHS, metric="h100e", calibration=post), REPEATS
    )
    wall_v, cpu_v, vec = _timed(lambda: vectorised(scenario, post, VEC_PATHS))
    scale_v = N_PATHS / VEC_PATHS
    wall_l, cpu_l, _ = _timed(lambda: loop_baseline(scenario, post, LOOP_PATHS))
    scale_l = N_PATHS / LOOP_PATHS
    for seg in SEGMENTS:  # same model: medians agree to Monte Carlo error (different paths)
        assert np.allclose(fast[seg][1], vec[seg][1], atol=0.02), (seg, fast[seg][1], vec[seg][1])
    print(f"paths {N_PATHS:,} x years {years} x segments {len(SEGMENTS)} (calibrated baseline)")
    print(f"fast (float32, chunked, histogram quantiles)   {wall_f:8.2f} s wall  {cpu_f:8.2f} s CPU")
    print(
        f"vectorised float64 (x{scale_v:.0f} from {VEC_PATHS:,} paths)    {wall_v * scale_v:8.2f} s wall  "
        f"{cpu_v * scale_v:8.2f} s CPU"
    )
    print(
        f"plain-Python loop (x{scale_l:.0f} from {LOOP_PATHS} paths)     {wall_l * scale_l:8.0f} s wall  "
        f"{cpu_l * scale_l:8.0f} s CPU"
    )
    print(
        f"ratio loop / fast: {wall_l * scale_l / wall_f:.0f}x wall, {cpu_l * scale_l / cpu_f:.0f}x CPU; "
        f"vectorised float64 / fast: {wall_v * scale_v / wall_f:.1f}x wall, {cpu_v * scale_v / cpu_f:.1f}x CPU"
    )


if __name__ == "__main__":
    main()
