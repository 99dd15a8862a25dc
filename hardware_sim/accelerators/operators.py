"""Operator list of one transformer forward step, per chip, with FLOP and byte counts.

Everything is vectorised: model dimensions, batch, sequence lengths, precision and layout may all be
NumPy arrays that broadcast together (this is what ``hardware_sim.accelerators.sweep`` relies on).

Conventions (per chip, per step = one forward pass over the chip's share of the batch):
  * ``batch`` B = concurrent sequences per chip; ``q`` = new tokens per sequence in the step
    (prefill: the prompt length; decode: 1); ``ctx`` = tokens already in the KV cache.
  * Layout: ``tp`` tensor-parallel, ``dp`` attention data-parallel, ``pp`` pipeline stages; experts are
    spread over the ``ep = tp * dp`` chips of a stage; a model replica spans ``tp * dp * pp`` chips.
  * FLOP count 2 per multiply-add. Bytes = weights read + activations read/written + KV read/written.
  * With ``pp`` stages, each chip holds ``1/pp`` of the layers but sees ``pp`` micro-batches per step, so
    per-step weight traffic does not shrink with ``pp`` (it shrinks with ``tp`` and, for experts, ``ep``).
  * MoE routing is uniform in expectation (no hot experts); expected distinct experts touched by ``T``
    tokens is ``E * (1 - (1 - k/E)**T)``; ``expert_load`` scales the routed-expert work of the most loaded
    rank (``hardware_sim.accelerators.mechanisms.moe_imbalance``).
  * Communication per step (TP all-reduce, EP dispatch/combine, PP sends) is in
    ``hardware_sim.accelerators.communication``.
  * MLA: prefill uses the naive form (decompress K/V for every cached token, then 192/128-dim MHA);
    decode (q <= DECODE_MAX_Q, i.e. with MTP too) uses the absorbed form (attention in the 512+64-dim latent
    space), as DeepSeek does. Decode attention's compute efficiency scales with the query rows per tile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from hardware_sim.accelerators.catalog import LLM
from hardware_sim.accelerators.mechanisms import (
    DECODE_MAX_Q,
    attention_tile_efficiency,
    gemm_compute_efficiency,
)
from hardware_sim.accelerators.roofline import ATTENTION_COMPUTE_EFF, MLA_DECODE_COMPUTE_EFF, precision

_MODEL_FIELDS = (
    "n_layers",
    "n_dense_layers",
    "hidden",
    "n_heads",
    "n_kv_heads",
    "head_dim",
    "ffn",
    "vocab",
    "n_routed_experts",
    "n_shared_experts",
    "top_k",
    "moe_ffn",
    "q_lora_rank",
    "kv_lora_rank",
    "qk_rope_dim",
    "qk_nope_dim",
    "v_head_dim",
)


@dataclass(frozen=True)
class ModelArrays:
    """Model dimensions as float arrays (one entry per model, or 0-d for a single model)."""

    n_layers: np.ndarray
    n_dense_layers: np.ndarray
    hidden: np.ndarray
    n_heads: np.ndarray
    n_kv_heads: np.ndarray
    head_dim: np.ndarray
    ffn: np.ndarray
    vocab: np.ndarray
    n_routed_experts: np.ndarray
    n_shared_experts: np.ndarray
    top_k: np.ndarray
    moe_ffn: np.ndarray
    q_lora_rank: np.ndarray
    kv_lora_rank: np.ndarray
    qk_rope_dim: np.ndarray
    qk_nope_dim: np.ndarray
    v_head_dim: np.ndarray
    is_mla: np.ndarray
    head_tied: np.ndarray

    @property
    def n_moe_layers(self) -> np.ndarray:
        return self.n_layers - self.n_dense_layers

    def take(self, idx: np.ndarray) -> ModelArrays:
        """Gather entries by index (for grid evaluation)."""
        return ModelArrays(**{f.name: np.asarray(getattr(self, f.name))[idx] for f in fields(self)})


def model_arrays(models: LLM | Sequence[LLM]) -> ModelArrays:
    """Stack one or several :class:`LLM` into :class:`ModelArrays` (0-d arrays for a single model)."""
    single = isinstance(models, LLM)
    ms = [models] if single else list(models)
    cols: dict[str, np.ndarray] = {k: np.array([float(getattr(m, k)) for m in ms]) for k in _MODEL_FIELDS}
    cols["is_mla"] = np.array([m.attention == "mla" for m in ms])
    cols["head_tied"] = np.array([bool(m.tied_embeddings) for m in ms])
    if single:
        cols = {k: v[0] for k, v in cols.items()}
    return ModelArrays(**cols)


@dataclass(frozen=True)
class PrecisionArrays:
    """Bytes per weight / KV element / activation / MoE-dispatch element (arrays or scalars)."""

    weight_bytes: np.ndarray
    kv_bytes: np.ndarray
    act_bytes: np.ndarray
    dispatch_bytes: np.ndarray


def precision_arrays(names: str | Sequence[str], kv: str | None = None) -> PrecisionArrays:
    """:class:`PrecisionArrays` for one precision name or a sequence of them; ``kv`` (a precision name)
    overrides the KV-cache element size (default: each precision's own, BF16 for the 8-bit ones)."""
    single = isinstance(names, str)
    ps = [precision(names)] if single else [precision(n) for n in names]
    cols = {
        k: np.array([getattr(p, k) for p in ps])
        for k in ("weight_bytes", "kv_bytes", "act_bytes", "dispatch_bytes")
    }
    if kv is not None:
        cols["kv_bytes"] = np.full(len(ps), precision(kv).weight_bytes)
    if single:
        cols = {k: v[0] for k, v in cols.items()}
    return PrecisionArrays(**cols)


@dataclass(frozen=True)
class Layout:
    """Parallel layout: ``tp`` tensor, ``dp`` attention data-parallel, ``pp`` pipeline; ``ep = tp*dp``."""

    tp: np.ndarray | int
    dp: np.ndarray | int
    pp: np.ndarray | int

    @property
    def ep(self) -> np.ndarray:
        return np.asarray(self.tp) * np.asarray(self.dp)

    @property
    def expert_parallel(self) -> np.ndarray:
        """True where routed experts are spread over ranks (all-to-all dispatch/combine, per-rank load
        imbalance): ``ep > 1`` with attention data parallelism. A TP-only layout (``dp = 1``) shards every
        expert over the TP group instead, as vLLM / SGLang do without expert parallelism."""
        return (self.ep.astype(float) > 1) & (np.asarray(self.dp) > 1)

    @property
    def n_chips(self) -> np.ndarray:
        return np.asarray(self.tp) * np.asarray(self.dp) * np.asarray(self.pp)

    def describe(self, ranks_per_chip: int = 1) -> str:
        """``TPa x DPb x PPc (EPd), n chips`` (degrees count ranks: ``n ranks on m chips`` when a chip runs
        several)."""
        head = f"TP{int(self.tp)} x DP{int(self.dp)} x PP{int(self.pp)} (EP{int(self.ep)})"
        n = int(self.n_chips)
        if ranks_per_chip > 1:
            return f"{head}, {n} ranks on {n // ranks_per_chip} chips"
        return f"{head}, {n} chips"


@dataclass(frozen=True)
class OpCost:
    """One operator class summed over the chip's layers for one step (FLOP, bytes; arrays)."""

    name: str
    kind: str  # derate class in hardware_sim.roofline.DERATES
    flops: np.ndarray
    weight_bytes: np.ndarray
    act_bytes: np.ndarray
    kv_bytes: np.ndarray
    compute_eff: np.ndarray | None = None  # per-entry override of the kind's compute derate

    @property
    def bytes(self) -> np.ndarray:
        return self.weight_bytes + self.act_bytes + self.kv_bytes


# ------------------------------------------------------------------------------------- parameter counts


def attention_params_per_layer(m: ModelArrays) -> np.ndarray:
    """Attention projection parameters per layer (GQA or MLA; norms ignored)."""
    h = m.hidden
    gqa = h * (m.n_heads + 2 * m.n_kv_heads) * m.head_dim + m.n_heads * m.head_dim * h
    mla = (
        h * m.q_lora_rank
        + m.q_lora_rank * m.n_heads * (m.qk_nope_dim + m.qk_rope_dim)
        + h * (m.kv_lora_rank + m.qk_rope_dim)
        + m.kv_lora_rank * m.n_heads * (m.qk_nope_dim + m.v_head_dim)
        + m.n_heads * m.v_head_dim * h
    )
    return np.where(m.is_mla, mla, gqa)


def param_counts(m: ModelArrays) -> dict[str, np.ndarray]:
    """Parameter counts (elements) by part, plus ``total`` and ``active`` (per token)."""
    h = m.hidden
    attn = m.n_layers * attention_params_per_layer(m)
    dense = m.n_dense_layers * 3 * h * m.ffn
    expert = 3 * h * m.moe_ffn
    routed = m.n_moe_layers * m.n_routed_experts * expert
    shared = m.n_moe_layers * m.n_shared_experts * expert
    router = m.n_moe_layers * h * m.n_routed_experts
    emb = m.vocab * h
    head = np.where(m.head_tied, 0.0, m.vocab * h)
    total = attn + dense + routed + shared + router + emb + head
    active = attn + dense + m.n_moe_layers * m.top_k * expert + shared + router + emb + head
    return {
        "attention": attn,
        "dense_ffn": dense,
        "moe_routed": routed,
        "moe_shared": shared,
        "router": router,
        "embedding": emb,
        "lm_head": head,
        "total": total,
        "active": active,
    }


def kv_elements_per_token_per_layer(m: ModelArrays) -> np.ndarray:
    """KV-cache elements stored per token per layer: 2*n_kv*head_dim (GQA) or kv_lora+rope (MLA)."""
    return np.where(m.is_mla, m.kv_lora_rank + m.qk_rope_dim, 2 * m.n_kv_heads * m.head_dim)


def _kv_split(m: ModelArrays, tp: np.ndarray) -> np.ndarray:
    """How many ways TP splits the KV cache: KV heads split up to n_kv; the MLA latent is not split."""
    return np.where(m.is_mla, 1.0, np.minimum(tp, m.n_kv_heads))


def weight_bytes_per_chip(m: ModelArrays, layout: Layout, prec: PrecisionArrays) -> np.ndarray:
    """Bytes of weights resident on one chip (experts over ``ep*pp``, the rest over ``tp*pp``)."""
    pc = param_counts(m)
    tp, pp = np.asarray(layout.tp, dtype=float), np.asarray(layout.pp, dtype=float)
    ep = layout.ep.astype(float)
    replicated = (
        pc["attention"] + pc["dense_ffn"] + pc["moe_shared"] + pc["router"] + pc["embedding"] + pc["lm_head"]
    )
    return (replicated / (tp * pp) + pc["moe_routed"] / (ep * pp)) * prec.weight_bytes


def kv_bytes_per_chip(m: ModelArrays, batch, tokens, layout: Layout, prec: PrecisionArrays) -> np.ndarray:
    """KV-cache bytes on one chip for ``batch`` sequences per chip of ``tokens`` cached tokens each."""
    tp = np.asarray(layout.tp, dtype=float)
    per_token = kv_elements_per_token_per_layer(m) * m.n_layers * prec.kv_bytes
    return (
        np.asarray(batch, dtype=float) * tp * np.asarray(tokens, dtype=float) * per_token / _kv_split(m, tp)
    )


# ----------------------------------------------------------------------------------------- operator list


def _gemm(name: str, tokens, k, n, layers, tp, wb, ab) -> OpCost:
    """A (tokens x k) @ (k x n) GEMM repeated over ``layers``; weights split ``tp`` ways, read once per step;
    compute efficiency from the reduction dimension ``k`` (``mechanisms.gemm_compute_efficiency``)."""
    flops = 2.0 * tokens * k * n * layers
    weights = k * n * wb * layers / tp
    acts = tokens * (k + n) * ab * layers
    zero = np.zeros_like(np.asarray(flops, dtype=float))
    return OpCost(name, "gemm", flops, weights + zero, acts + zero, zero, gemm_compute_efficiency(k))


def _merge(name: str, parts: Sequence[OpCost], use=None) -> OpCost:
    """Several GEMMs as one operator: FLOP and bytes summed, compute efficiency the FLOP-weighted harmonic
    mean (total FLOP / sum of FLOP / efficiency), so compute time is the sum of the parts'. ``use`` (bool
    array) zeroes the operator where false."""
    flops = sum(p.flops for p in parts)
    if len(parts) == 1:
        eff = parts[0].compute_eff
    else:  # FLOP-weighted harmonic mean; tokens cancel, so this is a per-model (not per-point) array
        slow = sum(p.flops / p.compute_eff for p in parts)
        eff = np.where(flops > 0, flops / np.maximum(slow, 1e-30), parts[0].compute_eff)
    keep = 1.0 if use is None else np.where(use, 1.0, 0.0)
    return OpCost(
        name,
        "gemm",
        flops * keep,
        sum(p.weight_bytes for p in parts) * keep,
        sum(p.act_bytes for p in parts) * keep,
        sum(p.kv_bytes for p in parts) * keep,
        eff,
    )


def lm_head_op(m: ModelArrays, batch, layout: Layout, prec: PrecisionArrays) -> OpCost:
    """LM head GEMM for the last token of ``batch`` sequences (weights split over TP)."""
    tp = np.asarray(layout.tp, dtype=float)
    return _gemm(
        "lm_head",
        np.asarray(batch, dtype=float),
        m.hidden,
        m.vocab,
        1.0,
        tp,
        prec.weight_bytes,
        prec.act_bytes,
    )


def step_operators(
    m: ModelArrays, batch, q, ctx, layout: Layout, prec: PrecisionArrays, expert_load=1.0
) -> list[OpCost]:
    """Operators of one forward step on one chip (see the module docstring for conventions).

    ``batch`` sequences per chip, ``q`` new tokens per sequence, ``ctx`` tokens already cached,
    ``expert_load`` the routed-expert load of the most loaded EP rank relative to the mean (>= 1).
    Returns a list of :class:`OpCost` whose FLOP and bytes are summed over the chip's layers.
    """
    b = np.asarray(batch, dtype=float)
    q = np.asarray(q, dtype=float)
    ctx = np.asarray(ctx, dtype=float)
    tp = np.asarray(layout.tp, dtype=float)
    ep = layout.ep.astype(float)
    wb, kvb, ab = prec.weight_bytes, prec.kv_bytes, prec.act_bytes
    h, L = m.hidden, m.n_layers
    t = b * q  # tokens owned by this chip in the step
    kv_total = ctx + q  # cached tokens attended by the last query
    ctx_mean = ctx + (q + 1.0) / 2.0  # mean attended length per query (causal)
    absorbed = q <= DECODE_MAX_Q  # MLA decode path (1 token, or 1 + MTP draft tokens)
    mla = m.is_mla
    ops: list[OpCost] = []

    # --- attention projections --------------------------------------------------------------------
    nh, hd = m.n_heads, m.head_dim
    gqa_qkv_n = (nh + 2 * m.n_kv_heads) * hd
    mla_q_a = _gemm("attn_q_a", t, h, m.q_lora_rank, L, tp, wb, ab)
    mla_q_b = _gemm("attn_q_b", t, m.q_lora_rank, nh * (m.qk_nope_dim + m.qk_rope_dim), L, tp, wb, ab)
    mla_kv_a = _gemm("attn_kv_a", t, h, m.kv_lora_rank + m.qk_rope_dim, L, tp, wb, ab)
    gqa_qkv = _gemm("attn_qkv", t, h, gqa_qkv_n, L, tp, wb, ab)
    mla_qkv = _merge("attn_qkv_proj", [mla_q_a, mla_q_b, mla_kv_a])
    gqa_qkv = _merge("attn_qkv_proj", [gqa_qkv])
    ops.append(
        OpCost(
            "attn_qkv_proj",
            "gemm",
            np.where(mla, mla_qkv.flops, gqa_qkv.flops),
            np.where(mla, mla_qkv.weight_bytes, gqa_qkv.weight_bytes),
            np.where(mla, mla_qkv.act_bytes, gqa_qkv.act_bytes),
            np.zeros_like(gqa_qkv.flops),
            np.where(mla, mla_qkv.compute_eff, gqa_qkv.compute_eff),
        )
    )
    # MLA up-projection W_UK/W_UV: absorbed -> applied to the t query/output tokens; naive -> to every
    # cached token (K/V decompression). Same weights either way.
    kv_b_n = nh * (m.qk_nope_dim + m.v_head_dim)
    up_tokens = np.where(absorbed, t, b * kv_total)
    mla_kv_b = _gemm("attn_kv_b", up_tokens, m.kv_lora_rank, kv_b_n, L, tp, wb, ab)
    ops.append(_merge("attn_kv_up_proj", [mla_kv_b], use=mla))
    o_k = np.where(mla, nh * m.v_head_dim, nh * hd)
    ops.append(_gemm("attn_out_proj", t, o_k, h, L, tp, wb, ab))

    # --- attention core (scores + softmax-weighted sum, KV-cache read/write) ---------------------------
    # FLOP per (query token, attended position), whole model width:
    gqa_core = 4.0 * nh * hd
    mla_naive_core = 2.0 * nh * (m.qk_nope_dim + m.qk_rope_dim) + 2.0 * nh * m.v_head_dim
    mla_absorbed_core = 2.0 * nh * (m.kv_lora_rank + m.qk_rope_dim) + 2.0 * nh * m.kv_lora_rank
    core = np.where(mla, np.where(absorbed, mla_absorbed_core, mla_naive_core), gqa_core)
    core_flops = t * ctx_mean * core * L
    kv_el = kv_elements_per_token_per_layer(m)
    split = _kv_split(m, tp)
    # Each chip reads the cache of the sequences of its TP group (B*tp per chip-share) for its KV heads.
    kv_read = b * tp * kv_total * kv_el * kvb * L / split
    kv_write = b * tp * q * kv_el * kvb * L / split
    # Naive MLA re-materialises K/V: the decompressed K/V (per cached token) stream through on-chip memory
    # in flash-attention style and are not written to HBM; only the latent cache is read.
    core_acts = t * (nh * hd * 2.0) * ab * L / tp  # q in, o out
    ops.append(
        OpCost(
            "attention_core",
            "attention",
            core_flops,
            np.zeros_like(core_flops),
            core_acts + np.zeros_like(core_flops),
            kv_read + kv_write + np.zeros_like(core_flops),
            # the absorbed MLA decode kernel has its own measured efficiency (FlashMLA); decode kernels fill
            # tensor-core tiles with (query heads per KV head on this chip) x q rows
            np.where(mla & absorbed, MLA_DECODE_COMPUTE_EFF, ATTENTION_COMPUTE_EFF)
            * np.where(absorbed, attention_tile_efficiency(_decode_rows(m, tp) * q, mla), 1.0)
            + np.zeros_like(core_flops),
        )
    )

    # --- dense FFN layers (SwiGLU: gate+up, down) --------------------------------------------------------
    nd = m.n_dense_layers
    up = _gemm("ffn_dense_up", t, h, 2.0 * m.ffn, nd, tp, wb, ab)
    down = _gemm("ffn_dense_down", t, m.ffn, h, nd, tp, wb, ab)
    ops.append(_merge("ffn_dense", [up, down]))

    # --- MoE layers ----------------------------------------------------------------------------------
    nm, E, k, fe = m.n_moe_layers, m.n_routed_experts, m.top_k, m.moe_ffn
    router = _gemm("moe_router", t, h, E, nm, tp, wb, ab)
    ops.append(router)
    s_up = _gemm("moe_shared_up", t, h, 2.0 * m.n_shared_experts * fe, nm, tp, wb, ab)
    s_down = _gemm("moe_shared_down", t, m.n_shared_experts * fe, h, nm, tp, wb, ab)
    ops.append(_merge("moe_shared_expert", [s_up, s_down]))
    # Routed experts: tokens arriving at this chip = t*k (uniform routing over ep chips), experts held
    # = E/ep; distinct experts touched per micro-batch of b*q*ep tokens in the EP group.
    t_in = t * k
    safe_e = np.maximum(E, 1.0)
    p_touch = 1.0 - np.power(np.clip(1.0 - k / safe_e, 0.0, 1.0), b * q * ep)
    experts_touched = np.where(E > 0, E / ep * p_touch, 0.0)
    pp = np.asarray(layout.pp, dtype=float)
    load = np.asarray(expert_load, dtype=float)
    routed_flops = 2.0 * t_in * 3.0 * h * fe * nm * load
    # pp micro-batches x (nm/pp) layers = nm layer-passes per step
    routed_weights = experts_touched * 3.0 * h * fe * wb * nm
    routed_acts = t_in * (2.0 * h + 3.0 * fe) * ab * nm * load
    ops.append(
        OpCost(
            "moe_routed_experts",
            "gemm",
            routed_flops,
            routed_weights + 0.0 * pp,
            routed_acts + 0.0 * pp,
            np.zeros_like(routed_flops),
            # gate/up (K = hidden, 2/3 of the FLOP) and down (K = expert width): FLOP-weighted harmonic mean
            1.0 / (2.0 / 3.0 / gemm_compute_efficiency(h) + 1.0 / 3.0 / gemm_compute_efficiency(fe))
            + np.zeros_like(routed_flops),
        )
    )

    # --- norms, activations, rotary, residual adds (elementwise, vector units) ---------------------------
    ffn_width = np.where(nm > 0, (k + m.n_shared_experts) * fe, m.ffn)
    norm_acts = (2.0 * 2.0 * h * t * L) * ab  # two RMSNorms per layer: read + write hidden
    swiglu_acts = 3.0 * t * ffn_width * L * ab / tp  # read gate, up; write product
    resid_acts = 2.0 * 3.0 * t * h * L * ab  # two residual adds: read 2, write 1
    elem_flops = (2.0 * 5.0 * h + 5.0 * ffn_width / tp + 2.0 * h) * t * L
    ops.append(
        OpCost(
            "norms_activations",
            "elementwise",
            elem_flops,
            np.zeros_like(elem_flops),
            norm_acts + swiglu_acts + resid_acts + 0.0 * elem_flops,
            np.zeros_like(elem_flops),
        )
    )

    # --- embedding lookup and LM head (logits for the last token of each sequence only) -----------------
    emb_bytes = 2.0 * t * h * ab  # gather rows + write
    ops.append(
        OpCost(
            "embedding",
            "elementwise",
            np.zeros_like(emb_bytes),
            np.zeros_like(emb_bytes),
            emb_bytes,
            np.zeros_like(emb_bytes),
        )
    )
    ops.append(lm_head_op(m, b, layout, prec))
    return ops


def _decode_rows(m: ModelArrays, tp) -> np.ndarray:
    """Query rows sharing one KV stream per token in decode: MLA absorbed -> all heads on the chip
    (``n_heads / tp``); GQA -> the group ``n_heads / n_kv_heads``."""
    return np.where(
        m.is_mla, m.n_heads / np.asarray(tp, dtype=float), m.n_heads / np.maximum(m.n_kv_heads, 1.0)
    )
