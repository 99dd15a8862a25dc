"""Structural substitution model: domestic supply against demand and allowed foreign supply.

For each segment and year, with arrays of shape (n_paths, n_years):

- ``ai_accelerators`` (H100-equivalents/year, H100e: decode serving throughput relative to an
  H100, from the simulator -- ``models.compute_equivalents``): domestic HBM-class accelerators
  come from SMIC advanced-node wafers (plus stockpiled foreign-made dies), die yield and HBM
  stacks, via ``hardware_sim.wafers.good_accelerators_per_month``, each worth the H100e of an
  Ascend 910B (1 die) / 910C (2 dies) package, times the simulator's decode gain for
  ``domestic_compute_uplift`` (a faster die on a newer node, same HBM);
  other domestic (non-HBM) cards are a separate, sourced stream at the Cambricon/Hygon ratio.
  Demand is the hyperscaler build-out D(t) = D0 * ((1 + g) * (1 - e))^(t - 2025) in H100e,
  where ``e`` is the yearly efficiency gain of cheaper models (e.g. DeepSeek's). Foreign
  supply is the volume the export-control regime allows (licensed, plus stockpiled units sold
  out of inventory in 2025) at the H20 ratio or, for the
  ``foreign_high_end_fraction`` of units, the H100 ratio; unmet demand then goes to the grey
  market (a fraction of it, up to the channel's capacity), to compute rented abroad, or is priced
  out, so demand moves the share. Unit counts are kept too
  (``unit_share``, ``domestic_units``, ``foreign_units``).
- ``hbm`` (stacks/month): demand is the HBM the domestic logic could use (logic-limited
  accelerators x stacks each); domestic supply is CXMT-class output; foreign supply is
  what the regime lets in (licensed, stockpiled).
- ``wfe`` (USD billions/year): demand is China's fab-equipment purchases; domestic supply
  is domestic vendors' revenue capacity; foreign vendors may supply ``foreign_wfe_access``
  of demand under the regime.

``allocate_share`` then splits demand: buyers first place ``foreign_preference`` of demand
with foreign vendors (up to what is allowed), domestic vendors serve the rest up to their
capacity, and foreign vendors fill any remaining gap up to the allowance. The domestic
share is domestic / (domestic + foreign) of what is actually delivered.

Every parameter is listed in ``PARAMETERS`` with its unit; its values, sources and flags
live in the scenario files (models/scenarios/*.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The year the scenario files' "base" values describe; growth compounds from here.
BASE_YEAR = 2025

SEGMENTS = ("ai_accelerators", "wfe", "hbm")


@dataclass(frozen=True)
class ParamSpec:
    """A structural-model parameter: unit, meaning and the values the model can use.

    Values live in scenario files; ``models.scenarios`` refuses a distribution whose support
    leaves [``low``, ``high``] (``low`` excluded when ``low_open``), so a typo cannot reach the
    model as a NaN (e.g. growth below -100%/year) or a simulator error (packaging yield > 1).
    """

    unit: str
    doc: str
    low: float | None = 0.0
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def domain_text(self) -> str:
        """The allowed range in words, e.g. ``[0, 1]``, ``[0, 1)`` or ``> -1``."""
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    def contains(self, lo: float, hi: float) -> bool:
        """Whether the interval [lo, hi] lies inside the domain (False for NaN)."""
        above = lo > self.low if self.low_open else lo >= self.low
        below = True if self.high is None else (hi < self.high if self.high_open else hi <= self.high)
        return bool(above and below)


def _fraction(doc: str) -> ParamSpec:
    return ParamSpec("fraction", doc, 0.0, 1.0)


def _growth(doc: str, unit: str = "1/year") -> ParamSpec:
    # (1 + g) ** tau must stay a positive number, also for years before BASE_YEAR.
    return ParamSpec(unit, doc, -1.0, None, low_open=True)


def _decline(doc: str) -> ParamSpec:
    # enters as (1 - d) ** tau: a yearly relative fall between 0 and 100%.
    return ParamSpec("1/year", doc, 0.0, 1.0)


PARAMETERS: dict[str, ParamSpec] = {
    # AI accelerators: demand
    "accelerator_demand_base": ParamSpec(
        "H100e/year", "China's accelerator demand in 2025, in H100-equivalents"
    ),
    "demand_growth": _growth("growth of compute demand (hyperscaler build-out)"),
    # enters as (1 - e) ** tau, also for years before BASE_YEAR: below 100%/year.
    "efficiency_gain": ParamSpec(
        "1/year",
        "yearly cut in accelerators needed per unit of AI service (cheaper models)",
        0.0,
        1.0,
        high_open=True,
    ),
    # AI accelerators: domestic logic supply
    "smic_advanced_wspm_base": ParamSpec("wafers/month", "SMIC <=7nm-class capacity in 2025"),
    "smic_advanced_growth": _growth("growth of SMIC advanced-node capacity"),
    "smic_advanced_wspm_cap": ParamSpec("wafers/month", "ceiling on SMIC advanced-node capacity"),
    "ai_logic_fraction": _fraction("share of advanced-node wafers used for AI accelerator dies"),
    "die_area_mm2": ParamSpec("mm^2", "area of one accelerator logic die", 0.0, None, low_open=True),
    "defect_density_per_cm2": ParamSpec("defects/cm^2", "defect density of the node in 2025"),
    "defect_learning": _decline("yearly relative fall in defect density"),
    "dies_per_accelerator": ParamSpec("dies", "logic dies per accelerator package", 0.0, None, low_open=True),
    "stacks_per_accelerator": ParamSpec(
        "stacks", "HBM stacks per accelerator package", 0.0, None, low_open=True
    ),
    "packaging_yield": _fraction("advanced-packaging yield"),
    # [1, 3]: the range of the simulator's decode-gain table (compute_equivalents.COMPUTE_FACTOR_GRID).
    "domestic_compute_uplift": ParamSpec(
        "x", "dense FLOP/s per domestic HBM-class die relative to the 910B/910C die", 1.0, 3.0
    ),
    "stockpiled_dies": ParamSpec("dies", "foreign-made logic dies stockpiled before the bans"),
    "stockpile_years": ParamSpec("years", "years over which the die stockpile is used, from 2025"),
    "other_domestic_accelerators_base": ParamSpec(
        "accelerators/year", "domestic non-HBM-limited cards in 2025"
    ),
    "other_domestic_growth": _growth("growth of the other domestic cards"),
    # AI accelerators: foreign
    "foreign_accelerators": ParamSpec(
        "accelerators/year", "licensed foreign accelerators: what the export regime lets in"
    ),
    "foreign_inventory_units": ParamSpec(
        "accelerators",
        "stockpiled foreign accelerators (bought before a licence rule) delivered out of inventory in 2025",
    ),
    "foreign_high_end_fraction": _fraction(
        "share of foreign units that are H100-class (H800/H200), not H20-class"
    ),
    "foreign_preference": _fraction("share of demand buyers place with foreign vendors when allowed"),
    # AI accelerators: where unmet demand goes (grey-market imports, rental abroad, priced out)
    "grey_market_accelerators": ParamSpec(
        "accelerators/year",
        "capacity of the grey-market channel: H100-class units a year that can reach China unlicensed",
    ),
    "grey_market_fraction": _fraction(
        "share of unmet demand (in H100e) that the grey-market channel serves, up to its capacity"
    ),
    "cloud_abroad_fraction": _fraction("share of the demand still unmet that rents compute hosted abroad"),
    # HBM
    "domestic_hbm_stacks_base": ParamSpec("stacks/month", "domestic (CXMT-class) HBM output in 2025"),
    "domestic_hbm_growth": _growth("growth of domestic HBM output"),
    "domestic_hbm_stacks_cap": ParamSpec("stacks/month", "ceiling on domestic HBM output"),
    "foreign_hbm_stacks_base": ParamSpec(
        "stacks/month", "foreign HBM available in 2025 (licensed or stockpiled)"
    ),
    "foreign_hbm_decline": _decline("yearly fall of the foreign HBM flow (stockpile run-down)"),
    "hbm_foreign_preference": _fraction("share of HBM demand placed with foreign suppliers when allowed"),
    # WFE
    "wfe_demand_base": ParamSpec("USD billions/year", "China's fab-equipment purchases in 2025"),
    "wfe_demand_growth": _growth("growth of China's fab-equipment purchases"),
    "domestic_wfe_base": ParamSpec("USD billions/year", "domestic equipment vendors' China revenue in 2025"),
    "domestic_wfe_growth": _growth("growth of domestic vendors' revenue capacity"),
    "foreign_wfe_access": _fraction("share of China's WFE demand foreign vendors may legally supply"),
    "wfe_foreign_preference": _fraction("share of WFE demand placed with foreign vendors when allowed"),
}


def allocate_share(
    demand: np.ndarray,
    domestic_capacity: np.ndarray,
    foreign_available: np.ndarray,
    foreign_preference: np.ndarray,
) -> dict[str, np.ndarray]:
    """Split demand between foreign and domestic supply; returns delivered volumes and share.

    All inputs broadcast together and share one unit (e.g. accelerators/year). Keys:
    ``foreign``, ``domestic``, ``unmet`` (same unit) and ``share`` = domestic / delivered,
    in [0, 1] (0 when nothing is delivered).
    """
    demand = np.maximum(demand, 0.0)
    foreign_available = np.maximum(foreign_available, 0.0)
    foreign_first = np.minimum(np.clip(foreign_preference, 0.0, 1.0) * demand, foreign_available)
    domestic = np.minimum(np.maximum(domestic_capacity, 0.0), demand - foreign_first)
    foreign_fill = np.minimum(foreign_available - foreign_first, demand - foreign_first - domestic)
    foreign = foreign_first + foreign_fill
    delivered = domestic + foreign
    return {
        "foreign": foreign,
        "domestic": domestic,
        "unmet": demand - delivered,
        "share": _ratio(domestic, delivered),
    }


def _ratio(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole clipped to [0, 1], 0 where whole is 0."""
    whole = np.asarray(whole)
    whole = whole if whole.dtype.kind == "f" else whole.astype(float)
    part, whole = np.broadcast_arrays(part, whole)
    out = np.divide(
        part, whole, out=np.zeros(whole.shape, dtype=np.result_type(part, whole)), where=whole > 0
    )
    return np.clip(out, 0.0, 1.0)


