"""The dashboard's read-only query layer (app.queries): answers, reasons, parameters, concurrency."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from app import queries as q
from pipelines.warehouse import Warehouse, replace_rows

# Hand-made rows for a small test warehouse. They exercise the queries; they are not facts.
_PRICES = pl.DataFrame(
    {
        "date": [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)] * 2,
        "ticker": ["AAA"] * 3 + ["BBB.SS"] * 3,
        "close": [10.0, 11.0, 12.0, 70.0, 77.0, 84.0],
        "currency": ["USD"] * 3 + ["CNY"] * 3,
        "close_usd": [10.0, 11.0, 12.0, 10.0, 11.0, 12.0],
        "provider": ["yahoo"] * 3 + ["sample"] * 3,
        "source": ["test yahoo"] * 3 + ["test sample"] * 3,
    }
)
_TICKERS = pl.DataFrame(
    {
        "ticker": ["AAA", "BBB.SS"],
        "name": ["Alpha", "Beta"],
        "country": ["US", "CN"],
        "domestic_china": [False, True],
        "is_benchmark": [False, False],
        "source": ["t", "t"],
        "flag": ["reported"] * 2,
    }
)
_EVENTS = pl.DataFrame(
    {
        "event_id": ["e1", "e2", "e3"],
        "announced_date": [date(2022, 10, 7), date(2023, 10, 17), date(2024, 12, 2)],
        "effective_date": [date(2022, 10, 21), date(2023, 11, 17), date(2024, 12, 2)],
        "agency": ["BIS"] * 3,
        "title": ["rule one", "rule two", "listing"],
        "citation": ["87 FR 1", "88 FR 2", "89 FR 3"],
        "category": ["chips_and_sme", "chips_and_sme", "entity_list"],
        "source": ["src one", "src two", "src three"],
        "flag": ["reported", "reported", "estimate"],
    }
)


_ROWS = {
    "event_study": {
        "event_id": ["e2"] * 2,
        "ticker": ["AAA", "BBB.SS"],
        "window": ["[-1,+1]"] * 2,
        "car": [-0.02, 0.05],
        "t_stat": [-1.0, 2.5],
        "source": ["es"] * 2,
    },
    "substitution_forecast": {
        "scenario_id": ["base-1", "base-1", "alt-2"],
        "segment": ["wfe", "hbm", "wfe"],
        "year": [2026] * 3,
        "model": ["structural"] * 3,
        "p10": [0.1] * 3,
        "p50": [0.2] * 3,
        "p90": [0.3] * 3,
    },
    "scenario_runs": {
        "scenario_id": ["base-1", "alt-2"],
        "name": ["baseline", "alt"],
        "seed": [1, 2],
        "content_sha256": ["x", "y"],
        "created_at": [datetime(2026, 1, 1), datetime(2026, 2, 1)],
    },
    "system_perf": {
        "id": ["s1"],
        "chips": [8],
        "bf16_pflops": [8.0],
        "power_kw": [10.0],
        "pflops_per_kw": [0.8],
        "power_breakdown_kw": [json.dumps({"accelerators": 6.0, "cooling": 4.0})],
        "source": ["sim"],
    },
    "tool_supply": {
        "scenario_id": ["base-1", "base-1", "alt-2"],
        "year": [2026, 2026, 2026],
        "tool_type": ["dry_etch", "deposition", "dry_etch"],
        "tools_new": [100.0, 80.0, 50.0],
        "domestic_share": [0.5, 0.25, 0.5],
        "domestic_tools_new": [50.0, 20.0, 25.0],
        "domestic_supply": [40.0, 30.0, 40.0],
        "coverage": [0.8, 1.5, 1.6],
        "gap": [10.0, -10.0, -15.0],
        "source": ["ts"] * 3,
        "flag": ["estimate"] * 3,
    },
}


def _build(path: Path, **more: dict) -> Path:
    """A small warehouse at ``path``: the frames above and ``_ROWS`` (plus ``more``: table -> columns)."""
    with Warehouse(path).write() as con:
        replace_rows(con, "prices_daily", _PRICES)
        replace_rows(con, "tickers", _TICKERS)
        replace_rows(con, "export_controls", _EVENTS)
        for table, columns in {**_ROWS, **more}.items():
            replace_rows(con, table, pl.DataFrame(columns))
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("queries") / "w.duckdb")


def test_missing_warehouse_is_an_answer_with_a_hint(tmp_path: Path) -> None:
    res = q.prices(tmp_path / "nope.duckdb", ["AAA"])
    assert res.empty and res.frame.height == 0
    assert "fabscope refresh" in res.reason and "nope.duckdb" in res.reason
    assert q.sample_price_tickers(tmp_path / "nope.duckdb") == []
    assert q.export_control_categories(tmp_path / "nope.duckdb") == []


def test_missing_table_and_empty_table_give_reasons(tmp_path: Path, db: Path) -> None:
    bare = tmp_path / "bare.duckdb"
    duckdb.connect(str(bare)).close()  # a warehouse file without any table yet
    res = q.fab_capacity(bare)
    assert res.empty and "missing" in res.reason and "fabscope refresh" in res.reason
    empty = q.fab_capacity(db)  # table exists (migrated) but has no rows
    assert empty.empty and "no fab-capacity data yet" in empty.reason


def test_prices_filter_by_ticker_and_dates(db: Path) -> None:
    res = q.prices(db, ["AAA"], date(2024, 1, 3), None)
    assert res.ok
    assert res.frame["ticker"].unique().to_list() == ["AAA"]
    assert res.frame["date"].to_list() == [date(2024, 1, 3), date(2024, 1, 4)]
    assert res.sources == ("test yahoo",)
    both = q.prices(db, ["AAA", "BBB.SS"], None, date(2024, 1, 2))
    assert sorted(both.frame["ticker"].to_list()) == ["AAA", "BBB.SS"]


def test_no_selection_is_explained_not_queried(db: Path) -> None:
    res = q.prices(db, [])
    assert res.empty and "pick at least one ticker" in res.reason
    assert "category" in q.export_controls(db, []).reason


def test_user_strings_are_parameters_not_sql(db: Path) -> None:
    hostile = "AAA' OR '1'='1"
    assert q.prices(db, [hostile]).empty
    assert q.event_study(db, "e2' OR 1=1 --").empty
    assert q.substitution_forecast(db, ["x'); DROP TABLE prices_daily; --"]).empty
    assert q.prices(db, ["AAA"]).ok  # table still there


def test_sample_tickers_are_detected(db: Path) -> None:
    assert q.sample_price_tickers(db) == ["BBB.SS"]
    assert q.sample_price_tickers(db, ["AAA"]) == []
    assert q.sample_price_tickers(db, []) == []


def test_export_controls_category_and_date_filters(db: Path) -> None:
    assert q.export_controls(db).frame.height == 3
    res = q.export_controls(db, ["entity_list"])
    assert res.frame["event_id"].to_list() == ["e3"]
    ranged = q.export_controls(db, None, date(2023, 1, 1), date(2023, 12, 31))
    assert ranged.frame["event_id"].to_list() == ["e2"]
    assert q.export_control_categories(db) == ["chips_and_sme", "entity_list"]


def test_event_study_joins_domestic_flag(db: Path) -> None:
    res = q.event_study(db, "e2")
    flags = dict(zip(res.frame["ticker"].to_list(), res.frame["domestic_china"].to_list(), strict=True))
    assert flags == {"AAA": False, "BBB.SS": True}
    events = q.event_study_events(db)
    assert events.frame["title"].to_list() == ["rule two"]


def test_forecast_filters_and_runs_newest_first(db: Path) -> None:
    assert q.forecast_scenarios(db) == ["alt-2", "base-1"]
    res = q.substitution_forecast(db, ["base-1"], "wfe")
    assert res.frame.height == 1 and res.frame["scenario_id"][0] == "base-1"
    runs = q.scenario_runs(db)
    assert runs.frame["scenario_id"].to_list() == ["alt-2", "base-1"]


def test_price_range_and_freshness(db: Path) -> None:
    rng = q.price_range(db)
    assert rng.frame.item(0, "first") == date(2024, 1, 2) and rng.frame.item(0, "last") == date(2024, 1, 4)
    fresh = q.table_freshness(db)
    assert {"prices_daily", "export_controls"} <= set(fresh.frame["table_name"].to_list())


def test_reads_keep_working_while_a_writer_is_staging(db: Path, tmp_path: Path) -> None:
    """A writer (scenario rerun, refresh) works on a staging copy: readers see the published file."""
    path = _build(tmp_path / "live.duckdb")
    wh = Warehouse(path)
    with wh.write() as con:
        replace_rows(con, "tickers", _TICKERS.head(1))
        during = q.tickers(path)  # read-only connection on the published file, mid-write
        assert during.ok and during.frame.height == 2
    after = q.tickers(path)
    assert after.frame.height == 1  # published atomically when the writer finished


def test_tool_supply_filters_by_scenario_and_explains_missing_table(tmp_path: Path, db: Path) -> None:
    one = q.tool_supply(db, "base-1")
    assert one.ok and one.frame["tool_type"].to_list() == ["deposition", "dry_etch"]
    assert one.frame.filter(pl.col("tool_type") == "deposition")["coverage"].item() == 1.5
    assert q.tool_supply(db).frame.height == 3 and one.sources == ("ts",)
    bare = tmp_path / "bare.duckdb"
    duckdb.connect(str(bare)).close()
    res = q.tool_supply(bare)
    assert res.empty and "tool_supply" in res.reason and "fabscope refresh" in res.reason


def test_a_filter_matching_nothing_is_not_told_to_refresh(db: Path) -> None:
    """An empty answer to a filtered query says "no rows match", not "run refresh" (which would not help)."""
    later = q.prices(db, ["AAA"], date(2030, 1, 1), None)
    assert later.empty and "match this selection" in later.reason and "refresh" not in later.reason
    assert "match this selection" in q.prices(db, ["NOPE"]).reason
    assert "match this selection" in q.export_controls(db, ["chips_and_sme"], date(2024, 1, 1)).reason
    assert "match this selection" in q.event_study(db, "e1").reason
    # an empty table stays "no data yet — run refresh", filter or not
    assert "fabscope refresh" in q.tool_demand(db, "base-1").reason
    assert "fabscope refresh" in q.fab_capacity(db).reason


def test_entity_list_date_filter_and_policy_date_span(tmp_path: Path, db: Path) -> None:
    entities = {
        "name": ["Old Co", "New Co"],
        "country": ["CN", "CN"],
        "added_date": [date(2019, 5, 16), date(2025, 3, 1)],
        "citation": ["c1", "c2"],
        "event_id": [None, None],
        "source": ["s1", "s2"],
        "flag": ["reported"] * 2,
    }
    path = _build(tmp_path / "policy.duckdb", entity_list=entities)
    assert q.entity_list(path).frame["name"].to_list() == ["Old Co", "New Co"]
    assert q.entity_list(path, date(2020, 1, 1), None).frame["name"].to_list() == ["New Co"]
    assert q.entity_list(path, None, date(2020, 1, 1)).frame["name"].to_list() == ["Old Co"]
    span = q.policy_date_range(path)
    assert (span.frame.item(0, "first"), span.frame.item(0, "last")) == (date(2019, 5, 16), date(2025, 3, 1))
    only_events = q.policy_date_range(db)  # entity_list empty: the export-control span
    assert (only_events.frame.item(0, "first"), only_events.frame.item(0, "last")) == (
        date(2022, 10, 7),
        date(2024, 12, 2),
    )
    assert q.policy_date_range(tmp_path / "nope.duckdb").empty


@pytest.mark.slow
def test_queries_on_a_damaged_block_give_a_reason_not_a_500(tmp_path: Path) -> None:
    import polars as pl

    from app.queries import _run
    from pipelines.warehouse import Warehouse, replace_rows

    wh = Warehouse(tmp_path / "w.duckdb")
    n = 60_000
    rows = pl.DataFrame(
        {
            "source_file": ["f"] * n,
            "row": range(n),
            "field": ["x"] * n,
            "value": [str(i) * 20 for i in range(n)],
        }
    ).with_columns(pl.lit("r").alias("reason"))
    with wh.write() as con:
        replace_rows(con, "quarantine", rows)
    size = wh.path.stat().st_size
    with wh.path.open("r+b") as fh:
        fh.seek(size // 2)
        fh.write(b"\xff" * 8192)
    res = _run(wh.path, "quarantine", "SELECT max(value) AS v FROM quarantine")
    assert res.frame.is_empty() and "damaged" in res.reason
