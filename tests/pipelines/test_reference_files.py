"""Checks on the bundled curated reference CSVs in ``pipelines/reference/``.

Stdlib ``csv`` only: these tests guard the files themselves (headers, vocabularies, ranges, keys,
cross-file references), independently of whichever loader reads them into the warehouse.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

REF_DIR = Path(__file__).resolve().parents[2] / "pipelines" / "reference"

FLAGS = {"reported", "estimate"}

HEADERS: dict[str, list[str]] = {
    "export_controls.csv": [
        "event_id",
        "announced_date",
        "effective_date",
        "agency",
        "title",
        "citation",
        "category",
        "source",
        "flag",
        "notes",
    ],
    "entity_list.csv": ["name", "country", "added_date", "citation", "event_id", "source", "flag", "notes"],
    "fab_capacity.csv": [
        "company",
        "fab",
        "country",
        "product",
        "node_class",
        "wafer_size_mm",
        "capacity_wspm",
        "year",
        "status",
        "source",
        "flag",
        "notes",
    ],
    "hbm_suppliers.csv": [
        "company",
        "country",
        "year",
        "hbm_generation",
        "market_share",
        "capacity_note",
        "source",
        "flag",
        "notes",
    ],
    "equipment_vendors.csv": [
        "vendor",
        "country",
        "domestic_china",
        "tool_types",
        "year",
        "revenue_usd_b",
        "revenue_local",
        "currency",
        "market_share",
        "segment",
        "source",
        "flag",
        "notes",
    ],
    "substitution_history.csv": ["segment", "year", "domestic_share", "metric", "source", "flag", "notes"],
    "substitution_outlooks.csv": [
        "segment",
        "year",
        "domestic_share",
        "metric",
        "publisher",
        "published",
        "source",
        "flag",
        "notes",
    ],
    "tickers.csv": [
        "ticker",
        "name",
        "country",
        "exchange",
        "currency",
        "segment",
        "domestic_china",
        "benchmark",
        "is_benchmark",
        "source",
        "flag",
    ],
}

REQUIRED: dict[str, list[str]] = {
    "export_controls.csv": [
        "event_id",
        "announced_date",
        "effective_date",
        "agency",
        "title",
        "citation",
        "category",
        "source",
        "flag",
    ],
    "entity_list.csv": ["name", "country", "added_date", "citation", "event_id", "source", "flag"],
    "fab_capacity.csv": [
        "company",
        "fab",
        "country",
        "product",
        "node_class",
        "wafer_size_mm",
        "year",
        "status",
        "source",
        "flag",
    ],
    "hbm_suppliers.csv": ["company", "country", "year", "hbm_generation", "source", "flag"],
    "equipment_vendors.csv": [
        "vendor",
        "country",
        "domestic_china",
        "tool_types",
        "year",
        "segment",
        "source",
        "flag",
    ],
    "substitution_history.csv": ["segment", "year", "domestic_share", "metric", "source", "flag"],
    "substitution_outlooks.csv": [
        "segment",
        "year",
        "domestic_share",
        "metric",
        "publisher",
        "source",
        "flag",
    ],
    "tickers.csv": [
        "ticker",
        "name",
        "country",
        "exchange",
        "currency",
        "segment",
        "domestic_china",
        "benchmark",
        "is_benchmark",
        "source",
        "flag",
    ],
}

KEYS: dict[str, tuple[str, ...]] = {
    "export_controls.csv": ("event_id",),
    "entity_list.csv": ("name", "added_date"),
    "fab_capacity.csv": ("company", "fab", "product", "node_class", "year"),
    "hbm_suppliers.csv": ("company", "year", "hbm_generation", "source"),
    "equipment_vendors.csv": ("vendor", "year", "segment", "source"),
    "substitution_history.csv": ("segment", "year", "source", "metric"),
    "substitution_outlooks.csv": ("segment", "year", "publisher", "metric"),
    "tickers.csv": ("ticker",),
}

SHARE_COLUMNS: dict[str, list[str]] = {
    "hbm_suppliers.csv": ["market_share"],
    "equipment_vendors.csv": ["market_share"],
    "substitution_history.csv": ["domestic_share"],
    "substitution_outlooks.csv": ["domestic_share"],
}

DATE_COLUMNS: dict[str, list[str]] = {
    "export_controls.csv": ["announced_date", "effective_date"],
    "entity_list.csv": ["added_date"],
    "substitution_outlooks.csv": ["published"],
}

CATEGORIES = {
    "entity_list",
    "fdp_rule",
    "chips_and_sme",
    "licence_requirement",
    "ai_diffusion",
    "china_countermeasure",
    "allied_control",
}
PRODUCTS = {"logic", "dram", "nand", "hbm", "specialty"}
NODE_CLASSES = {
    "28nm+",
    "14-16nm",
    "7nm-class",
    "5nm-class",
    "3nm-class",
    "2nm-class",
    "dram-1x",
    "dram-1a",
    "nand-1xx-layer",
    "nand-2xx-layer",
    "mixed",
}
STATUSES = {"operating", "ramping", "construction", "planned"}
SEGMENTS = {"ai_accelerators", "wfe", "hbm"}
TICKER_SEGMENTS = {"accelerator", "cpu", "foundry", "equipment", "memory", "index"}
BOOLS = {"true", "false"}

# Every symbol of the ticker universe in docs/reference/market.md, plus ^TWII for 2330.TW.
MARKET_MD_TICKERS = {
    "688256.SS",
    "688041.SS",
    "688981.SS",
    "0981.HK",
    "688347.SS",
    "1347.HK",
    "002371.SZ",
    "688012.SS",
    "688072.SS",
    "NVDA",
    "AMD",
    "INTC",
    "TSM",
    "2330.TW",
    "ASML",
    "AMAT",
    "LRCX",
    "KLAC",
    "MU",
    "000660.KS",
    "005930.KS",
    "8035.T",
    "^SOX",
    "^GSPC",
    "000300.SS",
    "^HSI",
    "^KS11",
    "^N225",
    "^TWII",
}
BENCHMARK_BY_SUFFIX = {
    ".SS": "000300.SS",
    ".SZ": "000300.SS",
    ".HK": "^HSI",
    ".KS": "^KS11",
    ".T": "^N225",
    ".TW": "^TWII",
}


def load(name: str) -> list[dict[str, str]]:
    with open(REF_DIR / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def header(name: str) -> list[str]:
    with open(REF_DIR / name, newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_header_matches(name: str) -> None:
    assert header(name) == HEADERS[name]


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_rows_have_no_stray_fields(name: str) -> None:
    with open(REF_DIR / name, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    widths = {len(r) for r in rows}
    assert widths == {len(HEADERS[name])}, f"{name}: ragged rows (unquoted comma?) widths={widths}"
    assert len(rows) > 1, f"{name}: no data rows"


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_required_fields_filled(name: str) -> None:
    for i, row in enumerate(load(name), start=2):
        for col in REQUIRED[name]:
            assert row[col].strip(), f"{name} line {i}: empty {col}"


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_flags_valid(name: str) -> None:
    flags = {row["flag"] for row in load(name)}
    assert flags <= FLAGS, f"{name}: bad flags {flags - FLAGS}"


@pytest.mark.parametrize("name", sorted(SHARE_COLUMNS))
def test_shares_are_fractions(name: str) -> None:
    for i, row in enumerate(load(name), start=2):
        for col in SHARE_COLUMNS[name]:
            if row[col] == "":
                continue
            value = float(row[col])
            assert 0.0 <= value <= 1.0, f"{name} line {i}: {col}={value} outside [0, 1]"


@pytest.mark.parametrize("name", sorted(DATE_COLUMNS))
def test_dates_parse(name: str) -> None:
    for i, row in enumerate(load(name), start=2):
        for col in DATE_COLUMNS[name]:
            if row[col] == "" and col not in REQUIRED[name]:
                continue
            dt.date.fromisoformat(row[col])  # raises on anything but YYYY-MM-DD
            assert len(row[col]) == 10, f"{name} line {i}: {col} not YYYY-MM-DD"


@pytest.mark.parametrize("name", sorted(KEYS))
def test_keys_unique(name: str) -> None:
    keys = Counter(tuple(row[c] for c in KEYS[name]) for row in load(name))
    dupes = [k for k, n in keys.items() if n > 1]
    assert not dupes, f"{name}: duplicate keys {dupes}"


def test_years_are_integers() -> None:
    for name in (
        "fab_capacity.csv",
        "hbm_suppliers.csv",
        "equipment_vendors.csv",
        "substitution_history.csv",
        "substitution_outlooks.csv",
    ):
        for row in load(name):
            year = int(row["year"])
            assert 2000 <= year <= 2035, f"{name}: implausible year {year}"


def test_export_controls_vocabulary_and_order() -> None:
    rows = load("export_controls.csv")
    for row in rows:
        assert row["category"] in CATEGORIES, row["event_id"]
        assert row["event_id"].startswith(row["announced_date"]), row["event_id"]
    assert {r["category"] for r in rows} == CATEGORIES  # every category is used at least once


def test_export_controls_cover_policy_md() -> None:
    ids = {r["event_id"] for r in load("export_controls.csv")}
    expected_prefixes = [
        "2019-05-15",
        "2019-06-21",
        "2020-05-15",
        "2020-08-17",
        "2020-12-18",
        "2022-08-31",
        "2022-10-07",
        "2022-12-15",
        "2023-10-17",
        "2024-12-02",
        "2025-01-13",
        "2025-04-15",
        "2025-05-13",
        "2025-07-14",
        "2025-09-29",
        "2025-11-10",
        "2025-12-08",
        "2026-01-13",
        "2023-07-03",
        "2024-12-03",
        "2025-09-15",
    ]
    for prefix in expected_prefixes:
        assert any(i.startswith(prefix) for i in ids), f"no event announced {prefix}"


def test_entity_list_events_exist_and_dates_match() -> None:
    events = {r["event_id"]: r for r in load("export_controls.csv")}
    for row in load("entity_list.csv"):
        assert row["event_id"] in events, f"unknown event {row['event_id']}"
        assert row["added_date"] == events[row["event_id"]]["effective_date"], row["name"]


def test_entity_list_has_core_firms() -> None:
    names = " ".join(r["name"] for r in load("entity_list.csv"))
    for firm in (
        "Huawei",
        "HiSilicon",
        "Sugon",
        "Higon",
        "Chengdu Haiguang Integrated",
        "Chengdu Haiguang Micro",
        "Wuxi Jiangnan",
        "SMIC",
        "YMTC",
        "Cambricon",
        "SMEE",
        "Biren",
        "Moore Threads",
        "Piotech",
        "SiCarrier",
        "Fujian Jinhua",
        "Phytium",
        "Sunway",
    ):
        assert firm in names, f"{firm} missing from entity_list.csv"


def test_fab_capacity_vocabularies_and_values() -> None:
    for row in load("fab_capacity.csv"):
        assert row["product"] in PRODUCTS, row
        assert row["node_class"] in NODE_CLASSES, row
        assert row["status"] in STATUSES, row
        assert row["wafer_size_mm"] in {"200", "300"}, row
        if row["capacity_wspm"]:
            assert int(row["capacity_wspm"]) > 0, row
        else:  # undisclosed capacity must say so
            assert "not disclosed" in row["notes"], row


def test_fab_capacity_coverage() -> None:
    rows = load("fab_capacity.csv")
    assert len({(r["company"], r["fab"]) for r in rows}) >= 25
    companies = {r["company"] for r in rows}
    for company in ("SMIC", "Hua Hong", "CXMT", "YMTC", "TSMC", "Samsung", "SK hynix", "Micron", "Intel"):
        assert company in companies, f"{company} missing from fab_capacity.csv"


def test_fab_capacity_smic_advanced_series() -> None:
    rows = [
        r
        for r in load("fab_capacity.csv")
        if r["company"] == "SMIC" and "SemiAnalysis" in r["fab"] and r["node_class"] == "7nm-class"
    ]
    series = {int(r["year"]): int(r["capacity_wspm"]) for r in rows}
    assert series == {2025: 45000, 2026: 60000, 2027: 80000}
    assert all(r["flag"] == "estimate" for r in rows)


def test_fab_capacity_8inch_conversions_are_labelled() -> None:
    for row in load("fab_capacity.csv"):
        if "8-inch-eq" in row["source"]:
            assert row["wafer_size_mm"] == "300" and "converted" in row["notes"], row
            assert row["flag"] == "estimate", row


def test_substitution_history_matches_market_md() -> None:
    rows = load("substitution_history.csv")
    assert {r["segment"] for r in rows} == SEGMENTS
    observed = Counter((r["segment"], int(r["year"]), float(r["domestic_share"])) for r in rows)
    for key in [
        ("ai_accelerators", 2023, 0.10),
        ("ai_accelerators", 2023, 0.19),
        ("ai_accelerators", 2024, 0.30),
        ("ai_accelerators", 2024, 0.37),
        ("wfe", 2021, 0.21),
        ("wfe", 2022, 0.35),
        ("wfe", 2023, 0.40),
        ("wfe", 2024, 0.20),
        ("wfe", 2024, 0.25),
        ("hbm", 2022, 0.0),
        ("hbm", 2023, 0.0),
        ("hbm", 2024, 0.0),
    ]:
        assert observed[key] >= 1, f"missing {key}"
    assert observed[("ai_accelerators", 2024, 0.34)] == 2  # Bernstein revenue and Morgan Stanley: kept apart
    lower_bounds = [r for r in rows if "lower bound" in r["notes"]]
    assert len(lower_bounds) == 2  # IDC "> 0.30" and MIC "> 0.40"


def test_substitution_outlooks_include_named_forecasts() -> None:
    rows = load("substitution_outlooks.csv")
    got = {(r["publisher"], int(r["year"]), float(r["domestic_share"])) for r in rows}
    assert ("Morgan Stanley", 2027, 0.82) in got
    assert ("Bernstein", 2028, 0.93) in got
    assert {r["segment"] for r in rows} <= SEGMENTS


def test_hbm_suppliers_shares_per_source_do_not_exceed_one() -> None:
    totals: Counter[tuple[str, str, str]] = Counter()
    for row in load("hbm_suppliers.csv"):
        if row["market_share"] and row["hbm_generation"] == "all":
            totals[(row["source"], row["year"], row["hbm_generation"])] += float(row["market_share"])
    assert totals, "no whole-market shares"
    for key, total in totals.items():
        assert total <= 1.0 + 1e-9, f"{key}: shares sum to {total}"
    companies = {r["company"] for r in load("hbm_suppliers.csv")}
    assert {"SK hynix", "Samsung", "Micron", "CXMT"} <= companies


def test_equipment_vendors_fields() -> None:
    rows = load("equipment_vendors.csv")
    vendors = {r["vendor"] for r in rows}
    for v in (
        "Applied Materials",
        "Lam Research",
        "Tokyo Electron",
        "ASML",
        "KLA",
        "Naura",
        "AMEC",
        "Piotech",
        "ACM Research",
        "SMEE",
        "Hwatsing",
    ):
        assert v in vendors, f"{v} missing"
    for row in rows:
        assert row["domestic_china"] in BOOLS, row
        if row["revenue_local"]:
            assert float(row["revenue_local"]) > 0 and row["currency"] in {"USD", "EUR", "JPY", "CNY"}, row
        if row["revenue_usd_b"]:
            assert row["currency"] == "USD" and row["revenue_usd_b"] == row["revenue_local"], row


def test_tickers_universe_and_benchmarks() -> None:
    rows = load("tickers.csv")
    by_ticker = {r["ticker"]: r for r in rows}
    assert set(by_ticker) == MARKET_MD_TICKERS
    assert {r["segment"] for r in rows} == TICKER_SEGMENTS
    for row in rows:
        assert row["domestic_china"] in BOOLS and row["is_benchmark"] in BOOLS, row
        assert row["benchmark"] in by_ticker, f"{row['ticker']}: benchmark {row['benchmark']} not in universe"
        assert by_ticker[row["benchmark"]]["is_benchmark"] == "true", row
        assert (row["is_benchmark"] == "true") == (row["segment"] == "index"), row
        suffix = next((s for s in BENCHMARK_BY_SUFFIX if row["ticker"].endswith(s)), None)
        if row["is_benchmark"] == "false":
            expected = BENCHMARK_BY_SUFFIX[suffix] if suffix else "^GSPC"
            assert row["benchmark"] == expected, row
