"""LLM serving (prefill / decode) and training step model on a catalogued system.

Pipeline (GenZ-LLM-Analyzer style): system spec -> operator list (``hardware_sim.accelerators.operators``) ->
roofline per operator with named derates (``hardware_sim.accelerators.roofline``) -> plus exposed communication
(``hardware_sim.accelerators.network``). Step time of one chip::

    t_step = sum_ops max(F_op / (peak * eff_c), M_op / (bw * eff_m)) + exposed communication

Prefill: TTFT = t_step with q = input_len, tokens/s per chip = batch * input_len / TTFT.
Decode:  TPOT = t_step with q = 1 at the mean context input_len + output_len / 2,
         tokens/s per chip = batch / TPOT. Memory check at the full context input_len + output_len.
Training: t_step(forward) x 3 (backward = 2 x forward), plus exposed gradient all-reduce and the
pipeline bubble; MFU = model FLOP / (t_step * chips * peak).
``batch`` always counts concurrent sequences per chip. All functions accept NumPy arrays (the
vectorised core :func:`evaluate_step` is what ``hardware_sim.accelerators.sweep`` calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fabscope.errors import InputError, NotFoundError
from hardware_sim.accelerators import network
from hardware_sim.accelerators.catalog import LLM, Chip, System, get_chip, get_llm, get_system
from hardware_sim.accelerators.operators import (
    Layout,
    ModelArrays,
    PrecisionArrays,
    kv_bytes_per_chip,
    model_arrays,
    param_counts,
    precision_arrays,
    step_communication,
    step_operators,
    weight_bytes_per_chip,
)
from hardware_sim.accelerators.roofline import HBM_USABLE_FRACTION, PRECISIONS, op_time_s, peak_tflops

# Share of TP all-reduce time hidden behind compute: 0 -- vLLM/SGLang run TP all-reduces on the critical
# path (no overlap by default).
TP_COMM_OVERLAP = 0.0
# Share of MoE dispatch/combine time hidden behind compute when two micro-batches overlap (DeepSeek's
# dual micro-batch overlap, SGLang "two-batch overlap"): both report most of it hidden; 0.7 is our estimate,
# capped by the compute time available to hide it.
EP_COMM_OVERLAP = 0.7
# Share of the gradient all-reduce hidden behind the backward pass (PyTorch DDP / Megatron bucketed
# overlap); our estimate.
GRAD_COMM_OVERLAP = 0.8
# Dense-model default layout: the smallest power-of-two TP that leaves this fraction of usable HBM for the
# KV cache and activations (fabscope choice).
DENSE_WEIGHT_SHARE_MAX = 0.5
# Training state bytes per parameter with mixed precision Adam: bf16 weight + bf16 grad (4) and fp32 master +
# two moments (12), the latter sharded over DP (ZeRO-1). Megatron-LM / ZeRO paper (Rajbhandari et al. 2020).
TRAIN_BYTES_REPLICATED = 4.0
TRAIN_BYTES_SHARDED = 12.0
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


def hardware_arrays(chip: Chip, system: System | None, prec: str) -> tuple[HardwareArrays, str]:
    """:class:`HardwareArrays` for ``chip`` (inside ``system``, if given) at precision ``prec``, and a note."""
    peak, note = peak_tflops(chip, prec)
    domain = system.scaleup_domain if system is not None else 1
    hw = HardwareArrays(
        peak_flops=np.asarray(peak * 1e12),
        bf16_flops=np.asarray(chip.bf16_tflops * 1e12),
        mem_bw=np.asarray(chip.hbm_tbps * 1e12),
        mem_bytes=np.asarray(chip.hbm_gb * 1e9),
        bw_up=np.asarray(chip.scaleup_gbps_per_direction * 1e9),
        bw_out=np.asarray(chip.scaleout_gbps * 1e9),
        domain=np.asarray(float(domain)),
    )
    return hw, note


def _comm_time(c, hw: HardwareArrays) -> np.ndarray:
    if c.collective == "all_reduce":
        one = network.all_reduce_s(c.size_bytes, c.group, hw.bw_up, hw.bw_out, hw.domain)
    elif c.collective == "moe_all_to_all":
        one = network.moe_all_to_all_s(c.size_bytes, c.fanout, c.group, hw.bw_up, hw.bw_out, hw.domain)
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
) -> dict[str, Any]:
    """Vectorised time of one forward step on one chip (all inputs broadcast).

    Returns arrays: ``time_s``, ``compute_s`` (summed over compute-bound ops), ``memory_s`` (over
    memory-bound ops), ``comm_s`` (all communication), ``exposed_comm_s``, ``bound`` (index into
    ``BOUNDS``), ``flops`` and ``bytes`` per chip; with ``with_ops`` also ``ops`` (per-operator detail).
    """
    ops = step_operators(m, batch, q, ctx, layout, prec)
    local = 0.0
    comp_bound = 0.0
    mem_bound = 0.0
    flops = 0.0
    nbytes = 0.0
    details = []
    for op in ops:
        # Attention scores/softmax/PV run in BF16 even when GEMMs are 8-bit (DeepSeek: "FP8 for matrix
        # multiplications and dispatch, BF16 for core MLA computation"; FlashMLA / FlashAttention are BF16).
        peak = hw.bf16_flops if op.kind == "attention" else hw.peak_flops
        c, mm = op_time_s(op.flops, op.bytes, peak, hw.mem_bw, op.kind, op.compute_eff)
        t = np.maximum(c, mm)
        local = local + t
        comp_bound = comp_bound + np.where(c >= mm, c, 0.0)
        mem_bound = mem_bound + np.where(c >= mm, 0.0, mm)
        flops = flops + op.flops
        nbytes = nbytes + op.bytes
        if with_ops:
            details.append((op, c, mm))
    comms = step_communication(m, batch, q, layout, prec)
    comm_tp = _comm_time(comms[0], hw) + _comm_time(comms[3], hw)
    comm_ep = _comm_time(comms[1], hw) + _comm_time(comms[2], hw)
    hidden = np.minimum(comm_ep * EP_COMM_OVERLAP + comm_tp * TP_COMM_OVERLAP, local)
    exposed = comm_tp + comm_ep - hidden
    # pp micro-batches x (layers / pp) = every layer's kernels once per step per chip
    n_kernels = m.n_layers * KERNELS_PER_LAYER + np.where(m.n_routed_experts > 0, m.n_moe_layers, 0.0) * (
        EXTRA_KERNELS_PER_MOE_LAYER
    )
    overhead = n_kernels * KERNEL_GAP_S
    local = local + overhead
    time = local + exposed
    bound = np.argmax(np.stack(np.broadcast_arrays(comp_bound, mem_bound, exposed)), axis=0)
    out = {
        "time_s": time,
        "compute_s": comp_bound,
        "memory_s": mem_bound,
        "comm_s": comm_tp + comm_ep,
        "exposed_comm_s": exposed,
        "overhead_s": overhead,
        "bound": bound,
        "flops": flops,
        "bytes": nbytes,
    }
    if with_ops:
        out["ops"] = details
        out["comms"] = [(c, _comm_time(c, hw)) for c in comms]
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
            return lay, f"{lay.describe()}: {system.default_layouts.get('note', 'system default')}"
    m = model_arrays(model)
    p = precision_arrays(prec)
    budget = DENSE_WEIGHT_SHARE_MAX * HBM_USABLE_FRACTION * chip.hbm_gb * 1e9
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
        return lay, f"{lay.describe()}: DP attention + EP over the smallest group that fits (fabscope rule)"
    lay = Layout(tp, 1, pp)
    return (
        lay,
        f"{lay.describe()}: smallest TP (then PP) leaving half the usable HBM for KV cache (fabscope rule)",
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


def _layout_arg(system: System, model: LLM, phase: str, prec: str, layout: Layout | dict | None):
    if layout is None:
        return default_layout(system, model, phase, prec)
    if isinstance(layout, dict):
        layout = Layout(layout.get("tp", 1), layout.get("dp", 1), layout.get("pp", 1))
    check_layout(model, layout)
    layout = Layout(int(layout.tp), int(layout.dp), int(layout.pp))
    return layout, f"{layout.describe()}: given by the caller"


# ------------------------------------------------------------------------------------------- serving


def _resolve(system_id: str, model_id: str, prec: str):
    if prec not in PRECISIONS:
        raise NotFoundError(f"unknown precision {prec!r}; valid: {', '.join(PRECISIONS)}")
    system = get_system(system_id)
    model = get_llm(model_id)
    chip = get_chip(system.chip_id)
    return system, model, chip


def memory_per_chip(
    model_id: str, system_id: str, batch, context_len, prec: str, layout: Layout
) -> dict[str, Any]:
    """Weights and KV cache per chip (GB) and whether they fit in the usable device memory."""
    system, model, chip = _resolve(system_id, model_id, prec)
    m, p = model_arrays(model), precision_arrays(prec)
    w = weight_bytes_per_chip(m, layout, p)
    kv = kv_bytes_per_chip(m, batch, context_len, layout, p)
    usable = HBM_USABLE_FRACTION * chip.hbm_gb * 1e9
    return {"weights_gb": w / 1e9, "kv_gb": kv / 1e9, "usable_gb": usable / 1e9, "fits": (w + kv) <= usable}


def max_batch(model_id: str, system_id: str, context_len: int, prec: str, layout: Layout) -> int:
    """Largest batch (sequences per chip) whose weights + KV cache of ``context_len`` tokens fit; 0 if none."""
    system, model, chip = _resolve(system_id, model_id, prec)
    m, p = model_arrays(model), precision_arrays(prec)
    free = HBM_USABLE_FRACTION * chip.hbm_gb * 1e9 - float(weight_bytes_per_chip(m, layout, p))
    per_seq = float(kv_bytes_per_chip(m, 1, context_len, layout, p))
    if free <= 0:
        return 0
    return int(free // per_seq)


def _op_table(detail) -> list[dict[str, Any]]:
    rows = []
    for op, c, mm in detail["ops"]:
        c, mm = float(c), float(mm)
        rows.append(
            {
                "name": op.name,
                "gflop": float(op.flops) / 1e9,
                "weight_mb": float(op.weight_bytes) / 1e6,
                "act_mb": float(op.act_bytes) / 1e6,
                "kv_mb": float(op.kv_bytes) / 1e6,
                "time_ms": max(c, mm) * 1e3,
                "bound": "compute" if c >= mm else "memory",
            }
        )
    for comm, t in detail["comms"]:
        if float(comm.calls) > 0:
            rows.append(
                {
                    "name": comm.name,
                    "collective": comm.collective,
                    "group": int(comm.group),
                    "calls": int(comm.calls),
                    "mb_per_call": float(comm.size_bytes * comm.fanout) / 1e6,
                    "time_ms": float(t) * 1e3,
                    "bound": "network",
                }
            )
    return rows


def serve(
    system_id: str,
    model_id: str,
    phase: str,
    batch: int = 1,
    input_len: int = 2048,
    output_len: int = 512,
    prec: str = "bf16",
    layout: Layout | dict | None = None,
    with_ops: bool = True,
) -> dict[str, Any]:
    """Prefill or decode performance of ``model_id`` on ``system_id`` for ``batch`` sequences per chip.

    Returns a dict with ``tokens_per_s_per_chip``, ``ttft_ms`` (prefill) or ``tpot_ms`` (decode), ``bound``
    (compute | memory | network), ``batch``, the layout used and why, memory per chip, a time breakdown and
    (``with_ops``) the per-operator table. Raises NotFoundError for unknown ids, InputError for bad numbers.
    """
    if phase not in ("prefill", "decode"):
        raise InputError(f"phase must be 'prefill' or 'decode', got {phase!r}")
    if batch < 1 or input_len < 1 or output_len < 0:
        raise InputError("batch and input_len must be >= 1 and output_len >= 0")
    system, model, chip = _resolve(system_id, model_id, prec)
    lay, lay_note = _layout_arg(system, model, phase, prec, layout)
    hw, prec_note = hardware_arrays(chip, system, prec)
    m, p = model_arrays(model), precision_arrays(prec)
    if phase == "prefill":
        q, ctx, ctx_max = input_len, 0, input_len
    else:
        q, ctx, ctx_max = 1, input_len + output_len / 2.0, input_len + output_len
    r = evaluate_step(hw, m, batch, q, ctx, lay, p, with_ops=with_ops)
    t = float(r["time_s"])
    mem = memory_per_chip(model_id, system_id, batch, ctx_max, prec, lay)
    out: dict[str, Any] = {
        "system": system_id,
        "model": model_id,
        "chip": chip.id,
        "phase": phase,
        "precision": prec,
        "batch": int(batch),
        "input_len": int(input_len),
        "output_len": int(output_len),
        "tokens_per_s_per_chip": (batch * input_len / t) if phase == "prefill" else batch / t,
        "bound": BOUNDS[int(r["bound"])],
    }
    if phase == "prefill":
        out["ttft_ms"] = t * 1e3
    else:
        out["tpot_ms"] = t * 1e3
        out["tokens_per_s_per_sequence"] = 1.0 / t
    n_layout = int(lay.n_chips)
    out.update(
        {
            "layout": lay.describe(),
            "layout_note": lay_note,
            "tp": int(lay.tp),
            "dp": int(lay.dp),
            "pp": int(lay.pp),
            "ep": int(lay.ep),
            "chips_in_replica": n_layout,
            "tokens_per_s_per_replica": out["tokens_per_s_per_chip"] * n_layout,
            "weights_gb_per_chip": float(mem["weights_gb"]),
            "kv_gb_per_chip": float(mem["kv_gb"]),
            "usable_gb_per_chip": float(mem["usable_gb"]),
            "fits_memory": bool(mem["fits"]),
            "max_batch": max_batch(model_id, system_id, int(ctx_max), prec, lay),
            "time_breakdown_ms": {
                "compute_bound_ops": float(r["compute_s"]) * 1e3,
                "memory_bound_ops": float(r["memory_s"]) * 1e3,
                "communication_total": float(r["comm_s"]) * 1e3,
                "communication_exposed": float(r["exposed_comm_s"]) * 1e3,
                "kernel_gaps": float(r["overhead_s"]) * 1e3,
            },
            "gflop_per_chip": float(r["flops"]) / 1e9,
            "gb_moved_per_chip": float(r["bytes"]) / 1e9,
        }
    )
    notes = [n for n in (prec_note, model.notes.get("mtp_note", "")) if n]
    if phase == "decode":
        notes.append(f"decode timed at the mean context input_len + output_len/2 = {ctx:g} tokens")
    if not out["fits_memory"]:
        notes.append(
            f"does not fit: weights {out['weights_gb_per_chip']:.1f} GB + KV cache {out['kv_gb_per_chip']:.1f} GB "
            f"> {out['usable_gb_per_chip']:.1f} GB usable per chip (largest batch that fits: {out['max_batch']}); "
            "the throughput shown is not reachable"
        )
    out["notes"] = notes
    if with_ops:
        out["operators"] = _op_table(r)
    return out


def _largest_batch_meeting(
    system: System, model: LLM, chip, tpot_ms: float, input_len: int, output_len: int, prec: str, lay: Layout
) -> tuple[int, int]:
    """(largest batch per chip with decode TPOT <= ``tpot_ms`` (0 if none), memory-limited batch) for ``lay``."""
    limit = max_batch(model.id, system.id, input_len + output_len, prec, lay)
    if limit < 1:
        return 0, limit
    hw, _ = hardware_arrays(chip, system, prec)
    batches = np.arange(1, min(limit, 1 << 16) + 1, dtype=float)
    r = evaluate_step(
        hw, model_arrays(model), batches, 1, input_len + output_len / 2.0, lay, precision_arrays(prec)
    )
    ok = np.nonzero(r["time_s"] * 1e3 <= tpot_ms)[0]
    return (int(batches[ok[-1]]) if ok.size else 0), limit


def search_batch_for_tpot(
    system_id: str,
    model_id: str,
    tpot_ms: float,
    input_len: int = 2048,
    output_len: int = 512,
    prec: str = "bf16",
    layout: Layout | dict | None = None,
) -> dict[str, Any]:
    """Largest batch per chip whose decode TPOT <= ``tpot_ms`` and whose KV cache fits in memory.

    Evaluates every batch from 1 to the memory limit in one vectorised pass (TPOT is non-decreasing in
    batch). Returns :func:`serve`'s dict at that batch, plus ``tpot_target_ms`` and ``meets_target``; when
    even batch 1 misses the target, the batch-1 result with ``meets_target: False``.

    With the default layout of a dense model, a target the default TP cannot meet even at batch 1 widens
    TP (doubling, within the scale-up domain and the attention heads) until it is met, as a deployment
    would; ``layout_note`` says so. MoE defaults are production layouts and are kept; a caller's layout is
    never changed.
    """
    if not tpot_ms > 0:
        raise InputError(f"tpot_ms must be > 0, got {tpot_ms}")
    system, model, chip = _resolve(system_id, model_id, prec)
    lay, lay_note = _layout_arg(system, model, "decode", prec, layout)
    best, limit = _largest_batch_meeting(system, model, chip, tpot_ms, input_len, output_len, prec, lay)
    if best == 0 and layout is None and not model.is_moe:
        tp = int(lay.tp) * 2
        while tp <= min(system.scaleup_domain, model.n_heads):
            wider = Layout(tp, 1, int(lay.pp))
            b, lim = _largest_batch_meeting(system, model, chip, tpot_ms, input_len, output_len, prec, wider)
            if b >= 1:
                lay_note = (
                    f"{wider.describe()}: the default {lay.describe()} misses {tpot_ms:g} ms even at "
                    f"batch 1, so TP was widened to meet it (fabscope rule)"
                )
                lay, best, limit = wider, b, lim
                break
            tp *= 2
    out = serve(system_id, model_id, "decode", max(best, 1), input_len, output_len, prec, lay)
    out["layout_note"] = lay_note
    out["tpot_target_ms"] = float(tpot_ms)
    out["meets_target"] = bool(best >= 1)
    out["batch_search"] = f"largest batch in 1..{limit} (memory limit) with TPOT <= {tpot_ms:g} ms"
    return out


# ------------------------------------------------------------------------------------------- training


def default_train_layout(system: System, model: LLM, prec: str = "bf16") -> Layout:
    """Training layout over all chips of ``system``: TP within a node (8, dense) or none (MoE, DeepSeek-V3
    style), then the fewest power-of-two pipeline stages for which weights + optimizer state use at most
    half the usable memory; the rest data-parallel (experts sharded EP = TP x DP)."""
    chip = get_chip(system.chip_id)
    n = system.n_chips
    tp = 1 if model.is_moe else min(8, system.scaleup_domain, n)
    budget = DENSE_WEIGHT_SHARE_MAX * HBM_USABLE_FRACTION * chip.hbm_gb * 1e9
    # Never more stages than the system's chips allow (tp * pp <= n) or than the model has layers; when even the
    # deepest pipeline does not fit, return it and let ``fits_memory`` say so.
    max_pp = max(1, min(n // tp, model.n_layers))
    pp = 1
    while True:
        lay = Layout(tp, max(n // (tp * pp), 1), pp)
        if _train_state_bytes(model, lay) <= budget or pp * 2 > max_pp:
            return lay
        pp *= 2


def _train_state_bytes(model: LLM, lay: Layout) -> float:
    pc = {k: float(v) for k, v in param_counts(model_arrays(model)).items()}
    replicated = pc["total"] - pc["moe_routed"]
    tp, dp, pp, ep = float(lay.tp), float(lay.dp), float(lay.pp), float(lay.ep)
    rep = replicated / (tp * pp) * (TRAIN_BYTES_REPLICATED + TRAIN_BYTES_SHARDED / dp)
    exp = pc["moe_routed"] / (ep * pp) * (TRAIN_BYTES_REPLICATED + TRAIN_BYTES_SHARDED)
    return rep + exp


def train_step(
    system_id: str,
    model_id: str,
    global_batch: int = 1024,
    seq_len: int = 4096,
    prec: str = "bf16",
    layout: Layout | dict | None = None,
) -> dict[str, Any]:
    """Training step time (s) and MFU for ``global_batch`` sequences of ``seq_len`` on all chips of a system.

    Forward step from the operator model with q = seq_len, ctx = 0 (MLA in its naive form), times 3 for
    forward + backward; exposed gradient all-reduce of the replicated (non-expert) weights over DP; pipeline
    bubble (pp-1)/(m+pp-1) with m = sequences per DP rank as micro-batches. Activation memory is not
    modelled (assumes activation checkpointing fits); ``fits_memory`` covers weights + optimizer state.
    """
    system, model, chip = _resolve(system_id, model_id, prec)
    lay = (
        default_train_layout(system, model, prec)
        if layout is None
        else _layout_arg(system, model, "train", prec, layout)[0]
    )
    n = int(lay.n_chips)
    hw, prec_note = hardware_arrays(chip, system, prec)
    m, p = model_arrays(model), precision_arrays(prec)
    b = global_batch / n  # sequences owned per chip (may be fractional)
    r = evaluate_step(hw, m, b, seq_len, 0, lay, p)
    fwd_bwd = 3.0 * float(r["time_s"])
    pc = {k: float(v) for k, v in param_counts(m).items()}
    grad_bytes = (pc["total"] - pc["moe_routed"]) / (float(lay.tp) * float(lay.pp)) * 2.0  # bf16 grads
    grad = float(network.all_reduce_s(grad_bytes, lay.dp, hw.bw_up, hw.bw_out, hw.domain))
    exposed_grad = grad * (1.0 - GRAD_COMM_OVERLAP)
    micro = max(global_batch / float(lay.dp), 1.0)
    bubble = (float(lay.pp) - 1.0) / (micro + float(lay.pp) - 1.0)
    step = (fwd_bwd + exposed_grad) / (1.0 - bubble)
    model_flops = 3.0 * float(r["flops"]) * n
    peak = float(hw.peak_flops)
    state = _train_state_bytes(model, lay)
    return {
        "system": system_id,
        "model": model_id,
        "precision": prec,
        "global_batch": int(global_batch),
        "seq_len": int(seq_len),
        "layout": lay.describe(),
        "chips_used": n,
        "chips_in_system": system.n_chips,
        "step_time_s": step,
        "tokens_per_s": global_batch * seq_len / step,
        "mfu": model_flops / (step * n * peak),
        "model_tflop_per_step": model_flops / 1e12,
        "pipeline_bubble": bubble,
        "grad_all_reduce_s": grad,
        "bound": BOUNDS[int(r["bound"])],
        "state_gb_per_chip": state / 1e9,
        "fits_memory": state <= HBM_USABLE_FRACTION * chip.hbm_gb * 1e9,
        "notes": [n_ for n_ in (prec_note, "activation memory not modelled") if n_],
    }
