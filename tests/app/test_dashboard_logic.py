"""Dashboard callback logic without a browser: figures, tables, calculators, scenario editor, reruns."""

from __future__ import annotations

import base64
import json
import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import logic
from app.dashboard import scenario_edit as se


def _qr(frame: pl.DataFrame, sources: tuple[str, ...] = ("test",)) -> q.QueryResult:
    return q.QueryResult(frame, None, sources)


def _empty(reason: str = "no data yet — run `fabscope refresh`") -> q.QueryResult:
    return q.QueryResult(pl.DataFrame(), reason)


TICKERS = pl.DataFrame(
    {"ticker": ["DOM", "FOR"], "name": ["Domestic Co", "Foreign Co"], "domestic_china": [True, False]}
)


def _prices() -> pl.DataFrame:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(10)]
    return pl.DataFrame(
        {
            "date": days * 2,
            "ticker": ["DOM"] * 10 + ["FOR"] * 10,
            "close_usd": [float(50 + i) for i in range(10)] + [float(200 - i) for i in range(10)],
            "provider": ["sample"] * 10 + ["yahoo"] * 10,
            "source": ["s"] * 20,
        }
    )


# ---- market -------------------------------------------------------------------------------
def test_normalise_usd_starts_each_ticker_at_100() -> None:
    perf = logic.normalise_usd(_prices())
    firsts = perf.group_by("ticker").agg(pl.col("index").first())
    assert firsts["index"].to_list() == [100.0, 100.0]
    dom = perf.filter(pl.col("ticker") == "DOM")
    assert dom["index"][-1] == pytest.approx(100 * 59 / 50)


def test_normalise_drops_rows_without_usd() -> None:
    frame = _prices().with_columns(
        pl.when(pl.col("date") == date(2024, 1, 1))
        .then(None)
        .otherwise(pl.col("close_usd"))
        .alias("close_usd")
    )
    perf = logic.normalise_usd(frame)
    assert (
        perf.height == 18
        and perf.filter(pl.col("date") == date(2024, 1, 2))["index"].to_list() == [100.0] * 2
    )


def test_performance_view_marks_events_in_range_and_sample_tickers() -> None:
    events = pl.DataFrame(
        {
            "event_id": ["in", "out"],
            "announced_date": [date(2024, 1, 5), date(2020, 1, 1)],
            "title": ["inside", "outside"],
            "agency": ["BIS"] * 2,
            "citation": ["c"] * 2,
            "source": ["ev source"] * 2,
        }
    )
    view = logic.performance_view(_qr(_prices()), TICKERS, events)
    names = [t.name for t in view.figure.data]
    assert "DOM · Domestic Co" in names and "export-control action" in names
    marker = next(t for t in view.figure.data if t.name == "export-control action")
    assert list(marker.customdata) == ["in"]
    assert view.sample_tickers == ("DOM",)
    assert "ev source" in view.sources


def test_performance_view_without_data_says_why() -> None:
    view = logic.performance_view(_empty("no price data yet — run `fabscope refresh`"), TICKERS, None)
    assert not view.figure.data
    assert "fabscope refresh" in view.figure.layout.annotations[0].text


def test_car_view_splits_domestic_and_foreign() -> None:
    es = pl.DataFrame(
        {
            "event_id": ["e"] * 4,
            "ticker": ["A", "B", "C", "D"],
            "window": ["[-1,+1]"] * 4,
            "car": [0.05, 0.03, -0.01, -0.03],
            "t_stat": [2.0, 1.0, -0.5, -1.5],
            "name": ["a", "b", "c", "d"],
            "domestic_china": [True, True, False, False],
            "source": ["x"] * 4,
        }
    )
    view = logic.car_view(_qr(es))
    bars = {t.name: list(t.y) for t in view.figure.data}
    assert bars["domestic (China)"] == pytest.approx([5.0, 3.0])
    assert bars["foreign"] == pytest.approx([-1.0, -3.0])
    summary = logic.event_study_summary(es)
    means = dict(zip(summary["group"].to_list(), summary["mean_car"].to_list(), strict=True))
    assert means["domestic (China)"] == pytest.approx(0.04) and means["foreign"] == pytest.approx(-0.02)


def test_windows_sorted_narrowest_first() -> None:
    es = pl.DataFrame({"window": ["[-5,+5]", "[0,+20]", "[-1,+1]"]})
    assert logic.window_options(_qr(es)) == ["[-1,+1]", "[-5,+5]", "[0,+20]"]


def test_default_range_and_date_parsing() -> None:
    assert logic.default_range(date(2020, 1, 1), date(2025, 6, 30), 3)[0] == date(2022, 6, 30)
    assert logic.default_range(date(2025, 1, 1), date(2025, 6, 30), 3)[0] == date(2025, 1, 1)
    assert logic.parse_date("2024-03-01T00:00:00") == date(2024, 3, 1)
    assert logic.parse_date("garbage") is None and logic.parse_date(None) is None


