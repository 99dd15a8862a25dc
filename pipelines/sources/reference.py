"""Bundled curated reference files (``pipelines/reference/*.csv``) and their validation rules."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from models.observations import METRICS
from pipelines.validation import ColumnRule as R
from pipelines.validation import OrderRule, ValidationResult, read_csv_validated

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


def reference_dir() -> Path:
    """The curated files: ``$FABSCOPE_REFERENCE_DIR`` if set (an analyst's edited copy), else the bundled ones."""
    return Path(os.environ.get("FABSCOPE_REFERENCE_DIR") or REFERENCE_DIR)


FLAGS = ("reported", "estimate")
_SOURCE = (R("source"), R("flag", allowed=FLAGS), R("notes", required=False))
_SHARE = {"min": 0.0, "max": 1.0}
_YEAR = {"min": 1990, "max": 2040}
_DATE = {"min": date(1990, 1, 1), "max": date(2040, 12, 31)}  # catches mistyped years (2204, 0202)
# An export control may take effect a few days before it is announced (an order signed on a Sunday,
# a licence requirement a company was told of before its 8-K), never weeks before: that is two dates
# swapped or mistyped.
EFFECTIVE_BEFORE_ANNOUNCED_DAYS = 14


@dataclass(frozen=True)
class ReferenceFile:
    """A curated CSV: its file name, target table, column rules and natural key."""

    name: str
    table: str
    rules: tuple[R, ...]
    key: tuple[str, ...]
    order: tuple[OrderRule, ...] = ()

    @property
    def path(self) -> Path:
        """Where the bundled file lives."""
        return reference_dir() / f"{self.name}.csv"

    def load(self, path: Path | None = None) -> ValidationResult:
        """Read and validate the file (or ``path`` instead of the bundled one)."""
        return read_csv_validated(path or self.path, self.rules, key=self.key, order=self.order)


REFERENCE_FILES: dict[str, ReferenceFile] = {
    f.name: f
    for f in (
        ReferenceFile(
            "export_controls",
            "export_controls",
            (
                R("event_id"),
                R("announced_date", "date", min=_DATE["min"], max="today"),
                R("effective_date", "date", **_DATE),
                R("agency"),
                R("title"),
                R("citation", required=False),
                R(
                    "category",
                    allowed=(
                        "entity_list",
                        "fdp_rule",
                        "chips_and_sme",
                        "licence_requirement",
                        "ai_diffusion",
                        "china_countermeasure",
                        "allied_control",
                    ),
                ),
                *_SOURCE,
            ),
            ("event_id",),
            (OrderRule("effective_date", "announced_date", EFFECTIVE_BEFORE_ANNOUNCED_DAYS),),
        ),
        ReferenceFile(
            "entity_list",
            "entity_list",
            (
                R("name"),
                R("country"),
                R("added_date", "date", **_DATE),
                R("citation", required=False),
                R("event_id", required=False),
                *_SOURCE,
            ),
            ("name", "added_date"),
        ),
        ReferenceFile(
            "fab_capacity",
            "fab_capacity",
            (
                R("company"),
                R("fab"),
                R("country"),
                R("product", allowed=("logic", "dram", "nand", "hbm", "specialty")),
                R("node_class"),
                R("wafer_size_mm", "int", allowed=None, min=100, max=450),
                R("capacity_wspm", "float", required=False, min=0.0, max=2_000_000.0),
                R("year", "int", **_YEAR),
                R("status", allowed=("operating", "ramping", "construction", "planned")),
                *_SOURCE,
            ),
            ("company", "fab", "product", "node_class", "year"),
        ),
        ReferenceFile(
            "hbm_suppliers",
            "hbm_suppliers",
            (
                R("company"),
                R("country"),
                R("year", "int", **_YEAR),
                R("hbm_generation", required=False),
                R("market_share", "float", required=False, **_SHARE),
                R("capacity_note", required=False),
                *_SOURCE,
            ),
            ("company", "year", "hbm_generation", "source"),
        ),
        ReferenceFile(
            "equipment_vendors",
            "equipment_vendors",
            (
                R("vendor"),
                R("country"),
                R("domestic_china", "bool"),
                R("tool_types", required=False),
                R("year", "int", **_YEAR),
                R("revenue_usd_b", "float", required=False, min=0.0),
                R("revenue_local", "float", required=False, min=0.0),
                R("currency", required=False),
                R("market_share", "float", required=False, **_SHARE),
                R("segment", required=False),
                *_SOURCE,
            ),
            ("vendor", "year", "segment", "source"),
        ),
        ReferenceFile(
            "tool_domestic_share",
            "tool_domestic_share",
            (R("tool_type"), R("domestic_share", "float", **_SHARE), R("year", "int", **_YEAR), *_SOURCE),
            ("tool_type", "year"),
        ),
        ReferenceFile(
            "substitution_history",
            "substitution_history",
            (
                R("segment", allowed=("ai_accelerators", "wfe", "hbm")),
                R("year", "int", **_YEAR),
                R("domestic_share", "float", **_SHARE),
                R("metric"),
                *_SOURCE,
            ),
            ("segment", "year", "source", "metric"),
        ),
        ReferenceFile(
            "substitution_outlooks",
            "substitution_outlooks",
            (
                R("segment", allowed=("ai_accelerators", "wfe", "hbm")),
                R("year", "int", **_YEAR),
                R("domestic_share", "float", **_SHARE),
                R("metric"),
                R("publisher"),
                R("published", "date", required=False, min=_DATE["min"], max="today"),
                *_SOURCE,
            ),
            ("segment", "year", "publisher", "metric"),
        ),
        ReferenceFile(
            "observations",
            "observations",
            (
                R("segment", allowed=("ai_accelerators", "wfe", "hbm")),
                R("year", "int", **_YEAR),
                R("metric", allowed=tuple(METRICS)),
                R("value", "float", min=0.0, max=1.0e9),
                R("published", "date", min=_DATE["min"], max="today"),
                *_SOURCE,
            ),
            ("segment", "year", "metric", "source"),
        ),
        ReferenceFile(
            "tickers",
            "tickers",
            (
                R("ticker"),
                R("name"),
                R("country"),
                R("exchange", required=False),
                R("currency"),
                R("segment"),
                R("domestic_china", "bool"),
                R("benchmark", required=False),
                R("is_benchmark", "bool"),
                R("source"),
                R("flag", allowed=FLAGS),
            ),
            ("ticker",),
        ),
    )
}
