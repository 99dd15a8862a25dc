"""The curated reference files' schema: the one spec the loader and the tests both read.

Each bundled ``pipelines/reference/<name>.csv`` loads into the warehouse table of the same name
(``pipelines.schema.TABLES``), so its columns (in file order), their types and its natural key come
from that table; what is added here is only what a curated file must satisfy beyond the DDL: which
columns may be empty, the allowed values and the ranges. ``pipelines.sources.reference`` validates
every read with these rules; ``tests/pipelines/test_reference_files.py`` checks every spec here against
its file, and fails for a file without a spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from hardware_sim.fab.process_flows import TOOL_TYPES
from models.observations import METRICS
from pipelines.schema import TABLES
from pipelines.validation import ColumnRule, DType, OrderRule, ValidationResult, read_csv_validated

FLAGS = ("reported", "estimate")
SHARE = (0.0, 1.0)  # fractions, never percent
YEAR = (1990, 2040)
DATE = (date(1990, 1, 1), date(2040, 12, 31))  # catches mistyped years (2204, 0202)
PAST_DATE = (DATE[0], "today")  # announcements and publications cannot lie in the future
# An export control may take effect a few days before it is announced (an order signed on a Sunday,
# a licence requirement a company was told of before its 8-K), never weeks before: that is two dates
# swapped or mistyped.
EFFECTIVE_BEFORE_ANNOUNCED_DAYS = 14


def _vocabulary(words: str) -> tuple[str, ...]:
    """The allowed values of a column, written as one space-separated line (none contains a space)."""
    return tuple(words.split())


# Time zones an export-control announcement may be dated in (export_controls.announced_tz).
ANNOUNCEMENT_ZONES = ("America/New_York", "Asia/Shanghai", "Europe/Amsterdam", "Asia/Tokyo", "UTC")
EXPORT_CONTROL_CATEGORIES = _vocabulary(
    "entity_list fdp_rule chips_and_sme licence_requirement ai_diffusion china_countermeasure allied_control"
)
PRODUCTS = ("logic", "dram", "nand", "hbm", "specialty")
NODE_CLASSES = _vocabulary(
    "28nm+ 14-16nm 7nm-class 5nm-class 3nm-class 2nm-class dram-1x dram-1a nand-1xx-layer nand-2xx-layer mixed"
)
FAB_STATUSES = ("operating", "ramping", "construction", "planned")
WAFER_SIZES_MM = ("200", "300")
SUBSTITUTION_SEGMENTS = ("ai_accelerators", "wfe", "hbm")
VENDOR_SEGMENTS = ("total_revenue", "wfe", "etch")
REPORTING_CURRENCIES = ("USD", "EUR", "JPY", "CNY")
TICKER_SEGMENTS = ("accelerator", "cpu", "foundry", "equipment", "memory", "index")
SPLIT_KINDS = ("split",)
MIN_SPLIT_RATIO = 1e-6  # new shares per old share; strictly positive (bounds are inclusive)

_DTYPE: dict[str, DType] = {
    "VARCHAR": "str",
    "INTEGER": "int",
    "BIGINT": "int",
    "DOUBLE": "float",
    "DATE": "date",
    "BOOLEAN": "bool",
}


@dataclass(frozen=True)
class ReferenceSpec:
    """A curated CSV: its name (file stem and target table), column rules in file order, key, row rules."""

    name: str
    rules: tuple[ColumnRule, ...]
    key: tuple[str, ...]
    order: tuple[OrderRule, ...] = ()

    @property
    def table(self) -> str:
        """The warehouse table the file loads into."""
        return self.name

    @property
    def file_name(self) -> str:
        """``<name>.csv``."""
        return f"{self.name}.csv"

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the file must have (matched by name, in any order; listed in the table's order)."""
        return tuple(r.name for r in self.rules)

    @property
    def required(self) -> tuple[str, ...]:
        """Columns every row must fill."""
        return tuple(r.name for r in self.rules if r.required)

    def rule(self, column: str) -> ColumnRule:
        """The rule of ``column``."""
        return next(r for r in self.rules if r.name == column)

    def load(self, path: Path, *, today: date | None = None) -> ValidationResult:
        """Read and validate the file at ``path``; ``today``: the run date (bound of "today" rules)."""
        return read_csv_validated(path, self.rules, key=self.key, order=self.order, today=today)


