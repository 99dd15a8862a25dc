"""Warm reads: one open read-only connection per published warehouse version, a cursor per read.

Opening a DuckDB file costs ~10-15 ms (more under load); a dashboard page runs several queries. So readers
keep the connection of each published file open and take a cheap cursor from it per read (DuckDB
connections are not thread-safe, cursors are independent connections to the same database, one per Flask
thread). Before every read the file's stamp (inode, size, mtime, ctime) is compared with the stamp at open:
a publish is an atomic rename, so a new version always has a new inode, and the next read opens it. A read
that holds a cursor keeps reading the old, complete version (its inode stays open) until it ends; the old
connection is closed when its last cursor is, never under a reader. Writers never use this cache.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

Stamp = tuple[int, int, int, int]

#: Published files kept open at once (the dashboard reads one; tests and scripts may touch many).
MAX_OPEN_FILES = 4


def file_stamp(path: Path) -> Stamp | None:
    """``(inode, size, mtime_ns, ctime_ns)`` of ``path``, None if it is missing or unreadable."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass(eq=False)
class _Version:
    """One open published version: its connection, how many reads use it, whether a newer one replaced it."""

    stamp: Stamp
    con: duckdb.DuckDBPyConnection
    users: int = 0
    retired: bool = False


class ReadCache:
    """Open read-only connections by file, reopened when the file's stamp changes.

    ``open_version(path)`` opens and checks one version (raising for an unreadable file, which is then
    not cached); ``prepare_cursor(cursor)`` readies each cursor (e.g. ``USE`` the attached catalog).
    """

    def __init__(
        self,
        open_version: Callable[[Path], duckdb.DuckDBPyConnection],
        prepare_cursor: Callable[[duckdb.DuckDBPyConnection], None],
        max_open_files: int = MAX_OPEN_FILES,
    ) -> None:
        self._open_version = open_version
        self._prepare_cursor = prepare_cursor
        self._max_open_files = max_open_files
        self._versions: OrderedDict[Path, _Version] = OrderedDict()
        self._lock = threading.Lock()
        self.opened = 0
        """Connections opened so far (a test and the bench read it to see that reads stay warm)."""

    @contextlib.contextmanager
    def cursor(self, path: Path, stamp: Stamp) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the open version of ``path`` whose stamp is ``stamp`` (opened if it is not)."""
        version, cur = self._acquire(path, stamp)
        try:
            self._prepare_cursor(cur)
            yield cur
        finally:
            cur.close()
            self._release(version)

    def _acquire(self, path: Path, stamp: Stamp) -> tuple[_Version, duckdb.DuckDBPyConnection]:
        with self._lock:
            version = self._versions.get(path)
            if version is None or version.stamp != stamp:
                if version is not None:
                    self._retire(path, version)
                version = _Version(stamp, self._open_version(path))  # raises: nothing cached
                self.opened += 1
                self._versions[path] = version
                while len(self._versions) > self._max_open_files:
                    oldest = next(iter(self._versions))
                    self._retire(oldest, self._versions[oldest])
            self._versions.move_to_end(path)
            version.users += 1
            try:
                return version, version.con.cursor()  # the shared connection is touched under the lock only
            except BaseException:
                version.users -= 1
                raise

    def _retire(self, path: Path, version: _Version) -> None:
        """Drop ``version`` from the cache (lock held); closed now if idle, else by its last reader."""
        del self._versions[path]
        version.retired = True
        if version.users == 0:
            version.con.close()

    def _release(self, version: _Version) -> None:
        with self._lock:
            version.users -= 1
            if version.retired and version.users == 0:
                version.con.close()

    def close_idle(self) -> None:
        """Close every cached connection no read is using (the others close when their reads end)."""
        with self._lock:
            for path, version in list(self._versions.items()):
                self._retire(path, version)

    def _forget_after_fork(self) -> None:
        """In a forked child: start empty, without touching the parent's connections (not fork-safe)."""
        self._lock = threading.Lock()
        _INHERITED.append(self._versions)  # kept referenced so that no destructor runs in the child
        self._versions = OrderedDict()


_INHERITED: list[OrderedDict[Path, _Version]] = []
_CACHES: list[ReadCache] = []


def register(cache: ReadCache) -> ReadCache:
    """Track ``cache`` so that a forked child (Dagster, background callbacks) does not reuse it."""
    _CACHES.append(cache)
    return cache


def _after_fork_in_child() -> None:
    for cache in _CACHES:
        cache._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
