"""System totals and a component power model (accelerators, HBM, host CPUs, switches, optics, NICs,
node overhead, power-supply loss, cooling via PUE).

Power is built up from the composition in systems.yaml and the per-component constants below, never
typed in per system. All constants are `estimate`s with the basis stated; docs/methodology-accelerators.md
compares the results with the published totals (hardware_sim.accelerators.validation).
"""

from __future__ import annotations

from typing import Any

from hardware_sim.accelerators.catalog import get_chip, get_system

# HBM interface + DRAM energy, pJ/bit at full bandwidth: O'Connor et al., "Fine-Grained DRAM", MICRO 2017,
# put HBM2 at ~3.9 pJ/bit. Used to split the chip TDP into logic and memory (the TDP includes the HBM).
HBM_PJ_PER_BIT = 3.9
# Scale-up switch energy per switched bit, pJ/bit: a 51.2 Tb/s switch ASIC draws < 500 W (Broadcom
# Tomahawk 5 class); with its share of tray fans, retimers and management ~700-900 W per 51.2 Tb/s
# (secondary estimators) -> 800 W / 51.2 Tb/s = 15.6 pJ/bit.
SWITCH_PJ_PER_BIT = 800.0 / 51.2e12 * 1e12
# Optical transceiver modules, W each. dsp-400g: NVIDIA MMA4Z00-NS400 / MMS4X00-NS400 400 Gb/s single-port
# OSFP transceivers (the ConnectX-7 end of a 400G link), 9 W maximum (8-9 W typical) -- reported, product
# specifications on docs.nvidia.com. 800G: linear-drive (LPO) ~8-9 W vs DSP-based ~14-16 W (public vendor
# examples summarised by secondary sources) -- estimate. lpo-400g: no stored datasheet gives a 400G LPO
# figure; the 400G DSP module scaled by the same LPO/DSP ratio as at 800G (8.5 / 15) = 5.1 W, in line with
# the LPO MSA's "about 50% less power" (as summarised by secondary sources) -- estimate.
OPTIC_W = {
    "none": 0.0,
    "lpo-800g": 8.5,
    "dsp-800g": 15.0,
    "dsp-400g": 9.0,
    "lpo-400g": 9.0 * 8.5 / 15.0,
}
# ConnectX-7 class NIC, W per 400 Gb/s NIC chip (one scale-out port, or one dual-port 2 x 200G card): ~25 W
# (estimate from adapter specs; no stored datasheet gives the figure).
NIC_W_PER_PORT = 25.0
# Per-node DRAM, storage, BMC, misc, W, where systems.yaml does not state the node's composition: estimate.
NODE_MISC_W = 200.0
# Where it does (fields dimms, nvme_drives, boot_drives, dpus, extra_nic_ports -- counts per system):
# board, BMC, onboard management NICs and fans' controllers per node, W: estimate (the part of NODE_MISC_W
# that is not DRAM or storage).
NODE_BOARD_W = 100.0
# DDR5 RDIMM (64 GB class) under load, W per module: estimate (~8-12 W; no stored datasheet figure).
DIMM_W = 10.0
# Enterprise U.2 / E1.S NVMe SSD, W per drive at full load: the 25 W top power class of those form factors
# -- estimate. M.2 boot drive: ~8 W -- estimate.
NVME_W = 25.0
BOOT_DRIVE_W = 8.0
# BlueField-3 DPU card, W: upper end of the 75-150 W range quoted for BlueField-3 cards (the compared
# system figures are maxima) -- estimate; no stored NVIDIA datasheet gives the figure.
DPU_W = 150.0
# Fans in air-cooled servers as a fraction of the electronics they cool: estimate (8-GPU HGX servers move
# ~1 kW of fan power at full load).
AIR_FAN_FRACTION = 0.08
# Power-supply efficiency: 80 PLUS Titanium requires >= 94% at 20% and 96% at 50% load; we take 94%.
PSU_EFFICIENCY = 0.94
# Facility PUE by cooling type: estimates for modern AI halls; the Uptime Institute 2024 survey's global
# average is ~1.56, liquid-cooled AI deployments report ~1.1-1.2.
PUE = {"liquid": 1.15, "air": 1.40}


def _scaleup_switched_bits_s(system_id: str) -> float:
    """Bits/s the scale-up switches must carry: chips x one-way bandwidth x (2 x tiers - 1) switch hops."""
    sysm = get_system(system_id)
    chip = get_chip(sysm.chip_id)
    tiers = float(sysm.value("scaleup_tiers")) if "scaleup_tiers" in sysm.figures else 1.0
    if sysm.scaleup_domain <= 1:
        return 0.0
    # tiers 0 = switchless full mesh (AMD Infinity Fabric 8-GPU platforms): no switch hops
    return sysm.n_chips * chip.scaleup_gbps_per_direction * 1e9 * 8.0 * max(2.0 * tiers - 1.0, 0.0)


def _count(s: Any, name: str) -> float:
    """Optional per-system count ``name`` from systems.yaml (0 when the entry does not state it)."""
    return float(s.value(name)) if name in s.figures else 0.0


_NODE_PARTS = ("dimms", "nvme_drives", "boot_drives")


