"""Cost per million tokens from capex, power price and amortisation.

    cost per hour  = capex / (amortisation_years * 8760 h) + power_kw * usd_per_kwh  (+ other opex share)
    tokens per hour = tokens/s of the whole system * 3600 * utilisation
    USD per 1M tokens = cost per hour / tokens per hour * 1e6

Defaults are assumptions (flag `estimate`), not market quotes: override them.
"""

from __future__ import annotations

from typing import Any

from fabscope.errors import InputError
from hardware_sim.accelerators.power import system_record

# Electricity price, USD/kWh: US industrial average ~0.08 (EIA, 2024); China industrial tariffs ~0.6-0.7 CNY
# (~0.09 USD). Assumption.
DEFAULT_USD_PER_KWH = 0.08
# Depreciation life of AI accelerators, years: hyperscalers depreciate servers over 4-6 years; 4 is the
# conservative end. Assumption.
DEFAULT_AMORTISATION_YEARS = 4.0
# Average fraction of wall-clock time spent serving at the modelled throughput. Assumption.
DEFAULT_UTILISATION = 0.7
# Non-power opex (space, staff, maintenance, network) per year as a fraction of capex. Assumption.
DEFAULT_OTHER_OPEX_FRACTION = 0.05
HOURS_PER_YEAR = 8760.0


def cost_per_million_tokens(
    tokens_per_s: float,
    capex_usd: float,
    power_kw: float,
    usd_per_kwh: float = DEFAULT_USD_PER_KWH,
    amortisation_years: float = DEFAULT_AMORTISATION_YEARS,
    utilisation: float = DEFAULT_UTILISATION,
    other_opex_fraction: float = DEFAULT_OTHER_OPEX_FRACTION,
) -> dict[str, float]:
    """USD per million tokens for a system producing ``tokens_per_s`` (whole system) at ``power_kw``.

    Returns ``usd_per_mtok`` and the hourly parts ``capex_usd_per_h``, ``power_usd_per_h``, ``opex_usd_per_h``.
    """
    if tokens_per_s <= 0 or amortisation_years <= 0 or not 0 < utilisation <= 1:
        raise InputError("tokens_per_s and amortisation_years must be > 0 and utilisation in (0, 1]")
    capex_h = capex_usd / (amortisation_years * HOURS_PER_YEAR)
    power_h = power_kw * usd_per_kwh
    opex_h = capex_usd * other_opex_fraction / HOURS_PER_YEAR
    tokens_h = tokens_per_s * 3600.0 * utilisation
    return {
        "usd_per_mtok": (capex_h + power_h + opex_h) / tokens_h * 1e6,
        "capex_usd_per_h": capex_h,
        "power_usd_per_h": power_h,
        "opex_usd_per_h": opex_h,
    }


def serving_cost(result: dict[str, Any], **overrides: float) -> dict[str, Any] | None:
    """Cost per million tokens for a :func:`hardware_sim.llm.serve` result, using the system's catalog capex
    and modelled facility power; None when the system has no capex figure. ``overrides`` go to
    :func:`cost_per_million_tokens` (``capex_usd`` replaces the catalog figure)."""
    rec = system_record(result["system"])
    capex = overrides.pop("capex_usd", rec["capex_usd"])
    if capex is None:
        return None
    tps_system = result["tokens_per_s_per_chip"] * rec["chips"]
    out = cost_per_million_tokens(tps_system, capex, rec["power_kw"], **overrides)
    out["capex_usd"] = capex
    out["assumptions"] = (
        "capex from the catalog (estimate); power price, amortisation and utilisation are defaults"
    )
    return out
