"""Benchmark: vectorised fab sweeps vs plain Python loops over the same inputs.

1. wafers -> good accelerators over a grid of WSPM × die area × defect density × HBM supply
   (NumPy broadcasting vs a per-point loop using ``math``);
2. channel-hole etch rate vs aspect ratio (one vectorised call vs one call per point).

Run: ``python bench/bench_fab_sweep.py``. Prints per-point times and the speed-up ratios.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardware_sim import etch
from hardware_sim.fab.wafers import good_accelerators_per_month
from hardware_sim.fab.yield_ import DEFAULT_SCRIBE_MM

LOOP_POINTS = 20_000


def _loop_point(wspm: float, area: float, d0: float, stacks: float) -> float:
    """One point of the wafers -> accelerators model in plain Python (same equations as hardware_sim)."""
    side = math.sqrt(area)
    pitch = (side + DEFAULT_SCRIBE_MM) ** 2
    d = 300.0 - 2 * 3.0
    dpw = math.floor(max(math.pi * d * d / (4 * pitch) - math.pi * d / math.sqrt(2 * pitch), 0.0))
    lam = area / 100.0 * d0
    yld = ((1 - math.exp(-lam)) / lam) ** 2 if lam > 0 else 1.0
    logic = wspm * dpw * yld * 0.9
    hbm = stacks / 8 * 0.9
    return min(logic, hbm)


def bench_accelerators() -> float:
    wspm = np.linspace(5_000, 100_000, 40)[:, None, None, None]
    area = np.linspace(100, 850, 50)[None, :, None, None]
    d0 = np.linspace(0.02, 1.0, 25)[None, None, :, None]
    stacks = np.linspace(1e5, 3e6, 20)[None, None, None, :]
    n = 40 * 50 * 25 * 20
    t0 = time.perf_counter()
    out = good_accelerators_per_month(wspm, area, d0, stacks)["accelerators_per_month"]
    t_vec = (time.perf_counter() - t0) / n

    grid = [a.ravel() for a in np.broadcast_arrays(wspm, area, d0, stacks)]
    idx = np.random.default_rng(0).choice(n, LOOP_POINTS, replace=False)
    pts = [(float(grid[0][i]), float(grid[1][i]), float(grid[2][i]), float(grid[3][i])) for i in idx]
    t0 = time.perf_counter()
    loop = [_loop_point(*p) for p in pts]
    t_loop = (time.perf_counter() - t0) / LOOP_POINTS
    assert np.allclose(loop, out.ravel()[idx]), "loop and vectorised results differ"
    print(
        f"accelerators: {n:,} points vectorised {t_vec * 1e9:,.0f} ns/pt; loop {t_loop * 1e9:,.0f} ns/pt; "
        f"ratio {t_loop / t_vec:,.0f}x"
    )
    return t_loop / t_vec


def bench_etch() -> float:
    chem = etch.get_chemistry("conventional")
    etch.etch_rate_nm_min(1.0, chem)  # build the Clausing table outside the timing
    ar = np.linspace(0.0, 150.0, 200_000)
    t0 = time.perf_counter()
    vec = etch.etch_rate_nm_min(ar, chem)
    t_vec = (time.perf_counter() - t0) / ar.size
    sub = ar[:: ar.size // 2_000]
    t0 = time.perf_counter()
    loop = [float(etch.etch_rate_nm_min(float(a), chem)) for a in sub]
    t_loop = (time.perf_counter() - t0) / sub.size
    assert np.allclose(loop, vec[:: ar.size // 2_000])
    print(
        f"etch rate:    {ar.size:,} points vectorised {t_vec * 1e9:,.0f} ns/pt; per-point calls "
        f"{t_loop * 1e9:,.0f} ns/pt; ratio {t_loop / t_vec:,.0f}x"
    )
    return t_loop / t_vec


if __name__ == "__main__":
    bench_accelerators()
    bench_etch()
