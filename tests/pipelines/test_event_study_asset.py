"""The event-study asset: sector benchmarks, per-run overrides, methods stored, no sample benchmarks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pipelines.assets import event_study as event_study_assets
from pipelines.assets import market
from pipelines.assets.policy import export_controls
from pipelines.resources import run_resources
from pipelines.warehouse import Warehouse

ITEMS = [*dg.load_assets_from_modules([market, event_study_assets]), export_controls]
TODAY = date(2026, 12, 4)  # the run date of the suite (tests/conftest.py)


def _run(
    db: Path, provider: str | None = None, event_config: dict | None = None
) -> dg.ExecuteInProcessResult:
    """Materialise the market group (and the events) into ``db``; ``event_config``: EventStudyConfig."""
    ops = market.market_run_config(provider)["ops"] if provider else {}
    ops |= {"event_study": {"config": event_config}} if event_config is not None else {}
    return dg.materialize(
        ITEMS, resources=run_resources(db, today=TODAY), run_config={"ops": ops}, raise_on_error=False
    )


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Warehouse]:
    """A sample-data refresh with the default event-study config: (its file, the warehouse)."""
    path = tmp_path_factory.mktemp("events") / "w.duckdb"
    run = _run(path)
    assert run.success
    return path, Warehouse(path)


@pytest.mark.slow
def test_sector_benchmarks_by_default_and_every_method_stored(
    sample_warehouse: tuple[Path, Warehouse],
) -> None:
    wh = sample_warehouse[1]
    bench = dict(wh.query("SELECT DISTINCT ticker, benchmark FROM event_study").iter_rows())
    assert bench["NVDA"] == "^SOX" and bench["688256.SS"] == "000688.SS" and bench["002371.SZ"] == "000300.SS"
    assert bench["0981.HK"] == "^HSI" and bench["2330.TW"] == "^TWII"
    methods = wh.query("SELECT DISTINCT method FROM event_study_cross_section ORDER BY 1")["method"].to_list()
    assert methods == ["bmp", "bmp_kp", "calendar_time", "grank", "mackinlay_j1"]
    # same-date events (2024-12-02: two BIS rules) are one event listing both ids
    both = wh.query("SELECT DISTINCT event_id, event_ids FROM event_study WHERE event_ids LIKE '%;%'").rows()
    assert ("2024-12-02-bis-140-entities", "2024-12-02-bis-140-entities;2024-12-02-bis-hbm-sme-fdp") in both
    ok = wh.query("SELECT count(*) AS n FROM event_study WHERE car IS NULL AND flag = 'ok'")["n"].item()
    assert ok == 0  # a missing CAR always carries its reason


@pytest.mark.slow
def test_market_benchmark_and_overrides_per_run(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert _run(db, event_config={"benchmark": "market", "overrides": {"AMD": "^SOX"}}).success
    bench = dict(Warehouse(db).query("SELECT DISTINCT ticker, benchmark FROM event_study").iter_rows())
    assert bench["NVDA"] == "^GSPC" and bench["AMD"] == "^SOX" and bench["688256.SS"] == "000300.SS"
    bad = _run(tmp_path / "x.duckdb", event_config={"benchmark": "peers"})
    assert not bad.success
    dimson = _run(tmp_path / "d.duckdb", event_config={"thin_trading": "dimson"})
    assert dimson.success
    assert (
        "Dimson"
        in Warehouse(tmp_path / "d.duckdb").query("SELECT first(source) AS s FROM event_study")["s"].item()
    )


@pytest.mark.slow
def test_real_drop_over_sample_history_never_uses_sample_benchmarks(
    sample_warehouse: tuple[Path, Warehouse], tmp_path: Path, real_prices: Path
) -> None:
    db = tmp_path / "w.duckdb"
    db.write_bytes(sample_warehouse[0].read_bytes())
    res = _run(db, provider=f"csv:{real_prices}")
    assert res.success
    wh = Warehouse(db)
    real = set(
        wh.query("SELECT DISTINCT ticker FROM prices_daily WHERE provider = 'csv'")["ticker"].to_list()
    )
    sample = set(
        wh.query("SELECT DISTINCT ticker FROM prices_daily WHERE provider = 'sample'")["ticker"].to_list()
    )
    pairs = wh.query("SELECT DISTINCT ticker, benchmark FROM event_study").rows()
    assert pairs, "no event-study rows from the real drop"
    assert not [(t, b) for t, b in pairs if t in real and b in sample]
    assert ("NVDA", "^SOX") in pairs  # SOX.csv is in the drop
    meta = res.asset_materializations_for_node("event_study")[0].metadata
    skipped = meta["skipped_sample_benchmark"].value
    assert "688256.SS" in skipped and "0981.HK" in skipped  # real stocks, sample STAR 50 / HSI
    assert "688256.SS" not in {t for t, _ in pairs}
