"""Vectorised design-space sweep: (system x model x batch x sequence length x precision x layout) through
:func:`hardware_sim.llm.evaluate_step`, in cache-sized chunks of the flattened grid.

Batches count sequences per chip package and layouts count serving ranks, as in ``serving.serve`` (a
two-rank Ascend 910C runs ``batch / 2`` per die). ``sweep_grid`` flattens the Cartesian grid into 1-D index
arrays, gathers the per-point hardware and model parameters, and evaluates the points a chunk at a time
(:data:`CHUNK_POINTS`); ``sweep_loop`` evaluates the same grid point by point in plain Python (the baseline
``bench/bench_llm_sweep.py`` compares against, and a test checks they agree).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from fabscope.errors import InputError
from hardware_sim.accelerators.catalog import get_chip, get_llm, get_system
from hardware_sim.accelerators.llm import BOUNDS, HardwareArrays, evaluate_step, hardware_arrays
from hardware_sim.accelerators.operators import (
    Layout,
    PrecisionArrays,
    kv_bytes_per_chip,
    model_arrays,
    precision_arrays,
    weight_bytes_per_chip,
)
from hardware_sim.accelerators.roofline import HBM_USABLE_FRACTION


@dataclass(frozen=True)
class Grid:
    """Axes of a sweep. ``layouts`` are (tp, dp, pp) tuples; ``seq_lens`` are prompt lengths (prefill) or
    mean decode contexts (decode)."""

    systems: Sequence[str]
    models: Sequence[str]
    batches: Sequence[int]
    seq_lens: Sequence[int]
    precisions: Sequence[str]
    layouts: Sequence[tuple[int, int, int]]
    phase: str = "decode"

    @property
    def size(self) -> int:
        return (
            len(self.systems)
            * len(self.models)
            * len(self.batches)
            * len(self.seq_lens)
            * len(self.precisions)
            * len(self.layouts)
        )


def _hardware_table(grid: Grid) -> HardwareArrays:
    """Hardware parameters of shape (n_systems, n_precisions), per serving rank (as ``serving.serve``)."""
    rows = [
        [
            hardware_arrays(get_chip(get_system(s).chip_id), get_system(s), p, get_system(s).ranks_per_chip)[
                0
            ]
            for p in grid.precisions
        ]
        for s in grid.systems
    ]
    fields = HardwareArrays.__dataclass_fields__
    return HardwareArrays(
        **{f: np.array([[float(getattr(h, f)) for h in row] for row in rows]) for f in fields}
    )


CHUNK_POINTS = 8192
"""Grid points evaluated per vectorised pass. The step model makes dozens of float64 temporaries per pass;
at 8,192 points each is 64 KiB, so they stay in the CPU caches (1 MiB L2 per core on the project machine)
however large the grid. One pass over all 614,400 points of the bench's large grid ran ~8x slower per
point than over its 5,760-point grid: the temporaries streamed through memory (and were freshly mapped
pages). NumPy's per-call overhead is still spread over thousands of points."""


def sweep_grid(grid: Grid, chunk_points: int = CHUNK_POINTS) -> dict[str, Any]:
    """Evaluate every grid point, vectorised over chunks of ``chunk_points`` points.

    Returns flat arrays (length ``grid.size``, C order over the axes as listed in :class:`Grid`):
    ``time_s`` (TTFT or TPOT), ``tokens_per_s_per_chip``, ``bound`` (names), ``fits`` (weights + KV within
    usable memory), and the index arrays ``system_idx, model_idx, batch, seq_len, precision_idx, layout_idx``.
    Chunking changes no value: every point is computed by the same element-wise operations.
    """
    if grid.phase not in ("prefill", "decode"):
        raise InputError(f"phase must be prefill or decode, got {grid.phase!r}")
    if chunk_points < 1:
        raise InputError(f"chunk_points must be >= 1, got {chunk_points}")
    shape = (
        len(grid.systems),
        len(grid.models),
        len(grid.batches),
        len(grid.seq_lens),
        len(grid.precisions),
        len(grid.layouts),
    )
    hw_tab = _hardware_table(grid)
    model_tab = model_arrays([get_llm(m) for m in grid.models])
    prec_tab = precision_arrays(list(grid.precisions))
    lay_arr = np.array(grid.layouts, dtype=float).reshape(-1, 3)
    batches = np.asarray(grid.batches, dtype=float)
    ranks_tab = np.array([float(get_system(s).ranks_per_chip) for s in grid.systems])
    seqs = np.asarray(grid.seq_lens, dtype=float)
    n = grid.size
    time_s, tps, bound = np.empty(n), np.empty(n), np.empty(n, dtype=np.intp)
    fits = np.empty(n, dtype=bool)
    for start in range(0, n, chunk_points):
        stop = min(n, start + chunk_points)
        si, mi, bi, li, pi, yi = np.unravel_index(np.arange(start, stop), shape)
        hw = HardwareArrays(**{f: getattr(hw_tab, f)[si, pi] for f in HardwareArrays.__dataclass_fields__})
        models = model_tab.take(mi)
        prec = PrecisionArrays(**{f: getattr(prec_tab, f)[pi] for f in PrecisionArrays.__dataclass_fields__})
        layout = Layout(lay_arr[yi, 0], lay_arr[yi, 1], lay_arr[yi, 2])
        batch, ranks, seq = batches[bi], ranks_tab[si], seqs[li]
        if grid.phase == "prefill":
            q, ctx, ctx_max = seq, 0.0, seq
        else:
            q, ctx, ctx_max = 1.0, seq, seq
        r = evaluate_step(hw, models, batch / ranks, q, ctx, layout, prec)
        t = r["time_s"]
        time_s[start:stop] = t
        tps[start:stop] = batch * q / t
        bound[start:stop] = r["bound"]
        mem = weight_bytes_per_chip(models, layout, prec) + kv_bytes_per_chip(
            models, batch / ranks, ctx_max, layout, prec
        )
        fits[start:stop] = mem <= HBM_USABLE_FRACTION * hw.mem_bytes
    si, mi, bi, li, pi, yi = np.unravel_index(np.arange(n), shape)
    return {
        "time_s": time_s,
        "tokens_per_s_per_chip": tps,
        "bound": np.array(BOUNDS)[bound],
        "fits": fits,
        "system_idx": si,
        "model_idx": mi,
        "batch": batches[bi],
        "seq_len": seqs[li],
        "precision_idx": pi,
        "layout_idx": yi,
    }


def sweep_loop(grid: Grid) -> dict[str, Any]:
    """Same grid as :func:`sweep_grid`, evaluated one point at a time in a plain Python loop (baseline)."""
    times, tps = [], []
    for s, m, b, seq, p, (tp, dp, pp) in product(
        grid.systems, grid.models, grid.batches, grid.seq_lens, grid.precisions, grid.layouts
    ):
        system = get_system(s)
        ranks = system.ranks_per_chip
        hw, _ = hardware_arrays(get_chip(system.chip_id), system, p, ranks)
        q, ctx = (seq, 0.0) if grid.phase == "prefill" else (1.0, seq)
        r = evaluate_step(
            hw, model_arrays(get_llm(m)), b / ranks, q, ctx, Layout(tp, dp, pp), precision_arrays(p)
        )
        t = float(r["time_s"])
        times.append(t)
        tps.append(b * q / t)
    return {"time_s": np.array(times), "tokens_per_s_per_chip": np.array(tps)}
