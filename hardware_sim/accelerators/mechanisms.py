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
  ``1 + sqrt(2 ln(ep) (1 - 1/ep) / mu)`` (``uniform``). ``eplb`` (default) multiplies that by the residual
  skew real routing keeps under EPLB with redundant experts (``eplb_residual_imbalance``, from SGLang's
  measured default-vs-perfect-EPLB prefill throughputs). ``balanced`` = exactly even (factor 1).
* **Low-latency EP all-to-all** in decode: DeepEP's low-latency kernels send every top-k copy over RDMA
  (no NVLink forwarding / deduplication) at ~39 GB/s of a 50 GB/s port at EP >= 128.
* **Normal (prefill) EP all-to-all** across nodes: DeepEP's internode kernels send a token once per distinct
  node (NVLink forwarding inside it) at ~44.7 GB/s per 50 GB/s port, counted per distinct node including
  the local one, as its README's test counts bytes.
* **Micro-batch overlap** (``ep_overlap``): the step runs as two micro-batches of half the batch (weights
  are read once per micro-batch) and the MoE dispatch/combine of one overlaps the computation of the other
  in the slots of DeepSeek's published schedules (``overlap_schedule_s``): each slot lasts the longer of
  its computation and its communication chunk, so unbalanced chunks expose communication even when the
  totals would hide it. Prefill (normal) all-to-all kernels occupy
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
from hardware_sim.accelerators.network import SCALEUP_BW_EFF
from hardware_sim.accelerators.roofline import ATTENTION_MEMORY_EFF, MLA_DECODE_COMPUTE_EFF

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
SRC_SGLANG_LARGE_EP = (
    "LMSYS blog 'Deploying DeepSeek with PD Disaggregation and Large-scale Expert Parallelism "
    "on 96 H100 GPUs' (May 2025)"
)
SRC_DEEPSEEK_DAY6 = (
    "DeepSeek, 'Day 6: DeepSeek-V3/R1 Inference System Overview', "
    "github.com/deepseek-ai/open-infra-index (Mar 2025): figures 'Communication-Computation Overlapping "
    "during Prefilling / Decoding Phase'"
)
SRC_CM384 = "Zuo et al., 'Serving Large Language Models on Huawei CloudMatrix384', arXiv 2506.12708 (2025)"
SRC_CM384_OPS = (
    f"{SRC_CM384}: operator tables (FusedDispatch / FusedCombine at EP256 on CloudMatrix384 vs DeepEP on "
    "H800; MLA operator utilisation; INT8 GEMM utilisation), as transcribed in hustzxd/EfficientPaper "
    "notes/2025/CloudMatrix384/note.md (secondary, AI-generated summary of the full paper)"
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
    # Ascend (CANN / CloudMatrix-Infer) kernels, per 910C die (one rank). The CloudMatrix paper's operator
    # tables: FusedDispatch EP256 152 us at 54 GB/s, FusedCombine 149 us at 103 GB/s (DeepEP's test sizes:
    # 128 tokens x top-8, INT8 7.5 KB / BF16 14 KB per copy -- the model reproduces both bandwidths), of a
    # die's 196 GB/s one-way UB share; the MLA operator reaches 65.4% of the BF16 peak compute-bound and
    # 84.1% of HBM bandwidth memory-bound; INT8 GEMMs 77.4-82.7% of the INT8 peak (mid-point taken, flat
    # in K). All from a validation source: its cases' LOSO uses the Hopper-derived values instead.
    "ascend_ll_dispatch_up_eff": Param(
        54.0 / 196.0,
        "fraction of UB bandwidth per die",
        SRC_CM384_OPS,
        "estimate",
        "54 GB/s of 196 GB/s (EP256 dispatch)",
        validation_source=SRC_CM384,
        without=SCALEUP_BW_EFF,
    ),
    "ascend_ll_combine_up_eff": Param(
        103.0 / 196.0,
        "fraction of UB bandwidth per die",
        SRC_CM384_OPS,
        "estimate",
        "103 GB/s of 196 GB/s (EP256 combine)",
        validation_source=SRC_CM384,
        without=SCALEUP_BW_EFF,
    ),
    "ascend_mla_compute_eff": Param(
        0.654,
        "fraction of BF16 peak",
        SRC_CM384_OPS,
        "estimate",
        "MLA operator, compute-bound",
        validation_source=SRC_CM384,
        without=MLA_DECODE_COMPUTE_EFF,
    ),
    "ascend_mla_memory_eff": Param(
        0.841,
        "fraction of HBM bandwidth",
        SRC_CM384_OPS,
        "estimate",
        "MLA operator, memory-bound",
        validation_source=SRC_CM384,
        without=ATTENTION_MEMORY_EFF,
    ),
    "ascend_gemm_compute_eff": Param(
        0.80,
        "fraction of INT8 peak (0 = DeepGEMM K-curve)",
        SRC_CM384_OPS,
        "estimate",
        "mid-point of 77.4-82.7%",
        validation_source=SRC_CM384,
        without=0.0,
    ),
    # Residual expert-load skew with EPLB on real routing: SGLang's prefill A/B on 4 x 8 H100 (EP32,
    # 16,384 tokens per GPU, 4,096-token prompts) measured 50,302 tokens/s per node with its EPLB on the
    # real expert distribution against 59,337 with simulated perfect balance (random group-limited
    # routing). In this step model the routed-expert work and dispatch/combine receive of the most loaded
    # rank must be 1.239 x the mean for the step to take 59,337 / 50,302 = 1.180 x longer (fabscope
    # derivation, hardware_sim/accelerators/mechanisms.py docstring); applied at every EP size (the blog's
    # balancedness figure worsens with scale: conservative). Left out for the SGLang cases (LOSO): 1.0.
    "eplb_residual_imbalance": Param(
        1.239,
        "max / mean routed load per EP rank",
        SRC_SGLANG_LARGE_EP,
        "estimate",
        "derived from the blog's default-vs-perfect-EPLB prefill throughputs",
        validation_source=SRC_SGLANG_LARGE_EP,
        without=1.0,
    ),
}