def test_one_year_return() -> None:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(400)]
    frame = pl.DataFrame({"date": days, "ticker": ["X"] * 400, "close_usd": [100.0] * 35 + [150.0] * 365})
    assert logic.one_year_return(frame, "X") == pytest.approx(0.5)
    assert logic.one_year_return(frame, "missing") is None


# ---- policy -------------------------------------------------------------------------------
EVENTS = pl.DataFrame(
    {
        "event_id": ["a", "b"],
        "announced_date": [date(2019, 5, 15), date(2022, 10, 7)],
        "effective_date": [date(2019, 5, 16), date(2022, 10, 21)],
        "agency": ["BIS"] * 2,
        "title": ["Huawei listed", "Advanced computing rule"],
        "citation": ["84 FR 22961", "87 FR 62186"],
        "category": ["entity_list", "chips_and_sme"],
        "source": ["FR"] * 2,
        "flag": ["reported", "estimate"],
        "notes": [None, None],
    }
)
ENTITIES = pl.DataFrame(
    {
        "name": ["Huawei", "HiSilicon"],
        "country": ["CN"] * 2,
        "added_date": [date(2019, 5, 16)] * 2,
        "citation": ["84 FR 22961"] * 2,
        "event_id": ["a"] * 2,
        "source": ["FR"] * 2,
        "flag": ["reported"] * 2,
        "notes": [None] * 2,
    }
)


def test_policy_timeline_has_a_lane_per_category_and_entity_additions() -> None:
    view = logic.policy_timeline_view(_qr(EVENTS), _qr(ENTITIES))
    lanes = {t.name for t in view.figure.data}
    assert lanes == {"entity_list", "chips_and_sme", logic.ENTITY_LANE}
    entity = next(t for t in view.figure.data if t.name == logic.ENTITY_LANE)
    assert "2 parties" in entity.text[0]
    hollow = next(t for t in view.figure.data if t.name == "chips_and_sme")
    assert list(hollow.marker.symbol) == ["circle-open"]  # estimate
    assert set(view.frame["category"].to_list()) == {"entity_list", "chips_and_sme", "entity_list_addition"}
    without = logic.policy_timeline_view(_qr(EVENTS), _qr(ENTITIES), include_entities=False)
    assert logic.ENTITY_LANE not in {t.name for t in without.figure.data}


def test_event_detail_and_latest_event() -> None:
    info = logic.event_detail(EVENTS, ENTITIES, "a")
    assert info["citation"] == "84 FR 22961" and info["entities"] == ["Huawei", "HiSilicon"]
    assert logic.event_detail(EVENTS, ENTITIES, "nope") is None
    assert logic.latest_event(EVENTS)["event_id"] == "b"


# ---- capacity -----------------------------------------------------------------------------
CAP = pl.DataFrame(
    {
        "company": ["A", "A", "A", "B"],
        "fab": ["total", "total", "Fab 1", "Fab 8in"],
        "country": ["CN", "CN", "CN", "US"],
        "product": ["logic", "logic", "logic", "specialty"],
        "node_class": ["mixed", "mixed", "28nm+", "28nm+"],
        "wafer_size_mm": [300, 300, 300, 200],
        "capacity_wspm": [100.0, 120.0, 40.0, 90.0],
        "year": [2023, 2024, 2024, 2024],
        "status": ["operating"] * 4,
        "source": ["s"] * 4,
        "flag": ["reported", "estimate", "reported", "reported"],
    }
)


def test_capacity_is_300mm_equivalent_and_never_summed() -> None:
    eq = logic.capacity_300eq(CAP)
    assert eq.filter(pl.col("fab") == "Fab 8in")["wspm_300eq"][0] == pytest.approx(90 * (200 / 300) ** 2)
    view = logic.capacity_view(_qr(CAP), "company")
    assert len(view.figure.data) == 3  # one trace per (company, fab) series, not one per company
    totals = [list(t.y) for t in view.figure.data]
    assert [100.0, 120.0] in totals  # the company total is drawn as given, not added to Fab 1
    only_us = logic.capacity_view(_qr(CAP), "country", countries=["US"])
    assert len(only_us.figure.data) == 1
    assert logic.capacity_view(_qr(CAP), "company", products=["dram"]).figure.layout.annotations


