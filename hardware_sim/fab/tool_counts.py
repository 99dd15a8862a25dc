"""Fab tool counts and capex from process flows, and tool demand per year from fab capacity.

Tool count per tool type (first principles; flag ``estimate``)::

    tools = WSPM × Σ(passes × hours per pass) ÷ (720 h × uptime × utilisation)

where hours per pass = 1 / (wafers per hour of one tool while up). Installed tools are the count rounded
up. Capex = Σ installed tools × list price per tool.

Tool demand (:func:`tool_demand_rows`) maps each ``fab_capacity`` row to a process flow (see
:func:`flow_for_capacity_row` for the mapping), sums tools per year and tool type, and attaches the
domestic-supplier share of each tool type. Units: WSPM = wafer starts per month (300 mm), counts in
tools, capex in USD (``_usd_m`` millions, ``_usd_b`` billions).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fabscope.errors import InputError
from hardware_sim.fab.process_flows import (
    ProcessFlow,
    default_uptime,
    default_utilisation,
    get_flow,
    hours_per_month,
    tool_types,
)


@dataclass(frozen=True)
class ToolCount:
    """Tools of one type for a flow at a given WSPM."""

    type: str
    count: int  # installed tools (rounded up)
    count_exact: float  # fractional tools the load needs
    passes_per_wafer: float
    wafers_per_hour: float  # per tool while up, pass-weighted over the flow's steps
    capex_usd_m: float  # installed tools × list price


def _check_factors(uptime: float, utilisation: float) -> None:
    if not (0 < uptime <= 1 and 0 < utilisation <= 1):
        raise InputError(f"uptime and utilisation must be in (0, 1], got {uptime}, {utilisation}")


def tools_needed(
    wspm: np.ndarray | float,
    tool_hours_per_wafer: np.ndarray | float,
    uptime: float | None = None,
    utilisation: float | None = None,
) -> np.ndarray:
    """Fractional tools: WSPM × tool-hours per wafer ÷ (720 × uptime × utilisation) (vectorised)."""
    up = default_uptime() if uptime is None else uptime
    util = default_utilisation() if utilisation is None else utilisation
    _check_factors(up, util)
    w = np.asarray(wspm, dtype=float)
    if np.any(w < 0):
        raise InputError("WSPM must be >= 0")
    return w * np.asarray(tool_hours_per_wafer, dtype=float) / (hours_per_month() * up * util)


def fab_tool_counts(
    flow: ProcessFlow | str, wspm: float, uptime: float | None = None, utilisation: float | None = None
) -> list[ToolCount]:
    """Tools per tool type for ``wspm`` wafer starts per month on ``flow``."""
    f = get_flow(flow) if isinstance(flow, str) else flow
    prices = tool_types()
    out = []
    for t in f.tool_types():
        exact = float(tools_needed(wspm, f.tool_hours_per_wafer(t), uptime, utilisation))
        installed = math.ceil(exact - 1e-9)
        out.append(
            ToolCount(
                t, installed, exact, f.passes(t), f.wafers_per_hour(t), installed * prices[t].capex_usd_m
            )
        )
    return out


def fab_summary(
    flow_id: str, wspm: float, uptime: float | None = None, utilisation: float | None = None
) -> dict[str, Any]:
    """JSON-ready result of ``fabscope sim fab``: tools, totals, capex and provenance."""
    flow = get_flow(flow_id)
    counts = fab_tool_counts(flow, wspm, uptime, utilisation)
    capex_m = sum(c.capex_usd_m for c in counts)
    types = tool_types()
    return {
        "process": flow.id,
        "name": flow.name,
        "wspm": wspm,
        "tools": [
            {
                "type": c.type,
                "count": c.count,
                "count_exact": round(c.count_exact, 3),
                "passes_per_wafer": c.passes_per_wafer,
                "wafers_per_hour": round(c.wafers_per_hour, 3),
                "capex_usd_m": c.capex_usd_m,
                "source": types[c.type].source,
                "flag": types[c.type].flag,
            }
            for c in counts
        ],
        "total_tools": sum(c.count for c in counts),
        "litho_passes": flow.litho_passes(),
        "capex_usd_b": capex_m / 1000.0,
        "capex_usd_b_per_10k_wspm": capex_m / 1000.0 / (wspm / 10_000.0) if wspm > 0 else None,
        "uptime": default_uptime() if uptime is None else uptime,
        "utilisation": default_utilisation() if utilisation is None else utilisation,
        "hours_per_month": hours_per_month(),
        "params": flow.params,
        "source": flow.source,
        "flag": "estimate",
    }


def tool_count_matrix(flow_ids: Sequence[str], wspm: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Fractional tool counts for many flows and WSPM values at once.

    Returns (tool types, array of shape ``(len(flow_ids), len(tool types), *wspm.shape)``).
    """
    flows = [get_flow(f) for f in flow_ids]
    types = sorted({t for f in flows for t in f.tool_types()})
    hours = np.array([[f.tool_hours_per_wafer(t) for t in types] for f in flows])
    w = np.asarray(wspm, dtype=float)
    return types, tools_needed(w[None, None, ...], hours.reshape(hours.shape + (1,) * w.ndim))


