"""`fabscope refresh` through Dagster: tables filled, idempotent, bad input handled, publish is atomic."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.cli_data import run_refresh, status
from pipelines import clock
from pipelines.resources import RunDateResource
from pipelines.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
SPINE_TABLES = ("export_controls", "entity_list", "fab_capacity", "chip_specs", "substitution_history")
FABSCOPE = [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _counts(db: Path) -> dict[str, int]:
    return {t["name"]: t["rows"] for t in status(db)["tables"] if t["name"] != "quarantine"}


def _edit_csv(path: Path, edit) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0].keys())
    rows = edit(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def test_refresh_fills_every_spine_table_with_sourced_rows(refreshed_db: Path) -> None:
    counts = _counts(refreshed_db)
    for table in SPINE_TABLES:
        assert counts.get(table, 0) > 0, f"{table} is empty"
    wh = Warehouse(refreshed_db)
    for table in ("export_controls", "entity_list", "fab_capacity", "substitution_history"):
        missing = wh.query(
            f"SELECT count(*) AS n FROM {table} WHERE source IS NULL OR flag NOT IN ('reported', 'estimate')"
        )["n"].item()
        assert missing == 0, f"{table} has rows without source/flag"
    assert wh.query("SELECT count(DISTINCT fab) AS n FROM fab_capacity")["n"].item() >= 25


def test_status_json_keys(refreshed_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--db", str(refreshed_db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"tables", "sample_data"} and isinstance(doc["sample_data"], bool)
    assert all(set(t) >= {"name", "rows", "refreshed_at"} for t in doc["tables"])
    names = {t["name"] for t in doc["tables"]}
    assert set(SPINE_TABLES) <= names


def test_status_without_warehouse_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--db", str(tmp_path / "missing.duckdb"), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "fabscope refresh" in captured.err


@dataclass
class SecondRefresh:
    before: Path
    after: Path
    ok: bool
    reader: dict  # the reader process's report: ok, fail, states, errors


@pytest.fixture(scope="session")
def second_refresh(refreshed_db: Path, today: date, build_once, reading_in) -> SecondRefresh:
    """One more refresh of a copy of the refreshed warehouse, made once per session for the three tests
    below (a refresh costs ~15 s of CPU): the wall clock reads Monday (three days after the run date),
    and a reader process reads the copy all along."""

    def build(target: Path) -> None:
        shutil.copyfile(refreshed_db, target)
        sql = "SELECT count(*), count(*) > 0 FROM fab_capacity"
        with pytest.MonkeyPatch.context() as mp, reading_in(target.parent)(target, sql) as seen:
            mp.delenv("FABSCOPE_DB", raising=False)  # run_refresh sets it: restored on leaving
            mp.setattr(clock, "utc_today", lambda: today + timedelta(days=3))
            ok = run_refresh(target, today=today)
        (target.parent / "outcome.json").write_text(json.dumps({"ok": ok, "reader": asdict(seen)}))

    after = build_once("second-refresh", build)
    outcome = json.loads((after.parent / "outcome.json").read_text())
    return SecondRefresh(refreshed_db, after, outcome["ok"], outcome["reader"])


@pytest.mark.slow
def test_second_refresh_gives_identical_row_counts(second_refresh: SecondRefresh) -> None:
    assert second_refresh.ok
    assert _counts(second_refresh.after) == _counts(second_refresh.before)


def _rows(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows, without the columns saying when or in which run they were written."""
    out = {}
    with Warehouse(db).read() as con:
        columns = con.execute(
            "SELECT table_name, list(column_name ORDER BY ordinal_position) FROM information_schema.columns "
            "WHERE data_type <> 'TIMESTAMP' AND column_name <> 'run_id' GROUP BY 1"
        ).fetchall()
        for name, cols in sorted(columns):
            if name not in ("table_refreshes", "quarantine"):
                quoted = ", ".join(f'"{c}"' for c in cols)
                out[name] = con.execute(f'SELECT {quoted} FROM "{name}" ORDER BY ALL').fetchall()
    return out