def test_tool_demand_bars_and_share_fallback() -> None:
    td = pl.DataFrame(
        {
            "scenario_id": ["s"] * 4,
            "year": [2025, 2025, 2026, 2026],
            "tool_type": ["etch", "litho", "etch", "litho"],
            "count": [10.0, 5.0, 12.0, 6.0],
            "domestic_share": [0.5, 0.01, 0.55, 0.02],
            "source": ["x"] * 4,
        }
    )
    view = logic.tool_demand_view(_qr(td))
    bars = [t for t in view.figure.data if t.type == "bar"]
    assert {t.name for t in bars} == {"etch", "litho"} and view.figure.layout.barmode == "stack"
    shares = pl.DataFrame(
        {
            "tool_type": ["etch", "litho_duv"],
            "domestic_share": [0.6, 0.01],
            "year": [2024, 2021],
            "source": ["s", "s"],
            "flag": ["estimate"] * 2,
        }
    )
    fallback = logic.tool_demand_view(_empty(), _qr(shares))
    assert list(fallback.figure.data[0].y) == ["litho_duv", "etch"]


def test_tool_supply_grouped_demand_vs_supply_with_coverage_hover() -> None:
    ts = pl.DataFrame(
        {
            "scenario_id": ["s"] * 5,
            "year": [2025, 2025, 2025, 2026, 2026],
            "tool_type": ["cvd", "deposition", "dry_etch", "deposition", "dry_etch"],
            "domestic_tools_new": [4.0, 10.0, 50.0, 12.0, 60.0],
            "domestic_supply": [6.0, 20.0, 40.0, None, 45.0],
            "coverage": [1.5, 2.0, 0.8, None, 0.75],
            "source": ["x"] * 5,
            "flag": ["estimate"] * 5,
        }
    )
    view = logic.tool_supply_view(_qr(ts))
    names = [t.name for t in view.figure.data]
    assert names == [
        "dry_etch demand",
        "dry_etch supply",
        "deposition demand",
        "deposition supply",
        "cvd demand",
        "cvd supply",
    ]
    assert view.figure.layout.barmode == "group"
    etch_supply = view.figure.data[1]
    assert list(etch_supply.y) == [40.0, 45.0] and "coverage 80%" in etch_supply.text[0]
    assert list(view.figure.data[2].x) == [2025]  # the row without a supply figure is dropped
    assert view.figure.data[4].visible == "legendonly" and view.figure.data[0].visible is True
    assert "estimate" in view.note and view.frame.height == 4
    assert logic.tool_supply_view(_empty()).figure.layout.annotations
    none = ts.with_columns(pl.lit(None, dtype=pl.Float64).alias("domestic_supply"))
    assert logic.tool_supply_view(_qr(none)).note == "no tool type has a domestic supply figure yet"


# ---- hardware -----------------------------------------------------------------------------
CHIPS = pl.DataFrame(
    {
        "id": ["x", "y"],
        "vendor": ["NVIDIA", "Huawei"],
        "bf16_tflops": [1000.0, 750.0],
        "int8_tops": [2000.0, 1500.0],
        "hbm_gb": [80.0, 128.0],
        "hbm_tbps": [3.35, 3.2],
        "scaleup_gbps": [900.0, 392.0],
        "tdp_w": [700.0, None],
        "sources": ["a; b", "c"],
        "flag": ["reported", "estimate"],
        "source": ["sim", "sim"],
    }
)
SYSTEMS = pl.DataFrame(
    {
        "id": ["s8", "s384"],
        "chips": [8, 384],
        "bf16_pflops": [8.0, 290.0],
        "power_kw": [10.0, 560.0],
        "pflops_per_kw": [0.8, 0.52],
        "power_breakdown_kw": [
            json.dumps({"accelerators": 6.0, "cooling": 4.0}),
            json.dumps({"accelerators": 300.0, "optics": 60.0}),
        ],
        "source": ["sim", "sim"],
    }
)


def test_chip_table_perf_per_watt_and_vendor_colours() -> None:
    table = logic.chip_table(CHIPS, None)
    assert table["tflops_per_w"].to_list()[0] == pytest.approx(1000 / 700)
    assert table["tflops_per_w"].to_list()[1] is None  # TDP unpublished: no made-up figure
    view = logic.chip_compare_view(_qr(CHIPS), ["x", "y"], "bf16_tflops")
    assert list(view.figure.data[0].marker.color) == [ui.FOREIGN, ui.DOMESTIC]
    assert {"a", "b", "c"} <= set(view.sources)
    assert logic.chip_compare_view(_qr(CHIPS), [], "bf16_tflops").figure.layout.annotations


def test_power_breakdown_per_system_and_per_chip() -> None:
    long = logic.power_breakdown(SYSTEMS, ["s8"])
    assert dict(zip(long["component"].to_list(), long["kw"].to_list(), strict=True)) == {
        "accelerators": 6.0,
        "cooling": 4.0,
    }
    per_chip = logic.power_view(_qr(SYSTEMS), ["s8"], per_chip=True)
    assert per_chip.frame.filter(pl.col("component") == "cooling")["value"][0] == pytest.approx(500.0)  # W
    perfw = logic.perf_per_watt_view(_qr(SYSTEMS), None)
    assert list(perfw.figure.data[0].x) == ["s8", "s384"]


