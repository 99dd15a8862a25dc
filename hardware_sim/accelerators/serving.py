"""LLM serving on a catalogued system: prefill, decode (with MTP and co-location), memory, TPOT search.

Prefill: TTFT = t_step with q = input_len, tokens/s per chip = batch * input_len / TTFT.
Decode:  a step verifies q = 1 + mtp tokens per sequence at the mean context input_len + output_len / 2
         (one KV read); it emits n = 1 + a + ... + a**mtp tokens per sequence, so
         TPOT = t_step / n and tokens/s per chip = batch * n / t_step. Memory check at the full context
         input_len + output_len. Co-located serving adds the chunked prefill of the served requests.
The step model is ``hardware_sim.accelerators.step``; the mechanisms and their sources are in
``hardware_sim.accelerators.mechanisms``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fabscope.errors import InputError, NotFoundError
from hardware_sim.accelerators.catalog import LLM, System, get_chip, get_llm, get_system
from hardware_sim.accelerators.mechanisms import DEFAULT_OPTIONS, ServingOptions, mtp_tokens_per_step
from hardware_sim.accelerators.operators import (
    Layout,
    ModelArrays,
    PrecisionArrays,
    kv_bytes_per_chip,
    lm_head_op,
    model_arrays,
    precision_arrays,
    weight_bytes_per_chip,
)
from hardware_sim.accelerators.roofline import HBM_USABLE_FRACTION, PRECISIONS, op_time_s
from hardware_sim.accelerators.step import BOUNDS, HardwareArrays, evaluate_step, hardware_arrays, layout_arg


def resolve(system_id: str, model_id: str, prec: str):
    """(system, model, chip) for the ids; KeyError for an unknown id or precision."""
    if prec not in PRECISIONS:
        raise NotFoundError(f"unknown precision {prec!r}; valid: {', '.join(PRECISIONS)}")
    system = get_system(system_id)
    model = get_llm(model_id)
    chip = get_chip(system.chip_id)
    return system, model, chip


def options(opts: ServingOptions | None = None, **kwargs: Any) -> ServingOptions:
    """``opts`` with any non-None keyword (``mtp``, ``acceptance``, ``moe_routing``, ``ep_overlap``,
    ``serving``, ``kv_precision``) replaced; ValueError for a bad value."""
    base = opts or DEFAULT_OPTIONS
    given = {k: v for k, v in kwargs.items() if v is not None}
    return ServingOptions(**{**base.__dict__, **given})


def _prec(prec: str, opts: ServingOptions) -> PrecisionArrays:
    return precision_arrays(prec, kv=opts.kv_precision)


def memory_per_chip(
    model_id: str,
    system_id: str,
    batch,
    context_len,
    prec: str,
    layout: Layout,
    kv_precision: str | None = None,
) -> dict[str, Any]:
    """Weights and KV cache per chip (GB) and whether they fit in the usable device memory (checked per
    rank when the system runs several ranks per chip; ``layout`` counts ranks)."""
    system, model, chip = resolve(system_id, model_id, prec)
    r = system.ranks_per_chip
    m, p = model_arrays(model), precision_arrays(prec, kv=kv_precision)
    w = weight_bytes_per_chip(m, layout, p)
    kv = kv_bytes_per_chip(m, np.asarray(batch, dtype=float) / r, context_len, layout, p)
    usable = HBM_USABLE_FRACTION * chip.hbm_gb * 1e9 / r
    return {
        "weights_gb": w * r / 1e9,
        "kv_gb": kv * r / 1e9,
        "usable_gb": usable * r / 1e9,
        "fits": (w + kv) <= usable,
    }


def max_batch(
    model_id: str,
    system_id: str,
    context_len: int,
    prec: str,
    layout: Layout,
    kv_precision: str | None = None,
) -> int:
    """Largest batch (sequences per chip) whose weights + KV cache of ``context_len`` tokens fit; 0 if none."""
    system, model, chip = resolve(system_id, model_id, prec)
    r = system.ranks_per_chip
    m, p = model_arrays(model), precision_arrays(prec, kv=kv_precision)
    free = HBM_USABLE_FRACTION * chip.hbm_gb * 1e9 / r - float(weight_bytes_per_chip(m, layout, p))
    per_seq = float(kv_bytes_per_chip(m, 1, context_len, layout, p))
    if free <= 0:
        return 0
    return int(free // per_seq) * r


def decode_step(
    hw: HardwareArrays,
    m: ModelArrays,
    batch,
    input_len,
    output_len,
    layout: Layout,
    prec: PrecisionArrays,
    opts: ServingOptions = DEFAULT_OPTIONS,
    with_ops: bool = False,
) -> dict[str, Any]:
    """Vectorised decode step: :func:`evaluate_step`'s dict plus ``tokens_per_step`` (per sequence),
    ``draft_s`` (MTP draft passes), ``prefill_s`` (co-located chunked prefill), ``step_s`` and ``tpot_s``.

    The MTP draft is one extra decoder layer plus the LM head per draft token at q = 1 (DeepSeek's MTP
    module is one transformer block sharing the output head).
    """
    d = int(opts.mtp)
    ctx = np.asarray(input_len, dtype=float) + np.asarray(output_len, dtype=float) / 2.0
    r = evaluate_step(hw, m, batch, 1.0 + d, ctx, layout, prec, with_ops=with_ops, opts=opts)
    n = mtp_tokens_per_step(d, opts.accept)
    draft = 0.0
    if d > 0:
        one = evaluate_step(hw, m, batch, 1.0, ctx, layout, prec, opts=opts)["time_s"]
        head = lm_head_op(m, batch, layout, prec)
        hc, hm = op_time_s(head.flops, head.bytes, hw.peak_flops, hw.mem_bw, head.kind)
        draft = d * (one / m.n_layers + np.maximum(hc, hm))
    prefill = 0.0
    if opts.serving == "colocated":
        # each sequence brings input_len prompt tokens per output_len emitted tokens
        seqs = np.asarray(batch, dtype=float) * n / np.maximum(np.asarray(output_len, dtype=float), 1.0)
        prefill = evaluate_step(hw, m, seqs, input_len, 0.0, layout, prec, opts=opts)["time_s"]
    step = r["time_s"] + draft + prefill
    r.update(
        {"tokens_per_step": n, "draft_s": draft, "prefill_s": prefill, "step_s": step, "tpot_s": step / n}
    )
    return r


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
    *,
    mtp: int | None = None,
    acceptance: float | None = None,
    moe_routing: str | None = None,
    ep_overlap: bool | None = None,
    serving: str | None = None,
    kv_precision: str | None = None,
    opts: ServingOptions | None = None,
    prefix_cached: int = 0,
) -> dict[str, Any]:
    """Prefill or decode performance of ``model_id`` on ``system_id`` for ``batch`` sequences per chip.

    Keyword options (see ``hardware_sim.accelerators.mechanisms``): ``mtp`` draft tokens and
    ``acceptance``, ``moe_routing`` uniform | balanced, ``ep_overlap``, ``serving`` disaggregated |
    colocated, ``kv_precision`` (default BF16 cache). ``prefix_cached`` (prefill only): tokens of each
    prompt found in the prefix cache -- they are attended to but not computed, and ``tokens_per_s_per_chip``
    then counts computed tokens (``input_tokens_per_s_per_chip`` counts all). Returns a dict with ``tokens_per_s_per_chip``,
    ``ttft_ms`` (prefill) or ``tpot_ms`` (decode, per emitted token), ``bound``, ``batch``, the layout used
    and why, memory per chip, a time breakdown and (``with_ops``) the per-operator table. Raises KeyError
    for unknown ids, ValueError for bad numbers.
    """
    if phase not in ("prefill", "decode"):
        raise InputError(f"phase must be 'prefill' or 'decode', got {phase!r}")
    if batch < 1 or input_len < 1 or output_len < 0:
        raise InputError("batch and input_len must be >= 1 and output_len >= 0")
    if not 0 <= prefix_cached < input_len or (prefix_cached and phase != "prefill"):
        raise InputError(
            f"prefix_cached must be in 0..input_len-1 ({input_len - 1}) and applies to prefill only, "
            f"got {prefix_cached}"
        )
    o = options(opts, mtp=mtp, acceptance=acceptance, moe_routing=moe_routing, ep_overlap=ep_overlap,
                serving=serving, kv_precision=kv_precision)  # fmt: skip
    system, model, chip = resolve(system_id, model_id, prec)
    lay, lay_note = layout_arg(system, model, phase, prec, layout)
    ranks = system.ranks_per_chip  # the step model runs per rank (die); results are per chip package
    hw, prec_note = hardware_arrays(chip, system, prec, ranks)
    m, p = model_arrays(model), _prec(prec, o)
    b_rank = batch / ranks
    if phase == "prefill":
        ctx, ctx_max = prefix_cached, input_len
        computed = input_len - prefix_cached
        r = evaluate_step(hw, m, b_rank, computed, prefix_cached, lay, p, with_ops=with_ops, opts=o)
        t = float(r["time_s"])
        tokens = batch * computed / t
    else:
        ctx, ctx_max = input_len + output_len / 2.0, input_len + output_len
        r = decode_step(hw, m, b_rank, input_len, output_len, lay, p, o, with_ops=with_ops)
        t = float(r["step_s"])
        tokens = batch * r["tokens_per_step"] / t
    mem = memory_per_chip(model_id, system_id, batch, ctx_max, prec, lay, o.kv_precision)
    out: dict[str, Any] = {
        "system": system_id,
        "model": model_id,
        "chip": chip.id,
        "phase": phase,
        "precision": prec,
        "kv_precision": o.kv_precision or ("bf16" if prec == "bf16" else "bf16 (default)"),
        "batch": int(batch),
        "input_len": int(input_len),
        "output_len": int(output_len),
        "tokens_per_s_per_chip": tokens,
        "bound": BOUNDS[int(r["bound"])],
        "serving": o.serving,
        "mtp": int(o.mtp),
        "mtp_acceptance": o.accept if o.mtp else None,
        "moe_routing": o.moe_routing,
        "moe_imbalance": float(r["moe_imbalance"]),
        "micro_batches": int(r["micro_batches"]),
    }
    if phase == "prefill":
        out["ttft_ms"] = t * 1e3
        out["prefix_cached"] = int(prefix_cached)
        out["input_tokens_per_s_per_chip"] = batch * input_len / t
    else:
        out["tpot_ms"] = float(r["tpot_s"]) * 1e3
        out["step_ms"] = t * 1e3
        out["tokens_per_step_per_sequence"] = float(r["tokens_per_step"])
        out["tokens_per_s_per_sequence"] = 1.0 / float(r["tpot_s"])
    n_layout = int(lay.n_chips) // ranks
    breakdown = {
        "compute_bound_ops": float(r["compute_s"]) * 1e3,
        "memory_bound_ops": float(r["memory_s"]) * 1e3,
        "communication_total": float(r["comm_s"]) * 1e3,
        "communication_exposed": float(r["exposed_comm_s"]) * 1e3,
        "kernel_gaps": float(r["overhead_s"]) * 1e3,
    }
    if phase == "decode":
        breakdown["mtp_draft"] = float(r["draft_s"]) * 1e3
        breakdown["colocated_prefill"] = float(r["prefill_s"]) * 1e3
    kv = o.kv_precision
    out.update(
        {
            "layout": lay.describe(ranks),
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
            "max_batch": max_batch(model_id, system_id, int(ctx_max), prec, lay, kv),
            "time_breakdown_ms": breakdown,
            "ranks_per_chip": ranks,
            "gflop_per_chip": float(r["flops"]) * ranks / 1e9,
            "gb_moved_per_chip": float(r["bytes"]) * ranks / 1e9,
        }
    )
    notes = [n for n in (prec_note,) if n]
    if model.is_moe and model.notes.get("mtp_note") and not o.mtp:
        notes.append(model.notes["mtp_note"])
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
    system: System,
    model: LLM,
    chip,
    tpot_ms: float,
    input_len: int,
    output_len: int,
    prec: str,
    lay: Layout,
    o: ServingOptions,
) -> tuple[int, int]:
    """(largest batch per chip with decode TPOT <= ``tpot_ms`` (0 if none), memory-limited batch) for ``lay``."""
    limit = max_batch(model.id, system.id, input_len + output_len, prec, lay, o.kv_precision)
    if limit < 1:
        return 0, limit
    ranks = system.ranks_per_chip
    hw, _ = hardware_arrays(chip, system, prec, ranks)
    batches = np.arange(1, min(limit, 1 << 16) + 1, dtype=float)
    r = decode_step(hw, model_arrays(model), batches / ranks, input_len, output_len, lay, _prec(prec, o), o)
    ok = np.nonzero(r["tpot_s"] * 1e3 <= tpot_ms)[0]
    return (int(batches[ok[-1]]) if ok.size else 0), limit


def search_batch_for_tpot(
    system_id: str,
    model_id: str,
    tpot_ms: float,
    input_len: int = 2048,
    output_len: int = 512,
    prec: str = "bf16",
    layout: Layout | dict | None = None,
    **options_kw: Any,
) -> dict[str, Any]:
    """Largest batch per chip whose decode TPOT <= ``tpot_ms`` and whose KV cache fits in memory.

    Evaluates every batch from 1 to the memory limit in one vectorised pass (the largest batch meeting the
    target is taken). ``options_kw`` are :func:`serve`'s keyword options (``mtp``, ``acceptance``, ...).
    Returns :func:`serve`'s dict at that batch, plus ``tpot_target_ms`` and ``meets_target``; when even batch
    1 misses the target, the batch-1 result with ``meets_target: False``.

    With the default layout of a dense model, a target the default TP cannot meet even at batch 1 widens
    TP (doubling, within the scale-up domain and the attention heads) until it is met, as a deployment
    would; ``layout_note`` says so. MoE defaults are production layouts and are kept; a caller's layout is
    never changed.
    """
    if not tpot_ms > 0:
        raise InputError(f"tpot_ms must be > 0, got {tpot_ms}")
    o = options(options_kw.pop("opts", None), **options_kw)
    system, model, chip = resolve(system_id, model_id, prec)
    lay, lay_note = layout_arg(system, model, "decode", prec, layout)
    best, limit = _largest_batch_meeting(system, model, chip, tpot_ms, input_len, output_len, prec, lay, o)
    if best == 0 and layout is None and not model.is_moe:
        tp = int(lay.tp) * 2
        while tp <= min(system.scaleup_domain, model.n_heads):
            wider = Layout(tp, 1, int(lay.pp))
            b, lim = _largest_batch_meeting(
                system, model, chip, tpot_ms, input_len, output_len, prec, wider, o
            )
            if b >= 1:
                lay_note = (
                    f"{wider.describe()}: the default {lay.describe()} misses {tpot_ms:g} ms even at "
                    f"batch 1, so TP was widened to meet it (fabscope rule)"
                )
                lay, best, limit = wider, b, lim
                break
            tp *= 2
    out = serve(system_id, model_id, "decode", max(best, 1), input_len, output_len, prec, lay, opts=o)
    out["layout_note"] = lay_note
    out["tpot_target_ms"] = float(tpot_ms)
    out["meets_target"] = bool(best >= 1)
    out["batch_search"] = f"largest batch in 1..{limit} (memory limit) with TPOT <= {tpot_ms:g} ms"
    return out