@pytest.mark.slow
def test_refreshes_either_side_of_midnight_with_a_fixed_today_give_identical_rows(
    second_refresh: SecondRefresh, today: date
) -> None:
    """The wall clock moves from Friday 23:59 to Monday (a weekday more of sample prices if it were
    read); with the run date pinned, every table holds the same rows."""
    assert second_refresh.ok
    before, after = _rows(second_refresh.before), _rows(second_refresh.after)
    assert after.keys() == before.keys() and "prices_daily" in after
    assert {t: after[t] == before[t] for t in after} == dict.fromkeys(after, True)
    assert max(r[0] for r in after["prices_daily"]) == today


def test_refresh_with_a_malformed_today_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["refresh", "--db", str(tmp_path / "w.duckdb"), "--today", "2026-13-01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "--today" in err[-1] and "2026-13-01" in err[-1] and "Traceback" not in "\n".join(err)
    assert not (tmp_path / "w.duckdb").exists()


def test_run_date_defaults_to_the_utc_date_and_is_read_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    days = iter([date(2026, 12, 4), date(2026, 12, 5)])
    monkeypatch.setattr(clock, "utc_today", lambda: next(days))
    resource = RunDateResource()
    resource.setup_for_execution(None)  # type: ignore[arg-type]
    assert resource.as_date() == resource.as_date() == date(2026, 12, 4)  # midnight passes mid-run
    assert RunDateResource(today="2025-01-02").as_date() == date(2025, 1, 2)
    assert clock.run_date(None) == date(2026, 12, 5)
    with pytest.raises(ValueError, match="2025-13-01"):
        clock.run_date("2025-13-01")


@pytest.mark.slow
def test_bad_rows_are_quarantined_and_good_rows_loaded(tmp_path: Path, reference_copy: Path) -> None:
    def corrupt(rows):
        rows[2]["capacity_wspm"] = "-5"
        rows[4]["year"] = "twenty-twenty"
        return rows

    _edit_csv(reference_copy / "fab_capacity.csv", corrupt)
    db = tmp_path / "fresh.duckdb"
    assert run_refresh(db, select="capacity")
    wh = Warehouse(db)
    q = wh.query(
        "SELECT row, field, value, reason FROM quarantine WHERE source_file LIKE '%fab_capacity.csv' "
        "ORDER BY row"
    )
    assert q.select("row", "field", "value").rows() == [
        (4, "capacity_wspm", "-5"),
        (6, "year", "twenty-twenty"),
    ]
    total = sum(1 for _ in (reference_copy / "fab_capacity.csv").open()) - 1
    assert wh.query("SELECT count(*) AS n FROM fab_capacity")["n"].item() == total - 2


@pytest.mark.slow
def test_worse_source_is_refused_and_stored_data_kept(
    db_copy: Path, reference_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = Warehouse(db_copy).query("SELECT * FROM fab_capacity ORDER BY ALL")
    _edit_csv(
        reference_copy / "fab_capacity.csv", lambda rows: [{**rows[0], "capacity_wspm": "lots"}, *rows[1:]]
    )
    assert main(["refresh", "--db", str(db_copy), "--select", "capacity"]) == 1
    err = capsys.readouterr().err
    assert "fab_capacity.csv" in err and "row 2" in err and "capacity_wspm" in err and "refused" in err
    assert "Traceback" not in err
    wh = Warehouse(db_copy)
    assert wh.query("SELECT * FROM fab_capacity ORDER BY ALL").equals(before)
    # a failed run publishes nothing, quarantine rows included (they are in the output above)
    kept = wh.query("SELECT row, field FROM quarantine WHERE source_file LIKE '%fab_capacity.csv'")
    assert kept.rows() == []


@pytest.mark.slow
def test_failed_blocking_check_keeps_published_warehouse(db_copy: Path, reference_copy: Path) -> None:
    _edit_csv(reference_copy / "fab_capacity.csv", lambda rows: rows[:3])  # valid rows, far too few
    before = _sha(db_copy)
    assert not run_refresh(db_copy, select="capacity")
    assert _sha(db_copy) == before


@pytest.mark.slow
def test_broken_file_in_cli_subprocess_gives_readable_error(
    tmp_path: Path, reference_copy: Path, today: date
) -> None:
    (reference_copy / "entity_list.csv").write_text("who,when\nnobody,never\n")
    env = {**os.environ, "FABSCOPE_REFERENCE_DIR": str(reference_copy)}
    proc = subprocess.run(
        [
            *FABSCOPE,
            "refresh",
            "--db",
            str(tmp_path / "w.duckdb"),
            "--select",
            "policy",
            "--today",
            str(today),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert "entity_list.csv" in proc.stderr and "missing column" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@pytest.mark.slow
def test_reader_process_sees_no_error_during_a_real_refresh(second_refresh: SecondRefresh) -> None:
    seen = second_refresh.reader
    assert second_refresh.ok
    assert seen["fail"] == 0, seen["errors"]
    assert seen["ok"] > 10


@pytest.mark.slow
def test_refresh_killed_mid_way_leaves_old_warehouse(db_copy: Path, today: date) -> None:
    before = _sha(db_copy)
    staging_dir = Warehouse(db_copy).staging_dir
    proc = subprocess.Popen(
        [*FABSCOPE, "refresh", "--db", str(db_copy), "--today", str(today)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    # wait until the run has staged its copy and written into it
    while time.monotonic() < deadline and proc.poll() is None:
        staged = list(staging_dir.glob("*.duckdb")) if staging_dir.exists() else []
        if staged and staged[0].stat().st_mtime > time.time() - 5 and _sha(staged[0]) != before:
            break
        time.sleep(0.1)
    assert proc.poll() is None, "refresh ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _sha(db_copy) == before
    assert status(db_copy)["tables"]
    assert run_refresh(db_copy, select="policy")  # lock freed, orphan staging removed


@pytest.mark.slow
def test_dagster_definitions_load_and_validate() -> None:
    from pipelines.definitions import defs

    groups = {
        defs.resolve_asset_graph().get(k).group_name for k in defs.resolve_asset_graph().get_all_asset_keys()
    }
    assert {"market", "policy", "capacity", "hardware", "forecast"} <= groups
    assert defs.resolve_schedule_def("daily_refresh")
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "pipelines.definitions"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_backfill_range_and_provider_reach_the_price_assets() -> None:
    from app.cli_data import _prices_config

    cfg = _prices_config(None, "2024-01-02", "2024-03-29")
    assert cfg["ops"]["prices_daily"]["config"] == {
        "provider": "sample",
        "start": "2024-01-02",
        "end": "2024-03-29",
    }
    assert cfg["ops"]["fx_daily"]["config"] == {
        "provider": "sample",
        "start": "2024-01-02",
        "end": "2024-03-29",
    }
    assert _prices_config(None) == {}


def test_unknown_provider_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["refresh", "--db", str(tmp_path / "w.duckdb"), "--prices", "csv:" + str(tmp_path / "nope")])
        == 2
    )
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "w.duckdb").exists()


def test_schedule_takes_the_price_provider_from_the_environment_and_the_tick_as_run_date(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import dagster as dg

    from pipelines.schedules import PRICES_ENV, daily_refresh

    def tick() -> dg.ScheduleEvaluationContext:
        return dg.build_schedule_context(scheduled_execution_time=datetime(2026, 12, 4, 22, 30, tzinfo=UTC))

    monkeypatch.delenv(PRICES_ENV, raising=False)
    req = daily_refresh(tick())
    assert req.run_config["ops"]["prices_daily"]["config"]["provider"] == "sample"
    assert req.run_config["resources"]["run_date"]["config"]["today"] == "2026-12-04"
    monkeypatch.setenv(PRICES_ENV, f"csv:{tmp_path}")
    req = daily_refresh(tick())
    assert req.run_config["ops"]["prices_daily"]["config"]["provider"] == f"csv:{tmp_path}"
    monkeypatch.setenv(PRICES_ENV, "bloomberg")
    skip = daily_refresh(tick())
    assert isinstance(skip, dg.SkipReason) and "bloomberg" in skip.skip_message