# ---- forecasts ----------------------------------------------------------------------------
FC = pl.DataFrame(
    {
        "scenario_id": ["base"] * 3 + ["alt"] * 3 + ["base"] * 3,
        "segment": ["wfe"] * 9,
        "year": [2025, 2026, 2027] * 3,
        "model": ["structural"] * 6 + ["ensemble"] * 3,
        "p10": [0.1, 0.2, 0.3, 0.2, 0.3, 0.4, 0.0, 0.0, 0.0],
        "p50": [0.2, 0.3, 0.4, 0.3, 0.4, 0.5, 0.1, 0.1, 0.1],
        "p90": [0.3, 0.4, 0.5, 0.4, 0.5, 0.6, 0.2, 0.2, 0.2],
        "source": ["m"] * 9,
    }
)


def test_fan_view_draws_band_and_median_per_scenario() -> None:
    hist = pl.DataFrame(
        {
            "segment": ["wfe"],
            "year": [2024],
            "domestic_share": [0.25],
            "metric": ["m"],
            "source": ["SEMI"],
            "flag": ["estimate"],
        }
    )
    view = logic.fan_view(_qr(FC), "wfe", ["base", "alt"], _qr(hist), None)
    bands = [t for t in view.figure.data if t.fill == "toself"]
    assert len(bands) == 2
    base_band = bands[0]
    assert list(base_band.y) == [0.3, 0.4, 0.5, 0.3, 0.2, 0.1]  # p90 forward, p10 back
    assert view.note == "model: structural" and "SEMI" in view.sources
    assert logic.fan_view(_qr(FC), "hbm").figure.layout.annotations  # no hbm rows: says so


def test_compare_runs_difference() -> None:
    view = logic.compare_runs_view(_qr(FC), "base", "alt", "wfe")
    assert view.frame["p50_b_minus_a"].to_list() == pytest.approx([0.1, 0.1, 0.1])
    assert logic.compare_runs_view(_qr(FC), None, "alt", "wfe").figure.layout.annotations


def test_latest_shares_keep_disagreement_as_a_range() -> None:
    hist = pl.DataFrame(
        {
            "segment": ["wfe", "wfe", "wfe"],
            "year": [2023, 2024, 2024],
            "domestic_share": [0.4, 0.2, 0.25],
            "source": ["a", "b", "c"],
        }
    )
    row = logic.latest_shares(hist).row(0, named=True)
    assert (row["year"], row["low"], row["high"], row["sources"]) == (2024, 0.2, 0.25, 2)
    assert logic.share_range_text(0.2, 0.25) == "20–25%" and logic.share_range_text(0.34, 0.34) == "34%"


def test_run_helpers() -> None:
    from datetime import datetime

    runs = _qr(
        pl.DataFrame(
            {
                "scenario_id": ["baseline-old", "baseline-new", "x-1"],
                "name": ["baseline", "baseline", "x"],
                "created_at": [datetime(2026, 1, 1), datetime(2026, 3, 1), datetime(2026, 2, 1)],
            }
        )
    )
    assert logic.baseline_run_id(runs) == "baseline-new"
    assert logic.latest_per_name(runs) == ["baseline-new", "x-1"]
    assert logic.baseline_run_id(_empty(), ["x", "baseline-7"]) == "baseline-7"
    assert [o["value"] for o in logic.run_options(runs)] == ["baseline-old", "baseline-new", "x-1"]


# ---- components ---------------------------------------------------------------------------
def test_components_csv_sources_banner() -> None:
    assert ui.frame_csv(pl.DataFrame({"a": [1], "b": ["x"]})) == "a,b\n1,x\n"
    assert ui.frame_csv(None) == ""
    items = ui.sources_list(["https://example.org/x", "FR 1", "FR 1"])
    assert len(items) == 2 and items[0].children.href == "https://example.org/x"
    assert ui.sample_banner([]) is None
    assert "Sample prices" in str(ui.sample_banner(["688256.SS"]).children[0].children)
    assert ui.csv_filename("Market Performance!") == "fabscope-market-performance-.csv"
    card = ui.chart_card("demo", "Demo", sources=["s1"])
    ids = [getattr(c, "id", None) for c in card.children if c is not None]
    assert "demo-graph" in ids and ui.csv_store_id("demo") in ids


# ---- scenario editor ----------------------------------------------------------------------
def test_scale_distribution_clips_fractions() -> None:
    d = {"dist": "triangular", "low": 0.4, "mode": 0.6, "high": 0.8, "source": "s", "flag": "reported"}
    out = se.scale_distribution(d, 2.0, bounds=(0.0, 1.0))
    assert (out["low"], out["mode"], out["high"]) == (0.8, 1.0, 1.0)
    assert out["flag"] == "estimate" and "×2" in out["note"]
    assert se.scale_distribution(d, 1.0) == d


