"""Operator FLOP and byte counts against hand calculations."""

import pytest

from hardware_sim.accelerators.catalog import get_llm
from hardware_sim.accelerators.communication import step_communication
from hardware_sim.accelerators.operators import (
    Layout,
    kv_bytes_per_chip,
    model_arrays,
    param_counts,
    precision_arrays,
    step_operators,
)

LLAMA = model_arrays(get_llm("llama-3-70b"))
DS = model_arrays(get_llm("deepseek-r1"))
ONE = Layout(1, 1, 1)


def ops_by_name(m, batch, q, ctx, layout=ONE, prec="bf16"):
    return {o.name: o for o in step_operators(m, batch, q, ctx, layout, precision_arrays(prec))}


def test_llama70b_decode_weight_bytes_are_two_bytes_per_param():
    ops = ops_by_name(LLAMA, 1, 1, 0)
    weights = sum(float(o.weight_bytes) for o in ops.values())
    pc = param_counts(LLAMA)
    # every weight except the embedding table (a gather, not a full read) is streamed once per step
    assert weights == pytest.approx(2 * (float(pc["total"]) - float(pc["embedding"])), rel=1e-9)
    assert weights == pytest.approx(2 * 70.6e9, rel=0.02)


def test_fp8_halves_weight_bytes_and_kv_precision_is_its_own_setting():
    b16 = ops_by_name(LLAMA, 4, 1, 1000)
    f8 = ops_by_name(LLAMA, 4, 1, 1000, prec="fp8")
    assert float(f8["ffn_dense"].weight_bytes) == pytest.approx(float(b16["ffn_dense"].weight_bytes) / 2)
    # FP8 GEMMs keep a BF16 KV cache by default (FlashMLA / FlashAttention decode kernels read BF16) ...
    assert float(f8["attention_core"].kv_bytes) == pytest.approx(float(b16["attention_core"].kv_bytes))
    # ... and an FP8 cache is asked for separately: it halves the KV bytes
    f8kv = {o.name: o for o in step_operators(LLAMA, 4, 1, 1000, ONE, precision_arrays("fp8", kv="fp8"))}
    assert float(f8kv["attention_core"].kv_bytes) == pytest.approx(float(b16["attention_core"].kv_bytes) / 2)


def test_llama_qkv_and_ffn_flops_hand_calc():
    t = 3 * 7  # batch 3, 7 new tokens each
    ops = ops_by_name(LLAMA, 3, 7, 0)
    assert float(ops["attn_qkv_proj"].flops) == 2 * t * 8192 * (64 + 2 * 8) * 128 * 80
    assert float(ops["ffn_dense"].flops) == 2 * t * 3 * 8192 * 28672 * 80


def test_llama_kv_cache_bytes_per_token():
    # 2 (K,V) x 8 kv heads x 128 x 80 layers x 2 bytes = 327,680 B per token
    assert float(kv_bytes_per_chip(LLAMA, 1, 1, ONE, precision_arrays("bf16"))) == 327_680
    ops = ops_by_name(LLAMA, 2, 1, 999)  # reads 1000 cached tokens (incl. the new one), writes 1
    assert float(ops["attention_core"].kv_bytes) == 2 * (1000 + 1) * 327_680


def test_gqa_tp_beyond_kv_heads_replicates_cache():
    p = precision_arrays("bf16")
    # batch counts sequences per chip: a TP8 group holds 8 sequences, each chip 1/8 of their heads
    assert float(kv_bytes_per_chip(LLAMA, 1, 100, Layout(8, 1, 1), p)) == pytest.approx(100 * 327_680)
    # tp=16 > 8 KV heads: 16 sequences per group, each chip still holds 1/8 of the heads -> twice the cache
    assert float(kv_bytes_per_chip(LLAMA, 1, 100, Layout(16, 1, 1), p)) == pytest.approx(2 * 100 * 327_680)


def test_mla_kv_cache_is_latent_576_per_layer():
    assert float(kv_bytes_per_chip(DS, 1, 1, ONE, precision_arrays("bf16"))) == (512 + 64) * 61 * 2


def test_mla_decode_uses_absorbed_core_and_prefill_naive():
    ctx = 4095
    dec = ops_by_name(DS, 1, 1, ctx)
    # absorbed: per attended position 2*128*(512+64) + 2*128*512 FLOP, mean attended length ctx + 1
    assert float(dec["attention_core"].flops) == pytest.approx(
        (ctx + 1) * (2 * 128 * 576 + 2 * 128 * 512) * 61
    )
    pre = ops_by_name(DS, 1, 4096, 0)
    per_pos = 2 * 128 * (128 + 64) + 2 * 128 * 128
    assert float(pre["attention_core"].flops) == pytest.approx(4096 * (4097 / 2) * per_pos * 61)
    # naive prefill decompresses K/V for every token through W_UK/W_UV
    assert float(pre["attn_kv_up_proj"].flops) == 2 * 4096 * 512 * 128 * (128 + 128) * 61


def test_moe_single_token_touches_top_k_experts():
    ops = ops_by_name(DS, 1, 1, 0, prec="fp8")
    expert = 3 * 7168 * 2048
    assert float(ops["moe_routed_experts"].weight_bytes) == pytest.approx(8 * expert * 58 * 1.0)
    assert float(ops["moe_routed_experts"].flops) == pytest.approx(2 * 8 * expert * 58)
    # many tokens touch (almost) every expert, spread over ep chips
    big = ops_by_name(DS, 512, 1, 0, layout=Layout(1, 32, 1), prec="fp8")
    assert float(big["moe_routed_experts"].weight_bytes) == pytest.approx(256 / 32 * expert * 58, rel=1e-6)


def test_communication_volumes():
    comms = {c.name: c for c in step_communication(LLAMA, 2, 1, Layout(8, 1, 1), precision_arrays("bf16"))}
    ar = comms["tp_all_reduce"]
    assert float(ar.calls) == 160 and float(ar.size_bytes) == 2 * 8 * 8192 * 2  # 16 tokens per micro-batch
    ds = {c.name: c for c in step_communication(DS, 4, 1, Layout(1, 16, 1), precision_arrays("fp8"))}
    assert float(ds["ep_dispatch"].size_bytes) == 4 * 7168 * 1 and float(ds["ep_dispatch"].fanout) == 8
    assert float(ds["ep_combine"].size_bytes) == 4 * 7168 * 2
    assert float(ds["tp_all_reduce"].calls) == 0
