"""Domestic (Chinese) etch and deposition tool supply from vendor revenue, against fab tool demand.

Shipments per vendor, year and tool type (tools per year; flag ``estimate``)::

    tools = revenue_usd_b × 1000 × split[vendor][tool type] ÷ ASP_usd_m[tool type]

with revenue from ``equipment_vendors`` (``segment = total_revenue``; CNY converted at the caller's annual
CNY-per-USD rates — the pipelines pass their one FX table, ``pipelines.sources.fx.FX_ANCHORS``),
the vendor's revenue split by tool type (:data:`REVENUE_SPLIT`) and the average selling price per tool
(USD million; by default the list price per tool type in ``process_flows.yaml``). Years after a vendor's last
reported revenue grow it at :data:`REVENUE_GROWTH` per year.

:func:`supply_vs_demand` sets these against ``tool_demand`` rows: new tools per year (increase of the
fractional tool count over the previous year), the domestic part of them (× domestic share of the tool type),
the domestic tools supplyable, ``coverage = supply ÷ domestic demand`` and ``gap = domestic demand − supply``.
Pure functions; NumPy only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from fabscope.errors import DataError, InputError
from hardware_sim.fab.tool_counts import finite_or_none

#: Share of each vendor's *total* revenue that comes from new tools of each tool type (fractions of revenue;
#: tool types as in process_flows.yaml). The rest (other tools, components, services) is not counted.
REVENUE_SPLIT: dict[str, dict[str, float]] = {
    # AMEC: "~75% etch" of 2023 revenue (fabscope reference hardware.md; equipment_vendors.csv notes).
    # The remainder is mainly MOCVD (LED/power compound semis), not a tool type of the silicon flows.
    "AMEC": {"dry_etch": 0.75},
    # Naura: semiconductor equipment ≈ 60% of 2023 total sales (TechInsights via Asia Times/MENAFN,
    # "China's Naura Rising To The Chip-Making Equipment Challenge", 2025). The split *within* it is a
    # fabscope assumption: etch 30%, deposition 40% (CVD 15, PVD 15, ALD 5, epi 5), thermal/clean/other 30%
    # — i.e. 0.60 × those shares of total revenue. Flag: estimate.
    "Naura": {"dry_etch": 0.18, "cvd": 0.09, "pvd": 0.09, "ald": 0.03, "epi": 0.03},
}
REVENUE_SPLIT_SOURCE: dict[str, str] = {
    "AMEC": "AMEC ~75% of revenue from etch (fabscope reference hardware.md, AMEC 2023 annual report); estimate",
    "Naura": "Naura semi equipment ~60% of sales (TechInsights via Asia Times, 2023); split within it: "
    "fabscope assumption (etch 30%, CVD 15%, PVD 15%, ALD 5%, epi 5%); estimate",
}

#: Revenue growth per year after a vendor's last reported year (fraction). fabscope assumption, ``estimate``:
#: deliberately below the trailing growth in equipment_vendors.csv (Naura 2022→2024 CAGR ≈ 43%,
#: AMEC 2023→2024 ≈ 45%), which is unlikely to last.
REVENUE_GROWTH = 0.25

#: Tool types reported together as one group (rows with ``tool_type`` = the group name).
TOOL_GROUPS: dict[str, tuple[str, ...]] = {"deposition": ("cvd", "ald", "pvd", "epi")}

SOURCE = (
    "hardware_sim.fab.tool_supply: vendor revenue (equipment_vendors) × revenue split ÷ ASP per tool type, "
    "against tool_demand new tools × domestic share (estimate)"
)


def rate_for_year(units_per_usd: Mapping[int, float], year: int) -> float:
    """The rate of ``year`` from annual rates (units per USD): the latest year on or before it, else the
    earliest known year's."""
    if not units_per_usd:
        raise ValueError("no FX rates given")
    known = sorted(units_per_usd)
    y = min(max(year, known[0]), known[-1])
    return float(units_per_usd[max(k for k in known if k <= y)])


