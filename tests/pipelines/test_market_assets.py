"""Market assets through Dagster: sample refresh, CSV drop with quarantine, the drop-folder sensor."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pipelines.assets import market
from pipelines.assets.policy import export_controls
from pipelines.warehouse import Warehouse


def _run(resources, db: Path, provider: str | None = None, checks: bool = True) -> dg.ExecuteInProcessResult:
    config = market.market_run_config(provider) if provider else None
    items = [*market.ASSETS, export_controls, *(market.CHECKS if checks else [])]
    return dg.materialize(
        items,
        resources=resources(db),
        run_config=config,
        raise_on_error=False,
    )


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory, run_resources) -> Path:
    db = tmp_path_factory.mktemp("market") / "w.duckdb"
    assert _run(run_resources, db).success
    return db


@pytest.mark.slow
def test_sample_refresh_fills_prices_fx_and_event_study(sample_db: Path, today: date) -> None:
    wh = Warehouse(sample_db)
    prov = wh.query(
        "SELECT provider, count(*) AS n, count(DISTINCT ticker) AS t FROM prices_daily GROUP BY 1"
    )
    assert prov.rows() == [("sample", prov["n"][0], 29)] and prov["n"][0] > 50_000
    assert wh.query("SELECT count(*) AS n FROM prices_daily WHERE close_usd IS NULL")["n"].item() == 0
    krw = wh.query("SELECT close, close_usd FROM prices_daily WHERE ticker = '000660.KS' LIMIT 1").row(0)
    assert 900 < krw[0] / krw[1] < 1600  # KRW per USD
    assert wh.query("SELECT count(DISTINCT currency) AS n FROM fx_daily")["n"].item() == 6
    es = wh.query('SELECT DISTINCT "window" FROM event_study ORDER BY 1')["window"].to_list()
    assert es == ["[-1,+1]", "[0,+20]", "[0,+5]"]
    assert "prices provider: sample" in wh.query("SELECT first(source) AS s FROM event_study")["s"].item()
    groups = wh.query('SELECT DISTINCT "group" FROM event_study_cross_section ORDER BY 1')["group"].to_list()
    assert groups == ["domestic_china", "foreign"]
    fetch = wh.query("SELECT provider, tickers_failed, requested_end, latest_date FROM price_fetches").row(0)
    assert fetch[:3] == ("sample", 0, today) and fetch[3] == today  # the run date, a Friday


@pytest.mark.slow
def test_cambricon_anchor_visible_in_warehouse(sample_db: Path) -> None:
    wh = Warehouse(sample_db)
    p = dict(
        wh.query(
            "SELECT date, close FROM prices_daily WHERE ticker = '688256.SS' AND date IN "
            "('2024-06-28', '2025-06-30')"
        ).rows()
    )
    assert p[date(2025, 6, 30)] / p[date(2024, 6, 28)] == pytest.approx(4.5)


@pytest.mark.slow
def test_ranged_sample_backfill_replaces_only_its_days(
    sample_db: Path, tmp_path: Path, run_resources
) -> None:
    import shutil

    db = tmp_path / "w.duckdb"
    shutil.copy(sample_db, db)
    count = (
        "SELECT (SELECT count(*) FROM prices_daily) AS p, (SELECT count(*) FROM fx_daily) AS f, "
        "(SELECT count(*) FROM prices_daily WHERE date < '2024-01-02') AS before, "
        "(SELECT sum(close) FROM prices_daily WHERE date BETWEEN '2024-01-02' AND '2024-03-29') AS s"
    )
    expected = Warehouse(db).query(count).row(0)
    config = market.market_run_config("sample", start="2024-01-02", end="2024-03-29")
    items = [*market.ASSETS, export_controls, *market.CHECKS]
    result = dg.materialize(
        items,
        resources=run_resources(db),
        run_config=config,
        raise_on_error=False,
    )
    assert result.success
    got = Warehouse(db).query(count).row(0)
    assert got[:3] == expected[:3] and got[2] > 0  # history outside the range kept, nothing duplicated
    assert got[3] == pytest.approx(expected[3])  # the range rewritten with the same deterministic sample


def _good_drop(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prices.csv").write_text(
        "date,ticker,close,volume\n"
        "2025-01-02,NVDA,100,10\n2025-01-03,NVDA,101,10\n2025-01-06,NVDA,102,10\n2025-01-07,NVDA,103,10\n"
        "2025-01-02,688256.SS,500,5\n2025-01-03,688256.SS,510,5\n"
    )


@pytest.mark.slow
def test_csv_drop_replaces_sample_rows_and_quarantines_bad_rows(
    sample_db: Path, tmp_path: Path, run_resources
) -> None:
    db = tmp_path / "w.duckdb"
    db.write_bytes(sample_db.read_bytes())
    drop = tmp_path / "drop"
    _good_drop(drop)
    assert _run(run_resources, db, f"csv:{drop}").success
    wh = Warehouse(db)
    nvda = wh.query("SELECT date, close, provider FROM prices_daily WHERE ticker = 'NVDA' ORDER BY date")
    assert nvda["provider"].unique().to_list() == ["csv"] and nvda["close"].to_list() == [100, 101, 102, 103]
    before = wh.query("SELECT * FROM prices_daily WHERE provider = 'csv' ORDER BY ticker, date")
    others = wh.query("SELECT count(*) AS n FROM prices_daily WHERE provider = 'sample'")["n"].item()
    assert others > 0  # tickers not in the drop keep their sample rows

    # a malformed file for the same keys: nothing already stored may change
    (drop / "prices.csv").unlink()
    (drop / "bad.csv").write_text(
        "date,ticker,close\n"
        "2025-01-02,NVDA,-1\n"  # 2 negative
        "2025-01-0X,NVDA,99\n"  # 3 bad date
        "2025-01-06,NVDA,n/a\n"  # 4 non-numeric
        "2025-01-07,NVDA,90\n"  # 5 duplicate
        "2025-01-07,NVDA,91\n"  # 6 duplicate
        "2025-01-08,NVDA,104\n"
    )  # 7 good new row
    assert _run(run_resources, db, f"csv:{drop}").success
    q = wh.query(
        "SELECT row, field, reason FROM quarantine WHERE source_file LIKE '%bad.csv' ORDER BY row, field"
    )
    assert [(r, f) for r, f, _ in q.rows()] == [
        (2, "close"),
        (3, "date"),
        (4, "close"),
        (5, "date,ticker"),
        (6, "date,ticker"),
    ]
    after = wh.query(
        "SELECT * FROM prices_daily WHERE provider = 'csv' AND date < '2025-01-08' ORDER BY ticker, date"
    )
    assert after.equals(before)
    assert (
        wh.query("SELECT close FROM prices_daily WHERE ticker = 'NVDA' AND date = '2025-01-08'").item() == 104
    )


@pytest.mark.slow
def test_unknown_layout_only_drop_fails_with_readable_message(tmp_path: Path, run_resources) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "notes.csv").write_text("a,b\n1,2\n")
    res = _run(run_resources, tmp_path / "w.duckdb", f"csv:{drop}", checks=False)
    assert not res.success
    failure = next(e for e in res.all_events if e.event_type_value == "STEP_FAILURE")
    text = str(failure.event_specific_data.error.message) + str(failure.event_specific_data.error.cause or "")
    assert "notes.csv" in text and "unknown price layout" in text


@pytest.mark.slow
def test_freshness_check_fails_when_latest_date_lags(tmp_path: Path, run_resources) -> None:
    drop = tmp_path / "drop"
    _good_drop(drop)
    db = tmp_path / "w.duckdb"
    config = {"ops": {"prices_daily": {"config": {"provider": f"csv:{drop}", "end": "2025-03-31"}}}}
    items = [*market.ASSETS, export_controls, market.prices_daily_fresh]
    res = dg.materialize(
        items,
        resources=run_resources(db),
        run_config=config,
        raise_on_error=False,
    )
    (ev,) = [e for e in res.get_asset_check_evaluations() if e.check_name == "prices_daily_fresh"]
    assert not ev.passed and "lags" in (ev.description or "")


def test_sensor_launches_on_new_or_changed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.sensors import csv_drop_sensor, evaluate_drop

    drop = tmp_path / "drop"
    monkeypatch.setenv("FABSCOPE_DROP_DIR", str(drop))
    ctx = dg.build_sensor_context()
    assert isinstance(csv_drop_sensor(ctx), dg.SkipReason)  # folder missing
    _good_drop(drop)
    req, cursor = evaluate_drop(drop, None)
    assert isinstance(req, dg.RunRequest)
    assert req.run_config["ops"]["prices_daily"]["config"]["provider"] == f"csv:{drop}"
    again, same = evaluate_drop(drop, cursor)
    assert isinstance(again, dg.SkipReason) and same == cursor
    st = (drop / "prices.csv").stat()
    os.utime(drop / "prices.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed, new_cursor = evaluate_drop(drop, cursor)
    assert isinstance(changed, dg.RunRequest) and new_cursor != cursor and changed.run_key != req.run_key
    ctx = dg.build_sensor_context(cursor=new_cursor)
    assert isinstance(csv_drop_sensor(ctx), dg.SkipReason)
