"""Serving/training model behaviour: bound switch, H20 vs H100, batch search, monotonicity, memory."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware_sim.accelerators import llm
from hardware_sim.accelerators.catalog import get_chip, get_llm, get_system
from hardware_sim.accelerators.operators import Layout, model_arrays, precision_arrays

TP4 = {"tp": 4, "dp": 1, "pp": 1}


def test_decode_small_batch_memory_bound_prefill_compute_bound():
    dec = llm.serve(
        "hgx-h100-8", "llama-3-70b", "decode", batch=1, input_len=1024, output_len=128, layout=TP4
    )
    pre = llm.serve("hgx-h100-8", "llama-3-70b", "prefill", batch=1, input_len=4096, layout=TP4)
    assert dec["bound"] == "memory"
    assert pre["bound"] == "compute"


def test_bound_switches_with_batch_at_the_ridge():
    """Decode GEMMs flip from memory- to compute-bound once tokens per weight read exceed the ridge point."""
    sys_ = get_system("hgx-h20-8")
    hw, _ = llm.hardware_arrays(get_chip(sys_.chip_id), sys_, "bf16")
    m, p = model_arrays(get_llm("llama-3-8b")), precision_arrays("bf16")
    batches = np.array([1.0, 2048.0])
    r = llm.evaluate_step(hw, m, batches, 1, 0, Layout(1, 1, 1), p, with_ops=True)
    ffn = next((c, mm) for op, c, mm in r["ops"] if op.name == "ffn_dense")
    assert ffn[0][0] < ffn[1][0]  # batch 1: memory time dominates
    assert ffn[0][1] > ffn[1][1]  # batch 2048: compute time dominates


def test_h20_decodes_llama70b_at_least_as_fast_as_h100_but_prefills_far_slower():
    kw = {"input_len": 2048, "output_len": 256, "layout": TP4, "with_ops": False}
    h20 = llm.serve("hgx-h20-8", "llama-3-70b", "decode", batch=1, **kw)
    h100 = llm.serve("hgx-h100-8", "llama-3-70b", "decode", batch=1, **kw)
    assert h20["tokens_per_s_per_chip"] >= h100["tokens_per_s_per_chip"]
    p20 = llm.serve("hgx-h20-8", "llama-3-70b", "prefill", batch=1, **kw)
    p100 = llm.serve("hgx-h100-8", "llama-3-70b", "prefill", batch=1, **kw)
    assert p20["ttft_ms"] > 4 * p100["ttft_ms"]  # 148 vs 989 TFLOP/s


def test_batch_search_finds_largest_batch_meeting_tpot():
    target = 25.0
    r = llm.search_batch_for_tpot("hgx-h100-8", "llama-3-70b", target, 2048, 512, layout=TP4)
    assert r["meets_target"] and r["tpot_ms"] <= target
    b = r["batch"]
    if b < r["max_batch"]:
        nxt = llm.serve("hgx-h100-8", "llama-3-70b", "decode", b + 1, 2048, 512, layout=TP4, with_ops=False)
        assert nxt["tpot_ms"] > target
    assert "TP4" in r["layout"]


def test_batch_search_reports_unmet_target():
    r = llm.search_batch_for_tpot("hgx-h100-8", "llama-3-70b", 0.5, 2048, 512, layout=TP4)
    assert r["meets_target"] is False and r["batch"] == 1


def test_memory_limit_weights_plus_kv():
    lay = Layout(4, 1, 1)
    mb = llm.max_batch("llama-3-70b", "hgx-h100-8", 4096, "bf16", lay)
    assert mb > 0
    assert llm.memory_per_chip("llama-3-70b", "hgx-h100-8", mb, 4096, "bf16", lay)["fits"]
    assert not llm.memory_per_chip("llama-3-70b", "hgx-h100-8", mb + 1, 4096, "bf16", lay)["fits"]
    # the whole bf16 model cannot sit on one H100
    assert llm.max_batch("llama-3-70b", "hgx-h100-8", 4096, "bf16", Layout(1, 1, 1)) == 0


def test_default_layouts_are_stated():
    r = llm.serve("cloudmatrix-384", "deepseek-r1", "decode", batch=8, prec="int8", with_ops=False)
    # CloudMatrix-Infer runs one rank per 910C die: EP320 over 320 dies of 160 NPUs
    assert r["dp"] == 320 and r["chips_in_replica"] == 160 and "CloudMatrix" in r["layout_note"]
    r = llm.serve("hgx-h100-8", "llama-3-70b", "decode", batch=1, with_ops=False)
    assert r["tp"] == 4 and "fabscope rule" in r["layout_note"]


def test_fp8_on_ascend_falls_back_to_bf16_peak_with_note():
    r = llm.serve(
        "cloudmatrix-384", "deepseek-r1", "prefill", batch=1, input_len=1024, prec="fp8", with_ops=False
    )
    assert any("no fp8 tensor path" in n for n in r["notes"])


def test_training_step_mfu_in_range():
    r = llm.train_step("gb200-nvl72", "llama-3-70b", global_batch=256, seq_len=4096)
    assert 0.05 < r["mfu"] < 0.75
    assert r["step_time_s"] > 0 and r["fits_memory"]


def _hw(system_id, prec="bf16"):
    s = get_system(system_id)
    return llm.hardware_arrays(get_chip(s.chip_id), s, prec)[0]


@settings(max_examples=40, deadline=None)
@given(
    bw_scale=st.floats(1.0, 4.0),
    batch=st.integers(1, 256),
    ctx=st.integers(1, 32768),
    model=st.sampled_from(["llama-3-70b", "deepseek-r1", "llama-3-8b"]),
)
def test_more_bandwidth_never_slows_decode(bw_scale, batch, ctx, model):
    hw = _hw("hgx-h100-8")
    m, p, lay = model_arrays(get_llm(model)), precision_arrays("bf16"), Layout(4, 2, 1)
    base = float(llm.evaluate_step(hw, m, batch, 1, ctx, lay, p)["time_s"])
    faster = replace(hw, mem_bw=hw.mem_bw * bw_scale)
    assert float(llm.evaluate_step(faster, m, batch, 1, ctx, lay, p)["time_s"]) <= base * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(
    flops_scale=st.floats(1.0, 8.0),
    batch=st.integers(1, 16),
    seq=st.integers(16, 16384),
    model=st.sampled_from(["llama-3-70b", "deepseek-r1"]),
)
def test_more_flops_never_slows_prefill(flops_scale, batch, seq, model):
    hw = _hw("gb200-nvl72")
    m, p, lay = model_arrays(get_llm(model)), precision_arrays("fp8"), Layout(2, 4, 1)
    base = float(llm.evaluate_step(hw, m, batch, seq, 0, lay, p)["time_s"])
    faster = replace(hw, peak_flops=hw.peak_flops * flops_scale, bf16_flops=hw.bf16_flops * flops_scale)
    assert float(llm.evaluate_step(faster, m, batch, seq, 0, lay, p)["time_s"]) <= base * (1 + 1e-12)


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        llm.serve("hgx-h100-8", "llama-3-70b", "decode", batch=0)
    with pytest.raises(KeyError):
        llm.serve("hgx-h100-8", "llama-3-70b", "decode", prec="fp4")


def test_default_tpot_search_widens_tp_when_the_default_cannot_meet_the_target() -> None:
    default = llm.search_batch_for_tpot("hgx-h100-8", "llama-3-70b", 1e3)
    assert default["tp"] == 4  # the default dense layout
    r = llm.search_batch_for_tpot("hgx-h100-8", "llama-3-70b", 15.0)
    assert r["meets_target"] and r["tp"] == 8 and r["tpot_ms"] <= 15.0 and "widened" in r["layout_note"]
    # an explicit layout is never changed, and an unreachable target keeps the default
    fixed = llm.search_batch_for_tpot("hgx-h100-8", "llama-3-70b", 15.0, layout=TP4)
    assert not fixed["meets_target"] and fixed["tp"] == 4
    hopeless = llm.search_batch_for_tpot("hgx-h100-8", "llama-3-70b", 1.0)
    assert not hopeless["meets_target"] and hopeless["tp"] == 4