def _node_misc_w(s: Any) -> float:
    """Node DRAM, storage and board power, W: from the stated composition (``dimms``, ``nvme_drives``,
    ``boot_drives``) plus ``NODE_BOARD_W`` per node, else ``NODE_MISC_W`` per node."""
    nodes = float(s.value("nodes"))
    if not any(k in s.figures for k in _NODE_PARTS):
        return nodes * NODE_MISC_W
    return (
        nodes * NODE_BOARD_W
        + _count(s, "dimms") * DIMM_W
        + _count(s, "nvme_drives") * NVME_W
        + _count(s, "boot_drives") * BOOT_DRIVE_W
    )


def power_breakdown_kw(system_id: str) -> dict[str, float]:
    """Component power of a system at full load, kW.

    Keys: ``accelerators`` (TDP minus HBM), ``hbm``, ``host_cpus``, ``scaleup_switches``, ``optics``,
    ``nics`` (scale-out and extra ports), ``dpus``, ``node_misc`` (DRAM, drives, board), ``fans``, ``psu_loss``, ``cooling`` (PUE - 1 times IT power).
    """
    s = get_system(system_id)
    chip = get_chip(s.chip_id)
    n = s.n_chips
    hbm_w = min(chip.hbm_tbps * 1e12 * 8.0 * HBM_PJ_PER_BIT * 1e-12, chip.tdp_w)
    parts = {
        "accelerators": n * (chip.tdp_w - hbm_w),
        "hbm": n * hbm_w,
        "host_cpus": float(s.value("host_cpus")) * float(s.value("host_cpu_w")),
        "scaleup_switches": _scaleup_switched_bits_s(system_id) * SWITCH_PJ_PER_BIT * 1e-12,
        "optics": float(s.value("scaleup_optics")) * OPTIC_W[str(s.value("scaleup_optic_kind"))]
        + float(s.value("scaleout_optics")) * OPTIC_W[str(s.value("scaleout_optic_kind"))],
        "nics": (float(s.value("scaleout_optics")) + _count(s, "extra_nic_ports")) * NIC_W_PER_PORT,
        "dpus": _count(s, "dpus") * DPU_W,
        "node_misc": _node_misc_w(s),
    }
    cooling = str(s.value("cooling"))
    electronics = sum(parts.values())
    parts["fans"] = electronics * AIR_FAN_FRACTION if cooling == "air" else 0.0
    before_psu = electronics + parts["fans"]
    parts["psu_loss"] = before_psu / PSU_EFFICIENCY - before_psu
    it = before_psu + parts["psu_loss"]
    parts["cooling"] = it * (PUE[cooling] - 1.0)
    return {k: v / 1e3 for k, v in parts.items()}


def system_record(system_id: str) -> dict[str, Any]:
    """Flat record with the CONTRACT ``sim system`` keys plus extras.

    ``chips`` (count), ``bf16_pflops`` (PFLOP/s dense), ``hbm_tb`` (TB), ``hbm_tbps`` (TB/s),
    ``scaleup_tbps`` (TB/s, both directions summed over all chips), ``power_kw`` (facility kW incl. cooling),
    ``pflops_per_kw``, ``power_breakdown_kw``; extras: ``chip``, ``it_power_kw``, ``pue``, ``fp8_pflops``,
    ``int8_pops``, ``scaleup_tbps_per_direction``, ``scaleup_domain``, ``capex_usd``, ``sources``, ``flag``.
    """
    s = get_system(system_id)
    chip = get_chip(s.chip_id)
    n = s.n_chips
    breakdown = power_breakdown_kw(system_id)
    total = sum(breakdown.values())
    it = total - breakdown["cooling"]
    fp8 = chip.value("fp8_tflops")
    int8 = chip.value("int8_tops")
    bf16_pflops = n * chip.bf16_tflops / 1e3
    return {
        "id": s.id,
        "chips": n,
        "bf16_pflops": bf16_pflops,
        "hbm_tb": n * chip.hbm_gb / 1e3,
        "hbm_tbps": n * chip.hbm_tbps,
        "scaleup_tbps": n * chip.scaleup_gbps_per_direction * 2.0 / 1e3,
        "power_kw": total,
        "pflops_per_kw": bf16_pflops / total,
        "power_breakdown_kw": breakdown,
        "chip": chip.id,
        "name": s.name,
        "vendor": s.vendor,
        "it_power_kw": it,
        "pue": float(total / it),
        "cooling": str(s.value("cooling")),
        "fp8_pflops": None if fp8 is None else n * fp8 / 1e3,
        "int8_pops": None if int8 is None else n * int8 / 1e3,
        "scaleup_tbps_per_direction": n * chip.scaleup_gbps_per_direction / 1e3,
        "scaleup_domain": s.scaleup_domain,
        "host_cpus": int(s.value("host_cpus")),
        "racks": float(s.value("racks")) if "racks" in s.figures else None,
        "capex_usd": float(s.value("capex_usd")) if "capex_usd" in s.figures else None,
        "sources": sorted(set(s.sources.values()) | set(chip.sources.values())),
        "flag": "estimate",  # power is always modelled
        "notes": {k: f.note for k, f in s.figures.items() if f.note},
    }