def vendor_revenue_usd_b(
    vendor_rows: Iterable[Mapping[str, Any]], cny_per_usd: Mapping[int, float] | None = None
) -> dict[str, dict[int, float]]:
    """Total revenue per vendor and year in USD billion from ``equipment_vendors`` rows.

    Uses ``revenue_usd_b`` when given, else ``revenue_local`` in CNY ÷ the year's rate of ``cny_per_usd``
    (annual CNY per USD; required as soon as a row is in CNY). Rows of other
    segments, without a figure, or in other currencies are ignored.
    """
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for r in vendor_rows:
        if str(r.get("segment") or "") != "total_revenue":
            continue
        year = finite_or_none(r.get("year"))
        usd = finite_or_none(r.get("revenue_usd_b"))
        if usd is None and str(r.get("currency") or "").upper() == "CNY":
            local = finite_or_none(r.get("revenue_local"))
            if local is not None and year is not None and cny_per_usd is None:
                raise ValueError(
                    f"equipment_vendors: {r.get('vendor')} reports CNY revenue; pass cny_per_usd rates"
                )
            usd = (
                None if local is None or year is None else local / rate_for_year(cny_per_usd or {}, int(year))
            )
        if usd is None or year is None:
            continue
        if usd < 0:
            raise DataError(f"equipment_vendors: negative revenue for {r.get('vendor')} {int(year)}: {usd}")
        out[str(r["vendor"])][int(year)] = usd
    return dict(out)


def projected_revenue(
    reported: Mapping[int, float], year: int, growth: float = REVENUE_GROWTH
) -> tuple[float, str] | None:
    """Revenue (USD billion) in ``year`` and its basis (``reported`` or ``projected``), or None before the first
    reported year / in a gap between reported years. After the last reported year: last × (1 + growth)^Δyears."""
    if growth <= -1:
        raise InputError(f"growth must be > -1, got {growth}")
    if year in reported:
        return reported[year], "reported"
    if not reported or year < max(reported):
        return None
    last = max(reported)
    return reported[last] * (1.0 + growth) ** (year - last), "projected"


def shipments(
    revenue_usd_b: np.ndarray | float, split: np.ndarray | float, asp_usd_m: np.ndarray | float
) -> np.ndarray:
    """Tools per year = revenue (USD billion) × 1000 × split ÷ ASP (USD million per tool); vectorised."""
    asp = np.asarray(asp_usd_m, dtype=float)
    if np.any(asp <= 0):
        raise InputError("ASP per tool must be > 0 (USD million)")
    s = np.asarray(split, dtype=float)
    if np.any((s < 0) | (s > 1)):
        raise InputError("revenue split must be in [0, 1]")
    return np.asarray(revenue_usd_b, dtype=float) * 1000.0 * s / asp


def vendor_shipments(
    vendor_rows: Iterable[Mapping[str, Any]],
    asp_usd_m_by_tool: Mapping[str, float],
    years: Iterable[int],
    *,
    splits: Mapping[str, Mapping[str, float]] = REVENUE_SPLIT,
    growth: float = REVENUE_GROWTH,
    cny_per_usd: Mapping[int, float] | None = None,
) -> list[dict[str, Any]]:
    """Rows ``vendor, year, tool_type, revenue_usd_b, split, asp_usd_m, tools, basis`` for every vendor in
    ``splits`` with revenue in that year (reported or projected). A vendor without any revenue row raises."""
    revenue = vendor_revenue_usd_b(vendor_rows, cny_per_usd)
    out = []
    for vendor, split in splits.items():
        if vendor not in revenue:
            raise DataError(
                f"equipment_vendors: no total_revenue row for vendor '{vendor}' (needed by the split)"
            )
        if sum(split.values()) > 1 + 1e-9:
            raise DataError(f"revenue split of '{vendor}' sums to {sum(split.values())} > 1")
        for year in sorted(set(years)):
            rev = projected_revenue(revenue[vendor], year, growth)
            if rev is None:
                continue
            for tool_type, share in split.items():
                if tool_type not in asp_usd_m_by_tool:
                    raise DataError(f"no ASP for tool type '{tool_type}' (split of '{vendor}')")
                asp = float(asp_usd_m_by_tool[tool_type])
                out.append(
                    {
                        "vendor": vendor,
                        "year": year,
                        "tool_type": tool_type,
                        "revenue_usd_b": rev[0],
                        "split": share,
                        "asp_usd_m": asp,
                        "tools": float(shipments(rev[0], share, asp)),
                        "basis": rev[1],
                    }
                )
    return out


def new_tools_by_year(
    demand_rows: Iterable[Mapping[str, Any]],
) -> dict[tuple[int, str], tuple[float, float | None]]:
    """(year, tool_type) → (new tools, domestic share). New tools = ``tools_new`` if the row has it, else the
    increase of ``count`` over the tool type's previous year (floored at 0; the first year counts in full)."""
    by_type: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in demand_rows:
        by_type[str(r["tool_type"])].append(r)
    out = {}
    for t, rs in by_type.items():
        previous = 0.0
        for r in sorted(rs, key=lambda r: int(r["year"])):
            count = finite_or_none(r.get("count")) or 0.0
            new = finite_or_none(r.get("tools_new"))
            out[(int(r["year"]), t)] = (
                max(0.0, count - previous) if new is None else new,
                finite_or_none(r.get("domestic_share")),
            )
            previous = count
    return out


