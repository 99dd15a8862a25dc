"""Serving mechanisms beyond the plain roofline, each with a component-level source, and their options.

Every number here comes from a kernel benchmark or a first-party component measurement, never from the
end-to-end cases of ``hardware_sim.accelerators.validation`` (the ``PARAMS`` registry records source and
flag; ``validation_source`` names a validation source a parameter was read from, so ``sim validate`` can
report the leave-one-source-out error by swapping in ``without``).

Mechanisms (formulas; all vectorised over NumPy arrays):

* **MTP / speculative decoding** (``mtp`` = D draft tokens, ``acceptance`` = a): the verify step runs
  ``q = 1 + D`` query tokens per sequence over ONE read of the KV cache; expected tokens emitted per step per
  sequence ``n(a, D) = 1 + a + a**2 + ... + a**D`` (draft token i is kept only if tokens 1..i-1 were; for
  D = 1 this is ``1 + a``). The draft costs D passes of one extra layer plus the LM head at q = 1.
  TPOT = step time / n.
* **MoE load imbalance** (``moe_routing``): the step waits for the most loaded expert-parallel rank. With
  routing that is balanced in expectation (what EPLB with redundant experts aims at) rank loads still
  fluctuate: ``mu = t*k`` expert-token copies per rank, variance ``mu (1 - 1/ep)`` (multinomial), and the
  expected maximum over ``ep`` ranks ~ ``mu + sigma sqrt(2 ln ep)`` (Gaussian extreme value), so the
  routed-expert work and the dispatch/combine receive side scale by
  ``1 + sqrt(2 ln(ep) (1 - 1/ep) / mu)``. ``balanced`` = exactly even (factor 1).
* **Low-latency EP all-to-all** in decode: DeepEP's low-latency kernels send every top-k copy over RDMA
  (no NVLink forwarding / deduplication) at ~39 GB/s of a 50 GB/s port at EP >= 128.
* **Normal (prefill) EP all-to-all** across nodes: DeepEP's internode kernels send a token once per distinct
  node (NVLink forwarding inside it) at ~44.7 GB/s per 50 GB/s port, counted per distinct node including
  the local one, as its README's test counts bytes.
* **Micro-batch overlap** (``ep_overlap``): the step runs as two micro-batches of half the batch (weights
  are read once per micro-batch) and the MoE dispatch/combine of one overlaps the computation of the other:
  time = max(compute, communication) instead of their sum. Prefill (normal) all-to-all kernels occupy
  ``normal_a2a_sm_share`` of the SMs meanwhile, so overlapped prefill computation runs that much slower;
  the faster of overlapped and plain schedules is used.
* **Co-located vs disaggregated** (``serving``): co-located decode chips also run the chunked prefill of
  the requests they serve: ``b * n / output_len`` prompts of ``input_len`` tokens per step.
* **KV-cache precision** (``kv_precision``): BF16 by default (FlashMLA and FlashAttention decode kernels read
  a BF16 cache even when GEMMs run in FP8); ``fp8``/``int8`` halve the cache bytes.
* **Shape-dependent GEMM efficiency**: a GEMM with reduction dimension K reaches
  ``eff_max * K / (K + k0)`` of the dense peak (DeepGEMM's per-shape table), so the small-K GEMMs of MLA
  (kv_b: K = 512) and of the expert down-projections (K = 2048) run well below the large-K 69%.
* **Shape-dependent attention efficiency** in decode: tensor-core tiles have a fixed number of query rows; a decode step
  has ``heads per KV head per chip x q`` rows (MLA absorbed: ``n_heads / tp * q``; GQA: ``n_heads / n_kv * q``),
  so the compute efficiency scales by ``min(1, rows / tile)`` with 64-row tiles (FlashMLA) or 16-row
  MMA tiles (GQA decode kernels).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from fabscope.errors import InputError

SRC_DEEPEP = (
    "DeepEP README, github.com/deepseek-ai/DeepEP (low-latency kernels on H800 + CX7 400 Gb/s, 128 tokens, "
    "7168 hidden, top-8, FP8 dispatch / BF16 combine)"
)
SRC_DEEPEP_NORMAL = (
    "DeepEP README first release (2025-02-24), github.com/deepseek-ai/DeepEP: normal kernels on H800 + CX7 "
    "400 Gb/s, 4096 tokens, 7168 hidden, top-4 groups, top-8, FP8 dispatch / BF16 combine"
)
SRC_FLASHMLA = "FlashMLA README and 2025-04-22 deep-dive, github.com/deepseek-ai/FlashMLA"
SRC_MMA = (
    "NVIDIA PTX ISA, warp-level mma.sync shapes (m16n8k16); FlashInfer decode kernels (docs.flashinfer.ai)"
)
SRC_V3_REPORT = "DeepSeek-V3 technical report, arXiv 2412.19437, section 5.4.3 (MTP acceptance 85-90%)"
SRC_DEEPGEMM = (
    "DeepGEMM README, first release 2025-02-25 (commit a6d97a1), github.com/deepseek-ai/DeepGEMM: FP8 GEMM "
    "TFLOPS on H800 for the DeepSeek-V3 shapes, M = 4096 normal and contiguous grouped rows"
)
SRC_DEEPSEEK_V3_OVERLAP = (
    "DeepSeek-V3 technical report (dual micro-batch overlap in decode) and "
    "github.com/deepseek-ai/profile-data (two micro-batches, communication overlapped with computation)"
)


@dataclass(frozen=True)
class Param:
    """One mechanism parameter: value, unit, source, flag; ``validation_source`` if it came from a source
    that also supplies a ``sim validate`` case (then ``without`` is the value used when that source is left
    out)."""

    value: float
    unit: str
    source: str
    flag: str
    note: str = ""
    validation_source: str | None = None
    without: float | None = None


PARAMS: dict[str, Param] = {
    # DeepEP low-latency: EP128 dispatch 192 us at 39 GB/s, combine 369 us at 39 GB/s; EP256 39-40 GB/s.
    # 128 tokens x 8 copies x 7168 B (FP8) = 7.3 MB / 192 us = 38 GB/s: every top-k copy crosses RDMA.
    "ll_rdma_bw_eff": Param(
        39.0 / 50.0, "fraction of the NIC line rate", SRC_DEEPEP, "reported", "39 GB/s of ~50 GB/s"
    ),
    # DeepEP normal (prefill) kernels, first-release README (2025-02-24): internode "bottleneck bandwidth"
    # EP16/32/64 dispatch 43/44/46 GB/s, combine 43/47/45 GB/s on 50 GB/s CX7 ports; its test counts the
    # bytes of a token once per DISTINCT node it goes to, the local node included (tests/test_internode.py:
    # num_rdma_token_sent), so the time of a dispatch is tokens x distinct nodes x bytes / (0.894 x 50 GB/s).
    # The April 2025 update (Tencent) reaches 47-62 GB/s.
    "normal_rdma_bw_eff": Param(
        44.7 / 50.0,
        "fraction of the NIC line rate (per distinct node, local included)",
        SRC_DEEPEP_NORMAL,
        "reported",
        "mean of the six internode entries, 43-47 GB/s",
    ),
    # MTP: acceptance of the second-token prediction 85-90% (DeepSeek-V3 report); we take the low end.
    "mtp_acceptance": Param(0.85, "probability", SRC_V3_REPORT, "reported", "low end of 85-90%"),
    # Tensor-core tile rows of decode attention kernels. Absorbed MLA: FlashMLA's compute-intensive path
    # needs h_q * s_q >= 64 (README, 2025-04 update; Hopper wgmma tiles are 64 rows). GQA decode:
    # FlashInfer / FlashAttention-2 decode kernels pack the query heads of one KV head into the rows of
    # mma.sync m16n8k16 tiles (16 rows; NVIDIA PTX ISA, FlashInfer "use_tensor_cores" decode path).
    "attn_tile_rows_mla": Param(64.0, "query rows", SRC_FLASHMLA, "reported"),
    "attn_tile_rows_gqa": Param(
        16.0, "query rows", SRC_MMA, "reported", "m16n8k16 MMA: 16 rows (FlashInfer tensor-core decode)"
    ),
    # Normal (prefill) DeepEP kernels run on SMs: the README's example reserves 24 of the H800's 132 SMs
    # (Buffer.set_num_sms(24)), so computation overlapped with them runs on the remaining 82%; the
    # low-latency decode kernels are hook-based and occupy no SMs (README). Applied to every chip family.
    "normal_a2a_sm_share": Param(24.0 / 132.0, "fraction of SMs", SRC_DEEPEP, "reported", "24 of 132 SMs"),
    # Achieved GEMM efficiency vs the reduction dimension K: a GEMM's fixed per-output-tile cost (pipeline
    # fill, epilogue, scale promotion) is worth ~k0 K-steps, so eff(K) = eff_max * K / (K + k0). Least-squares
    # fit (log space) to DeepGEMM's first-release table, M = 4096 normal and grouped rows on H800 (1,979
    # dense FP8 TFLOP/s): K 512 -> 590 TFLOPS (29.8%), 1536 -> 990, 2048 -> 1025-1099, 7168 -> 1058-1304,
    # 16384 -> 1358 (68.6%); 9 of 10 rows within 5%, N = 2112 (an odd tile count) 19% below the curve.
    # The first release predates every validation measurement; the April 2025 update is 5-25% faster.
    "gemm_eff_max": Param(0.694, "fraction of dense peak", SRC_DEEPGEMM, "estimate", "fit: large-K limit"),
    "gemm_k0": Param(643.0, "K elements", SRC_DEEPGEMM, "estimate", "fit: K at which efficiency halves"),
    # Micro-batches when overlapping MoE communication with computation (DeepSeek / SGLang two-batch overlap)
    "overlap_micro_batches": Param(2.0, "micro-batches", SRC_DEEPSEEK_V3_OVERLAP, "reported"),
}

# Query tokens per sequence up to which a step is a decode step (absorbed MLA, low-latency all-to-all):
# covers MTP / speculative verify steps of up to 7 draft tokens (fabscope rule).
DECODE_MAX_Q = 8.0

ROUTINGS = ("uniform", "balanced")
SERVING_MODES = ("disaggregated", "colocated")


def param(name: str) -> float:
    """Current value of mechanism parameter ``name``."""
    return PARAMS[name].value


@contextmanager
def leave_out(source: str) -> Iterator[list[str]]:
    """Within the block, every parameter read from validation source ``source`` takes its ``without``
    value; yields the names swapped (empty when no parameter depends on that source)."""
    swapped = {k: p for k, p in PARAMS.items() if p.validation_source == source and p.without is not None}
    try:
        for k, p in swapped.items():
            PARAMS[k] = Param(p.without, p.unit, p.source, p.flag, p.note, p.validation_source, p.without)  # type: ignore[arg-type]
        yield list(swapped)
    finally:
        PARAMS.update(swapped)


@dataclass(frozen=True)
class ServingOptions:
    """Serving mechanisms switched per call (defaults = what current production stacks do).

    ``mtp`` draft tokens per step (0 = off) with per-token ``acceptance`` (None = ``mtp_acceptance``);
    ``moe_routing`` uniform | balanced; ``ep_overlap`` two-micro-batch overlap of MoE communication;
    ``serving`` disaggregated | colocated; ``kv_precision`` None = BF16 cache (or the GEMM precision when it
    is bf16), else bf16 | fp8 | int8.
    """

    mtp: int = 0
    acceptance: float | None = None
    moe_routing: str = "uniform"
    ep_overlap: bool = True
    serving: str = "disaggregated"
    kv_precision: str | None = None

    def __post_init__(self) -> None:
        if int(self.mtp) != self.mtp or not 0 <= self.mtp <= DECODE_MAX_Q - 1:
            raise InputError(f"mtp must be a whole number in 0..{int(DECODE_MAX_Q) - 1}, got {self.mtp}")
        if self.acceptance is not None and not 0.0 <= self.acceptance <= 1.0:
            raise InputError(f"acceptance must be in [0, 1], got {self.acceptance}")
        if self.moe_routing not in ROUTINGS:
            raise InputError(f"moe_routing must be one of {', '.join(ROUTINGS)}, got {self.moe_routing!r}")
        if self.serving not in SERVING_MODES:
            raise InputError(f"serving must be one of {', '.join(SERVING_MODES)}, got {self.serving!r}")

    @property
    def accept(self) -> float:
        return param("mtp_acceptance") if self.acceptance is None else float(self.acceptance)


DEFAULT_OPTIONS = ServingOptions()


def mtp_tokens_per_step(draft: int, acceptance: float) -> float:
    """Expected tokens emitted per sequence per verify step: ``1 + a + ... + a**D``."""
    return float(sum(acceptance**i for i in range(int(draft) + 1)))


def moe_imbalance(copies_per_rank, ep, routing: str = "uniform") -> np.ndarray:
    """Expected max-over-ranks / mean load of routed-expert work (>= 1), see the module docstring."""
    mu = np.maximum(np.asarray(copies_per_rank, dtype=float), 1e-9)
    p = np.maximum(np.asarray(ep, dtype=float), 1.0)
    f = 1.0 + np.sqrt(2.0 * np.log(p) * (1.0 - 1.0 / p) / mu)
    return np.where((p > 1.0) & (routing != "balanced"), f, 1.0)


def attention_tile_efficiency(rows, is_mla) -> np.ndarray:
    """Fraction of a tensor-core tile filled by ``rows`` query rows in a decode attention kernel (MLA:
    FlashMLA's 64-row tiles; GQA: 16-row MMA tiles)."""
    tile = np.where(is_mla, param("attn_tile_rows_mla"), param("attn_tile_rows_gqa"))
    return np.minimum(1.0, np.asarray(rows, dtype=float) / tile)


def gemm_compute_efficiency(k) -> np.ndarray:
    """Compute efficiency of a large-M GEMM with reduction dimension ``k`` (elements):
    ``gemm_eff_max * k / (k + gemm_k0)`` (DeepGEMM's per-shape table; see ``PARAMS``)."""
    kk = np.maximum(np.asarray(k, dtype=float), 1.0)
    return param("gemm_eff_max") * kk / (kk + param("gemm_k0"))


def params_table() -> list[dict[str, object]]:
    """Every mechanism parameter with its source and flag (for docs and ``sim validate``)."""
    return [
        {"name": k, "value": p.value, "unit": p.unit, "source": p.source, "flag": p.flag, "note": p.note}
        | ({"validation_source": p.validation_source} if p.validation_source else {})
        for k, p in PARAMS.items()
    ]
