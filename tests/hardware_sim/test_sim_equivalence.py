"""Chip-for-chip replacement (hardware_sim.accelerators.equivalence) and `fabscope sim replace`."""

import math

import pytest

from hardware_sim.accelerators import equivalence


def test_same_system_replaces_one_for_one():
    r = equivalence.replacement("deepseek-r1", "hgx-h100-8", "hgx-h100-8", 1000)
    assert r["chips_per_from_chip"] == pytest.approx(1.0)
    assert r["to_chips_needed"] == 1000 and r["to_systems_needed"] == 125
    assert r["power_ratio_to_over_from"] == pytest.approx(1.0)
    assert r["to"]["tokens_per_s"] == pytest.approx(r["from"]["tokens_per_s"])


def test_doubling_n_doubles_the_answer_up_to_rounding():
    one = equivalence.replacement("deepseek-r1", "hgx-h100-8", "cloudmatrix-384", 5000)
    two = equivalence.replacement("deepseek-r1", "hgx-h100-8", "cloudmatrix-384", 10000)
    assert abs(two["to_chips_needed"] - 2 * one["to_chips_needed"]) <= 1
    assert abs(two["to_systems_needed"] - 2 * one["to_systems_needed"]) <= 1
    # the replacement delivers at least the tokens/s it replaces, and not a whole chip more
    for r in (one, two):
        assert r["to"]["tokens_per_s"] >= r["from"]["tokens_per_s"]
        assert r["to"]["tokens_per_s"] - r["to"]["tokens_per_s_per_chip"] < r["from"]["tokens_per_s"]
        assert r["to_systems_needed"] == math.ceil(r["to_chips_needed"] / 384)


def test_faster_target_needs_fewer_chips():
    # H100 (989 TFLOP/s, FP8 path) is faster per chip than H20 (148 TFLOP/s) at a 50 ms TPOT target
    to_h100 = equivalence.replacement("deepseek-r1", "hgx-h20-8", "hgx-h100-8", 1000)
    to_h20 = equivalence.replacement("deepseek-r1", "hgx-h20-8", "hgx-h20-8", 1000)
    assert to_h100["to_chips_needed"] < to_h20["to_chips_needed"] == 1000
    back = equivalence.replacement("deepseek-r1", "hgx-h100-8", "hgx-h20-8", 1000)
    assert back["to_chips_needed"] > 1000


def test_precision_rule_per_side():
    r = equivalence.replacement("deepseek-r1", "hgx-h100-8", "cloudmatrix-384", 100)
    assert r["from"]["precision"] == "fp8"  # model's native precision, H100 has FP8 units
    assert r["to"]["precision"] == "int8"  # Ascend 910C has no FP8 units
    assert "no fp8 tensor path" in r["to"]["precision_rule"]
    forced = equivalence.replacement("deepseek-r1", "hgx-h100-8", "cloudmatrix-384", 100, prec="bf16")
    assert forced["from"]["precision"] == forced["to"]["precision"] == "bf16"


def test_power_is_pro_rata_per_chip():
    r = equivalence.replacement("deepseek-r1", "hgx-h20-8", "cloudmatrix-384", 1000)
    to = r["to"]
    assert to["power_kw"] == pytest.approx(to["system_power_kw"] / 384 * r["to_chips_needed"])
    assert to["power_kw_whole_systems"] >= to["power_kw"]
    assert to["tokens_per_s_per_kw"] == pytest.approx(to["tokens_per_s"] / to["power_kw"])


def test_h20_ban_cost_is_the_worked_replacement():
    b = equivalence.h20_ban_cost(1000)
    r = equivalence.replacement("deepseek-r1", "hgx-h20-8", "cloudmatrix-384", 1000)
    assert b["to_chips_needed"] == r["to_chips_needed"]
    assert b["tokens_per_s_forgone"] == pytest.approx(r["from"]["tokens_per_s"])
    assert b["tokens_per_s_per_replacement_chip_ratio"] > 1.0  # a 910C out-serves an H20 per chip


@pytest.mark.parametrize(
    "kwargs",
    [{"n_from_chips": 0}, {"n_from_chips": 2.5}, {"tpot_ms": 0}, {"tpot_ms": 1.0}, {"input_len": 0}],
)
def test_impossible_values_raise(kwargs):
    args = {
        "model_id": "deepseek-r1",
        "from_system": "hgx-h100-8",
        "to_system": "cloudmatrix-384",
        "n_from_chips": 10,
    } | kwargs
    with pytest.raises(ValueError):
        equivalence.replacement(**args)


def test_unknown_ids_raise_keyerror():
    with pytest.raises(KeyError):
        equivalence.replacement("deepseek-r1", "nope", "cloudmatrix-384", 10)
    with pytest.raises(KeyError):
        equivalence.replacement("deepseek-r1", "hgx-h100-8", "cloudmatrix-384", 10, prec="fp4")