def _row(
    year: int,
    tool_type: str,
    new: float,
    domestic: float | None,
    supply: float,
    vendors: str,
    basis: str,
    notes: str = "",
) -> dict[str, Any]:
    return {
        "year": year,
        "tool_type": tool_type,
        "tools_new": new,
        "domestic_share": None if domestic is None or new <= 0 else domestic / new,
        "domestic_tools_new": domestic,
        "domestic_supply": supply,
        "coverage": None if not domestic else supply / domestic,
        "gap": None if domestic is None else domestic - supply,
        "supply_basis": basis,
        "vendors": vendors,
        "source": SOURCE,
        "flag": "estimate",
        "notes": notes,
    }


def supply_vs_demand(
    demand_rows: Iterable[Mapping[str, Any]],
    vendor_rows: Iterable[Mapping[str, Any]],
    asp_usd_m_by_tool: Mapping[str, float],
    *,
    splits: Mapping[str, Mapping[str, float]] = REVENUE_SPLIT,
    growth: float = REVENUE_GROWTH,
    groups: Mapping[str, tuple[str, ...]] = TOOL_GROUPS,
    cny_per_usd: Mapping[int, float] | None = None,
) -> list[dict[str, Any]]:
    """Per year and tool type supplied by a domestic vendor: new tools demanded (tools/year), domestic tools
    demanded (× domestic share; None if the share is unknown), domestic tools supplyable (tools/year),
    ``coverage`` = supply ÷ domestic demand (None when that is 0/unknown) and ``gap`` = domestic demand − supply.

    Only years in which every vendor of ``splits`` has (reported or projected) revenue are returned, plus one
    row per group of ``groups`` (e.g. ``deposition`` = cvd + ald + pvd + epi; members with unknown domestic share
    are left out of the group's demand and supply alike and named in ``notes``).
    """
    demand = new_tools_by_year(demand_rows)
    years = sorted({y for y, _ in demand})
    ships = vendor_shipments(
        vendor_rows, asp_usd_m_by_tool, years, splits=splits, growth=growth, cny_per_usd=cny_per_usd
    )
    supply: dict[tuple[int, str], float] = defaultdict(float)
    detail: dict[tuple[int, str], list[str]] = defaultdict(list)
    basis: dict[tuple[int, str], set[str]] = defaultdict(set)
    vendors_by_year: dict[int, set[str]] = defaultdict(set)
    for s in ships:
        key = (s["year"], s["tool_type"])
        supply[key] += s["tools"]
        detail[key].append(f"{s['vendor']} {s['tools']:.1f}")
        basis[key].add(s["basis"])
        vendors_by_year[s["year"]].add(s["vendor"])
    supplied_types = sorted({t for split in splits.values() for t, v in split.items() if v > 0})
    out = []
    for y in years:
        if vendors_by_year[y] != set(splits):
            continue
        per_type = {}
        for t in supplied_types:
            new, share = demand.get((y, t), (0.0, None))
            domestic = None if share is None else new * share
            b = "projected" if "projected" in basis[(y, t)] else "reported"
            per_type[t] = _row(y, t, new, domestic, supply[(y, t)], "; ".join(detail[(y, t)]), b)
            out.append(per_type[t])
        for name, members in groups.items():
            rows = [per_type[m] for m in members if m in per_type]
            if not rows:
                continue
            unknown = [r["tool_type"] for r in rows if r["domestic_tools_new"] is None]
            rows = [r for r in rows if r["domestic_tools_new"] is not None]
            if not rows:
                continue
            out.append(
                _row(
                    y,
                    name,
                    sum(r["tools_new"] for r in rows),
                    sum(r["domestic_tools_new"] for r in rows),
                    sum(r["domestic_supply"] for r in rows),
                    "; ".join(f"{r['tool_type']}: {r['vendors']}" for r in rows),
                    "projected" if any(r["supply_basis"] == "projected" for r in rows) else "reported",
                    f"sum of {'+'.join(r['tool_type'] for r in rows)}"
                    + (f"; left out (no domestic share): {', '.join(unknown)}" if unknown else ""),
                )
            )
    return out
