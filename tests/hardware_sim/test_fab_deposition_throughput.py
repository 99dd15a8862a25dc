"""Deposition rates/times and tool throughput."""

from __future__ import annotations

import numpy as np
import pytest

from hardware_sim.fab import deposition as dep
from hardware_sim.fab.tool_throughput import tool_throughput, wafers_per_hour


def test_arrhenius_reference_point_and_slope() -> None:
    assert float(dep.arrhenius_rate(700.0, 5.0, 700.0, 2.0)) == pytest.approx(5.0)
    r1, r2 = dep.arrhenius_rate([600.0, 650.0], 5.0, 700.0, 2.0)
    # ln(r2/r1) = Ea/k (1/T1 - 1/T2)
    expected = 2.0 / dep.BOLTZMANN_EV_PER_K * (1 / 873.15 - 1 / 923.15)
    assert np.log(r2 / r1) == pytest.approx(expected)


def test_sige_growth_rises_with_temperature_and_ge_fraction_at_low_t() -> None:
    t = np.array([550.0, 600.0, 650.0])
    si = dep.sige_growth_rate_nm_min(t, 0.0)
    sige = dep.sige_growth_rate_nm_min(t, 0.3)
    assert np.all(np.diff(si) > 0)
    assert np.all(sige > si)


def test_sige_growth_saturates_at_transport_limit() -> None:
    hot = float(dep.sige_growth_rate_nm_min(1100.0, 0.2))
    assert hot < dep.SIGE_TRANSPORT_LIMIT_NM_MIN
    assert hot > 0.9 * dep.SIGE_TRANSPORT_LIMIT_NM_MIN


def test_epi_time_for_target_thickness() -> None:
    rate = float(dep.sige_growth_rate_nm_min(650.0, 0.25))
    assert float(dep.sige_epi_time_min(30.0, 650.0, 0.25)) == pytest.approx(
        30.0 / rate + dep.SIGE_OVERHEAD_MIN
    )


def test_ald_cycles_and_time() -> None:
    proc = dep.ALD_PROCESSES["al2o3_tma_h2o"]
    assert float(dep.ald_cycles(10.0, 0.1)) == 100
    assert float(dep.ald_cycles(10.05, 0.1)) == 101  # rounds up to reach the target
    assert float(dep.ald_time_min(10.0, proc)) == pytest.approx(
        100 * proc.cycle_time_s / 60 + proc.overhead_min
    )
    # time grows linearly with thickness (in whole cycles)
    t = dep.ald_time_min(np.array([1.0, 2.0, 4.0]), proc) - proc.overhead_min
    assert t[2] == pytest.approx(2 * t[1]) and t[1] == pytest.approx(2 * t[0])


def test_cvd_time_uses_rate() -> None:
    proc = dep.CVD_PROCESSES["pecvd_teos_oxide"]
    assert float(dep.cvd_time_min(600.0, proc)) == pytest.approx(600.0 / 300.0 + proc.overhead_min)
    lp = dep.CVD_PROCESSES["lpcvd_nitride"]
    assert float(dep.cvd_time_min(100.0, lp, 700.0)) > float(dep.cvd_time_min(100.0, lp, 780.0))


def test_deposition_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError):
        dep.sige_growth_rate_nm_min(600.0, 1.5)
    with pytest.raises(ValueError):
        dep.ald_cycles(-1.0, 0.1)


def test_wafers_per_hour_chamber_and_transfer_limits() -> None:
    # 4 chambers, 4 min process + 0.5 pump + 1.0 clean = 5.5 min cycle -> 43.6 wph, under the 120 wph robot.
    assert float(wafers_per_hour(4.0, 4)) == pytest.approx(4 * 60 / 5.5)
    # Fast process, many chambers: the robot (30 s per wafer = 120 wph) limits.
    tt = tool_throughput(0.5, chambers=12)
    assert tt.wafers_per_hour == pytest.approx(120.0)
    assert tt.limited_by == "transfer"
    assert tt.effective_wafers_per_hour == pytest.approx(120.0 * 0.9)


def test_wafers_per_hour_scales_with_chambers_until_transfer_bound() -> None:
    rates = wafers_per_hour(10.0, np.arange(1, 40))
    assert np.all(np.diff(rates) >= 0)
    assert rates.max() == pytest.approx(120.0)


def test_clean_amortised_over_wafers() -> None:
    assert float(wafers_per_hour(3.0, 1, clean_min=2.0, wafers_per_clean=4)) == pytest.approx(
        60 / (3 + 0.5 + 0.5)
    )
