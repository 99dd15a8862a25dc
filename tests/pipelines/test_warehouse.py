"""The warehouse: migrations, idempotent writes, atomic publish, readers during writes, killed writers."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.schema import SCHEMA_VERSION, TABLES
from pipelines.warehouse import (
    Warehouse,
    WarehouseError,
    WarehouseNotFound,
    replace_rows,
    resolve_db_path,
)

REPO = Path(__file__).resolve().parents[2]


def _events(n: int, car: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": [f"e{i // 10}" for i in range(n)],
            "ticker": [f"T{i % 10}" for i in range(n)],
            "window": ["[-1,+1]"] * n,
            "car": [car] * n,
            "t_stat": [1.0] * n,
            "source": ["test"] * n,
        }
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_db_path_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FABSCOPE_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_db_path() == tmp_path / "data" / "fabscope.duckdb"
    monkeypatch.setenv("FABSCOPE_DB", str(tmp_path / "env.duckdb"))
    assert resolve_db_path() == tmp_path / "env.duckdb"
    assert resolve_db_path(tmp_path / "flag.duckdb") == tmp_path / "flag.duckdb"


def test_reader_before_first_refresh_gets_readable_error(tmp_path: Path) -> None:
    with pytest.raises(WarehouseNotFound, match="fabscope refresh"):
        Warehouse(tmp_path / "none.duckdb").query("SELECT 1")


def test_write_creates_every_table_with_schema_version(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.write():
        pass
    assert set(TABLES) <= set(wh.table_names())
    version = wh.query("SELECT value FROM schema_meta WHERE key = 'schema_version'").item()
    assert int(version) == SCHEMA_VERSION


def test_forward_migration_adds_missing_columns_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute('CREATE TABLE event_study (event_id VARCHAR, ticker VARCHAR, "window" VARCHAR, car DOUBLE)')
    con.execute("INSERT INTO event_study VALUES ('e', 'T', 'w', 0.5)")
    con.close()
    wh = Warehouse(path)
    with wh.write():
        pass
    out = wh.query("SELECT * FROM event_study")
    assert out.height == 1 and out["car"].item() == 0.5
    assert {"t_stat", "source"} <= set(out.columns)


def test_newer_schema_is_refused_and_file_untouched(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.write() as con:
        con.execute("UPDATE schema_meta SET value = '999' WHERE key = 'schema_version'")
    before = _sha(wh.path)
    with pytest.raises(WarehouseError, match="newer"), wh.write():
        pass
    assert _sha(wh.path) == before


@pytest.mark.slow
def test_replace_rows_by_key_is_idempotent(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    for _ in range(3):
        with wh.write() as con:
            replace_rows(con, "event_study", _events(30), key=("event_id", "ticker", "window"))
    assert wh.query("SELECT count(*) AS n FROM event_study")["n"].item() == 30
    with wh.write() as con:
        replace_rows(con, "event_study", _events(10, car=0.25), key=("event_id", "ticker", "window"))
    counts = wh.query("SELECT car, count(*) AS n FROM event_study GROUP BY car ORDER BY car")
    assert counts.rows() == [(0.0, 20), (0.25, 10)]


def test_replace_rows_partition_and_full(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.write() as con:
        replace_rows(con, "event_study", _events(30))
        replace_rows(
            con,
            "event_study",
            _events(10, car=1.0).with_columns(pl.lit("e0").alias("event_id")),
            where={"event_id": "e0"},
        )
    out = wh.query("SELECT event_id, count(*) AS n, max(car) AS car FROM event_study GROUP BY 1 ORDER BY 1")
    assert out.rows() == [("e0", 10, 1.0), ("e1", 10, 0.0), ("e2", 10, 0.0)]


def test_replace_rows_unknown_column_is_refused_atomically(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.write() as con:
        replace_rows(con, "event_study", _events(10))
    with pytest.raises(WarehouseError, match="not in the schema"), wh.write() as con:
        replace_rows(con, "event_study", _events(5).with_columns(pl.lit(1).alias("bogus")))
    assert wh.query("SELECT count(*) AS n FROM event_study")["n"].item() == 10


def test_failed_write_leaves_published_file_untouched(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.write() as con:
        replace_rows(con, "event_study", _events(10))
    before = _sha(wh.path)
    with pytest.raises(RuntimeError), wh.write() as con:
        replace_rows(con, "event_study", _events(50))
        raise RuntimeError("boom mid-way")
    assert _sha(wh.path) == before
    assert list(wh.staging_dir.iterdir()) == []


@pytest.mark.slow
def test_readers_in_another_process_never_fail_during_writes(tmp_path: Path, concurrent_reader) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.write() as con:
        replace_rows(con, "event_study", _events(1, car=1.0))
    # every published state has n rows all with car == n: a torn state would break the sum
    sql = "SELECT count(*), coalesce(sum(car), 0) = count(*) * count(*) FROM event_study"
    with concurrent_reader(wh.path, sql) as seen:
        time.sleep(0.5)
        for n in range(2, 40):
            with wh.write() as con:
                replace_rows(con, "event_study", _events(n, car=float(n)))
    assert seen.fail == 0, seen.errors
    assert seen.ok > 0 and seen.states > 1  # it read while states changed


_KILLED_WRITER = textwrap.dedent("""
    import sys, time
    import polars as pl
    from pipelines.warehouse import Warehouse, replace_rows
    wh = Warehouse(sys.argv[1])
    with wh.write() as con:
        replace_rows(con, "event_study", pl.DataFrame({"event_id": ["x"] * 500, "ticker": [str(i) for i in range(500)],
                     "window": ["w"] * 500, "car": [9.0] * 500}))
        open(sys.argv[2], "w").write("half-way")
        time.sleep(120)
""")


@pytest.mark.slow
def test_writer_killed_with_sigkill_leaves_old_data_and_frees_the_lock(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.write() as con:
        replace_rows(con, "event_study", _events(20))
    before = _sha(wh.path)
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(wh.path), str(marker)], cwd=REPO)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists() and proc.poll() is None, "writer did not reach the middle of its write"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _sha(wh.path) == before
    assert wh.query("SELECT count(*) AS n FROM event_study")["n"].item() == 20
    with wh.write(timeout=10) as con:  # the lock died with the writer; the orphan staging file is cleaned
        replace_rows(con, "event_study", _events(30))
    assert wh.query("SELECT count(*) AS n FROM event_study")["n"].item() == 30
    assert list(wh.staging_dir.iterdir()) == []
