"""Deposition physics: thermally activated growth (epitaxy, CVD) and atomic layer deposition (ALD).

* Thermally activated growth, two regimes in series (the classic Grove picture for CVD/epi):
  ``1/R = 1/R_kin(T) + 1/R_mt`` with ``R_kin = R_ref · exp(−Ea/k · (1/T − 1/T_ref))`` (Arrhenius,
  surface-reaction-limited at low T) and ``R_mt`` the mass-transport-limited rate at high T.
* Epitaxial SiGe: at low temperature growth from silane/germane is limited by hydrogen desorption from
  the surface. Ge sites desorb hydrogen more easily, so the apparent activation energy falls with Ge
  fraction ``x``; we interpolate ``Ea(x) = (1 − x)·Ea_Si + x·Ea_Ge`` with one common prefactor, which
  makes growth at a given temperature faster with more Ge (as observed in low-temperature SiGe epi).
* ALD: self-limiting growth per cycle (GPC); cycles = ceil(thickness / GPC); time = cycles × cycle time.

Units: nm, nm/min, nm/cycle, seconds per cycle, °C in the public API (kelvin inside), minutes per wafer.
Every default is a named constant with its source; most are estimates (flag ``estimate``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fabscope.errors import InputError

BOLTZMANN_EV_PER_K = 8.617333262e-5  # CODATA 2018
KELVIN_OFFSET = 273.15


def arrhenius_rate(
    temperature_c: np.ndarray | float,
    rate_ref: float,
    temperature_ref_c: float,
    activation_ev: np.ndarray | float,
) -> np.ndarray:
    """``rate_ref · exp(−Ea/k · (1/T − 1/T_ref))`` (same units as ``rate_ref``), vectorised."""
    t = np.asarray(temperature_c, dtype=float) + KELVIN_OFFSET
    if np.any(t <= 0):
        raise InputError("temperature must be above absolute zero")
    t_ref = temperature_ref_c + KELVIN_OFFSET
    return rate_ref * np.exp(
        -np.asarray(activation_ev, dtype=float) / BOLTZMANN_EV_PER_K * (1.0 / t - 1.0 / t_ref)
    )


def series_limited_rate(kinetic_rate: np.ndarray, transport_rate: float) -> np.ndarray:
    """Reaction- and transport-limited rates in series: 1/R = 1/R_kin + 1/R_mt (R_mt = inf → R_kin)."""
    if transport_rate <= 0:
        raise InputError("transport-limited rate must be > 0")
    return 1.0 / (1.0 / np.asarray(kinetic_rate, dtype=float) + 1.0 / transport_rate)


@dataclass(frozen=True)
class ThermalGrowth:
    """A CVD or epitaxy process: Arrhenius kinetics in series with a transport limit.

    rate_ref_nm_min at temperature_ref_c (kinetic rate), activation_ev (eV), transport_limit_nm_min,
    overhead_min (load, heat/bake, purge, cool per wafer). ``activation_ev = 0`` models a plasma process
    whose rate barely depends on temperature.
    """

    name: str
    rate_ref_nm_min: float
    temperature_ref_c: float
    activation_ev: float
    transport_limit_nm_min: float
    overhead_min: float
    source: str
    flag: str

    def rate_nm_min(self, temperature_c: np.ndarray | float) -> np.ndarray:
        """Growth rate, nm/min, at ``temperature_c``."""
        kin = arrhenius_rate(temperature_c, self.rate_ref_nm_min, self.temperature_ref_c, self.activation_ev)
        return series_limited_rate(kin, self.transport_limit_nm_min)


# --- SiGe epitaxy (silane/germane chemistry) ---
# Ea_Si ≈ 2.0 eV: low-temperature Si epitaxy from SiH4 is limited by H2 desorption from Si(100), whose
# activation energy is ≈ 45 kcal/mol ≈ 1.95 eV (Sinniah et al., Phys. Rev. Lett. 62, 567 (1989)). flag: estimate
SIGE_EA_SI_EV = 2.0
# Ea_Ge ≈ 1.6 eV: H2 desorption from Ge(100) is easier (≈ 1.5-1.7 eV in the surface-science literature). estimate
SIGE_EA_GE_EV = 1.6
# Anchor: pure-Si kinetic rate 5 nm/min at 700 °C (order of magnitude for SiH4 reduced-pressure CVD). estimate
SIGE_RATE_REF_NM_MIN = 5.0
SIGE_T_REF_C = 700.0
SIGE_TRANSPORT_LIMIT_NM_MIN = 200.0  # estimate: mass-transport-limited rate of a single-wafer epi reactor
SIGE_OVERHEAD_MIN = 8.0  # estimate: load, H2 pre-bake, ramp and cool per wafer


def sige_activation_ev(ge_fraction: np.ndarray | float) -> np.ndarray:
    """Apparent activation energy (eV) of Si(1−x)Ge(x) epitaxy: linear between Si and Ge end points."""
    x = np.asarray(ge_fraction, dtype=float)
    if np.any((x < 0) | (x > 1)):
        raise InputError("Ge fraction must be in [0, 1]")
    return (1.0 - x) * SIGE_EA_SI_EV + x * SIGE_EA_GE_EV


def sige_growth_rate_nm_min(temperature_c: np.ndarray | float, ge_fraction: np.ndarray | float) -> np.ndarray:
    """Epitaxial Si(1−x)Ge(x) growth rate, nm/min (vectorised over temperature and Ge fraction)."""
    kin = arrhenius_rate(temperature_c, SIGE_RATE_REF_NM_MIN, SIGE_T_REF_C, sige_activation_ev(ge_fraction))
    return series_limited_rate(kin, SIGE_TRANSPORT_LIMIT_NM_MIN)


def sige_epi_time_min(
    thickness_nm: np.ndarray | float,
    temperature_c: np.ndarray | float,
    ge_fraction: np.ndarray | float,
    overhead_min: float = SIGE_OVERHEAD_MIN,
) -> np.ndarray:
    """Minutes per wafer (one chamber) to grow ``thickness_nm`` of SiGe, including per-wafer overhead."""
    thickness = np.asarray(thickness_nm, dtype=float)
    if np.any(thickness < 0):
        raise InputError("thickness must be >= 0 nm")
    return thickness / sige_growth_rate_nm_min(temperature_c, ge_fraction) + overhead_min


# --- CVD presets ---
CVD_PROCESSES: dict[str, ThermalGrowth] = {
    # PECVD: plasma-driven, weak temperature dependence (Ea = 0 here).
    "pecvd_teos_oxide": ThermalGrowth(
        "pecvd_teos_oxide",
        300.0,
        400.0,
        0.0,
        math.inf,
        1.0,
        "order-of-magnitude PECVD TEOS oxide rate (hundreds of nm/min); fabscope estimate",
        "estimate",
    ),
    "pecvd_nitride": ThermalGrowth(
        "pecvd_nitride",
        100.0,
        400.0,
        0.0,
        math.inf,
        1.0,
        "order-of-magnitude PECVD SiN rate; fabscope estimate",
        "estimate",
    ),
    # 3D NAND oxide/nitride stack: alternating PECVD layers in one chamber run (rate incl. gas switching).
    "pecvd_on_stack": ThermalGrowth(
        "pecvd_on_stack",
        150.0,
        450.0,
        0.0,
        math.inf,
        3.0,
        "fabscope estimate (effective rate of an alternating oxide/nitride PECVD stack incl. switching)",
        "estimate",
    ),
    # LPCVD nitride (SiH2Cl2/NH3), surface-reaction limited: Ea ≈ 1.8 eV and a few nm/min at ~780 °C.
    "lpcvd_nitride": ThermalGrowth(
        "lpcvd_nitride",
        3.0,
        780.0,
        1.8,
        50.0,
        0.0,
        "textbook-range LPCVD Si3N4 kinetics; fabscope estimate",
        "estimate",
    ),
}


def cvd_time_min(
    thickness_nm: np.ndarray | float,
    process: ThermalGrowth | str,
    temperature_c: np.ndarray | float | None = None,
) -> np.ndarray:
    """Minutes per wafer (one chamber) for a CVD film of ``thickness_nm`` (vectorised)."""
    proc = CVD_PROCESSES[process] if isinstance(process, str) else process
    temp = proc.temperature_ref_c if temperature_c is None else temperature_c
    thickness = np.asarray(thickness_nm, dtype=float)
    if np.any(thickness < 0):
        raise InputError("thickness must be >= 0 nm")
    return thickness / proc.rate_nm_min(temp) + proc.overhead_min


# --- ALD ---


@dataclass(frozen=True)
class AldProcess:
    """An ALD process: growth per cycle (nm/cycle), cycle time (s: both pulses and purges), overhead (min)."""

    name: str
    growth_per_cycle_nm: float
    cycle_time_s: float
    overhead_min: float
    source: str
    flag: str


ALD_PROCESSES: dict[str, AldProcess] = {
    # TMA/H2O Al2O3: GPC ≈ 0.1 nm/cycle (≈ 1 Å; Puurunen, J. Appl. Phys. 97, 121301 (2005), review).
    "al2o3_tma_h2o": AldProcess(
        "al2o3_tma_h2o",
        0.1,
        4.0,
        2.0,
        "GPC: Puurunen, J. Appl. Phys. 97, 121301 (2005); cycle time and overhead: fabscope estimates",
        "estimate",
    ),
    "hfo2_hfcl4_h2o": AldProcess(
        "hfo2_hfcl4_h2o", 0.08, 5.0, 2.0, "fabscope estimate (GPC below one monolayer per cycle)", "estimate"
    ),
    "tin_ticl4_nh3": AldProcess("tin_ticl4_nh3", 0.03, 6.0, 2.0, "fabscope estimate", "estimate"),
    "sio2_peald": AldProcess("sio2_peald", 0.1, 3.0, 2.0, "fabscope estimate", "estimate"),
}


def ald_cycles(thickness_nm: np.ndarray | float, growth_per_cycle_nm: float) -> np.ndarray:
    """Number of ALD cycles to reach at least ``thickness_nm`` (integer-valued array)."""
    if growth_per_cycle_nm <= 0:
        raise InputError("growth per cycle must be > 0 nm")
    thickness = np.asarray(thickness_nm, dtype=float)
    if np.any(thickness < 0):
        raise InputError("thickness must be >= 0 nm")
    return np.ceil(thickness / growth_per_cycle_nm - 1e-9)


def ald_time_min(thickness_nm: np.ndarray | float, process: AldProcess | str) -> np.ndarray:
    """Minutes per wafer (one chamber) for an ALD film of ``thickness_nm``: cycles × cycle time + overhead."""
    proc = ALD_PROCESSES[process] if isinstance(process, str) else process
    return ald_cycles(thickness_nm, proc.growth_per_cycle_nm) * proc.cycle_time_s / 60.0 + proc.overhead_min