@pytest.mark.parametrize("factor", [se.LEVER_MIN, se.LEVER_MAX])
def test_every_lever_at_its_extremes_still_validates(factor: float) -> None:
    # each lever is clipped to its parameter's allowed range, e.g. foreign_hbm_decline 0.6 x3 -> 1.0, not 1.8
    base = se.resolved_scenario("baseline.yaml")
    levers = {p: factor for p in se.EDITOR_LEVERS if p in base["parameters"]}
    assert levers
    sc = se.validate_scenario_text(se.build_scenario_yaml("baseline.yaml", "extreme", levers))
    assert sc.name == "extreme"


def test_build_scenario_yaml_applies_levers_everywhere() -> None:
    base = se.resolved_scenario("baseline.yaml")
    text = se.build_scenario_yaml("baseline.yaml", "half-foreign", {"foreign_accelerators": 0.5})
    sc = se.validate_scenario_text(text)
    assert sc.name == "half-foreign"
    data = yaml.safe_load(text)
    before = base["parameters"]["foreign_accelerators"]
    after = data["parameters"]["foreign_accelerators"]
    key = next(k for k in ("value", "mode", "high", "mean") if k in before)
    assert after[key] == pytest.approx(before[key] * 0.5)
    for old, new in zip(base.get("regimes", []), data.get("regimes", []), strict=True):
        if "foreign_accelerators" in old["parameters"]:
            o, n = old["parameters"]["foreign_accelerators"], new["parameters"]["foreign_accelerators"]
            k = next(k for k in ("value", "mode", "high", "mean") if k in o)
            assert n[k] == pytest.approx(o[k] * 0.5)
    with pytest.raises(se.ScenarioInputError, match="run name"):
        se.build_scenario_yaml("baseline.yaml", "bad name!", {})
    with pytest.raises(se.ScenarioInputError, match="outside"):
        se.build_scenario_yaml("baseline.yaml", "ok", {"demand_growth": 9.0})
    with pytest.raises(se.ScenarioInputError, match="unknown base"):
        se.build_scenario_yaml("../../etc/passwd", "ok", {})


