"""The DuckDB warehouse: location, schema migration, idempotent writes, atomic publish.

DuckDB allows one read-write process or many read-only ones, never both. So writers
never open the published file: they copy it to a private *staging* file, write there,
checkpoint, close, and publish with ``os.replace`` (an atomic rename on POSIX). Readers
take a cursor on a read-only connection kept open per published version (``pipelines/read_cache.py``)
and always get either the old or the new complete file, never a lock error. A writer that fails or is
killed leaves only an orphaned staging file, removed by the next writer. Writers are
serialised by a file lock beside the warehouse (released by the OS if the holder dies).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from filelock import FileLock, Timeout

from fabscope.errors import WarehouseError
from fabscope.settings import resolve_db_path
from pipelines.read_cache import ReadCache, file_stamp
from pipelines.read_cache import register as register_read_cache
from pipelines.schema import SCHEMA_VERSION, TABLES
from pipelines.warehouse_url import target

if TYPE_CHECKING:  # Polars is imported where frames are written: `fabscope status` does not need it
    import polars as pl

WRITER_LOCK_TIMEOUT_S = 900.0
# DuckDB's own hardening for every read-only connection: no files, network or extensions beyond the
# warehouse, and no query can switch that back on
READ_ONLY_CONFIG = {"enable_external_access": False, "lock_configuration": True}


class WarehouseNotFound(WarehouseError):
    """The published warehouse file does not exist yet."""


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """First value of the first row (None if no row). Fetches the whole result: DuckDB 2.0 refuses
    further work on a connection whose previous result was only partly fetched."""
    rows = con.execute(sql, list(params or [])).fetchall()
    return rows[0][0] if rows else None


def stored_schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version recorded in ``schema_meta`` (None for a new or pre-fabscope file)."""
    try:
        stored = scalar(con, "SELECT value FROM schema_meta WHERE key = 'schema_version'")
    except duckdb.CatalogException:
        return None
    try:
        return int(stored) if stored is not None else None
    except ValueError:
        raise WarehouseError(f"warehouse schema version {stored!r} is not a number") from None


