"""Dagster resources: the warehouse, staged per run and published only if the run succeeds."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
from filelock import FileLock, Timeout
from pydantic import PrivateAttr

from fabscope.errors import InputError
from pipelines import clock
from pipelines.failures import as_failure
from pipelines.warehouse import Warehouse, WarehouseError
from pipelines.warehouse_url import target

_FAILURE_EVENTS = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}


class RunDateResource(dg.ConfigurableResource):
    """The run's "today": ``today`` (YYYY-MM-DD) if set, else the UTC date when the run starts.

    Read once per run, so a run that straddles midnight uses one date throughout; tests and
    reruns pin it (run config ``resources.run_date.config.today``) for identical results.
    """

    today: str = ""

    _resolved: date | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            self._resolved = clock.run_date(self.today)
        except InputError as exc:
            raise as_failure(InputError(f"run_date: {exc}")) from None

    def as_date(self) -> date:
        """The run date (resolved at the start of the run; outside a run, now)."""
        return self._resolved or clock.run_date(self.today)


class WarehouseResource(dg.ConfigurableResource):
    """Read-write access to the warehouse for one Dagster run.

    At the start of a run it takes the single-writer lock and copies the published file
    to a staging file named after the run; every asset of the run writes there. At the
    end, if no step failed (a failed blocking check fails its step), the staging file is
    published atomically; otherwise it is discarded and the published warehouse stays exactly as
    it was, quarantine rows included (a failed run publishes nothing: its quarantine rows are saved
    beside the warehouse in ``Warehouse.failed_run_report`` for the command line to show, never stored).
    Used outside a run (direct calls in tests), each ``connection()`` is its own write.
    """

    db_path: str = ""
    """The warehouse: a DuckDB file path or a ``ducklake:`` URL (``str(WarehouseURL)``)."""
    lock_timeout_s: float = 900.0

    _staging: Path | None = PrivateAttr(default=None)
    _lock: FileLock | None = PrivateAttr(default=None)

    @property
    def warehouse(self) -> Warehouse:
        """The published warehouse this resource writes to."""
        return Warehouse(self.db_path or None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        wh = self.warehouse
        lock = wh.lock(self.lock_timeout_s)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if context.log is not None:
                context.log.warning(
                    f"another refresh or writer holds {wh.lock_path}; waiting up to "
                    f"{self.lock_timeout_s:.0f} s for it to finish"
                )
            try:
                lock.acquire()
            except Timeout:
                raise WarehouseError(
                    f"another refresh or writer still holds {wh.lock_path} after {self.lock_timeout_s:.0f} s; "
                    "nothing was written"
                ) from None
        except OSError as exc:  # a read-only folder: the lock file cannot be created
            raise WarehouseError(
                f"cannot write beside {wh.path}: {exc.strerror or exc}; nothing was written"
            ) from None
        try:
            self._staging = wh.begin_staging(context.run_id or None)
        except BaseException:
            lock.release()
            raise
        self._lock = lock

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        wh = self.warehouse
        try:
            if self._staging is None:
                return
            if self._run_failed(context):
                self._report_quarantine(wh, context.run_id)
                wh.discard(self._staging)
            else:
                wh.publish(self._staging)
        finally:
            self._staging = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    @staticmethod
    def _run_failed(context: dg.InitResourceContext) -> bool:
        if context.instance is None or context.run_id is None:
            return False
        return bool(context.instance.all_logs(context.run_id, of_type=_FAILURE_EVENTS))

    def _report_quarantine(self, wh: Warehouse, run_id: str | None) -> None:
        """Save a failed run's quarantine rows beside the warehouse (``wh.failed_run_report``), never in
        it: the command line explains the failure from them; the warehouse stays as it was."""
        if self._staging is None or run_id is None:
            return
        try:
            con = duckdb.connect(str(self._staging), read_only=True)
            try:
                rows = con.sql("SELECT * FROM quarantine WHERE run_id = ?", params=[run_id]).pl()
            finally:
                con.close()
            part = wh.failed_run_report.with_name(wh.failed_run_report.name + ".part")
            rows.write_parquet(part)
            part.replace(wh.failed_run_report)
        except (duckdb.Error, OSError):  # the report is a courtesy: the run has failed already
            return

    @contextlib.contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to this run's staging copy (closed on exit)."""
        if self._staging is None:
            with self.warehouse.write(self.lock_timeout_s) as con:
                yield con
            return
        con = duckdb.connect(str(self._staging))
        try:
            yield con
        finally:
            con.close()


def run_resources(db_path: str | Path | None = None, *, today: date | str | None = None) -> dict:
    """The resources every fabscope run uses: the warehouse ``db_path`` (a path or a warehouse URL,
    :mod:`pipelines.warehouse_url`; default: the CONTRACT rule) and the run date ``today`` (default: the
    UTC date when the run starts)."""
    return {
        "warehouse": WarehouseResource(db_path=str(target(db_path))),
        "run_date": RunDateResource(today=str(today or "")),
    }
