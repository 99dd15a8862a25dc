"""Benchmark: vectorised LLM design-space sweep vs a plain-Python loop, at a small and a large grid size.

The grids are the issue's: 5 systems x 4 LLMs (the catalog of 2026-11-29; the catalog has grown since)
x batches x contexts x precisions x layouts = 5,760 and 614,400 decode configurations. Timed in the same
run: the plain-Python loop (small grid), the chunked vectorised sweep at both sizes, and the large grid
in one unchunked pass (what ``sweep_grid`` did before chunking). Best of N wall times, and the CPU time
of the same runs (``time.process_time``) beside them: on a loaded machine the wall time includes waiting
for a core. Target: at least 10^6 configurations/s at both sizes, and the same per-point speed.

Run: python bench/bench_llm_sweep.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardware_sim.accelerators.sweep import Grid, sweep_grid, sweep_loop

SYSTEMS = ["gb200-nvl72", "cloudmatrix-384", "hgx-h100-8", "hgx-h800-8", "hgx-h20-8"]
MODELS = ["deepseek-r1", "deepseek-v3", "llama-3-70b", "llama-3-8b"]
LAYOUTS = [(1, 8, 1), (4, 2, 1), (8, 1, 1)]
PRECISIONS = ["bf16", "fp8", "int8"]
SMALL = Grid(
    SYSTEMS, MODELS, [1, 4, 16, 32, 64, 128, 256, 512], [512, 2048, 8192, 32768], PRECISIONS, LAYOUTS
)
LARGE = Grid(
    SYSTEMS,
    MODELS,
    list(range(1, 257)),
    [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536],
    PRECISIONS,
    LAYOUTS + [(2, 4, 1), (1, 4, 2)],
)
TARGET_PER_S = 1e6


def _best_of(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(best wall time, best CPU time) of ``repeats`` calls, seconds."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return wall, cpu


def _line(name: str, size: int, wall: float, cpu: float) -> None:
    print(
        f"{name:<44} {size:>9,} {wall:8.3f} s {size / wall:>12,.0f}/s   cpu {cpu:7.3f} s {size / cpu:>12,.0f}/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    assert SMALL.size == 5_760 and LARGE.size == 614_400
    vec, loop = sweep_grid(SMALL), sweep_loop(SMALL)
    assert np.allclose(vec["time_s"], loop["time_s"], rtol=1e-12), "vectorised and loop results differ"
    one_pass = sweep_grid(LARGE, chunk_points=LARGE.size)
    chunked = sweep_grid(LARGE)
    assert all(np.array_equal(one_pass[k], chunked[k]) for k in one_pass), "chunking changed a value"

    print(f"{'path':<44} {'points':>9} {'wall':>10} {'configs/s':>13}   {'cpu':>11} {'configs/s':>13}")
    t_loop = _best_of(lambda: sweep_loop(SMALL), 1)
    _line("plain-Python loop, small grid", SMALL.size, *t_loop)
    t_small = _best_of(lambda: sweep_grid(SMALL), args.repeat)
    _line("vectorised, small grid", SMALL.size, *t_small)
    t_large = _best_of(lambda: sweep_grid(LARGE), max(2, args.repeat // 2))
    _line("vectorised (chunked), large grid", LARGE.size, *t_large)
    t_flat = _best_of(lambda: sweep_grid(LARGE, chunk_points=LARGE.size), max(2, args.repeat // 2))
    _line("vectorised, large grid in one pass (before)", LARGE.size, *t_flat)

    small_rate, large_rate = SMALL.size / t_small[0], LARGE.size / t_large[0]
    print(f"ratio vectorised / loop (small grid, wall): {t_loop[0] / t_small[0]:,.0f}x")
    print(
        f"per-point speed large / small (wall): {large_rate / small_rate:.2f}  (cpu: "
        f"{(LARGE.size / t_large[1]) / (SMALL.size / t_small[1]):.2f})"
    )
    print(f"chunked / one pass, large grid (wall): {t_flat[0] / t_large[0]:.2f}x faster")
    worst = min(small_rate, large_rate)
    verdict = "meets" if worst >= TARGET_PER_S else "misses"
    print(f"slowest size {worst:,.0f} configurations/s (wall): {verdict} the 10^6/s target")


if __name__ == "__main__":
    main()
