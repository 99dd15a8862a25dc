"""Verified publish, kept versions and ``fabscope restore`` (issue 18), read connections locked down."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl
import pytest

from app.cli import main
from fabscope.errors import NotFoundError, WarehouseError
from pipelines.warehouse import Warehouse, replace_rows, verify_file
from pipelines.warehouse_versions import list_versions, restore


def _publish(wh: Warehouse, rows: int) -> None:
    frame = pl.DataFrame(
        {
            "source_file": ["f.csv"] * rows,
            "row": list(range(rows)),
            "field": ["x"] * rows,
            "value": [str(i) * 20 for i in range(rows)],
            "reason": ["r"] * rows,
        }
    )
    with wh.write() as con:
        replace_rows(con, "quarantine", frame)


def _rows(wh: Warehouse) -> int:
    return wh.query("SELECT count(*) AS n FROM quarantine")["n"].item()


@pytest.mark.slow
def test_last_n_versions_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABSCOPE_KEEP_VERSIONS", "2")
    wh = Warehouse(tmp_path / "w.duckdb")
    for n in (10, 20, 30):
        _publish(wh, n)
    kept = list_versions(wh)
    assert len(kept) == 2 and kept[0].name > kept[1].name
    monkeypatch.setenv("FABSCOPE_KEEP_VERSIONS", "0")
    _publish(wh, 40)
    assert len(list_versions(wh)) == 2  # 0 keeps none new and removes nothing


@pytest.mark.slow
def test_corrupted_published_file_is_refused_as_base_and_restored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    _publish(wh, 50_000)
    _publish(wh, 60_000)
    os.truncate(wh.path, wh.path.stat().st_size // 2)
    with pytest.raises(WarehouseError, match="move it aside .* restore"):
        _publish(wh, 5)
    assert not list(wh.staging_dir.iterdir())
    assert main(["restore", "--list", "--db", str(wh.path)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 2 and listing[0].split()[0] == "1"
    assert main(["restore", "--db", str(wh.path)]) == 0
    assert "restored" in capsys.readouterr().out
    verify_file(wh.path)
    assert _rows(wh) == 60_000
    assert len(list_versions(wh)) == 2  # the damaged file was not kept as a version
    assert main(["restore", "2", "--db", str(wh.path)]) == 0
    assert _rows(wh) == 50_000
    assert main(["restore", "nope", "--db", str(wh.path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no kept version 'nope'" in err


def test_restore_without_versions_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no kept versions"):
        restore(Warehouse(tmp_path / "w.duckdb"))


def test_a_staging_file_that_fails_a_full_read_is_not_published(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    _publish(wh, 10)
    before = wh.path.read_bytes()
    bad = tmp_path / "bad.duckdb"
    con = duckdb.connect(str(bad))
    con.execute("CREATE TABLE t AS SELECT range::VARCHAR || 'xxxxxxxxxxxxxxxx' AS v FROM range(300000)")
    con.close()
    os.truncate(bad, bad.stat().st_size // 2)
    with pytest.raises(WarehouseError, match="bad.duckdb"):
        wh.publish(bad)
    assert wh.path.read_bytes() == before


def test_read_connections_cannot_reach_files_or_unlock_themselves(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    _publish(wh, 1)
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with wh.read() as con:
        with pytest.raises(duckdb.PermissionException):
            con.sql(f"SELECT * FROM read_csv('{secret}')").fetchall()
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")


def test_a_failed_commit_shows_the_real_error_not_the_rollback(tmp_path: Path) -> None:
    from pipelines.warehouse import _staged

    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    with pytest.raises(OSError, match="No space left on device"), _staged(con, pl.DataFrame({"a": [1]})):
        con.execute("COMMIT")  # the transaction is gone, as after a failed COMMIT
        raise OSError(28, "No space left on device")
    con.close()


@pytest.mark.slow
def test_reads_of_a_damaged_block_are_one_line(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    _publish(wh, 60_000)
    size = wh.path.stat().st_size
    with wh.path.open("r+b") as fh:
        fh.seek(size // 2)
        fh.write(b"\xff" * 8192)
    with pytest.raises(WarehouseError, match="is damaged .*fabscope restore"):
        wh.query("SELECT max(value) FROM quarantine")


def test_a_read_only_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    wh = Warehouse(tmp_path / "ro" / "w.duckdb")
    with pytest.raises(WarehouseError, match="cannot write beside .*Permission denied"), wh.write():
        pass
