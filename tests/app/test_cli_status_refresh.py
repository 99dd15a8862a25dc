"""`fabscope status/refresh` on bad warehouses, a held writer lock, and readable progress lines."""

from __future__ import annotations

import csv
import os
import select
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from app.cli import main
from app.cli_data import dagster_home
from pipelines.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
FABSCOPE = [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())"]


def _set_version(db: Path, version: str) -> None:
    con = duckdb.connect(str(db))
    con.execute("UPDATE schema_meta SET value = ? WHERE key = 'schema_version'", [version])
    con.close()


def _status_fails_cleanly(db: Path, capsys: pytest.CaptureFixture[str], message: str) -> None:
    assert main(["status", "--db", str(db), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and "Traceback" not in err


@pytest.mark.parametrize("content", [b"", b"hello\n", os.urandom(5000)])
def test_status_on_a_corrupt_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    db = tmp_path / "w.duckdb"
    db.write_bytes(content)
    _status_fails_cleanly(db, capsys, "not a readable DuckDB warehouse")


def test_status_on_a_newer_warehouse(db_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _set_version(db_copy, "99")
    _status_fails_cleanly(db_copy, capsys, "newer than this fabscope")


def test_status_on_a_duckdb_file_that_is_not_a_warehouse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE x (a INTEGER)")
    con.close()
    _status_fails_cleanly(db, capsys, "not a fabscope warehouse")


@pytest.mark.slow
def test_refresh_of_a_newer_warehouse_says_why_and_leaves_nothing_behind(
    db_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_version(db_copy, "99")
    before = db_copy.read_bytes()
    assert main(["refresh", "--db", str(db_copy), "--select", "hardware"]) == 1
    err = capsys.readouterr().err
    assert "schema version 99 is newer" in err and "Traceback" not in err
    assert db_copy.read_bytes() == before
    assert list(Warehouse(db_copy).staging_dir.iterdir()) == []
    assert Warehouse(db_copy).lock(timeout=0).acquire(timeout=0)  # not left held


def test_relative_dagster_home_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", "dh")
    assert dagster_home() == tmp_path / "dh"
    assert os.environ["DAGSTER_HOME"] == str(tmp_path / "dh")
    assert (tmp_path / "dh" / "dagster.yaml").is_file()


@pytest.mark.slow
def test_failed_run_lines_are_readable_and_later_runs_do_not_repeat_old_quarantine(
    db_copy: Path, reference_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = reference_copy / "fab_capacity.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["capacity_wspm"] = "lots"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["refresh", "--db", str(db_copy), "--select", "capacity"]) == 1
    err = capsys.readouterr().err
    assert "row 2" in err and "capacity_wspm" in err
    assert "Dependencies for step" not in err and "skipped" in err and "upstream fab_capacity" in err
    # a failed run publishes nothing, quarantine rows included; a clean run reports none
    assert Warehouse(db_copy).query("SELECT count(*) AS n FROM quarantine")["n"].item() == 0
    assert main(["refresh", "--db", str(db_copy), "--select", "hardware"]) == 0
    err = capsys.readouterr().err
    assert "quarantined rows" not in err and "refresh ok" in err


@pytest.mark.slow
def test_second_writer_says_it_is_waiting_then_completes(db_copy: Path, tmp_path: Path, today: date) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dh")}
    (tmp_path / "dh").mkdir()
    shutil.copyfile(Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml", tmp_path / "dh" / "dagster.yaml")
    lock = Warehouse(db_copy).lock(timeout=0)
    lock.acquire()
    proc = subprocess.Popen(
        [*FABSCOPE, "refresh", "--db", str(db_copy), "--select", "hardware", "--today", str(today)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stderr], [], [], 1.0)
            if ready:
                seen.append(proc.stderr.readline())
                if "waiting" in seen[-1]:
                    break
        assert any("waiting" in line for line in seen), "".join(seen)
        assert proc.poll() is None  # still waiting: nothing written while another writer holds the lock
    finally:
        lock.release()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, "".join(seen) + err
    assert out == "" and "refresh ok" in err


@pytest.mark.slow
def test_a_truncated_warehouse_is_not_republished_and_restore_brings_it_back(
    db_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.warehouse_versions import keep_version

    wh = Warehouse(db_copy)
    keep_version(wh, db_copy)  # the session warehouse as a kept version
    before = Warehouse(db_copy).query("SELECT count(*) AS n FROM prices_daily")["n"].item()
    os.truncate(db_copy, db_copy.stat().st_size // 2)
    assert main(["refresh", "--db", str(db_copy), "--select", "hardware"]) == 1
    err = capsys.readouterr().err
    assert "restore" in err and "Traceback" not in err
    assert main(["restore", "--db", str(db_copy)]) == 0
    assert Warehouse(db_copy).query("SELECT count(*) AS n FROM prices_daily")["n"].item() == before
    assert main(["refresh", "--db", str(db_copy), "--select", "hardware"]) == 0