def _upload(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return "data:application/x-yaml;base64," + base64.b64encode(raw).decode()


def test_upload_validation() -> None:
    good = se.build_scenario_yaml("baseline.yaml", "uploaded", {})
    assert se.decode_upload(_upload(good), "mine.yaml") == good
    with pytest.raises(se.ScenarioInputError, match="limit"):
        se.decode_upload(_upload(good + "#" * se.MAX_UPLOAD_BYTES), "big.yaml")
    with pytest.raises(se.ScenarioInputError, match=r"\.yaml"):
        se.decode_upload(_upload(good), "mine.exe")
    with pytest.raises(se.ScenarioInputError, match="base64"):
        se.decode_upload("data:x;base64,@@@@", "mine.yaml")
    with pytest.raises(se.ScenarioInputError, match="UTF-8"):
        se.decode_upload(_upload(b"\xff\xfe\x00bad"), "mine.yaml")
    with pytest.raises(se.ScenarioInputError, match="extends"):
        se.decode_upload(_upload("name: x\nextends: /etc/passwd\n"), "mine.yaml")
    with pytest.raises(se.ScenarioInputError, match="mine.yml"):
        se.decode_upload(_upload("name: x\nhorizon: {start_year: 2025, end_year: 2030}\n"), "mine.yml")
    assert se.clamp_paths("junk") == se.DEFAULT_PATHS and se.clamp_paths(10**9) == se.MAX_PATHS


def test_rerun_stores_the_run_through_the_single_writer(db_copy: Path) -> None:
    text = se.build_scenario_yaml("baseline.yaml", "dash-test", {"demand_growth": 1.5})
    steps: list[tuple[int, int, str]] = []
    doc = se.rerun(str(db_copy), text, seed=7, n_paths=200, progress=lambda s, t, m: steps.append((s, t, m)))
    assert doc["scenario_id"].startswith("dash-test-")
    assert [s for s, _, _ in steps] == [0, 1, 2, 3, 4] and all(t == se.RERUN_STEPS for _, t, _ in steps)
    runs = q.scenario_runs(db_copy)
    assert doc["scenario_id"] in runs.frame["scenario_id"].to_list()
    stored = q.substitution_forecast(db_copy, [doc["scenario_id"]])
    assert stored.ok and set(stored.frame["segment"].to_list()) >= {"ai_accelerators", "wfe", "hbm"}
    with pytest.raises(se.ScenarioInputError):
        se.rerun(str(db_copy), "name: broken\n", progress=None)


def test_rerun_in_a_fresh_process_reports_progress_and_errors(db_copy: Path) -> None:
    """What the dashboard's background callback calls (fork-safe: a new interpreter does the work)."""
    text = se.build_scenario_yaml("baseline.yaml", "dash-proc", {})
    steps: list[int] = []
    doc = se.rerun_in_subprocess(
        str(db_copy), text, seed=3, n_paths=150, progress=lambda s, t, m: steps.append(s)
    )
    assert doc["scenario_id"].startswith("dash-proc-") and doc["n_paths"] == 150 and doc["seed"] == 3
    assert steps == [0, 1, 2, 3, 4]
    assert doc["scenario_id"] in q.scenario_runs(db_copy).frame["scenario_id"].to_list()
    with pytest.raises(se.ScenarioInputError, match="invalid scenario|missing"):
        se.rerun_in_subprocess(str(db_copy), "name: broken\nhorizon: {start_year: 2025, end_year: 2030}\n")


# ---- page callbacks on the refreshed warehouse --------------------------------------------
@pytest.fixture(scope="module")
def pages(refreshed_db: Path) -> dict:
    """The page modules as Dash loads them (they register with the app), reading the refreshed warehouse."""
    from app.dashboard.app import create_app

    create_app(str(refreshed_db))
    return {
        name: sys.modules[f"pages.{name}"]
        for name in ("overview", "market", "policy", "capacity", "hardware", "forecasts")
    }


def test_page_layouts_build_on_the_refreshed_warehouse(pages: dict, refreshed_db: Path) -> None:
    ui.set_db(refreshed_db)
    for name, module in pages.items():
        tree = module.layout()
        assert tree is not None, name
        assert "Traceback" not in str(tree)


def test_page_callbacks_on_the_refreshed_warehouse(pages: dict, refreshed_db: Path) -> None:
    ui.set_db(refreshed_db)
    view, _table = pages["policy"].timeline(["entity_list"], True)
    assert view.frame.height > 0 and set(view.frame["category"].to_list()) <= {
        "entity_list",
        "entity_list_addition",
    }
    assert pages["capacity"].capacity("country", None, None).frame.height > 0
    hw_view, answer = pages["hardware"].calculator(
        "cloudmatrix-384", "deepseek-r1", "decode", "fp8", 32, None, 2048, 512
    )
    assert hw_view.frame.height > 0 and answer.id == "llm-answer"
    fan = pages["forecasts"].fan("ai_accelerators", None, "structural")
    assert fan.frame.height > 0
    perf, _banner = pages["market"].performance(list(logic.DEFAULT_TICKERS), None, None, ["events"])
    prices = q.prices(refreshed_db, list(logic.DEFAULT_TICKERS))
    assert (perf.frame.height > 0) == prices.ok  # draws when prices are stored; otherwise says why
    if not prices.ok:
        assert "fabscope refresh" in perf.figure.layout.annotations[0].text


# ---- review hardening: CSV/sources on every chart, empty warehouses, policy dates, uploads ----
def test_fan_csv_holds_every_point_drawn() -> None:
    hist = pl.DataFrame(
        {
            "segment": ["wfe"],
            "year": [2024],
            "domestic_share": [0.25],
            "metric": ["m"],
            "source": ["SEMI"],
            "flag": ["estimate"],
        }
    )
    outlook = pl.DataFrame(
        {
            "segment": ["wfe"],
            "year": [2027],
            "domestic_share": [0.5],
            "metric": ["m"],
            "publisher": ["Bank"],
            "published": [date(2025, 1, 1)],
            "source": ["Bank note"],
            "flag": ["estimate"],
        }
    )
    view = logic.fan_view(_qr(FC), "wfe", ["base"], _qr(hist), _qr(outlook))
    drawn = sum(len(t.y) for t in view.figure.data if t.fill != "toself")  # p50 points + observed + outlooks
    assert view.frame.height == drawn == 5
    assert view.frame.columns[0] == "series"
    assert set(view.frame["series"].to_list()) == {"forecast", "observed", "third-party outlook"}
    csv = ui.frame_csv(view.frame)
    assert "observed" in csv and "Bank" in csv
    compare = logic.compare_runs_view(_qr(FC), "base", "alt", "wfe")
    assert compare.frame.height == 3  # compare CSV: one row per year, no observed rows mixed in


def test_compare_on_an_empty_warehouse_says_what_is_missing() -> None:
    view = logic.compare_runs_view(
        _empty("no forecast data yet (table `substitution_forecast` is missing) — run `fabscope refresh`"),
        None,
        None,
        "wfe",
    )
    assert "substitution_forecast" in view.figure.layout.annotations[0].text
    assert (
        "pick two runs"
        in logic.compare_runs_view(_qr(FC), None, "alt", "wfe").figure.layout.annotations[0].text
    )


def test_download_payload_names_the_file_and_explains_no_rows() -> None:
    assert ui.download_payload(0, "a\n1\n", "x") is None
    got = ui.download_payload(1, "a\n1\n", "market-performance")
    assert got == {
        "content": "a\n1\n",
        "filename": "fabscope-market-performance.csv",
        "type": "text/csv",
        "base64": False,
    }
    assert ui.download_payload(2, "", "x")["content"] == ui.NO_ROWS_CSV


def _tree_nodes(node: object) -> list:
    out: list = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, list | tuple):
            stack.extend(n)
        elif hasattr(n, "to_plotly_json"):
            out.append(n)
            stack.append(getattr(n, "children", None))
    return out


