"""Benchmark: vectorised LLM design-space sweep vs a plain-Python loop over the same grid.

Run: python bench/bench_llm_sweep.py   (prints configurations/second of both and their ratio)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardware_sim.accelerators.catalog import llm_ids, system_ids
from hardware_sim.accelerators.sweep import Grid, sweep_grid, sweep_loop

LAYOUTS = [(1, 8, 1), (4, 2, 1), (8, 1, 1)]


def _best_of(fn, grid: Grid, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(grid)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    grid = Grid(
        system_ids(),
        llm_ids(),
        [1, 4, 16, 32, 64, 128, 256, 512],
        [512, 2048, 8192, 32768],
        ["bf16", "fp8", "int8"],
        LAYOUTS,
        phase="decode",
    )
    vec = sweep_grid(grid)
    loop = sweep_loop(grid)
    assert np.allclose(vec["time_s"], loop["time_s"], rtol=1e-12), "vectorised and loop results differ"
    t_vec = _best_of(sweep_grid, grid, 5)
    t_loop = _best_of(sweep_loop, grid, 1)
    print(
        f"grid: {grid.size:,} configurations (systems x models x batches x seq lens x precisions x layouts)"
    )
    print(f"plain-Python loop : {t_loop:8.3f} s  {grid.size / t_loop:12,.0f} configs/s")
    print(f"vectorised NumPy  : {t_vec:8.3f} s  {grid.size / t_vec:12,.0f} configs/s")
    print(f"ratio (vectorised / loop configs per second): {t_loop / t_vec:,.1f}x")
    big = Grid(
        system_ids(),
        llm_ids(),
        list(range(1, 257)),
        [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536],
        ["bf16", "fp8", "int8"],
        LAYOUTS + [(2, 4, 1), (1, 4, 2)],
        phase="decode",
    )
    t_big = _best_of(sweep_grid, big, 1)
    print(
        f"large vectorised grid: {big.size:,} configurations in {t_big:.2f} s ({big.size / t_big:,.0f} configs/s)"
    )


if __name__ == "__main__":
    main()
