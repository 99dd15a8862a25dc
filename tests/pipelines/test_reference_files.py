"""Checks on the bundled curated reference CSVs in ``pipelines/reference/``.

Headers, required columns, types, ranges, allowed values and keys come from the one spec,
``pipelines.reference_schema.REFERENCE_SPECS``: every file there is checked against its spec, and a
file without one fails. The content tests below check what no schema can: cross-file references,
coverage of the curated sources (``/work/shared/reference/*.md``) and figures quoted from them.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from pipelines.reference_schema import (
    EXPORT_CONTROL_CATEGORIES,
    REFERENCE_SPECS,
    SUBSTITUTION_SEGMENTS,
    TICKER_SEGMENTS,
)
from pipelines.sources.reference import REFERENCE_DIR, files_without_spec

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
    "000688.SS",  # SSE STAR 50: sector benchmark of the STAR-market stocks (issue 13)
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
SPECS = sorted(REFERENCE_SPECS)


def load(name: str) -> list[dict[str, str]]:
    with open(REFERENCE_DIR / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_reference_file_has_a_spec_and_every_spec_a_file() -> None:
    assert files_without_spec(REFERENCE_DIR) == []
    assert {p.stem for p in REFERENCE_DIR.glob("*.csv")} == set(REFERENCE_SPECS)


def test_a_file_without_spec_is_found(tmp_path: Path) -> None:
    (tmp_path / "tickers.csv").write_text("ticker\n", encoding="utf-8")
    (tmp_path / "fab_capacity_old.csv").write_text("company\n", encoding="utf-8")
    assert files_without_spec(tmp_path) == ["fab_capacity_old.csv"]


@pytest.mark.parametrize("name", SPECS)
def test_header_is_the_spec(name: str) -> None:
    spec = REFERENCE_SPECS[name]
    with open(REFERENCE_DIR / spec.file_name, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert len(header) == len(set(header)), f"{name}: duplicate columns in the header"
    # columns are matched by name (any order); the spec lists them in the warehouse table's order
    assert not set(spec.columns) - set(header), f"{name}: missing {sorted(set(spec.columns) - set(header))}"
    assert not set(header) - set(spec.columns), (
        f"{name}: no spec for {sorted(set(header) - set(spec.columns))}"
    )
    widths = {len(r) for r in rows}
    assert widths == {len(spec.columns)}, f"{name}: ragged rows (unquoted comma?) widths={widths}"


@pytest.mark.parametrize("name", SPECS)
def test_file_satisfies_its_spec(name: str) -> None:
    """Required values, types, ranges, allowed values, unique keys and date order, as the loader checks."""
    spec = REFERENCE_SPECS[name]
    result = spec.load(REFERENCE_DIR / spec.file_name)
    assert result.quarantine.height == 0, result.summary()
    assert result.good.height > 0, f"{name}: no data rows"


def test_spec_catches_what_the_files_must_not_hold(tmp_path: Path) -> None:
    """The spec is not vacuous: a missing citation, an unknown node class and a percent share are refused."""
    spec = REFERENCE_SPECS["entity_list"]
    path = tmp_path / spec.file_name
    path.write_text(
        ",".join(spec.columns) + "\nHuawei,CN,2019-05-16,,2019-05-15-bis-huawei,s,reported,\n",
        encoding="utf-8",
    )
    assert spec.load(path).quarantine.rows(named=True)[0]["field"] == "citation"
    spec = REFERENCE_SPECS["substitution_history"]
    path = tmp_path / spec.file_name
    path.write_text(",".join(spec.columns) + "\nwfe,2024,25,revenue,s,reported,\n", encoding="utf-8")
    assert spec.load(path).quarantine["field"].to_list() == ["domestic_share"]


def test_export_controls_vocabulary_and_order() -> None:
    rows = load("export_controls.csv")
    for row in rows:
        assert row["event_id"].startswith(row["announced_date"]), row["event_id"]
    assert {r["category"] for r in rows} == set(EXPORT_CONTROL_CATEGORIES)  # every category is used


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
    assert {r["segment"] for r in rows} == set(SUBSTITUTION_SEGMENTS)
    observed = Counter((r["segment"], int(r["year"]), float(r["domestic_share"])) for r in rows)
    expected = {  # (year, share) points market.md reports per segment
        "ai_accelerators": ((2023, 0.10), (2023, 0.19), (2024, 0.30), (2024, 0.37)),
        "wfe": ((2021, 0.21), (2022, 0.35), (2023, 0.40), (2024, 0.20), (2024, 0.25)),
        "hbm": ((2022, 0.0), (2023, 0.0), (2024, 0.0)),
    }
    missing = [
        (seg, y, v) for seg, points in expected.items() for y, v in points if not observed[(seg, y, v)]
    ]
    assert not missing, f"missing {missing}"
    assert observed[("ai_accelerators", 2024, 0.34)] == 2  # Bernstein revenue and Morgan Stanley: kept apart
    lower_bounds = [r for r in rows if "lower bound" in r["notes"]]
    assert len(lower_bounds) == 2  # IDC "> 0.30" and MIC "> 0.40"


def test_substitution_outlooks_include_named_forecasts() -> None:
    rows = load("substitution_outlooks.csv")
    got = {(r["publisher"], int(r["year"]), float(r["domestic_share"])) for r in rows}
    assert ("Morgan Stanley", 2027, 0.82) in got
    assert ("Bernstein", 2028, 0.93) in got
    assert {r["segment"] for r in rows} <= set(SUBSTITUTION_SEGMENTS)


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
        if row["revenue_local"]:
            assert float(row["revenue_local"]) > 0 and row["currency"], row
        if row["revenue_usd_b"]:
            assert row["currency"] == "USD" and row["revenue_usd_b"] == row["revenue_local"], row


def test_tickers_universe_and_benchmarks() -> None:
    rows = load("tickers.csv")
    by_ticker = {r["ticker"]: r for r in rows}
    assert set(by_ticker) == MARKET_MD_TICKERS
    assert {r["segment"] for r in rows} == set(TICKER_SEGMENTS)
    for row in rows:
        assert row["benchmark"] in by_ticker, f"{row['ticker']}: benchmark {row['benchmark']} not in universe"
        assert by_ticker[row["benchmark"]]["is_benchmark"] == "true", row
        assert (row["is_benchmark"] == "true") == (row["segment"] == "index"), row
        suffix = next((s for s in BENCHMARK_BY_SUFFIX if row["ticker"].endswith(s)), None)
        if row["is_benchmark"] == "false":
            expected = BENCHMARK_BY_SUFFIX[suffix] if suffix else "^GSPC"
            assert row["benchmark"] == expected, row
        sector = row["sector_benchmark"]
        assert by_ticker[sector]["is_benchmark"] == "true", row
        if row["is_benchmark"] == "false" and row["exchange"] == "SSE STAR":
            assert sector == "000688.SS" and row["price_limit"] == "0.20", row
        elif row["is_benchmark"] == "false" and row["country"] == "US":
            assert sector == "^SOX" and row["price_limit"] == "", row