def _card_names(tree: object) -> list[str]:
    return [
        n.id[: -len("-card")]
        for n in _tree_nodes(tree)
        if isinstance(getattr(n, "id", None), str)
        and n.id.endswith("-card")
        and any(type(c).__name__ == "Graph" for c in _tree_nodes(n.children))
    ]


def test_every_chart_on_every_page_has_csv_and_sources(pages: dict, refreshed_db: Path) -> None:
    """Each chart card carries Download CSV + Sources, and a callback (or the layout) fills all three."""
    from dash._callback import GLOBAL_CALLBACK_MAP

    ui.set_db(refreshed_db)
    outputs = " ".join(GLOBAL_CALLBACK_MAP)
    seen = {}
    for name, module in pages.items():
        tree = module.layout()
        nodes = _tree_nodes(tree)
        graphs = [n.id for n in nodes if type(n).__name__ == "Graph"]
        cards = _card_names(tree)
        assert sorted(graphs) == sorted(f"{c}-graph" for c in cards), f"{name}: a chart outside a chart card"
        for card in cards:
            ids = [getattr(n, "id", None) for n in nodes]
            assert {"type": "csv-button", "card": card} in ids and {
                "type": "csv-download",
                "card": card,
            } in ids
            assert ui.csv_store_id(card) in ids and ui.sources_id(card) in ids
            wired = f"{card}-graph.figure" in outputs
            if wired:  # the page callback sets figure, CSV and sources together
                assert f'"card":"{card}","type":"csv-data"' in outputs.replace(" ", ""), card
                assert f'"card":"{card}","type":"sources"' in outputs.replace(" ", ""), card
            else:  # static card (Overview): its CSV and sources come with the layout
                store = next(n for n in nodes if getattr(n, "id", None) == ui.csv_store_id(card))
                assert store.data, f"{card}: static chart without CSV rows"
        seen[name] = cards
    assert all(seen.values()), seen


def _views_of_every_callback(pages: dict, db: str) -> dict[str, logic.View]:
    """What each chart's callback draws with the layout's default inputs."""
    ui.set_db(db)
    m, p, c, h, f = (pages[n] for n in ("market", "policy", "capacity", "hardware", "forecasts"))
    ev = q.event_study_events(db)
    table, opts, a, b, fan_opts, fan_ids = f.run_list()
    return {
        "market-performance": m.performance(
            list(logic.DEFAULT_TICKERS) if q.tickers(db).ok else [], None, None, ["events"]
        )[0],
        "market-car": m.event_study(ev.frame["event_id"][0] if ev.ok else None, None)[0],
        "policy-timeline": p.timeline(q.export_control_categories(db), True)[0],
        "cap-capacity": c.capacity("company", [], []),
        "cap-tools": c.tool_demand(None),
        "cap-supply": c.tool_supply(None),
        "hw-chips": logic.chip_compare_view(q.chip_specs(db), list(h.DEFAULT_CHIPS), "bf16_tflops"),
        "hw-power": logic.power_view(q.system_perf(db), list(h.DEFAULT_SYSTEMS), per_chip=True),
        "hw-perfw": logic.perf_per_watt_view(q.system_perf(db), list(h.DEFAULT_SYSTEMS)),
        "forecast-fan": f.fan("ai_accelerators", fan_ids, "structural"),
        "forecast-compare": f.compare(a, b, "ai_accelerators"),
    }


@pytest.mark.parametrize("kind", ["missing", "bare"])
def test_every_page_on_an_empty_warehouse_says_what_is_missing(
    pages: dict, tmp_path: Path, kind: str
) -> None:
    """No warehouse file, or a file without tables: every chart explains itself; no traceback, no blank."""
    import duckdb

    db = tmp_path / "fabscope.duckdb"
    if kind == "bare":
        duckdb.connect(str(db)).close()
    try:
        for name, module in pages.items():
            ui.set_db(db)
            text = str(module.layout())
            assert "Traceback" not in text, name
        for card, view in _views_of_every_callback(pages, str(db)).items():
            assert not view.figure.data, card
            message = view.figure.layout.annotations[0].text
            assert "fabscope refresh" in message, f"{card}: {message!r} does not say how to get the data"
            assert ("no warehouse" in message) if kind == "missing" else ("missing" in message), card
            _fig, csv, sources = view.card_outputs
            assert csv == "" and sources
        overview = str(pages["overview"].layout())
        assert overview.count("fabscope refresh") >= 5  # race chart + every headline figure
    finally:
        ui.set_db(None)


