"""One forward step of an LLM on one chip: operators -> roofline -> communication -> overlap -> gaps.

Pipeline (GenZ-LLM-Analyzer style): system spec -> operator list (``hardware_sim.accelerators.operators``) ->
roofline per operator with named derates (``hardware_sim.accelerators.roofline``) -> plus exposed communication
(``hardware_sim.accelerators.network``) and the serving mechanisms of
``hardware_sim.accelerators.mechanisms`` (MoE load imbalance, low-latency all-to-all in decode, two
micro-batch overlap). Step time of one chip::

    t_step = n_mb * sum_ops max(F_op / (peak * eff_c), M_op / (bw * eff_m))      (ops at batch / n_mb)
             + TP communication + max(0, EP communication - computation)         (overlap on)
             + kernel gaps

``batch`` always counts concurrent sequences per chip. All functions accept NumPy arrays (the
vectorised core :func:`evaluate_step` is what ``hardware_sim.accelerators.sweep`` calls). Serving
(prefill / decode, MTP, co-location) is in ``hardware_sim.accelerators.serving``, training in
``hardware_sim.accelerators.training``; ``hardware_sim.accelerators.llm`` re-exports all three.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from fabscope.errors import InputError
from hardware_sim.accelerators import network
from hardware_sim.accelerators.catalog import LLM, Chip, System, get_chip
from hardware_sim.accelerators.communication import step_communication
from hardware_sim.accelerators.mechanisms import (
    DECODE_MAX_Q,
    DEFAULT_OPTIONS,
    ServingOptions,
    family_kernel_efficiencies,
    moe_imbalance,
    overlap_schedule_s,
    param,
)
from hardware_sim.accelerators.operators import (
    Layout,
    ModelArrays,
    PrecisionArrays,
    model_arrays,
    precision_arrays,
    step_operators,
    weight_bytes_per_chip,
)
from hardware_sim.accelerators.roofline import (
    ATTENTION_MEMORY_EFF,
    HBM_USABLE_FRACTION,
    MLA_DECODE_COMPUTE_EFF,
    op_time_s,
    peak_tflops,
)

# Share of TP all-reduce time hidden behind compute: 0 -- vLLM/SGLang run TP all-reduces on the critical
# path (no overlap by default).
TP_COMM_OVERLAP = 0.0
# Dense-model default layout: the smallest power-of-two TP that leaves this fraction of usable HBM for the
# KV cache and activations (fabscope choice).
DENSE_WEIGHT_SHARE_MAX = 0.5
# GPU-side gap between consecutive kernels even under CUDA graphs (launch + tail + sync), s per kernel;
# ~2-5 us is the usual order on Hopper -- our estimate, not fitted.
KERNEL_GAP_S = 3e-6
# Kernels per decoder layer (norm, QKV, rotary, attention, out-proj, all-reduce, norm, gate/up, act, down,
# residuals ...), and extra kernels per MoE layer (router, top-k, dispatch, grouped GEMMs, combine).
KERNELS_PER_LAYER = 14
EXTRA_KERNELS_PER_MOE_LAYER = 6
# Bound codes returned by evaluate_step
BOUNDS = ("compute", "memory", "network")


@dataclass(frozen=True)
class HardwareArrays:
    """Per-chip hardware seen by the model (arrays broadcast): FLOP/s, B/s, bytes, chips."""

    peak_flops: np.ndarray  # FLOP/s at the precision in use (dense)
    bf16_flops: np.ndarray  # FLOP/s BF16 dense: the attention core always runs in BF16
    mem_bw: np.ndarray  # B/s device memory
    mem_bytes: np.ndarray  # B device memory
    bw_up: np.ndarray  # B/s scale-up, one direction
    bw_out: np.ndarray  # B/s scale-out, one direction
    domain: np.ndarray  # chips per scale-up domain
    # kernel efficiencies of the chip family (mechanisms.family_kernel_efficiencies)
    ll_dispatch_up_eff: np.ndarray | float = 0.80
    ll_combine_up_eff: np.ndarray | float = 0.80
    mla_decode_compute_eff: np.ndarray | float = 0.59
    mla_decode_memory_eff: np.ndarray | float = 0.85
    gemm_compute_eff: np.ndarray | float = float("nan")  # NaN: DeepGEMM's K-curve per GEMM


def hardware_arrays(
    chip: Chip, system: System | None, prec: str, ranks: int = 1
) -> tuple[HardwareArrays, str]:
    """:class:`HardwareArrays` for ``chip`` (inside ``system``, if given) at precision ``prec``, and a note.

    ``ranks`` > 1 splits the package into that many equal ranks (one per die: compute, memory and links
    divided evenly, ``ranks`` x as many ranks per scale-up domain)."""
    peak, note = peak_tflops(chip, prec)
    domain = system.scaleup_domain if system is not None else 1
    r = float(ranks)
    hw = HardwareArrays(
        peak_flops=np.asarray(peak * 1e12 / r),
        bf16_flops=np.asarray(chip.bf16_tflops * 1e12 / r),
        mem_bw=np.asarray(chip.hbm_tbps * 1e12 / r),
        mem_bytes=np.asarray(chip.hbm_gb * 1e9 / r),
        bw_up=np.asarray(chip.scaleup_gbps_per_direction * 1e9 / r),
        bw_out=np.asarray(chip.scaleout_gbps * 1e9 / r),
        domain=np.asarray(float(domain) * r),
        **{k: np.asarray(v) for k, v in family_kernel_efficiencies(chip.vendor).items()},
    )
    return hw, note


def _comm_time(c, hw: HardwareArrays, low_latency=False, ll_up_eff=None) -> np.ndarray:
    if c.collective == "all_reduce":
        one = network.all_reduce_s(c.size_bytes, c.group, hw.bw_up, hw.bw_out, hw.domain)
    elif c.collective == "moe_all_to_all":
        normal = network.moe_all_to_all_s(
            c.size_bytes, c.fanout, c.group, hw.bw_up, hw.bw_out, hw.domain, param("normal_rdma_bw_eff")
        )
        ll = network.moe_all_to_all_ll_s(
            c.size_bytes,
            c.fanout,
            c.group,
            hw.bw_up,
            hw.bw_out,
            hw.domain,
            param("ll_rdma_bw_eff"),
            ll_up_eff,
        )
        one = np.where(low_latency, ll, normal)
    else:
        # pp_send's group is the chips the pipeline spans: scale-out only when they exceed one scale-up domain
        one = network.p2p_s(c.size_bytes, c.group > hw.domain, hw.bw_up, hw.bw_out)
    return one * c.calls


def evaluate_step(
    hw: HardwareArrays,
    m: ModelArrays,
    batch,
    q,
    ctx,
    layout: Layout,
    prec: PrecisionArrays,
    with_ops: bool = False,
    opts: ServingOptions = DEFAULT_OPTIONS,
) -> dict[str, Any]:
    """Vectorised time of one forward step on one chip (all inputs broadcast), seconds.

    Steps with ``q <= DECODE_MAX_Q`` new tokens per sequence are decode steps (absorbed MLA, low-latency
    all-to-all). With ``opts.ep_overlap`` an expert-parallel MoE step may run as two micro-batches whose
    dispatch/combine hides behind the other's computation (weights are then read once per micro-batch); the
    faster of the two schedules is taken per point, as a serving stack's switch would be set (fabscope
    rule). Returns arrays: ``time_s``, ``compute_s`` (summed over compute-bound ops), ``memory_s`` (over
    memory-bound ops), ``comm_s`` (all communication), ``exposed_comm_s``, ``overhead_s`` (kernel gaps),
    ``moe_imbalance``, ``micro_batches``, ``bound`` (index into ``BOUNDS``), ``flops`` and ``bytes`` per
    chip; with ``with_ops`` also ``ops`` and ``comms`` (of the single-batch schedule unless every point
    overlaps).
    """
    one = _step(hw, m, batch, q, ctx, layout, prec, with_ops, opts.moe_routing, 1.0)
    moe = (m.n_routed_experts > 0) & layout.expert_parallel
    if not (opts.ep_overlap and np.any(moe)):
        return one
    n_mb = param("overlap_micro_batches")
    shape = np.shape(one["time_s"])
    moe_full = np.broadcast_to(moe, shape)
    if with_ops or shape == () or np.all(moe_full):
        two = _step(hw, m, batch, q, ctx, layout, prec, with_ops, opts.moe_routing, n_mb)
    else:  # evaluate the overlapped schedule on the MoE points only (vectorised sweeps mix dense and MoE)
        sel = np.nonzero(moe_full.ravel())[0]
        pick = _subset(shape, sel)
        sub = _step(
            pick(hw), pick(m), pick(batch), pick(q), pick(ctx), pick(layout), pick(prec), False,
            opts.moe_routing, n_mb,
        )  # fmt: skip
        two = {}
        for k, v in one.items():
            full = np.array(np.broadcast_to(v, shape), dtype=np.asarray(v).dtype).ravel()
            full[sel] = sub[k]
            two[k] = full.reshape(shape)
    use = moe & (two["time_s"] < one["time_s"])
    out = {k: np.where(use, two[k], one[k]) for k in one if k not in ("ops", "comms")}
    if with_ops:
        src = two if np.all(use) else one
        out["ops"], out["comms"] = src["ops"], src["comms"]
    return out


def _subset(shape: tuple[int, ...], sel: np.ndarray):
    """A function taking the flat entries ``sel`` of an input broadcast to ``shape`` (arrays and the
    array dataclasses alike)."""

    def pick(x):
        if dataclasses.is_dataclass(x):
            return type(x)(**{f.name: pick(getattr(x, f.name)) for f in dataclasses.fields(x)})
        return np.broadcast_to(np.asarray(x), shape).ravel()[sel]

    return pick


def _step(hw, m, batch, q, ctx, layout: Layout, prec, with_ops: bool, routing: str, n_mb: float):
    """:func:`evaluate_step` for a fixed number ``n_mb`` of micro-batches (1 = no overlap)."""
    b = np.asarray(batch, dtype=float)
    q_arr = np.asarray(q, dtype=float)
    decode = q_arr <= DECODE_MAX_Q
    ep = layout.ep.astype(float)
    moe = (m.n_routed_experts > 0) & layout.expert_parallel
    b_mb = b / n_mb
    imbalance = np.where(moe, moe_imbalance(b_mb * q_arr * m.top_k, ep, routing), 1.0)
    ops = step_operators(m, b_mb, q, ctx, layout, prec, expert_load=imbalance)
    local = 0.0
    comp_bound = 0.0
    mem_bound = 0.0
    flops = 0.0
    nbytes = 0.0
    details = []
    by_name: dict[str, np.ndarray] = {}
    for op in ops:
        # Attention scores/softmax/PV run in BF16 even when GEMMs are 8-bit (DeepSeek: "FP8 for matrix
        # multiplications and dispatch, BF16 for core MLA computation"; FlashMLA / FlashAttention are BF16).
        peak = hw.bf16_flops if op.kind == "attention" else hw.peak_flops
        eff_c, eff_m = op.compute_eff, None
        if op.kind == "gemm":  # a chip family with its own GEMM efficiency replaces DeepGEMM's K-curve
            eff_c = np.where(np.isnan(hw.gemm_compute_eff), op.compute_eff, hw.gemm_compute_eff)
        elif op.kind == "attention":  # absorbed-MLA decode kernel of the chip family (tile fill kept)
            mla_dec = decode & (m.is_mla > 0)
            eff_c = np.where(
                mla_dec, op.compute_eff * hw.mla_decode_compute_eff / MLA_DECODE_COMPUTE_EFF, eff_c
            )
            eff_m = np.where(mla_dec, hw.mla_decode_memory_eff, ATTENTION_MEMORY_EFF)
        c, mm = op_time_s(op.flops, op.bytes, peak, hw.mem_bw, op.kind, eff_c, eff_m)
        c, mm = c * n_mb, mm * n_mb
        t = np.maximum(c, mm)
        local = local + t
        by_name[op.name] = by_name.get(op.name, 0.0) + t
        comp_bound = comp_bound + np.where(c >= mm, c, 0.0)
        mem_bound = mem_bound + np.where(c >= mm, 0.0, mm)
        flops = flops + op.flops * n_mb
        nbytes = nbytes + op.bytes * n_mb
        if with_ops:
            details.append((op, c, mm))
    if n_mb > 1.0:  # normal (prefill) all-to-all kernels take SMs from the overlapped computation
        slow = np.where(decode, 1.0, 1.0 / (1.0 - param("normal_a2a_sm_share")))
        comp_bound, mem_bound, local = comp_bound * slow, mem_bound * slow, local * slow
        by_name = {k: v * slow for k, v in by_name.items()}
    comms = step_communication(m, b_mb, q, layout, prec)
    up_eff = (None, hw.ll_dispatch_up_eff, hw.ll_combine_up_eff, None)
    comm_times = [_comm_time(c, hw, decode, e) * n_mb for c, e in zip(comms, up_eff, strict=True)]
    # the most loaded rank receives (dispatch) and returns (combine) ``imbalance`` x the mean traffic
    comm_times[1] = comm_times[1] * imbalance
    comm_times[2] = comm_times[2] * imbalance
    comm_tp = comm_times[0] + comm_times[3]
    comm_ep = comm_times[1] + comm_times[2]
    # two micro-batches: MoE communication of one runs beside the other's computation in the slots of
    # DeepSeek's published schedules (mechanisms.overlap_schedule_s); TP all-reduces stay exposed
    hidden_tp = np.minimum(comm_tp * TP_COMM_OVERLAP, local)
    if n_mb > 1.0:
        scheduled = overlap_schedule_s(by_name, comm_times[1], comm_times[2], decode)
        exposed = np.maximum(scheduled - local, 0.0) + comm_tp - hidden_tp
    else:
        exposed = comm_tp + comm_ep - hidden_tp
    # pp micro-batches x (layers / pp) = every layer's kernels once per step per chip (per overlap micro-batch)
    n_kernels = m.n_layers * KERNELS_PER_LAYER + np.where(m.n_routed_experts > 0, m.n_moe_layers, 0.0) * (
        EXTRA_KERNELS_PER_MOE_LAYER
    )
    overhead = n_kernels * KERNEL_GAP_S * n_mb
    local = local + overhead
    time = local + exposed
    bound = np.argmax(np.stack(np.broadcast_arrays(comp_bound, mem_bound, exposed)), axis=0)
    zero = np.zeros_like(np.asarray(time, dtype=float))
    out = {
        "time_s": time,
        "compute_s": comp_bound + zero,
        "memory_s": mem_bound + zero,
        "comm_s": comm_tp + comm_ep + zero,
        "exposed_comm_s": exposed + zero,
        "overhead_s": overhead + zero,
        "moe_imbalance": imbalance + zero,
        "micro_batches": n_mb + zero,
        "bound": bound,
        "flops": flops + zero,
        "bytes": nbytes + zero,
    }
    if with_ops:
        out["ops"] = details
        out["comms"] = list(zip(comms, comm_times, strict=True))
    return out


# ------------------------------------------------------------------------------------------- layouts


def default_layout(system: System, model: LLM, phase: str, prec: str = "bf16") -> tuple[Layout, str]:
    """The layout used when the caller gives none, and a sentence saying which and why.

    MoE models: the system's ``default_layouts.moe[phase]`` from systems.yaml (DeepSeek / CloudMatrix-Infer /
    SGLang production layouts). Dense models: smallest power-of-two TP within the scale-up domain whose
    weight shard leaves half the usable memory free; pipeline stages beyond that if needed.
    """
    chip = get_chip(system.chip_id)
    if model.is_moe:
        cfg = (system.default_layouts.get("moe") or {}).get(
            phase if phase in ("prefill", "decode") else "decode"
        )
        if cfg:
            lay = Layout(int(cfg["tp"]), int(cfg["dp"]), int(cfg.get("pp", 1)))
            return (
                lay,
                f"{lay.describe(system.ranks_per_chip)}: {system.default_layouts.get('note', 'system default')}",
            )
    m = model_arrays(model)
    p = precision_arrays(prec)
    budget = DENSE_WEIGHT_SHARE_MAX * HBM_USABLE_FRACTION * chip.hbm_gb * 1e9 / system.ranks_per_chip
    tp, pp = 1, 1
    domain = system.scaleup_domain
    while float(weight_bytes_per_chip(m, Layout(tp, 1, pp), p)) > budget:
        if tp * 2 <= min(domain, 8 if not model.is_moe else domain):
            tp *= 2
        else:
            pp *= 2
        if pp > 64:
            break
    if model.is_moe:  # MoE on a system without a stated layout: EP over the TP group
        lay = Layout(1, tp, pp)
        return (
            lay,
            f"{lay.describe(system.ranks_per_chip)}: DP attention + EP over the smallest group that fits (fabscope rule)",
        )
    lay = Layout(tp, 1, pp)
    return (
        lay,
        f"{lay.describe(system.ranks_per_chip)}: smallest TP (then PP) leaving half the usable HBM for KV cache (fabscope rule)",
    )


def check_layout(model: LLM, layout: Layout) -> None:
    """Raise InputError for a layout ``model`` cannot run: degrees must be whole numbers >= 1, tensor parallelism
    splits attention heads (``tp <= n_heads``) and each pipeline stage needs a layer (``pp <= n_layers``)."""
    for name in ("tp", "dp", "pp"):
        v = getattr(layout, name)
        if np.ndim(v) != 0 or float(v) != int(v) or int(v) < 1:
            raise InputError(f"{name} must be a whole number >= 1, got {v}")
    if int(layout.tp) > model.n_heads:
        raise InputError(f"tp {int(layout.tp)} exceeds the {model.n_heads} attention heads of {model.id}")
    if int(layout.pp) > model.n_layers:
        raise InputError(f"pp {int(layout.pp)} exceeds the {model.n_layers} layers of {model.id}")


def layout_arg(system: System, model: LLM, phase: str, prec: str, layout: Layout | dict | None):
    if layout is None:
        return default_layout(system, model, phase, prec)
    if isinstance(layout, dict):
        layout = Layout(layout.get("tp", 1), layout.get("dp", 1), layout.get("pp", 1))
    check_layout(model, layout)
    layout = Layout(int(layout.tp), int(layout.dp), int(layout.pp))
    return layout, f"{layout.describe(system.ranks_per_chip)}: given by the caller"