def _grow(base: np.ndarray, growth: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """base * (1 + growth) ** tau, as exp(tau * log1p(growth)) (cheaper than a power on arrays)."""
    return base * np.exp(tau * np.log1p(growth))


def simulate_supply(params: dict[str, np.ndarray], years: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Run the structural model on per-path, per-year parameters (arrays (n_paths, n_years)).

    Returns ``{segment: {"share", "domestic", "foreign", "unmet", "demand", ...}}`` with
    arrays (n_paths, n_years). For ``ai_accelerators`` ``share``, ``domestic``, ``foreign``,
    ``unmet`` and ``demand`` are in H100e/year; it also has ``hbm_binds`` (bool),
    ``hbm_class_domestic`` (accelerators/year from SMIC wafers + stockpiled dies),
    ``domestic_units``/``foreign_units`` (accelerators/year delivered, foreign incl. grey-market
    units) and ``unit_share``; ``grey_market`` (H100e/year imported outside the licence regime
    out of unmet demand, included in ``foreign``; ``grey_market_units`` in accelerators/year) and ``cloud_abroad`` (H100e/year of unmet demand
    rented abroad, outside the shares); ``unmet`` is what is left (priced out).
    """
    from hardware_sim.fab.wafers import good_accelerators_per_month  # the simulator's yield + HBM model
    from hardware_sim.fab.yield_ import die_yield, dies_per_wafer
    from models.compute_equivalents import DOMESTIC_HBM_CLASS_CHIP, decode_gain, h100e, stream_ratios

    ratios = stream_ratios()
    p = params
    # float32 parameters (the bench's fast path) keep the arithmetic in float32; the simulator's
    # yield call works in float64 and is cast back
    dt = np.result_type(*(np.asarray(v).dtype for v in p.values()), np.float32)
    tau = (np.asarray(years, dtype=dt) - dt.type(BASE_YEAR))[None, :]
    tau_pos = np.maximum(tau, 0.0)

    # --- accelerators: demand
    demand_acc = _grow(
        _grow(p["accelerator_demand_base"], p["demand_growth"], tau), -p["efficiency_gain"], tau
    )

    # --- domestic logic wafers and HBM
    smic = np.minimum(
        _grow(p["smic_advanced_wspm_base"], p["smic_advanced_growth"], tau), p["smic_advanced_wspm_cap"]
    )
    logic_wspm = smic * p["ai_logic_fraction"]
    defects = _grow(p["defect_density_per_cm2"], -p["defect_learning"], tau_pos)
    hbm_dom = np.minimum(
        _grow(p["domestic_hbm_stacks_base"], p["domestic_hbm_growth"], tau), p["domestic_hbm_stacks_cap"]
    )
    hbm_for = _grow(p["foreign_hbm_stacks_base"], -p["foreign_hbm_decline"], tau_pos)
    hbm_total = hbm_dom + hbm_for

    def accelerators(wspm: np.ndarray) -> dict[str, np.ndarray]:
        return good_accelerators_per_month(
            logic_wspm=wspm,
            die_area_mm2=p["die_area_mm2"],
            defect_density_per_cm2=defects,
            hbm_stacks_per_month=hbm_total,
            stacks_per_accelerator=p["stacks_per_accelerator"],
            dies_per_accelerator=p["dies_per_accelerator"],
            packaging_yield=p["packaging_yield"],
        )

    # Stockpiled (already tested) dies enter as the equivalent wafers at this year's good-dies-per-wafer.
    in_stockpile_window = np.clip(p["stockpile_years"] - tau, 0.0, 1.0) * (tau >= 0)
    stock_dies_month = (
        in_stockpile_window * p["stockpiled_dies"] / (12.0 * np.maximum(p["stockpile_years"], 1e-9))
    )
    # good dies per wafer from the simulator's own yield model (what good_accelerators_per_month uses)
    good_per_wafer = np.asarray(
        dies_per_wafer(p["die_area_mm2"]) * die_yield(p["die_area_mm2"], defects, "murphy"), dtype=dt
    )
    equiv_wspm = np.divide(
        stock_dies_month, good_per_wafer, out=np.zeros(good_per_wafer.shape, dt), where=good_per_wafer > 0
    )
    fab = accelerators(logic_wspm + equiv_wspm)
    hbm_class = 12.0 * np.asarray(fab["accelerators_per_month"], dtype=dt)
    other = _grow(p["other_domestic_accelerators_base"], p["other_domestic_growth"], tau)
    # H100e per unit: a package of d dies interpolates the 910B (1 die) and 910C (2 dies) ratios; a
    # faster die (newer node) gains what the simulator's decode roofline gives for its extra FLOP/s.
    r_910b, r_910c = h100e("ascend-910b"), h100e(DOMESTIC_HBM_CLASS_CHIP)
    r_package = r_910b + (p["dies_per_accelerator"] - 1.0) * (r_910c - r_910b)
    r_hbm_class = r_package * decode_gain(p["domestic_compute_uplift"])
    r_foreign = ratios["foreign_low_end"] + p["foreign_high_end_fraction"] * (
        ratios["foreign_high_end"] - ratios["foreign_low_end"]
    )
    domestic_h100e = hbm_class * r_hbm_class + other * ratios["other_domestic"]
    # Licensed imports plus stockpiled units sold out of inventory during BASE_YEAR (bought before
    # the April 2025 H20 rule) are the foreign supply buyers can place orders with.
    in_base_year = ((tau >= 0.0) & (tau < 1.0)).astype(dt)
    licensed_units = p["foreign_accelerators"]
    inventory_units = p["foreign_inventory_units"] * in_base_year
    acc = allocate_share(
        demand_acc, domestic_h100e, (licensed_units + inventory_units) * r_foreign, p["foreign_preference"]
    )
    # Unmet demand goes somewhere, so an embargo does not hand the market to domestic vendors
    # mechanically: a fraction ``grey_market_fraction`` of it is served by grey-market imports
    # (H100-class units, up to the channel's yearly capacity; delivered in China, so foreign in both
    # shares) -- the more demand is unmet, the more is smuggled -- then ``cloud_abroad_fraction`` of
    # the rest rents compute abroad (not delivered in China: reported, outside the shares); the rest
    # is priced out.
    r_grey = ratios["foreign_high_end"]
    unmet_first = np.maximum(acc["unmet"], 0.0)
    grey = np.minimum(p["grey_market_fraction"] * unmet_first, p["grey_market_accelerators"] * r_grey)
    acc["foreign"] = acc["foreign"] + grey
    unmet_after_grey = acc["unmet"] - grey
    cloud_abroad = p["cloud_abroad_fraction"] * np.maximum(unmet_after_grey, 0.0)
    acc["unmet"] = unmet_after_grey - cloud_abroad
    acc["share"] = _ratio(acc["domestic"], acc["domestic"] + acc["foreign"])
    # Units delivered: domestic H100e at the capacity-weighted domestic ratio; foreign at its ratio.
    domestic_units = acc["domestic"] * np.divide(
        hbm_class + other, domestic_h100e, out=np.zeros_like(domestic_h100e), where=domestic_h100e > 0
    )
    foreign_units = (acc["foreign"] - grey) / r_foreign + grey / r_grey
    acc.update(
        grey_market=grey,
        grey_market_units=grey / r_grey,
        cloud_abroad=cloud_abroad,
        demand=demand_acc,
        hbm_class_domestic=hbm_class,
        hbm_binds=np.asarray(fab["hbm_binds"], dtype=bool),
        logic_wspm=logic_wspm,
        domestic_units=domestic_units,
        foreign_units=foreign_units,
        unit_share=_ratio(domestic_units, domestic_units + foreign_units),
    )

    # --- HBM: what the domestic logic could use, against domestic and foreign stacks
    hbm_demand = np.asarray(fab["logic_limited_per_month"], dtype=dt) * p["stacks_per_accelerator"]
    hbm = allocate_share(hbm_demand, hbm_dom, hbm_for, p["hbm_foreign_preference"])
    hbm["demand"] = hbm_demand

    # --- WFE
    wfe_demand = _grow(p["wfe_demand_base"], p["wfe_demand_growth"], tau)
    wfe_domestic = _grow(p["domestic_wfe_base"], p["domestic_wfe_growth"], tau)
    wfe = allocate_share(
        wfe_demand, wfe_domestic, p["foreign_wfe_access"] * wfe_demand, p["wfe_foreign_preference"]
    )
    wfe["demand"] = wfe_demand

    return {"ai_accelerators": acc, "wfe": wfe, "hbm": hbm}
