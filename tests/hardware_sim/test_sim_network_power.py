"""Collectives, system totals, component power and cost per token."""

import numpy as np
import pytest

from hardware_sim.accelerators import network
from hardware_sim.accelerators.cost import cost_per_million_tokens
from hardware_sim.accelerators.power import PUE, power_breakdown_kw, system_record

UP, OUT = 450e9, 50e9


def test_single_chip_collectives_are_free():
    assert float(network.all_reduce_s(1e9, 1, UP, OUT, 8)) == 0.0
    assert float(network.moe_all_to_all_s(1e9, 8, 1, UP, OUT, 8)) == 0.0


def test_ring_all_reduce_inside_domain_hand_calc():
    s, p = 64e6, 8
    expect = (
        2 * (p - 1) / p * s / (UP * network.SCALEUP_BW_EFF) + 2 * (p - 1) * network.SCALEUP_STEP_LATENCY_S
    )
    assert float(network.all_reduce_s(s, p, UP, OUT, 8)) == pytest.approx(expect)


def test_crossing_the_domain_costs_more():
    inside = float(network.all_reduce_s(64e6, 8, UP, OUT, 8))
    across = float(network.all_reduce_s(64e6, 16, UP, OUT, 8))
    assert across > inside
    a2a_in = float(network.moe_all_to_all_s(1e6, 8, 8, UP, OUT, 8))
    a2a_out = float(network.moe_all_to_all_s(1e6, 8, 64, UP, OUT, 8))
    assert a2a_out > a2a_in


def test_moe_dispatch_dedups_per_remote_domain():
    # 4 domains, 8 picks: 4*(1-0.75**8) = 3.6 distinct domains, 3/4 of them remote
    t = float(network.moe_all_to_all_s(1e6, 8, 32, 1e15, OUT, 8))  # scale-up effectively free
    lat = network.ALLTOALL_LAUNCH_S + network.SCALEUP_STEP_LATENCY_S + network.SCALEOUT_STEP_LATENCY_S
    copies = 4 * (1 - 0.75**8) * 0.75
    assert t - lat == pytest.approx(1e6 * copies / (OUT * network.SCALEOUT_BW_EFF), rel=1e-9)


def test_collectives_vectorise():
    r = network.all_reduce_s(np.array([1e6, 1e7, 1e8]), 8, UP, OUT, 8)
    assert r.shape == (3,) and np.all(np.diff(r) > 0)


def test_cloudmatrix_vs_nvl72_totals(contract_keys):
    cm, nv = system_record("cloudmatrix-384"), system_record("gb200-nvl72")
    assert cm.keys() >= contract_keys["system"] and nv.keys() >= contract_keys["system"]
    assert cm["chips"] == 384 and nv["chips"] == 72
    assert cm["bf16_pflops"] == pytest.approx(384 * 0.752) and nv["bf16_pflops"] == pytest.approx(180.0)
    assert cm["hbm_tb"] == pytest.approx(49.152) and nv["hbm_tb"] == pytest.approx(13.392)
    assert cm["hbm_tbps"] == pytest.approx(1228.8) and nv["hbm_tbps"] == pytest.approx(576.0)
    assert nv["scaleup_tbps"] == pytest.approx(129.6)  # 72 x 1.8 TB/s (NVIDIA quotes ~130 TB/s)
    # more compute and memory, far more power, worse perf/W (SemiAnalysis: ~3.9x power, ~2.3x worse FLOP/W)
    assert 1.5 < cm["bf16_pflops"] / nv["bf16_pflops"] < 1.8
    assert 3.0 < cm["power_kw"] / nv["power_kw"] < 5.0
    assert 2.0 < nv["pflops_per_kw"] / cm["pflops_per_kw"] < 3.2


@pytest.mark.parametrize("sid", ["gb200-nvl72", "cloudmatrix-384", "hgx-h100-8", "hgx-h20-8", "hgx-h800-8"])
def test_power_breakdown_sums_and_components(sid):
    rec = system_record(sid)
    b = rec["power_breakdown_kw"]
    assert sum(b.values()) == pytest.approx(rec["power_kw"])
    assert {"accelerators", "hbm", "host_cpus", "scaleup_switches", "optics", "cooling"} <= b.keys()
    assert rec["power_kw"] == pytest.approx(rec["it_power_kw"] * PUE[rec["cooling"]])
    assert all(v >= 0 for v in b.values())


def test_optics_dominate_nowhere_but_cloudmatrix():
    assert power_breakdown_kw("cloudmatrix-384")["optics"] > 30  # 6,912 x 400G LPO modules
    assert power_breakdown_kw("gb200-nvl72")["optics"] < 2  # copper NVLink spine


def test_cost_per_million_tokens_hand_calc():
    c = cost_per_million_tokens(
        1000.0,
        8760.0 * 4,
        10.0,
        usd_per_kwh=0.1,
        amortisation_years=4,
        utilisation=1.0,
        other_opex_fraction=0.0,
    )
    # 1 $/h capex + 1 $/h power over 3.6M tokens/h
    assert c["usd_per_mtok"] == pytest.approx(2.0 / 3.6)
    with pytest.raises(ValueError):
        cost_per_million_tokens(0.0, 1.0, 1.0)


def test_node_components_hand_calc():
    """Node parts from the stated composition (W): HGX H100 = DGX H100 composition, NVL72 trays."""
    b = power_breakdown_kw("hgx-h100-8")
    # board 100 + 32 DIMMs x 10 + 8 U.2 x 25 + 2 M.2 x 8 = 636 W
    assert b["node_misc"] == pytest.approx(0.636)
    # 8 cluster + 2 storage/in-band ConnectX-7 (400 Gb/s each) x 25 W
    assert b["nics"] == pytest.approx(0.250)
    # 8 x 400G DSP modules at the 9 W NVIDIA maximum
    assert b["optics"] == pytest.approx(0.072)
    nv = power_breakdown_kw("gb200-nvl72")
    assert nv["dpus"] == pytest.approx(36 * 0.150)  # 2 BlueField-3 per tray
    # 18 trays x 100 W + 72 E1.S x 25 W + 18 M.2 x 8 W = 3,744 W
    assert nv["node_misc"] == pytest.approx(3.744)


def test_cloudmatrix_optics_are_400g_lpo():
    # 6,912 x (9 W x 8.5 / 15) + 384 scale-out x 9 W
    assert power_breakdown_kw("cloudmatrix-384")["optics"] == pytest.approx(
        (6912 * 9.0 * 8.5 / 15.0 + 384 * 9.0) / 1e3
    )


def test_systems_without_node_composition_keep_the_flat_node_figure():
    # HGX H20 states no DIMMs or drives: 200 W per node, no DPUs
    b = power_breakdown_kw("hgx-h20-8")
    assert b["node_misc"] == pytest.approx(0.200)
    assert b["dpus"] == 0.0
