"""Regression tests for simulator bugs found in review (each failed before its fix)."""

from __future__ import annotations

import numpy as np
import pytest

from app.cli import main
from hardware_sim.accelerators import catalog, llm
from hardware_sim.accelerators.catalog import get_chip, get_llm, get_system
from hardware_sim.accelerators.network import SCALEOUT_BW_EFF, SCALEUP_BW_EFF
from hardware_sim.accelerators.operators import Layout, model_arrays, precision_arrays


@pytest.mark.parametrize("sid", catalog.system_ids())
@pytest.mark.parametrize("mid", catalog.llm_ids())
def test_default_train_layout_fits_in_the_system_and_the_model(sid, mid):
    # was: GB200 NVL72 + DeepSeek-V3 -> PP128 on 128 chips (72 in the system, 61 layers in the model)
    system, model = get_system(sid), get_llm(mid)
    lay = llm.default_train_layout(system, model)
    assert int(lay.n_chips) <= system.n_chips
    assert int(lay.pp) <= model.n_layers
    r = llm.train_step(sid, mid, global_batch=256, seq_len=2048)
    assert r["chips_used"] <= r["chips_in_system"] == system.n_chips
    assert 0 < r["mfu"] < 1


def test_chip_scaleup_gbps_uses_one_direction_convention_for_every_chip():
    # was: 900 (H100, both directions summed) beside 392 (910C, one direction) in the same column
    h100, ascend = catalog.chip_spec_record("h100-sxm"), catalog.chip_spec_record("ascend-910c")
    assert h100["scaleup_gbps"] == 900 and h100["scaleup_gbps_per_direction"] == 450
    assert ascend["scaleup_gbps_quoted"] == 392 and ascend["scaleup_direction"] == "unidirectional"
    assert ascend["scaleup_gbps"] == 784 and ascend["scaleup_gbps_per_direction"] == 392
    assert "both directions" in ascend["notes"]["scaleup_gbps"]
    for cid in catalog.chip_ids():
        rec = catalog.chip_spec_record(cid)
        assert rec["scaleup_gbps"] == pytest.approx(2 * get_chip(cid).scaleup_gbps_per_direction)


@pytest.mark.parametrize(
    "layout, needle",
    [
        ({"tp": 128}, "attention heads"),
        ({"pp": 81}, "layers"),
        ({"tp": 1.5}, "whole number"),
        ({"dp": 0}, ">= 1"),
    ],
)
def test_impossible_layouts_raise(layout, needle):
    # was: TP128 on Llama-3-70B (64 heads) or PP81 (80 layers) silently modelled; tp=1.5 truncated to 1
    with pytest.raises(ValueError, match=needle):
        llm.serve("hgx-h100-8", "llama-3-70b", "decode", batch=1, layout=layout)


def test_cli_impossible_layout_is_one_line(capsys):
    assert (
        main(
            [
                "sim",
                "llm",
                "--system",
                "hgx-h100-8",
                "--model",
                "llama-3-70b",
                "--phase",
                "decode",
                "--tp",
                "128",
                "--json",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert "attention heads" in err and "\n" not in err and "Traceback" not in err


def test_serve_says_when_the_batch_does_not_fit():
    r = llm.serve("hgx-h100-8", "llama-3-70b", "decode", batch=500, with_ops=False)
    assert not r["fits_memory"]
    assert any("does not fit" in n and str(r["max_batch"]) in n for n in r["notes"])
    ok = llm.serve("hgx-h100-8", "llama-3-70b", "decode", batch=1, with_ops=False)
    assert not any("does not fit" in n for n in ok["notes"])


def _pp_send_s(system_id, layout):
    s = get_system(system_id)
    hw, _ = llm.hardware_arrays(get_chip(s.chip_id), s, "bf16")
    m, p = model_arrays(get_llm("llama-3-70b")), precision_arrays("bf16")
    r = llm.evaluate_step(hw, m, 4, 1, 1024, layout, p, with_ops=True)
    ((comm, t),) = [(c, t) for c, t in r["comms"] if c.name == "pp_send"]
    return float(comm.size_bytes), float(comm.calls), float(t), hw


def test_pipeline_send_inside_a_scaleup_domain_uses_scaleup():
    # was: any pp > 1 sent stage activations over the 50 GB/s scale-out NIC, even inside one NVLink domain
    size, calls, t, hw = _pp_send_s("gb200-nvl72", Layout(1, 1, 2))
    assert calls == 1
    assert t == pytest.approx(size / (float(hw.bw_up) * SCALEUP_BW_EFF) + 1.5e-6)
    # a replica larger than the domain (16 chips over 8-GPU servers) goes over scale-out
    size, calls, t, hw = _pp_send_s("hgx-h100-8", Layout(8, 1, 2))
    assert t == pytest.approx(size / (float(hw.bw_out) * SCALEOUT_BW_EFF) + 4e-6)


def test_pipeline_inside_the_domain_is_not_slower_than_across_it():
    s = get_system("gb200-nvl72")
    hw, _ = llm.hardware_arrays(get_chip(s.chip_id), s, "bf16")
    m, p = model_arrays(get_llm("llama-3-70b")), precision_arrays("bf16")
    inside = float(llm.evaluate_step(hw, m, 8, 1, 2048, Layout(2, 1, 4), p)["time_s"])
    small_domain = llm.HardwareArrays(**{**hw.__dict__, "domain": np.asarray(2.0)})
    across = float(llm.evaluate_step(small_domain, m, 8, 1, 2048, Layout(2, 1, 4), p)["time_s"])
    assert inside < across
