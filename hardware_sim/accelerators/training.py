"""Training step model: forward step of ``hardware_sim.accelerators.step`` x 3, gradient all-reduce, bubble.

Training: t_step(forward) x 3 (backward = 2 x forward), plus exposed gradient all-reduce and the
pipeline bubble; MFU = model FLOP / (t_step * chips * peak).
"""

from __future__ import annotations

from typing import Any

from hardware_sim.accelerators import network
from hardware_sim.accelerators.catalog import LLM, System, get_chip
from hardware_sim.accelerators.operators import Layout, model_arrays, param_counts, precision_arrays
from hardware_sim.accelerators.roofline import HBM_USABLE_FRACTION
from hardware_sim.accelerators.serving import resolve
from hardware_sim.accelerators.step import (
    BOUNDS,
    DENSE_WEIGHT_SHARE_MAX,
    evaluate_step,
    hardware_arrays,
    layout_arg,
)

# Share of the gradient all-reduce hidden behind the backward pass (PyTorch DDP / Megatron bucketed
# overlap); our estimate.
GRAD_COMM_OVERLAP = 0.8
# Training state bytes per parameter with mixed precision Adam: bf16 weight + bf16 grad (4) and fp32 master +
# two moments (12), the latter sharded over DP (ZeRO-1). Megatron-LM / ZeRO paper (Rajbhandari et al. 2020).
TRAIN_BYTES_REPLICATED = 4.0
TRAIN_BYTES_SHARDED = 12.0


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
    system, model, chip = resolve(system_id, model_id, prec)
    lay = (
        default_train_layout(system, model, prec)
        if layout is None
        else layout_arg(system, model, "train", prec, layout)[0]
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
