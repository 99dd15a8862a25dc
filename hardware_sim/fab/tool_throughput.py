"""Wafers per hour of a process tool from process time, overheads, chambers and uptime.

A cluster tool has ``chambers`` identical process chambers fed by one wafer-handling robot. While the
tool is up, each chamber completes a wafer every ``process + pump-down + clean/wafers_per_clean``
minutes; the robot can move at most one wafer per ``transfer_s`` seconds. The tool's rate is the smaller
of the two (a two-resource bottleneck). Availability (uptime) is applied separately so the fab model
can keep uptime and utilisation as explicit, named factors.

Units: minutes for process steps, seconds for robot transfer, wafers per hour (wph) for rates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fabscope.errors import InputError

# Defaults: order-of-magnitude estimates for single-wafer vacuum cluster tools (flag `estimate`):
DEFAULT_TRANSFER_S = 30.0  # estimate: robot swap + load-lock cycle per wafer
DEFAULT_PUMP_DOWN_MIN = 0.5  # estimate: chamber pump/purge and gas stabilisation per wafer
DEFAULT_CLEAN_MIN = 1.0  # estimate: waferless plasma clean...
DEFAULT_WAFERS_PER_CLEAN = 1.0  # ...after every wafer (typical of high-aspect-ratio etch)


@dataclass(frozen=True)
class ToolThroughput:
    """Throughput of one tool. Rates in wafers per hour; ``limited_by`` is ``chambers`` or ``transfer``."""

    chamber_wph: float
    transfer_wph: float
    wafers_per_hour: float  # while up
    effective_wafers_per_hour: float  # × uptime
    limited_by: str


def wafers_per_hour(
    process_min: np.ndarray | float,
    chambers: np.ndarray | float = 1,
    transfer_s: np.ndarray | float = DEFAULT_TRANSFER_S,
    pump_down_min: np.ndarray | float = DEFAULT_PUMP_DOWN_MIN,
    clean_min: np.ndarray | float = DEFAULT_CLEAN_MIN,
    wafers_per_clean: np.ndarray | float = DEFAULT_WAFERS_PER_CLEAN,
) -> np.ndarray:
    """Wafers per hour of a tool while it is up (vectorised over all arguments).

    ``min(chambers × 60 / (process + pump_down + clean / wafers_per_clean), 3600 / transfer_s)``.
    """
    process = np.asarray(process_min, dtype=float)
    if np.any(process < 0) or np.any(np.asarray(chambers) <= 0) or np.any(np.asarray(wafers_per_clean) <= 0):
        raise InputError("process time must be >= 0; chambers and wafers_per_clean must be > 0")
    cycle_min = (
        process
        + np.asarray(pump_down_min, dtype=float)
        + np.asarray(clean_min, dtype=float) / wafers_per_clean
    )
    chamber_rate = np.asarray(chambers, dtype=float) * 60.0 / cycle_min
    transfer = np.asarray(transfer_s, dtype=float)
    transfer_rate = np.where(transfer > 0, 3600.0 / np.where(transfer > 0, transfer, 1.0), np.inf)
    return np.minimum(chamber_rate, transfer_rate)


def tool_throughput(
    process_min: float,
    chambers: int = 1,
    uptime: float = 0.9,
    transfer_s: float = DEFAULT_TRANSFER_S,
    pump_down_min: float = DEFAULT_PUMP_DOWN_MIN,
    clean_min: float = DEFAULT_CLEAN_MIN,
    wafers_per_clean: float = DEFAULT_WAFERS_PER_CLEAN,
) -> ToolThroughput:
    """Throughput breakdown for one tool; ``uptime`` is the fraction of time the tool is available."""
    if not 0 < uptime <= 1:
        raise InputError(f"uptime must be in (0, 1], got {uptime}")
    chamber_rate = float(
        wafers_per_hour(process_min, chambers, 0.0, pump_down_min, clean_min, wafers_per_clean)
    )
    transfer_rate = 3600.0 / transfer_s if transfer_s > 0 else float("inf")
    rate = min(chamber_rate, transfer_rate)
    return ToolThroughput(
        chamber_wph=chamber_rate,
        transfer_wph=transfer_rate,
        wafers_per_hour=rate,
        effective_wafers_per_hour=rate * uptime,
        limited_by="chambers" if chamber_rate <= transfer_rate else "transfer",
    )


def multi_pass_throughput(total_process_min: float, passes: int, chambers: int = 1) -> ToolThroughput:
    """Throughput of a step a wafer takes in ``passes`` separate visits to the tool (wafers/hour, all visits).

    A 3D NAND channel hole of several decks is etched one deck at a time, with the next deck's stack
    deposited in between, so each deck is its own visit and pays the per-wafer pump-down, clean and robot
    transfer again: rate = (rate of one visit of ``total_process_min / passes`` minutes) / ``passes``.
    This is the rule :func:`hardware_sim.fab.process_flows.nand_flow` applies (one dry-etch pass per deck).
    Rates are while the tool is up; ``effective_wafers_per_hour`` uses the default uptime of
    :func:`tool_throughput`.
    """
    if passes < 1:
        raise ValueError(f"passes must be >= 1, got {passes}")
    one = tool_throughput(total_process_min / passes, chambers=chambers)
    return ToolThroughput(
        chamber_wph=one.chamber_wph / passes,
        transfer_wph=one.transfer_wph / passes,
        wafers_per_hour=one.wafers_per_hour / passes,
        effective_wafers_per_hour=one.effective_wafers_per_hour / passes,
        limited_by=one.limited_by,
    )