# --------------------------------------------------------------------------- capacity -> flow mapping

_CHINA = {"cn", "china", "prc", "mainland china"}
_AGGREGATE = re.compile(r"\b(total|all fabs|all sites)\b", re.IGNORECASE)
_ANALYST = re.compile(r"\[(.+?)\]")
_NAND_LAYERS = re.compile(r"(\d+)\s*-?\s*l(?:ayers?)?\b", re.IGNORECASE)

#: (product, node_class) → flow, for Chinese fabs (no EUV: 2019+ Dutch licence denial) and others.
#: ``mixed`` aggregates use the product's mature/typical flow. Every mapping is a fabscope assumption.
FLOW_MAP_CHINA: dict[tuple[str, str], str] = {
    ("logic", "28nm+"): "28nm-planar",
    ("logic", "14-16nm"): "14nm-finfet",
    ("logic", "7nm-class"): "7nm-duv-saqp",
    ("logic", "5nm-class"): "5nm-duv-smic",
    ("logic", "3nm-class"): "5nm-duv-smic",
    ("logic", "mixed"): "55nm-planar",
    ("specialty", "28nm+"): "55nm-planar",
    ("specialty", "mixed"): "55nm-planar",
    ("dram", "dram-1x"): "dram-1x",
    ("dram", "dram-1a"): "dram-1x",
    ("dram", "mixed"): "dram-1x",
    ("nand", "nand-1xx-layer"): "3dnand-128",
    ("nand", "nand-2xx-layer"): "3dnand-232",
    ("nand", "mixed"): "3dnand-128",
    ("hbm", "mixed"): "hbm-tsv",
}
#: Elsewhere EUV replaces the DUV multi-patterning flows: 7nm-class on the 7nm EUV flow, every finer logic
#: class on the 5nm EUV flow, DRAM 1a with EUV layers.
FLOW_MAP_OTHER: dict[tuple[str, str], str] = {
    **FLOW_MAP_CHINA,
    ("logic", "7nm-class"): "7nm-euv",
    **dict.fromkeys((("logic", n) for n in ("5nm-class", "3nm-class", "2nm-class")), "5nm-euv"),
    ("dram", "dram-1a"): "dram-1a-euv",
}


def is_china(country: str | None) -> bool:
    """True for the country codes/names used for mainland China."""
    return (country or "").strip().lower() in _CHINA


def flow_for_capacity_row(row: dict[str, Any]) -> str | None:
    """Process-flow id for a ``fab_capacity`` row, or None if (product, node_class) has no mapping.

    A NAND node class carrying a layer count (e.g. ``232L``) maps to ``3dnand-<layers>``.
    """
    product = str(row.get("product") or "").strip().lower()
    node = str(row.get("node_class") or "").strip()
    if product == "nand":
        m = _NAND_LAYERS.search(node)
        if m and int(m.group(1)) > 0:
            return f"3dnand-{int(m.group(1))}"
    table = FLOW_MAP_CHINA if is_china(row.get("country")) else FLOW_MAP_OTHER
    return table.get((product, node.lower()))


# --------------------------------------------------------------------------- tool demand


@dataclass(frozen=True)
class CapacityUse:
    """One capacity series' contribution in one year (after carry-forward and de-duplication)."""

    year: int
    company: str
    fab: str
    flow_id: str
    wspm: float
    note: str


