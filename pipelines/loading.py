"""Load a validated source frame into its table: quarantine, refuse-to-worsen guard, idempotent write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import duckdb
import polars as pl

from fabscope.errors import DataError
from pipelines.failures import as_failure
from pipelines.schema import TABLES
from pipelines.sources.reference import ReferenceFile
from pipelines.validation import ValidationError, ValidationResult
from pipelines.warehouse import replace_rows, scalar, write_quarantine


class RefusedLoad(DataError):
    """A source would replace good stored rows with fewer, worse ones."""


@dataclass(frozen=True)
class LoadReport:
    """What one load did: rows written, rows quarantined, and the readable summary."""

    table: str
    rows_written: int
    rows_quarantined: int
    summary: str

    def metadata(self) -> dict[str, dg.MetadataValue]:
        """Dagster materialisation metadata."""
        return {
            "rows": dg.MetadataValue.int(self.rows_written),
            "quarantined_rows": dg.MetadataValue.int(self.rows_quarantined),
            "validation": dg.MetadataValue.text(self.summary),
        }


def lost_keys(con: duckdb.DuckDBPyConnection, table: str, good: pl.DataFrame, key: Sequence[str]) -> int:
    """How many stored keys of ``table`` are absent from ``good``."""
    keys = list(key)
    con.register("_incoming_keys", good.select(keys).to_arrow())
    try:
        match = " AND ".join(f't."{k}" IS NOT DISTINCT FROM i."{k}"' for k in keys)
        return scalar(
            con,
            f'SELECT count(*) FROM "{table}" t WHERE NOT EXISTS (SELECT 1 FROM _incoming_keys i WHERE {match})',
        )
    finally:
        con.unregister("_incoming_keys")


def store_validated(
    con: duckdb.DuckDBPyConnection,
    table: str,
    result: ValidationResult,
    *,
    key: Sequence[str],
    asset: str,
    run_id: str | None,
    extra: dict[str, object] | None = None,
) -> LoadReport:
    """Write the good rows of ``result`` to ``table`` (whole-table replace) and its bad rows to quarantine.

    Refuses (``RefusedLoad``, nothing replaced) when the source had bad rows and the
    replacement would drop keys that are stored now: a broken file must not erase good data.
    """
    write_quarantine(con, result.quarantine, source_file=result.source_file, asset=asset, run_id=run_id)
    if result.quarantine.height:
        lost = lost_keys(con, table, result.good, key)
        if lost:
            raise RefusedLoad(
                f"refused to replace {table}: {lost} stored rows would be lost to bad input; kept the stored "
                f"table.\n{result.summary()}"
            )
    good = result.good.with_columns(pl.lit(v).alias(k) for k, v in (extra or {}).items())
    good = good.select([c for c in TABLES[table].column_names if c in good.columns])
    written = replace_rows(con, table, good, run_id=run_id)
    return LoadReport(table, written, result.quarantine.height, result.summary())


def load_reference_file(
    con: duckdb.DuckDBPyConnection,
    ref: ReferenceFile,
    *,
    asset: str,
    run_id: str | None,
    today: date | None = None,
) -> LoadReport:
    """Validate a bundled reference file (dates up to ``today``, the run date) and store it."""
    try:
        result = ref.load(today=today)
    except ValidationError as exc:
        raise as_failure(exc) from None
    try:
        return store_validated(con, ref.table, result, key=ref.key, asset=asset, run_id=run_id)
    except RefusedLoad as exc:
        raise as_failure(exc) from None
