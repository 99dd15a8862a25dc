"""Per-chip performance ratios from the simulator: H100-equivalents of LLM decode serving throughput.

The structural model measures the ``ai_accelerators`` share in **H100-equivalents (H100e)**: one
H100e is the decode throughput (tokens/s per chip) one H100 SXM delivers on the reference workload
below. A chip's ratio is its own throughput on the same workload divided by the H100's.

Why decode serving throughput, not dense BF16 TFLOP/s: China's accelerator demand is mostly
inference, and the chips the export rules let through were cut in compute but not in memory
bandwidth. The H20 has 0.15x an H100's dense BF16 (148 vs 989 TFLOP/s) but more HBM bandwidth
(4.0 vs 3.35 TB/s); counting it by TFLOP/s would understate what buyers got from it by ~3x.
Decode at a latency target is where both compute and bandwidth show (the simulator reports
the H100 and Ascend 910C memory-bound, the H20 compute-bound there). Dense BF16 ratios are kept
too (``bf16_ratio``) for comparison (docs/methodology-forecasts.md, section 3).

Reference workload (assumption, flag ``estimate``; the choice moves the ratios):
Llama-3-70B (dense, so every catalogued chip can run it without a system-specific MoE layout),
BF16, tensor-parallel 4 inside an 8-chip scale-up domain, prompt 2048 + 512 output tokens, the
largest batch whose TPOT <= 50 ms and whose KV cache fits the chip's HBM. Every chip is
evaluated with the simulator's decode step (``hardware_sim.accelerators.llm.decode_step``: serving
mechanisms, BF16 KV cache) on its own catalogue figures (FLOP/s, HBM size and bandwidth, link
bandwidth), so chips without a catalogued system (Ascend 910B, Cambricon, Hygon) get a ratio on the
same footing as those with one; a two-die part whose dies serve as separate ranks (Ascend 910C) runs
TP4 packages as TP8 over dies. For the H100, H20 and Ascend 910C it equals
``hardware_sim.accelerators.llm.search_batch_for_tpot`` on their own 8-chip-domain layouts (tested).

Ratios are computed once per process (``functools.cache``), not per Monte Carlo path.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np

from hardware_sim.accelerators.catalog import chip_spec_record, get_chip, get_llm
from hardware_sim.accelerators.llm import decode_step, hardware_arrays
from hardware_sim.accelerators.operators import (
    Layout,
    kv_bytes_per_chip,
    model_arrays,
    precision_arrays,
    weight_bytes_per_chip,
)
from hardware_sim.accelerators.roofline import HBM_USABLE_FRACTION

REFERENCE_CHIP = "h100-sxm"
# Reference workload (see module docstring): assumption, flag estimate.
SERVING_MODEL = "llama-3-70b"
PRECISION = "bf16"
TPOT_TARGET_MS = 50.0  # a common interactive-serving target (~20 tokens/s per user)
INPUT_LEN, OUTPUT_LEN = 2048, 512
LAYOUT = Layout(tp=4, dp=1, pp=1)  # 70B BF16 = 141 GB of weights: TP4 fits 48-141 GB chips
SCALEUP_DOMAIN = 8  # chips per NVLink/UB/MLU-Link box (HGX-8 class)
MAX_BATCH = 4096

# Which catalogued chip stands for each supply stream of models.supply (the mapping is ours, flag
# estimate): Huawei's HBM-class output is Ascend 910C packages (two 910B-class dies, 8 HBM stacks:
# arXiv 2506.12708); the other domestic cards are Cambricon and Hygon parts (IDC 2024 lists them
# with Huawei as the domestic vendors); foreign supply is H20-class after the Oct 2023 rule
# (88 FR 73458) and H100-class (H800 before it; H200 under the Jan 2026 case-by-case licences --
# the H200 is not in the catalogue; it has the H100's compute die and more HBM bandwidth, so the
# H100 ratio is a lower bound for it).
DOMESTIC_HBM_CLASS_CHIP = "ascend-910c"
OTHER_DOMESTIC_CHIPS = ("mlu590", "hygon-dcu-k100")
FOREIGN_LOW_END_CHIP = "h20"
FOREIGN_HIGH_END_CHIP = "h100-sxm"


class _Domain:
    """The only thing ``hardware_arrays`` reads from a system: its scale-up domain size."""

    scaleup_domain = SCALEUP_DOMAIN


# Grid of dense-compute multipliers on which ``decode_gain`` is tabulated (interpolated between).
COMPUTE_FACTOR_GRID = np.round(np.arange(1.0, 3.0001, 0.05), 2)


@cache
def decode_tokens_per_s(chip_id: str, compute_factor: float = 1.0) -> float:
    """Decode tokens/s per chip of ``chip_id`` on the reference workload (0 if the model does not fit).

    ``compute_factor`` scales the chip's dense FLOP/s (all precisions), leaving HBM size and
    bandwidth and links unchanged: a hypothetical faster die with the same memory system.
    """
    chip = get_chip(chip_id)
    ranks = chip.serving_ranks
    hw, _ = hardware_arrays(chip, _Domain(), PRECISION, ranks)  # type: ignore[arg-type]
    if compute_factor != 1.0:
        hw = dataclasses.replace(
            hw, peak_flops=hw.peak_flops * compute_factor, bf16_flops=hw.bf16_flops * compute_factor
        )
    layout = Layout(int(LAYOUT.tp) * ranks, int(LAYOUT.dp), int(LAYOUT.pp))
    m, p = model_arrays(get_llm(SERVING_MODEL)), precision_arrays(PRECISION)
    free = HBM_USABLE_FRACTION * chip.hbm_gb * 1e9 / ranks - float(weight_bytes_per_chip(m, layout, p))
    per_seq = float(kv_bytes_per_chip(m, 1, INPUT_LEN + OUTPUT_LEN, layout, p))
    limit = int(min((free // per_seq) * ranks, MAX_BATCH)) if free > 0 else 0
    if limit < 1:
        return 0.0
    batches = np.arange(1, limit + 1, dtype=float)  # sequences per chip package
    step = decode_step(hw, m, batches / ranks, INPUT_LEN, OUTPUT_LEN, layout, p)
    tpot = np.asarray(step["tpot_s"])
    ok = np.nonzero(tpot * 1e3 <= TPOT_TARGET_MS)[0]
    i = int(ok[-1]) if ok.size else 0  # batch 1 if even that misses the target
    return float(batches[i] * step["tokens_per_step"] / np.asarray(step["step_s"])[i])


@cache
def h100e(chip_id: str) -> float:
    """H100-equivalents per chip: decode throughput relative to the H100 SXM (dimensionless)."""
    return decode_tokens_per_s(chip_id) / decode_tokens_per_s(REFERENCE_CHIP)


@cache
def _decode_gain_table(chip_id: str) -> np.ndarray:
    base = decode_tokens_per_s(chip_id)
    return np.array([decode_tokens_per_s(chip_id, float(f)) / base for f in COMPUTE_FACTOR_GRID])


def decode_gain(compute_factor, chip_id: str = DOMESTIC_HBM_CLASS_CHIP) -> np.ndarray:
    """Decode-throughput gain of ``chip_id`` when its dense FLOP/s are multiplied by ``compute_factor``.

    Vectorised (any array shape); tabulated once on ``COMPUTE_FACTOR_GRID`` (1.0-3.0) from the
    simulator and interpolated linearly (clamped at the grid ends). Because decode on the 910C is
    memory-bound at the reference workload, the gain is well below the compute factor (e.g. 1.5x
    FLOP/s gives ~1.17x tokens/s): extra compute without faster HBM buys little serving throughput.
    """
    return np.interp(
        np.asarray(compute_factor, dtype=float), COMPUTE_FACTOR_GRID, _decode_gain_table(chip_id)
    )


def bf16_ratio(chip_id: str) -> float:
    """Dense BF16 TFLOP/s relative to the H100 SXM (for comparison with ``h100e``)."""
    return float(chip_spec_record(chip_id)["bf16_tflops"]) / float(
        chip_spec_record(REFERENCE_CHIP)["bf16_tflops"]
    )


@cache
def stream_ratios() -> dict[str, float]:
    """H100e per unit of each supply stream of ``models.supply``.

    Keys: ``domestic_per_die`` (per good HBM-class logic die: the 910C ratio / 2 dies, so the
    910B (one die) and the 910C (two) count the same per die), ``other_domestic`` (mean of
    ``OTHER_DOMESTIC_CHIPS``), ``foreign_low_end`` (H20), ``foreign_high_end`` (H100).
    """
    return {
        "domestic_per_die": h100e(DOMESTIC_HBM_CLASS_CHIP) / 2.0,
        "other_domestic": float(np.mean([h100e(c) for c in OTHER_DOMESTIC_CHIPS])),
        "foreign_low_end": h100e(FOREIGN_LOW_END_CHIP),
        "foreign_high_end": h100e(FOREIGN_HIGH_END_CHIP),
    }