@dataclass(frozen=True)
class ToolDemand:
    """Result of :func:`tool_demand`: warehouse rows, the capacity used, and the rows skipped (with why)."""

    rows: list[dict[str, Any]]
    used: list[CapacityUse]
    skipped: list[tuple[dict[str, Any], str]]


def finite_or_none(value: Any) -> float | None:
    """``value`` as a finite float, or None (blank cells, text, NaN, inf)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _choose_analyst_series(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[dict, str]]]:
    """Keep one of several competing analyst series for the same (company, product, node_class).

    Series are fabs labelled ``... [Analyst]``. Keep the one covering most years (ties: alphabetical label);
    the others are returned as skipped. Competing estimates are never summed or averaged.
    """
    groups: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    plain = []
    for r in rows:
        if _ANALYST.search(str(r.get("fab", ""))):
            groups[(r.get("company"), r.get("product"), r.get("node_class"))][str(r["fab"])].append(r)
        else:
            plain.append(r)
    skipped = []
    for series in groups.values():
        keep = sorted(series, key=lambda fab: (-len(series[fab]), fab))[0]
        plain.extend(series[keep])
        for fab, rs in series.items():
            if fab != keep:
                skipped.extend((r, f"competing analyst series; kept '{keep}'") for r in rs)
    return plain, skipped


def _capacity_by_year(
    rows: list[dict[str, Any]], years: list[int], carry_forward: bool
) -> dict[int, dict[tuple, dict[str, Any]]]:
    """For each year, the applicable row of each (company, fab, product, node_class) series."""
    series: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        series[(r["company"], r["fab"], r["product"], r["node_class"])].append(r)
    out: dict[int, dict[tuple, dict]] = {y: {} for y in years}
    for key, rs in series.items():
        rs = sorted(rs, key=lambda r: int(r["year"]))
        for y in years:
            past = (
                [r for r in rs if int(r["year"]) <= y]
                if carry_forward
                else [r for r in rs if int(r["year"]) == y]
            )
            if past:
                out[y][key] = past[-1]
    return out


def tool_demand(
    capacity: Iterable[dict[str, Any]],
    domestic_share: Mapping[str, float] | Callable[[int], Mapping[str, float]],
    scenario_id: str,
    *,
    china_only: bool = True,
    statuses: Sequence[str] = ("operating", "ramping"),
    carry_forward: bool = True,
    uptime: float | None = None,
    utilisation: float | None = None,
) -> ToolDemand:
    """Tools needed per year and tool type to run the capacity in ``capacity`` (``fab_capacity`` rows).

    Rules (each an explicit assumption, see docs/methodology-fab.md):

    * only Chinese fabs by default (the domestic share is a China statistic); ``china_only=False`` for all;
    * only rows whose ``status`` is in ``statuses`` (planned/under-construction capacity is not running);
    * 200 mm rows are skipped: 200 mm fabs run mature nodes on a separate, largely second-hand tool base
      that the 300 mm flows do not describe (converting them by area would misstate tool counts);
    * rows without a capacity figure are skipped; rows whose (product, node_class) has no flow are skipped;
    * competing analyst series (fab labelled ``[...]``) are not added up: one is kept;
    * with ``carry_forward`` a fab's latest figure applies to later years until a newer one;
    * an aggregate row (fab named ``... total ...``/``all fabs``/``all sites``) counts only the capacity
      above what that company's itemised rows of the same product already cover in that year.

    ``domestic_share`` is one share per tool type for every year, or a function giving the shares in force
    in a year (e.g. ``functools.partial(latest_domestic_share, reference_rows)``).

    Output rows: ``scenario_id, year, tool_type, count`` (fractional tools), ``domestic_share`` (that year's;
    None if unknown), ``domestic_count``, ``tools_installed`` (rounded up per fab and flow), ``tools_new`` (increase
    in ``count`` over the previous year, floored at 0), ``capex_usd_b`` (of the installed tools), ``wspm``
    (capacity behind the row), ``source``.
    """
    kept: list[dict[str, Any]] = []
    allowed = {s.lower() for s in statuses}
    in_scope = [dict(r) for r in capacity if not china_only or is_china(r.get("country"))]
    candidates, skipped = _choose_analyst_series(in_scope)
    for r in candidates:
        wspm, year = finite_or_none(r.get("capacity_wspm")), finite_or_none(r.get("year"))
        if year is None:
            skipped.append((r, "no year"))
        elif str(r.get("status", "")).lower() not in allowed:
            skipped.append((r, f"status '{r.get('status')}' not in {sorted(allowed)}"))
        elif wspm is None:
            skipped.append((r, "capacity not disclosed"))
        elif wspm < 0:
            skipped.append((r, "negative capacity"))
        elif finite_or_none(r.get("wafer_size_mm")) == 200:
            skipped.append((r, "200 mm fab: not modelled by the 300 mm flows"))
        elif flow_for_capacity_row(r) is None:
            skipped.append((r, f"no process flow for ({r.get('product')}, {r.get('node_class')})"))
        else:
            r["year"] = int(year)
            kept.append(r)
    years = sorted({r["year"] for r in kept})
    by_year = _capacity_by_year(kept, years, carry_forward)

    used: list[CapacityUse] = []
    for y in years:
        current = by_year[y]
        itemised: dict[tuple[str, str], float] = defaultdict(float)
        for r in current.values():
            if not _AGGREGATE.search(str(r["fab"])):
                itemised[(r["company"], r["product"])] += float(r["capacity_wspm"])
        for r in current.values():
            wspm = float(r["capacity_wspm"])
            note = f"row year {r['year']}"
            if _AGGREGATE.search(str(r["fab"])):
                covered = itemised[(r["company"], r["product"])]
                note += f"; aggregate less {covered:,.0f} WSPM itemised"
                wspm = max(0.0, wspm - covered)
            if wspm > 0:
                used.append(
                    CapacityUse(y, r["company"], r["fab"], flow_for_capacity_row(r) or "", wspm, note)
                )

    prices = tool_types()
    count: dict[tuple[int, str], float] = defaultdict(float)
    installed: dict[tuple[int, str], int] = defaultdict(int)
    wspm_behind: dict[tuple[int, str], float] = defaultdict(float)
    for u in used:
        for c in fab_tool_counts(u.flow_id, u.wspm, uptime, utilisation):
            count[(u.year, c.type)] += c.count_exact
            installed[(u.year, c.type)] += c.count
            wspm_behind[(u.year, c.type)] += u.wspm
    rows = []
    previous: dict[str, float] = {}
    shares_of_year = domestic_share if callable(domestic_share) else (lambda _year: domestic_share)
    for y, t in sorted(count):
        share = shares_of_year(y).get(t)
        n = count[(y, t)]
        rows.append(
            {
                "scenario_id": scenario_id,
                "year": y,
                "tool_type": t,
                "count": n,
                "domestic_share": share,
                "domestic_count": None if share is None else n * share,
                "tools_installed": installed[(y, t)],
                "tools_new": max(0.0, n - previous.get(t, 0.0)),
                "capex_usd_b": installed[(y, t)] * prices[t].capex_usd_m / 1000.0,
                "wspm": wspm_behind[(y, t)],
                "source": "hardware_sim.fab.tool_counts tool model on fab_capacity + process flows (estimate)",
            }
        )
        previous[t] = n
    return ToolDemand(rows, used, skipped)


def tool_demand_rows(
    capacity: list[dict],
    domestic_share: Mapping[str, float] | Callable[[int], Mapping[str, float]],
    scenario_id: str,
    **options: Any,
) -> list[dict]:
    """Rows for the ``tool_demand`` table (see :func:`tool_demand` for rules and extra columns)."""
    return tool_demand(capacity, domestic_share, scenario_id, **options).rows


def latest_domestic_share(rows: Iterable[dict[str, Any]], year: int | None = None) -> dict[str, float]:
    """Domestic share per tool type from ``tool_domestic_share`` rows: the latest year (≤ ``year`` if given)."""
    best: dict[str, tuple[int, float]] = {}
    for r in rows:
        y, share = finite_or_none(r.get("year")), finite_or_none(r.get("domestic_share"))
        if y is None or share is None or (year is not None and y > year):
            continue
        t = str(r["tool_type"])
        if t not in best or y > best[t][0]:
            best[t] = (int(y), share)
    return {t: s for t, (_, s) in best.items()}