def test_sample_banner_only_when_sample_prices_are_on_screen(pages: dict, db_copy: Path) -> None:
    """Market + Overview: the banner follows the provider of the prices actually drawn."""
    import duckdb

    ui.set_db(db_copy)
    try:
        with duckdb.connect(str(db_copy)) as con:  # pretend NVDA came from a real provider
            con.execute("UPDATE prices_daily SET provider = 'yahoo' WHERE ticker = 'NVDA'")
        _view, banner = pages["market"].performance(["NVDA"], None, None, [])
        assert banner is None
        view, banner = pages["market"].performance(["NVDA", logic.CAMBRICON], None, None, [])
        assert view.sample_tickers == (logic.CAMBRICON,) and banner is not None
        assert logic.CAMBRICON in str(banner) and "NVDA" not in str(banner.children[1])
        _view, banner = pages["market"].performance([], None, None, [])
        assert banner is None  # nothing on screen, nothing to warn about
        overview = pages["overview"].layout()
        assert "Sample prices on screen" in str(overview)  # Cambricon (sample) is in the race chart
    finally:
        ui.set_db(None)


def test_policy_date_range_filters_actions_and_entity_additions(pages: dict, refreshed_db: Path) -> None:
    from datetime import date as d

    ui.set_db(refreshed_db)
    cats = q.export_control_categories(refreshed_db)
    every, _ = pages["policy"].timeline(cats, True)
    view, table = pages["policy"].timeline(cats, True, "2023-01-01", "2023-12-31")
    assert 0 < view.frame.height < every.frame.height
    assert all(d(2023, 1, 1) <= x <= d(2023, 12, 31) for x in view.frame["date"].to_list())
    assert {"entity_list_addition"} < set(view.frame["category"].to_list())  # additions are filtered too
    announced = [d.fromisoformat(r["announced_date"]) for r in table.data]
    assert announced and all(d(2023, 1, 1) <= x <= d(2023, 12, 31) for x in announced)
    open_end, _ = pages["policy"].timeline(cats, True, "2024-01-01", None)
    assert open_end.frame["date"].min() >= d(2024, 1, 1)
    backwards, msg = pages["policy"].timeline(cats, True, "2024-01-01", "2023-01-01")
    assert "after the end date" in backwards.figure.layout.annotations[0].text and "after" in str(msg)
    nothing, _ = pages["policy"].timeline(cats, True, "1990-01-01", "1990-12-31")
    assert "match this selection" in nothing.figure.layout.annotations[0].text
    layout = str(pages["policy"].layout())
    assert "policy-dates" in layout


def test_cleared_pickers_ask_for_a_pick(pages: dict, refreshed_db: Path) -> None:
    ui.set_db(refreshed_db)
    assert (
        "pick at least one scenario run"
        in pages["forecasts"].fan("wfe", [], None).figure.layout.annotations[0].text
    )
    assert "pick an event" in pages["market"].event_study(None, None)[0].figure.layout.annotations[0].text


def test_oversized_or_wrong_uploads_reach_the_server_and_get_a_message(
    pages: dict, refreshed_db: Path
) -> None:
    """The browser must not silently drop a bad file: it forwards it and the server explains the refusal."""
    import dash

    ui.set_db(refreshed_db)
    upload = next(
        n for n in _tree_nodes(pages["forecasts"].layout()) if getattr(n, "id", None) == "editor-upload"
    )
    assert upload.max_size > se.MAX_UPLOAD_BYTES * 4  # oversized files up to the browser cap are sent...
    assert getattr(upload, "accept", None) is None  # ...and so are wrong types (the server names the problem)
    good = se.build_scenario_yaml("baseline.yaml", "uploaded", {})
    compose = pages["forecasts"].compose
    for contents, name, expected in (
        (_upload(good + "#" * se.MAX_UPLOAD_BYTES), "big.yaml", "limit"),
        (_upload(good), "scenario.txt", ".yaml"),
        (_upload("name: [unclosed\n"), "broken.yaml", "broken.yaml"),
        (_upload(b"\x00\xff binary"), "blob.yaml", "UTF-8"),
    ):
        text, message = compose("baseline.yaml", "x", [], [], contents, name, "editor-upload")
        assert text is dash.no_update and expected in str(message.children), (name, message)
        assert message.className == "error-text"


def test_server_refuses_oversized_requests_and_downloads_clientside(pages: dict, refreshed_db: Path) -> None:
    from app.dashboard.app import MAX_REQUEST_BYTES, create_app

    app = create_app(str(refreshed_db))
    client = app.server.test_client()
    resp = client.post(
        "/_dash-update-component", data=b"x" * (MAX_REQUEST_BYTES + 1), content_type="application/json"
    )
    assert resp.status_code == 413
    # the CSV download runs in the browser: the rows never travel back to the server
    download = [c for c in app._callback_list if "csv-download" in c["output"]]
    assert len(download) == 1 and download[0].get("clientside_function")
