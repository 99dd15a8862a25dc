"""Roofline with named efficiency derates, and the precision table.

An operator that does ``F`` FLOP and moves ``M`` bytes on one chip takes
``t = max(F / (peak * eff_compute), M / (bw * eff_memory))`` seconds (GenZ-LLM-Analyzer's form,
arXiv 2406.01698); communication is added separately (``hardware_sim.accelerators.network``).
All functions accept NumPy arrays and broadcast.

Each derate below is a fraction of the datasheet peak that well-tuned kernels reach; the comment says
where it comes from. They are `estimate`s: measured on NVIDIA Hopper, applied unchanged to other chips
(Huawei parts take the CloudMatrix paper's operator figures instead where it gives them:
``mechanisms.family_kernel_efficiencies``; see docs/methodology-accelerators.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fabscope.errors import NotFoundError
from hardware_sim.accelerators.catalog import Chip

# --- compute derates (fraction of dense tensor peak) -------------------------------------------------
# Large GEMMs: DeepGEMM reports up to ~1,350 FP8 TFLOP/s on H800 (~68% of 1,979) and cuBLAS BF16 GEMMs
# typically reach ~70% of the H100 dense peak (Calculon, SC'23, fits size-dependent curves topping out there).
GEMM_COMPUTE_EFF = 0.70
# Attention core in prefill: FlashAttention-3 reaches ~740 TFLOP/s BF16 on H100 (~75% of 989) at long
# sequences (Shah et al. 2024); we take a little less for causal masking and short prompts.
ATTENTION_COMPUTE_EFF = 0.65
# MLA decode core: FlashMLA reports 580 TFLOP/s on H800 in the compute-bound setting (~59% of 989).
MLA_DECODE_COMPUTE_EFF = 0.59
# Norms, activations, rotary, softmax of the router: vector units, memory-bound in practice; the compute
# side is a tiny fraction of the tensor peak (vector FLOP/s ~ 1/15 of tensor on Hopper).
ELEMENTWISE_COMPUTE_EFF = 0.05

# --- memory derates (fraction of datasheet HBM bandwidth) --------------------------------------------
# Streaming weight reads in GEMV-like decode GEMMs: ~80% of HBM peak is typical of tuned kernels (GenZ uses
# per-resource efficiencies of this order; STREAM-like copies on H100 reach ~85-90%).
GEMM_MEMORY_EFF = 0.80
# KV-cache reads by attention: FlashMLA reaches ~3,000 GB/s on H800 in the memory-bound setting (~90% of 3.35).
ATTENTION_MEMORY_EFF = 0.85
# Elementwise kernels: read + write activations, short kernels, ~70% of peak.
ELEMENTWISE_MEMORY_EFF = 0.70

# --- capacity -----------------------------------------------------------------------------------------
# Fraction of device memory usable for weights + KV cache; the rest is runtime/activations. vLLM's default
# gpu_memory_utilization is 0.9 (vLLM docs).
HBM_USABLE_FRACTION = 0.90

DERATES = {
    "gemm": (GEMM_COMPUTE_EFF, GEMM_MEMORY_EFF),
    "attention": (ATTENTION_COMPUTE_EFF, ATTENTION_MEMORY_EFF),
    "elementwise": (ELEMENTWISE_COMPUTE_EFF, ELEMENTWISE_MEMORY_EFF),
}

PRECISIONS = ("bf16", "fp8", "int8")


@dataclass(frozen=True)
class Precision:
    """Bytes per element and which peak a precision uses.

    ``weight_bytes`` per parameter, ``kv_bytes`` per cached element, ``act_bytes`` per activation element
    (activations stay BF16), ``dispatch_bytes`` per element sent in the MoE dispatch (FP8 when the
    model runs in 8 bits, as DeepEP does), ``peak_key`` the chip figure used as the compute peak.
    """

    name: str
    weight_bytes: float
    kv_bytes: float
    act_bytes: float
    dispatch_bytes: float
    peak_key: str


_PRECISION_TABLE = {
    "bf16": Precision("bf16", 2.0, 2.0, 2.0, 2.0, "bf16_tflops"),
    # KV cache BF16 by default with 8-bit GEMMs: FlashMLA (BF16/FP16 paged cache) and FlashAttention decode
    # read a BF16 cache, and vLLM / SGLang's kv_cache_dtype "auto" keeps the activation dtype (BF16); an
    # FP8/INT8 cache is a separate setting (``kv_precision``).
    "fp8": Precision("fp8", 1.0, 2.0, 2.0, 1.0, "fp8_tflops"),
    "int8": Precision("int8", 1.0, 2.0, 2.0, 1.0, "int8_tops"),
}


def precision(name: str) -> Precision:
    """The :class:`Precision` called ``name`` (bf16, fp8, int8)."""
    try:
        return _PRECISION_TABLE[name]
    except KeyError:
        raise NotFoundError(f"unknown precision {name!r}; valid: {', '.join(PRECISIONS)}") from None


def peak_tflops(chip: Chip, prec: str) -> tuple[float, str]:
    """Dense peak in TFLOP/s (or TOP/s) for ``prec`` on ``chip``, and a note.

    A chip without a tensor path for ``prec`` (e.g. FP8 on Ascend) falls back to the BF16 peak with
    weight-only 8-bit storage (bytes still halve); the note says so.
    """
    p = precision(prec)
    v = chip.value(p.peak_key)
    if v is None or v <= 0:
        return chip.bf16_tflops, f"{chip.id} has no {prec} tensor path: weight-only {prec} at the BF16 peak"
    return v, ""


def op_time_s(
    flops: np.ndarray | float,
    bytes_moved: np.ndarray | float,
    peak_flops: np.ndarray | float,
    mem_bw_bytes_s: np.ndarray | float,
    kind: str,
    compute_eff: np.ndarray | float | None = None,
    memory_eff: np.ndarray | float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Roofline time of one operator, seconds, and its compute and memory parts.

    ``flops`` (FLOP), ``bytes_moved`` (B), ``peak_flops`` (FLOP/s), ``mem_bw_bytes_s`` (B/s); ``kind``
    selects the derates in ``DERATES`` (``compute_eff`` / ``memory_eff`` override them). Returns ``(compute_s, memory_s)``; the op time is their max.
    """
    eff_c, eff_m = DERATES[kind]
    if compute_eff is not None:
        eff_c = compute_eff
    if memory_eff is not None:
        eff_m = memory_eff
    compute = np.asarray(flops, dtype=float) / (np.asarray(peak_flops, dtype=float) * eff_c)
    memory = np.asarray(bytes_moved, dtype=float) / (np.asarray(mem_bw_bytes_s, dtype=float) * eff_m)
    return compute, memory
