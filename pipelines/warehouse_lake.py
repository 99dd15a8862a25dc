"""The DuckLake warehouse (``ducklake:postgresql://USER@HOST:PORT/DB?data=PATH``): catalog in PostgreSQL,
data as Parquet files under ``PATH``; the team backend beside the single DuckDB file of
:mod:`pipelines.warehouse` (docs/deploy.md).

Writers work as they do on the file: every write goes to a private local *staging* DuckDB file (a copy of
one lake snapshot, ``base``), assets and their blocking checks run there, and only a run that passed is
*published*. Publishing here is one DuckLake transaction that applies what the run changed to the lake as
it is now: for a table with a key (``pipelines/schema.yaml``), the rows of every key the run added, changed
or removed are replaced by the staged ones; for a table without one (``quarantine``), the exact rows the
run removed are deleted and those it added inserted. So two writers on different machines (a refresh and a
scenario rerun) commit concurrently with snapshot isolation and neither loses the other's rows; when
DuckLake reports a conflict (both deleted from one table), the transaction is rolled back and applied
again on the newer snapshot (:data:`COMMIT_RETRIES` times). A writer that fails or is killed commits
nothing: readers see the last committed snapshot, whole. Each read runs in one transaction, so every query
of a read sees the same complete snapshot.

The ``ducklake`` and ``postgres`` DuckDB extensions come from the registry packages
``duckdb-extension-ducklake`` / ``duckdb-extension-postgres`` (built for the pinned DuckDB, README); they are
linked into ``$FABSCOPE_CACHE_DIR/duckdb-extensions`` and loaded from there, never downloaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

from fabscope.errors import WarehouseError
from fabscope.settings import get_settings
from pipelines.read_cache import ReadCache
from pipelines.read_cache import register as register_read_cache
from pipelines.schema import SCHEMA_VERSION, TABLES
from pipelines.warehouse import (
    READ_ONLY_CONFIG,
    Warehouse,
    WarehouseNotFound,
    _first_line,
    check_schema_version,
    migrate,
    stored_schema_version,
    verify_file,
)
from pipelines.warehouse_url import WarehouseURL, target

LAKE = "lake"
COMMIT_RETRIES = 30
_EXTENSIONS = {"ducklake": "duckdb_extension_ducklake", "postgres_scanner": "duckdb_extension_postgres"}
_NO_STAMP = (0, 0, 0, 0)


def _q(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def extension_dir() -> Path:
    """A DuckDB ``extension_directory`` holding the registry packages' ``ducklake`` and ``postgres_scanner``
    files for this DuckDB (symbolic links, copies where links fail); made on first use."""
    version = f"v{duckdb.__version__}"
    platform = duckdb.execute("SELECT platform FROM pragma_platform()").fetchall()[0][0]
    root = get_settings().cache_dir / "duckdb-extensions"
    folder = root / version / platform
    for name, package in _EXTENSIONS.items():
        link = folder / f"{name}.duckdb_extension"
        if link.exists():
            continue
        spec = importlib.util.find_spec(package)
        shipped = (
            Path(spec.origin).parent / "extensions" / version / f"{name.split('_')[0]}.duckdb_extension"
            if spec and spec.origin
            else None
        )
        if shipped is None or not shipped.is_file():
            raise WarehouseError(
                f"the DuckLake warehouse needs the {package.replace('_', '-')}=={duckdb.__version__} package "
                f"(pip install -e .); DuckDB {duckdb.__version__} has no {name} extension here"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / f".{name}.{os.getpid()}.part"
            part.unlink(missing_ok=True)
            try:
                part.symlink_to(shipped)
            except OSError:
                import shutil

                shutil.copyfile(shipped, part)
            part.replace(link)
        except OSError as exc:
            raise WarehouseError(
                f"cannot prepare DuckDB extensions in {folder}: {exc.strerror or exc}"
            ) from None
    return root


def _failure(url: WarehouseURL, exc: BaseException, doing: str) -> WarehouseError:
    """One line naming the lakehouse and what failed (the password never shown)."""
    catalog = f"postgresql://{url.user}@{url.host}:{url.port}/{url.dbname}"
    # DuckDB may quote the libpq string (with the password): name the catalog instead
    reason = re.sub(r"\"?postgres:dbname=[^\"]*\"?", catalog, _first_line(exc))
    reason = re.sub(r"password='(?:[^'\\]|\\.)*'", "password=***", reason)
    lowered = reason.lower()
    if "existing ducklake" in lowered and "does not exist" in lowered:
        return WarehouseNotFound(
            f"no warehouse in {catalog} yet: run `fabscope refresh --warehouse URL` first"
        )
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return WarehouseError(
            f"PostgreSQL at {url.host}:{url.port} refused the login of user {url.user!r} ({reason}); nothing was written"
        )
    if "does not exist" in lowered and "database" in lowered:
        return WarehouseError(
            f"PostgreSQL at {url.host}:{url.port} has no database {url.dbname!r} (create it first); nothing was written"
        )
    if any(
        s in lowered
        for s in ("connection refused", "could not connect", "timeout expired", "could not translate host")
    ):
        return WarehouseError(f"cannot reach the warehouse catalog {catalog} ({reason}); nothing was written")
    return WarehouseError(f"warehouse {url.shown()}: {doing} failed ({reason}); nothing was written")


def _check_data_path(url: WarehouseURL) -> None:
    """A writer needs the data folder: made if missing, and a probe file written and removed in it."""
    assert url.data_path is not None
    try:
        url.data_path.mkdir(parents=True, exist_ok=True)
        probe = url.data_path / f".fabscope-probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise WarehouseError(
            f"the lakehouse data path {url.data_path} is not writable ({exc.strerror or exc}); nothing was written"
        ) from None


def connect(url: WarehouseURL, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lakehouse attached as ``lake`` (``USE lake``): the one place lake
    connections are made. Read-only ones get :data:`pipelines.warehouse.READ_ONLY_CONFIG` after the ATTACH."""
    if not read_only:
        _check_data_path(url)
    config = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "extension_directory": str(extension_dir()),
    }
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute("LOAD ducklake")
        con.execute("LOAD postgres_scanner")
        options = f"DATA_PATH {_q(str(url.data_path) + os.sep)}, DATA_INLINING_ROW_LIMIT 0"
        options += ", READ_ONLY" if read_only else ""
        con.execute(f"ATTACH {_q('ducklake:postgres:' + url.libpq())} AS {LAKE} ({options})")
        con.execute(f"USE {LAKE}")
        check_schema_version(con)
        if read_only:  # the data folder stays readable: DuckDB's allow-list, set before access is locked
            con.execute(f"SET allowed_directories = [{_q(str(url.data_path) + os.sep)}]")
            for setting, value in READ_ONLY_CONFIG.items():
                con.execute(f"SET {setting} = {str(value).lower()}")
    except duckdb.Error as exc:
        con.close()
        raise _failure(url, exc, "opening the DuckLake catalog") from None
    except BaseException:
        con.close()
        raise
    return con


