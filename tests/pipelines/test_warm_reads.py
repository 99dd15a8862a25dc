"""Warm reads (pipelines/read_cache.py): one connection per published version, never a half-written state."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from pipelines import warehouse as wh_module
from pipelines.warehouse import Warehouse


def _publish(wh: Warehouse, version: int, rows: int = 1000) -> None:
    """A new version: ``rows`` rows that all carry ``version`` (a reader of a mixed state would see two)."""
    with wh.write() as con:
        con.execute(
            "CREATE OR REPLACE TABLE probe AS SELECT ? AS version, range AS i FROM range(?)", [version, rows]
        )


def _versions(con) -> list[int]:
    return [r[0] for r in con.execute("SELECT DISTINCT version FROM probe ORDER BY 1").fetchall()]


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(tmp_path / "w.duckdb")
    _publish(w, 1)
    return w


def test_reads_of_one_version_share_one_connection(wh: Warehouse) -> None:
    opened = wh_module._READERS.opened
    for _ in range(5):
        assert wh.query("SELECT count(*) AS n FROM probe").item() == 1000
    assert wh_module._READERS.opened == opened + 1  # opened once, then cursors only
    _publish(wh, 2)
    assert wh.query("SELECT max(version) AS v FROM probe").item() == 2
    assert wh_module._READERS.opened == opened + 2  # the publish (a new inode) was noticed


def test_a_reader_keeps_its_version_through_a_publish_then_the_next_read_sees_the_new(wh: Warehouse) -> None:
    with wh.read() as held:
        assert _versions(held) == [1]
        _publish(wh, 2, rows=3000)  # atomic rename under a reader holding a warm connection
        assert _versions(held) == [1]  # the old complete file, not a mix
        assert held.execute("SELECT count(*) FROM probe").fetchone()[0] == 1000
        with wh.read() as fresh:  # a read that starts after the publish
            assert _versions(fresh) == [2]
            assert fresh.execute("SELECT count(*) FROM probe").fetchone()[0] == 3000
        assert _versions(held) == [1]
    with wh.read() as later:
        assert _versions(later) == [2]


def _open_deleted_files(name: str) -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        count += name in target and target.endswith("(deleted)")
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_the_old_version_is_closed_when_its_last_reader_leaves(wh: Warehouse) -> None:
    with wh.read() as held:
        _versions(held)
        _publish(wh, 2)
        wh.query("SELECT 1 AS x")  # opens version 2; version 1 is still in use
        assert _open_deleted_files("w.duckdb") == 1
    assert _open_deleted_files("w.duckdb") == 0  # closed with its last cursor


@pytest.mark.slow
def test_concurrent_readers_during_publishes_see_whole_versions(wh: Warehouse) -> None:
    seen: list[list[int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                with wh.read() as con:
                    seen.append(_versions(con))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for version in range(2, 5):
            _publish(wh, version)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert seen and all(len(v) == 1 for v in seen)  # never a mix of two versions
    assert wh.query("SELECT max(version) AS v FROM probe").item() == 4


def test_a_file_that_is_not_a_warehouse_is_not_cached(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    path.write_bytes(b"hello\n")
    w = Warehouse(path)
    for _ in range(2):
        with pytest.raises(wh_module.WarehouseError, match="not a readable DuckDB warehouse"):
            w.query("SELECT 1")
    path.unlink()
    _publish(w, 7)
    assert w.query("SELECT max(version) AS v FROM probe").item() == 7