def check_schema_version(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse a warehouse written by a newer fabscope (its tables may mean something else)."""
    stored = stored_schema_version(con)
    if stored is not None and stored > SCHEMA_VERSION:
        raise WarehouseError(
            f"warehouse schema version {stored} is newer than this fabscope ({SCHEMA_VERSION}): upgrade fabscope"
        )


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a (staging) database to ``SCHEMA_VERSION``: add missing tables and columns."""
    check_schema_version(con)  # before touching anything
    for table in TABLES.values():
        con.execute(table.ddl())
        existing = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main'",
                [table.name],
            ).fetchall()
        }
        for col in table.columns:
            if col.name not in existing:
                con.execute(f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {col.sql_type}')
    con.execute("DELETE FROM schema_meta WHERE key = 'schema_version'")
    con.execute("INSERT INTO schema_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _is_damage(exc: duckdb.Error) -> bool:
    """A read failed because the file is damaged (a bad block checksum is DuckDB's bare ``Error``; a
    truncated file an ``IOException``), not because of the query."""
    return type(exc) is duckdb.Error or isinstance(exc, duckdb.IOException | duckdb.InternalException)


def _os_error(path: Path, exc: OSError) -> WarehouseError:
    """A one-line ``WarehouseError`` for an OS-level write failure (read-only folder, disk full...)."""
    return WarehouseError(
        f"cannot write beside {path}: {exc.strerror or exc} ({type(exc).__name__}); nothing was written"
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    df: pl.DataFrame,
    *,
    key: Sequence[str] | None = None,
    where: Mapping[str, Any] | None = None,
    run_id: str | None = None,
) -> int:
    """Idempotently write ``df`` into ``table`` inside one transaction; returns rows inserted.

    - ``where={"col": value}``: delete that partition, then insert.
    - ``key=("c1", "c2")``: delete stored rows whose key matches an incoming row, then insert.
    - neither: replace the whole table.
    Columns are matched by name; table columns missing from ``df`` become NULL.
    """
    spec = TABLES.get(table)
    if spec is None:
        raise WarehouseError(f"unknown table {table!r}: add it to pipelines/schema.py")
    unknown = [c for c in df.columns if c not in spec.column_names]
    if unknown:
        raise WarehouseError(f"{table}: columns {unknown} are not in the schema ({list(spec.column_names)})")
    cols = [c for c in spec.column_names if c in df.columns]
    col_sql = ", ".join(f'"{c}"' for c in cols)
    with _staged(con, df.select(cols)) as view:
        if where:
            cond = " AND ".join(f'"{c}" IS NOT DISTINCT FROM ?' for c in where)
            con.execute(f'DELETE FROM "{table}" WHERE {cond}', list(where.values()))
        elif key:
            match = " AND ".join(f't."{k}" IS NOT DISTINCT FROM i."{k}"' for k in key)
            con.execute(f'DELETE FROM "{table}" t WHERE EXISTS (SELECT 1 FROM {view} i WHERE {match})')
        else:
            con.execute(f'DELETE FROM "{table}"')
        con.execute(f'INSERT INTO "{table}" ({col_sql}) SELECT {col_sql} FROM {view}')
        total = scalar(con, f'SELECT count(*) FROM "{table}"')
        con.execute("DELETE FROM table_refreshes WHERE table_name = ?", [table])
        con.execute("INSERT INTO table_refreshes VALUES (?, ?, ?, ?)", [table, total, _now(), run_id])
    return df.height


@contextlib.contextmanager
def _staged(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> Iterator[str]:
    """``frame`` registered as a view for one transaction: committed if the block ends, else rolled back."""
    view = f"_incoming_{uuid.uuid4().hex}"
    con.register(view, frame.to_arrow())
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            yield view
            try:
                con.execute("COMMIT")
            except duckdb.Error as exc:  # disk full, I/O: DuckDB's first line names the file and the cause
                raise WarehouseError(
                    f"cannot commit the write ({_first_line(exc)}); nothing was stored"
                ) from None
        except BaseException:
            # a failed COMMIT (disk full) may have ended the transaction already: the real error is
            # the one to show, never "cannot rollback - no transaction is active"
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
    finally:
        con.unregister(view)


def write_quarantine(
    con: duckdb.DuckDBPyConnection,
    rows: pl.DataFrame,
    *,
    source_file: str,
    asset: str,
    run_id: str | None = None,
) -> int:
    """Replace the quarantine rows of ``source_file`` with ``rows`` (source_file,row,field,value,reason)."""
    import polars as pl

    frame = rows.with_columns(
        pl.lit(source_file).alias("source_file"),
        pl.lit(_now()).alias("seen_at"),
        pl.lit(asset).alias("asset"),
        pl.lit(run_id, dtype=pl.String).alias("run_id"),
    )
    cols = ["source_file", "row", "field", "value", "reason", "seen_at", "asset", "run_id"]
    with _staged(con, frame.select(cols)) as view:
        con.execute("DELETE FROM quarantine WHERE source_file = ?", [source_file])
        con.execute(f"INSERT INTO quarantine ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {view}")
    return rows.height


_WAREHOUSE_ALIAS = "warehouse"


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published file at ``path``: the one place read connections are made
    and configured (every reader goes through :data:`_READERS`, which calls this once per version).

    The file is attached to a private in-memory database rather than opened with ``duckdb.connect(path)``:
    DuckDB caches open databases by path, so while a reader still holds the old version a plain connect
    would hand back the old file instead of the newly published one. A file from a newer fabscope is
    refused (``WarehouseError``); an unreadable one too, naming it.
    """
    con = duckdb.connect(":memory:")
    try:
        quoted = str(path).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS {_WAREHOUSE_ALIAS} (READ_ONLY)")
        con.execute(f"USE {_WAREHOUSE_ALIAS}")
        check_schema_version(con)
        for setting, value in READ_ONLY_CONFIG.items():  # after the ATTACH, which needs file access
            con.execute(f"SET {setting} = {str(value).lower()}")
    except duckdb.Error as exc:
        con.close()
        if not path.is_file():  # replaced by a directory or removed meanwhile
            raise WarehouseNotFound(f"no warehouse at {path}: run `fabscope refresh` first") from None
        raise WarehouseError(f"{path} is not a readable DuckDB warehouse ({_first_line(exc)})") from None
    except BaseException:
        con.close()
        raise
    return con


def preload_for_threads() -> None:
    """Before a threaded server starts: run one parameterised query, on which DuckDB 1.5 imports pandas
    when it is installed (the dev extras). Imported lazily by a request thread instead, other threads
    (Plotly checks ``sys.modules`` for pandas) would meet a half-initialised module and fail."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("SELECT ?", [1]).fetchall()
    finally:
        con.close()


def _use_warehouse(cursor: duckdb.DuckDBPyConnection) -> None:
    cursor.execute(f"USE {_WAREHOUSE_ALIAS}")  # a cursor starts in the in-memory catalog


#: Warm reads (pipelines/read_cache.py): one open connection per published version, a cursor per read.
_READERS = register_read_cache(ReadCache(connect_read_only, _use_warehouse))


def verify_file(path: Path, *, shown: Path | None = None) -> None:
    """Read every column of every table of the DuckDB file ``path`` in full (each block's checksum is
    checked on read); a ``WarehouseError`` naming the file (``shown``, else ``path``) and the table if
    any read fails. Cost: one scan of the file."""
    name = shown or path
    try:
        con = duckdb.connect(str(path), read_only=True, config=dict(READ_ONLY_CONFIG))
    except duckdb.Error as exc:
        reason = _first_line(exc).replace(str(path), str(name))
        raise WarehouseError(f"{name} is not a readable DuckDB warehouse ({reason})") from None
    table = "(catalog)"
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            ).fetchall()
        ]
        for table in tables:
            con.execute(f'SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM "{table}"').fetchall()
    except duckdb.Error as exc:
        reason = _first_line(exc).replace(str(path), str(name))
        raise WarehouseError(f"{name}: a full read of table {table} fails ({reason})") from None
    finally:
        con.close()


class Warehouse:
    """A published DuckDB warehouse file, its staging area and its single-writer lock.

    ``Warehouse(x)`` takes what :func:`pipelines.warehouse_url.target` reads (a path, a ``duckdb:`` or
    ``ducklake:`` URL, None for the configured one) and returns a
    :class:`~pipelines.warehouse_lake.LakeWarehouse` for a DuckLake URL: the one connection factory keyed
    by the warehouse URL."""

    def __new__(cls, path: Any = None) -> Warehouse:
        if cls is Warehouse and target(path).is_lake:
            from pipelines.warehouse_lake import LakeWarehouse

            return object.__new__(LakeWarehouse)
        return object.__new__(cls)

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = target(path).path or resolve_db_path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.staging_dir = self.path.with_name("." + self.path.name + ".staging")
        self.versions_dir = self.path.with_name("." + self.path.name + ".versions")
        # the quarantine rows of the last failed run (Parquet), which published nothing
        self.failed_run_report = self.path.with_name("." + self.path.name + ".failed-run.parquet")

    def __str__(self) -> str:
        return str(self.path)

    def preflight(self) -> None:
        """Fail now, in one line, if a writer could not start (a file warehouse: checked by the writer)."""

    def exists(self) -> bool:
        """True once a warehouse has been published."""
        return self.path.is_file()

    # ---- readers -------------------------------------------------------------------
    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection (a cursor) on the published file, as it was when the read began.

        Warm: the connection of the current version stays open between reads and is reopened only when a
        publish has replaced the file, so a read costs a cursor, not a file open. A read that hits a
        damaged block is a ``WarehouseError`` saying how to recover."""
        stamp = file_stamp(self.path)  # before connecting: a file swapped in meanwhile is opened next time
        if stamp is None or not self.exists():
            raise WarehouseNotFound(f"no warehouse at {self.path}: run `fabscope refresh` first")
        with _READERS.cursor(self.path, stamp) as con:
            try:
                yield con
            except duckdb.Error as exc:
                if not _is_damage(exc):
                    raise
                raise WarehouseError(
                    f"{self.path} is damaged ({_first_line(exc)}); restore a kept version "
                    "(`fabscope restore --list`) or move it aside and run `fabscope refresh`"
                ) from None

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run a parameterised read-only query on the published file; returns a Polars frame."""
        with self.read() as con:
            return con.sql(sql, params=list(params) if params else None).pl()

    def table_names(self) -> list[str]:
        """Tables present in the published file."""
        with self.read() as con:
            return [
                r[0]
                for r in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
                ).fetchall()
            ]

    # ---- writers -------------------------------------------------------------------
    def lock(self, timeout: float = WRITER_LOCK_TIMEOUT_S) -> FileLock:
        """The single-writer lock (a ``filelock.FileLock``; the OS frees it if the holder dies)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error(self.path, exc) from None
        return FileLock(str(self.lock_path), timeout=timeout)

    def begin_staging(self, tag: str | None = None) -> Path:
        """Copy the published file (if any) to a fresh staging file and migrate it.

        Call with the writer lock held. Staging files left by killed writers are removed.
        """
        try:
            self.staging_dir.mkdir(parents=True, exist_ok=True)
            for orphan in self.staging_dir.iterdir():
                orphan.unlink(missing_ok=True)
        except OSError as exc:
            raise _os_error(self.path, exc) from None
        staging = self.staging_dir / f"{tag or uuid.uuid4().hex}.duckdb"
        try:
            if self.exists():
                try:
                    shutil.copyfile(self.path, staging)
                except OSError as exc:  # disk full while copying
                    raise _os_error(self.path, exc) from None
                try:  # a damaged file is never a base: its damage would be published as healthy
                    verify_file(staging, shown=self.path)
                except WarehouseError as exc:
                    raise WarehouseError(
                        f"{exc.message}; not used as a base: move it aside (then `fabscope refresh` rebuilds "
                        "it) or restore a kept version (`fabscope restore --list`)"
                    ) from None
            try:
                con = duckdb.connect(str(staging))
            except duckdb.Error as exc:
                reason = _first_line(exc).replace(str(staging), str(self.path))
                raise WarehouseError(
                    f"{self.path} is not a readable DuckDB warehouse ({reason}); move it aside and "
                    "run `fabscope refresh` to rebuild it"
                ) from None
            try:
                migrate(con)
                con.execute("CHECKPOINT")
            finally:
                con.close()
        except BaseException:
            self.discard(staging)
            raise
        return staging

    def publish(self, staging: Path, *, keep_version: bool = True) -> None:
        """Atomically replace the published file by the (closed, checkpointed) staging file.

        The staging file is first read in full (``verify_file``): one that fails is not published. A copy
        is kept among the last ``FABSCOPE_KEEP_VERSIONS`` versions (``keep_version``; see
        ``pipelines.warehouse_versions``) so ``fabscope restore`` can bring it back."""
        try:
            con = duckdb.connect(str(staging))
            try:
                con.execute("CHECKPOINT")
            finally:
                con.close()
        except duckdb.Error as exc:
            raise WarehouseError(
                f"{staging}: cannot be checkpointed ({_first_line(exc)}); not publishing"
            ) from None
        wal = staging.with_name(staging.name + ".wal")
        if wal.exists():
            raise WarehouseError(f"staging file {staging} still has a write-ahead log; not publishing")
        verify_file(staging)
        with open(staging, "rb") as fh:
            os.fsync(fh.fileno())
        if keep_version:
            from pipelines.warehouse_versions import keep_version as keep

            keep(self, staging)
        os.replace(staging, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def discard(self, staging: Path) -> None:
        """Drop a staging file (and its WAL) without publishing."""
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)

    @contextlib.contextmanager
    def write(self, timeout: float = WRITER_LOCK_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
        """Single writer: lock, stage, yield a read-write connection, publish on success."""
        try:
            lock = self.lock(timeout)
            lock.acquire()
        except Timeout as exc:
            raise WarehouseError(f"another writer holds {self.lock_path} (waited {timeout:.0f} s)") from exc
        except OSError as exc:  # a read-only folder: the lock file cannot be created
            raise _os_error(self.path, exc) from None
        try:
            staging = self.begin_staging()
            con = duckdb.connect(str(staging))
            try:
                yield con
            except BaseException:
                con.close()
                self.discard(staging)
                raise
            con.close()
            try:
                self.publish(staging)
            except BaseException:  # not published (disk full, a failed check): free its space now
                self.discard(staging)
                raise
        finally:
            lock.release()