def _spec(
    table: str,
    *,
    optional: tuple[str, ...] = (),
    allowed: Mapping[str, tuple[str, ...]] | None = None,
    bounds: Mapping[str, tuple[Any, Any]] | None = None,
    types: Mapping[str, DType] | None = None,
    omit: tuple[str, ...] = (),
    order: tuple[OrderRule, ...] = (),
) -> ReferenceSpec:
    """The spec of the file behind ``table``: the table's columns (less ``omit``), types and key.

    Every column is required except ``notes`` and those in ``optional``; ``flag`` allows ``FLAGS``;
    ``types`` checks a column stricter than its table stores it.
    """
    allowed = {"flag": FLAGS, **(allowed or {})}
    bounds, types = bounds or {}, types or {}
    rules = tuple(
        ColumnRule(
            c.name,
            types.get(c.name) or _DTYPE[c.sql_type],
            required=c.name != "notes" and c.name not in optional,
            min=bounds.get(c.name, (None, None))[0],
            max=bounds.get(c.name, (None, None))[1],
            allowed=allowed.get(c.name),
        )
        for c in TABLES[table].columns
        if c.name not in omit
    )
    return ReferenceSpec(table, rules, TABLES[table].key, order)


REFERENCE_SPECS: dict[str, ReferenceSpec] = {
    s.name: s
    for s in (
        _spec(
            "export_controls",
            omit=("origin",),  # set by the loader: curated | federal_register | screening_list
            optional=("announced_time", "announced_tz"),  # HH:MM in announced_tz, where a source dates it
            allowed={"category": EXPORT_CONTROL_CATEGORIES, "announced_tz": ANNOUNCEMENT_ZONES},
            bounds={"announced_date": PAST_DATE, "effective_date": DATE},
            order=(OrderRule("effective_date", "announced_date", EFFECTIVE_BEFORE_ANNOUNCED_DAYS),),
        ),
        _spec("entity_list", bounds={"added_date": DATE}),
        _spec(
            "fab_capacity",
            optional=("capacity_wspm",),  # empty = not disclosed
            allowed={
                "product": PRODUCTS,
                "node_class": NODE_CLASSES,
                "wafer_size_mm": WAFER_SIZES_MM,
                "status": FAB_STATUSES,
            },
            bounds={"capacity_wspm": (0.0, 2_000_000.0), "year": YEAR},
        ),
        _spec(
            "hbm_suppliers",
            optional=("market_share", "capacity_note"),
            bounds={"year": YEAR, "market_share": SHARE},
        ),
        _spec(
            "equipment_vendors",
            optional=("revenue_usd_b", "revenue_local", "currency", "market_share"),
            allowed={"currency": REPORTING_CURRENCIES, "segment": VENDOR_SEGMENTS},
            bounds={
                "year": YEAR,
                "revenue_usd_b": (0.0, None),
                "revenue_local": (0.0, None),
                "market_share": SHARE,
            },
        ),
        _spec(
            "tool_domestic_share",
            allowed={"tool_type": TOOL_TYPES},
            bounds={"domestic_share": SHARE, "year": YEAR},
        ),
        _spec(
            "substitution_history",
            allowed={"segment": SUBSTITUTION_SEGMENTS},
            bounds={"year": YEAR, "domestic_share": SHARE},
        ),
        _spec(
            "substitution_outlooks",
            optional=("published",),  # empty where the date is not recorded
            types={"published": "date"},  # stored as text, YYYY-MM-DD
            allowed={"segment": SUBSTITUTION_SEGMENTS},
            bounds={"year": YEAR, "domestic_share": SHARE, "published": PAST_DATE},
        ),
        _spec(
            "observations",
            allowed={"segment": SUBSTITUTION_SEGMENTS, "metric": tuple(METRICS)},
            bounds={"year": YEAR, "value": (0.0, 1.0e9), "published": PAST_DATE},
        ),
        _spec(
            "tickers",
            optional=("price_limit",),  # daily limit as a fraction (A-shares); empty: none
            allowed={"segment": TICKER_SEGMENTS},
            bounds={"price_limit": (0.0, 1.0)},
        ),
        _spec(
            "price_adjustments",
            allowed={"kind": SPLIT_KINDS},
            bounds={"ex_date": DATE, "ratio": (MIN_SPLIT_RATIO, None)},
        ),
    )
}