# Query tokens per sequence up to which a step is a decode step (absorbed MLA, low-latency all-to-all):
# covers MTP / speculative verify steps of up to 7 draft tokens (fabscope rule).
DECODE_MAX_Q = 8.0

ROUTINGS = ("eplb", "uniform", "balanced")
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
    ``moe_routing`` eplb | uniform | balanced; ``ep_overlap`` two-micro-batch overlap of MoE communication;
    ``serving`` disaggregated | colocated; ``kv_precision`` None = BF16 cache (or the GEMM precision when it
    is bf16), else bf16 | fp8 | int8.
    """

    mtp: int = 0
    acceptance: float | None = None
    moe_routing: str = "eplb"
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
    if routing == "eplb":
        f = f * param("eplb_residual_imbalance")
    return np.where((p > 1.0) & (routing != "balanced"), f, 1.0)


# Operators in the chunks of DeepSeek's two-micro-batch schedules (open-infra-index day 6 figures).
# Decode: ATTN-0 = MLA down/up projections and the ops before core attention; ATTN-1 = core attention,
# output projection and routing gate; SHARED = shared experts; MLP = routed experts.
_DECODE_ATTN0 = ("attn_qkv_proj", "attn_kv_up_proj", "norms_activations")
_DECODE_ATTN1 = ("attention_core", "attn_out_proj", "moe_router")
# Prefill: ATTN = MLA and routing gate (with the norms); SHARED; MLP.
_PREFILL_ATTN = (*_DECODE_ATTN0, *_DECODE_ATTN1)
_NOT_OVERLAPPED = ("ffn_dense", "embedding", "lm_head")


def overlap_schedule_s(op_s: dict, dispatch_s, combine_s, decode) -> np.ndarray:
    """Time of a two-micro-batch step laid out as DeepSeek's published schedules, s (vectorised).

    ``op_s`` maps operator names to their time summed over both micro-batches, ``dispatch_s`` /
    ``combine_s`` the all-to-all times summed likewise; chunks are per micro-batch halves of these.
    Each communication chunk runs beside one computation slot and the slot lasts the longer of the two
    (no communication chunk spans slots), as drawn in the day-6 figures:

    * decode (5-stage pipeline): per micro-batch ``max(SHARED + ATTN-0, DISPATCH) + MLP +
      max(ATTN-1, COMBINE)``, the MLP slot having no communication beside it;
    * prefill: ``max(ATTN_1 + SHARED_0, COMBINE_0) + max(ATTN_0, DISPATCH_1) + max(MLP_1, DISPATCH_0)
      + max(MLP_0 + SHARED_1, COMBINE_1)``.

    Dense FFN layers, embedding and LM head run outside the overlapped MoE layers and are added.
    With no communication both reduce to the sum of the computation.
    """

    def part(names) -> np.ndarray:
        return sum((np.asarray(op_s.get(n, 0.0), dtype=float) for n in names), np.asarray(0.0))

    d, c = np.asarray(dispatch_s, dtype=float), np.asarray(combine_s, dtype=float)
    shared, mlp = part(("moe_shared_expert",)), part(("moe_routed_experts",))
    rest = part(_NOT_OVERLAPPED)
    dec = np.maximum(shared + part(_DECODE_ATTN0), d) + mlp + np.maximum(part(_DECODE_ATTN1), c)
    a = part(_PREFILL_ATTN)
    pre = 0.5 * (
        np.maximum(a + shared, c) + np.maximum(a, d) + np.maximum(mlp, d) + np.maximum(mlp + shared, c)
    )
    return rest + np.where(decode, dec, pre)


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


# Chip families with their own kernel parameters (by catalog vendor): Huawei parts run CANN kernels.
ASCEND_VENDORS = ("Huawei",)


def family_kernel_efficiencies(vendor: str) -> dict[str, float]:
    """Kernel efficiencies that differ by chip family (see ``PARAMS``): ``ll_dispatch_up_eff`` /
    ``ll_combine_up_eff`` (low-latency all-to-all inside the scale-up domain, fraction of the one-way
    link bandwidth), ``mla_decode_compute_eff`` / ``mla_decode_memory_eff`` (absorbed-MLA decode kernel),
    ``gemm_compute_eff`` (flat GEMM efficiency; NaN = DeepGEMM's K-curve). Hopper-derived defaults
    elsewhere."""
    if vendor in ASCEND_VENDORS:
        gemm = param("ascend_gemm_compute_eff")
        return {
            "ll_dispatch_up_eff": param("ascend_ll_dispatch_up_eff"),
            "ll_combine_up_eff": param("ascend_ll_combine_up_eff"),
            "mla_decode_compute_eff": param("ascend_mla_compute_eff"),
            "mla_decode_memory_eff": param("ascend_mla_memory_eff"),
            "gemm_compute_eff": gemm if gemm > 0 else float("nan"),
        }
    return {
        "ll_dispatch_up_eff": SCALEUP_BW_EFF,
        "ll_combine_up_eff": SCALEUP_BW_EFF,
        "mla_decode_compute_eff": MLA_DECODE_COMPUTE_EFF,
        "mla_decode_memory_eff": ATTENTION_MEMORY_EFF,
        "gemm_compute_eff": float("nan"),
    }


def params_table() -> list[dict[str, object]]:
    """Every mechanism parameter with its source and flag (for docs and ``sim validate``)."""
    return [
        {"name": k, "value": p.value, "unit": p.unit, "source": p.source, "flag": p.flag, "note": p.note}
        | ({"validation_source": p.validation_source} if p.validation_source else {})
        for k, p in PARAMS.items()
    ]