def _use_lake(cursor: duckdb.DuckDBPyConnection) -> None:
    cursor.execute(f"USE {LAKE}")


#: Warm reads: one read-only connection per lakehouse URL and process (a DuckLake connection sees each new
#: snapshot at the start of its next transaction, so it is never reopened for freshness).
_LAKE_READERS = register_read_cache(ReadCache(lambda key: connect(target(key), read_only=True), _use_lake))


class _NoLock:
    """Lake writers are not serialised (DuckLake's snapshot isolation is); the resource's lock calls pass."""

    def acquire(self, timeout: float | None = None) -> None:
        return None

    def release(self) -> None:
        return None

    def __enter__(self) -> _NoLock:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _cols(table: str) -> str:
    return ", ".join(f'"{c}"' for c in TABLES[table].column_names)


def _match(left: str, right: str, columns: tuple[str, ...]) -> str:
    return " AND ".join(f'{left}."{c}" IS NOT DISTINCT FROM {right}."{c}"' for c in columns)


class LakeWarehouse(Warehouse):
    """A DuckLake lakehouse with the interface of :class:`~pipelines.warehouse.Warehouse` (made by
    ``Warehouse(url)``): readers see whole snapshots, writers stage locally and merge in one transaction."""

    def __init__(self, path: str | os.PathLike[str] | WarehouseURL | None = None) -> None:
        self.url = target(path)
        if not self.url.is_lake:
            raise WarehouseError(f"{self.url.shown()} is not a DuckLake warehouse URL")
        assert self.url.data_path is not None
        self.path = self.url.data_path
        self.staging_dir = Path(tempfile.gettempdir()) / f"fabscope-lake-staging-{os.getuid()}"
        self.lock_path = self.staging_dir / "no-lock"
        self.versions_dir = self.staging_dir / "no-versions"
        tag = uuid.uuid5(uuid.NAMESPACE_URL, self.url.shown()).hex[:12]
        self.failed_run_report = self.staging_dir / f"failed-run-{tag}.parquet"

    def __str__(self) -> str:
        return self.url.shown()

    def preflight(self) -> None:
        """Catalog reachable, login accepted, data path writable: else a one-line ``WarehouseError``."""
        connect(self.url, read_only=False).close()

    # ---- readers -------------------------------------------------------------------
    def exists(self) -> bool:
        """True once a refresh has committed (the catalog records a schema version)."""
        try:
            with self.read() as con:
                return stored_schema_version(con) is not None
        except WarehouseNotFound:  # the catalog database is there, DuckLake's tables are not yet
            return False

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only cursor inside one transaction: every query sees the same committed snapshot."""
        with _LAKE_READERS.cursor(str(self.url), _NO_STAMP) as con:  # type: ignore[arg-type]
            broken = False
            try:
                con.execute("BEGIN TRANSACTION")
                yield con
            except (duckdb.IOException, duckdb.ConnectionException, duckdb.InternalException) as exc:
                broken = True
                raise _failure(self.url, exc, "reading") from None
            finally:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
        if broken:
            _LAKE_READERS.close_idle()  # reconnect on the next read (PostgreSQL restarted, say)

    # ---- writers -------------------------------------------------------------------
    def lock(self, timeout: float = 0.0) -> _NoLock:  # type: ignore[override]
        return _NoLock()

    def _writer(self) -> duckdb.DuckDBPyConnection:
        return connect(self.url, read_only=False)

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        """Bring the lake to ``SCHEMA_VERSION`` in one transaction, only when something is missing."""
        if stored_schema_version(con) == SCHEMA_VERSION:
            cols = con.execute(
                "SELECT table_name, count(*) FROM information_schema.columns WHERE table_catalog = ? "
                "AND table_schema = 'main' GROUP BY ALL",
                [LAKE],
            ).fetchall()
            if dict(cols) == {t.name: len(t.columns) for t in TABLES.values()}:
                return
        self._commit(con, lambda: migrate(con), "creating the warehouse tables")

    def _commit(self, con: duckdb.DuckDBPyConnection, body, doing: str) -> None:
        """Run ``body`` in one lake transaction; on a DuckLake conflict roll back and run it again."""
        for attempt in range(COMMIT_RETRIES):
            try:
                con.execute("BEGIN TRANSACTION")
                body()
                con.execute("COMMIT")
                return
            except duckdb.TransactionException as exc:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                if "conflict" not in str(exc).lower() or attempt == COMMIT_RETRIES - 1:
                    raise _failure(self.url, exc, doing) from None
                time.sleep(min(1.0, 0.02 * 2**attempt) * random.uniform(0.5, 1.5))
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise _failure(self.url, exc, doing) from None
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise

    def begin_staging(self, tag: str | None = None) -> Path:
        """A local staging DuckDB file holding the lake's latest snapshot (named after that snapshot)."""
        try:
            self.staging_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(
                f"cannot make the staging folder {self.staging_dir}: {exc.strerror or exc}"
            ) from None
        self._remove_orphans()
        con = self._writer()
        try:
            self._migrate(con)
            base = con.execute(f"SELECT max(snapshot_id) FROM {LAKE}.snapshots()").fetchall()[0][0]
            staging = self.staging_dir / f"{os.getpid()}-{uuid.uuid4().hex[:12]}-at-{base}.duckdb"
            try:
                stage = duckdb.connect(str(staging))
                try:
                    migrate(stage)
                    stage.execute("CHECKPOINT")
                finally:
                    stage.close()
                con.execute(f"ATTACH {_q(staging)} AS stage")
                con.execute("BEGIN TRANSACTION")
                for name in TABLES:
                    con.execute(f'DELETE FROM stage."{name}"')
                    con.execute(
                        f'INSERT INTO stage."{name}" ({_cols(name)}) SELECT {_cols(name)} '
                        f'FROM {LAKE}."{name}" AT (VERSION => {int(base)})'
                    )
                con.execute("COMMIT")
                con.execute("DETACH stage")
            except BaseException as exc:
                self.discard(staging)
                if isinstance(exc, duckdb.Error):
                    raise _failure(self.url, exc, "copying the lake into staging") from None
                raise
        finally:
            con.close()
        return staging

    def _remove_orphans(self) -> None:
        """Staging files of writers that died (their pid is gone) are removed."""
        for orphan in self.staging_dir.glob("*-at-*.duckdb*"):
            pid = orphan.name.split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid():
                try:
                    os.kill(int(pid), 0)
                except ProcessLookupError:
                    orphan.unlink(missing_ok=True)
                except OSError:
                    pass

    def publish(self, staging: Path, *, keep_version: bool = True) -> None:
        """Apply what the staging file changed since its base snapshot to the lake, in one transaction."""
        try:
            base = int(staging.name.removesuffix(".duckdb").rsplit("-at-", 1)[1])
            verify_file(staging)
            con = self._writer()
            try:
                con.execute(f"ATTACH {_q(staging)} AS stage (READ_ONLY)")
                changed = self._changes(con, base)
                if changed:
                    self._commit(con, lambda: self._apply(con, changed), "committing the refresh")
            except duckdb.Error as exc:
                raise _failure(self.url, exc, "publishing") from None
            finally:
                con.close()
        finally:
            self.discard(staging)

    def _changes(self, con: duckdb.DuckDBPyConnection, base: int) -> list[str]:
        """Temp tables ``memory.added_T`` / ``removed_T`` (and ``keys_T``) per changed table; their names."""
        changed = []
        for name in self._differing(con, base):
            spec = TABLES[name]
            cols, at = _cols(name), f'{LAKE}."{name}" AT (VERSION => {base})'
            con.execute(
                f'CREATE OR REPLACE TEMP TABLE "added_{name}" AS SELECT {cols} FROM stage."{name}" '
                f"EXCEPT ALL SELECT {cols} FROM {at}"
            )
            con.execute(
                f'CREATE OR REPLACE TEMP TABLE "removed_{name}" AS SELECT {cols} FROM {at} '
                f'EXCEPT ALL SELECT {cols} FROM stage."{name}"'
            )
            n = con.execute(
                f'SELECT (SELECT count(*) FROM "added_{name}") + (SELECT count(*) FROM "removed_{name}")'
            ).fetchall()[0][0]
            if not n:
                continue
            changed.append(name)
            if spec.key:
                keys = ", ".join(f'"{k}"' for k in spec.key)
                con.execute(
                    f'CREATE OR REPLACE TEMP TABLE "keys_{name}" AS SELECT DISTINCT {keys} FROM '
                    f'(SELECT {keys} FROM "added_{name}" UNION ALL SELECT {keys} FROM "removed_{name}")'
                )
        return changed

    @staticmethod
    def _differing(con: duckdb.DuckDBPyConnection, base: int) -> list[str]:
        """Tables whose staged rows differ from the base snapshot's, by one query of fingerprints (row count
        and the sum of 64-bit row hashes per table, so a duplicated or moved row counts too)."""

        def fingerprint(name: str, source: str) -> str:
            return (
                f"SELECT '{name}' AS t, count(*) AS n, sum(hash({_cols(name)})::HUGEINT) AS h FROM {source}"
            )

        parts = [
            f"SELECT * FROM ({fingerprint(n, f'stage.{chr(34)}{n}{chr(34)}')}) EXCEPT ALL SELECT * FROM "
            f"({fingerprint(n, f'{LAKE}.{chr(34)}{n}{chr(34)} AT (VERSION => {base})')})"
            for n in TABLES
        ]
        differing = {r[0] for r in con.execute(" UNION ALL ".join(parts)).fetchall()}
        return [n for n in TABLES if n in differing]

    def _apply(self, con: duckdb.DuckDBPyConnection, changed: list[str]) -> None:
        for name in changed:
            spec, cols = TABLES[name], _cols(name)
            if spec.key:
                hit = f'EXISTS (SELECT 1 FROM temp."keys_{name}" k WHERE {_match("t", "k", spec.key)})'
                con.execute(f'DELETE FROM {LAKE}."{name}" t WHERE {hit}')
                con.execute(
                    f'INSERT INTO {LAKE}."{name}" ({cols}) SELECT {cols} FROM stage."{name}" t WHERE {hit}'
                )
            else:
                hit = f'EXISTS (SELECT 1 FROM temp."removed_{name}" r WHERE {_match("t", "r", spec.column_names)})'
                con.execute(f'DELETE FROM {LAKE}."{name}" t WHERE {hit}')
                con.execute(f'INSERT INTO {LAKE}."{name}" ({cols}) SELECT {cols} FROM temp."added_{name}"')
        if "table_refreshes" in changed:  # row counts of the merged tables, not of this writer's copy
            for name in changed:
                con.execute(
                    f'UPDATE {LAKE}.table_refreshes SET "rows" = (SELECT count(*) FROM {LAKE}."{name}") '
                    "WHERE table_name = ? AND EXISTS (SELECT 1 FROM temp.keys_table_refreshes k WHERE "
                    "k.table_name = ?)",
                    [name, name],
                )
