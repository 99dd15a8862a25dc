"""Blocking asset checks shared by every table: row count, unique keys, values in range."""

from collections.abc import Sequence

import dagster as dg

from pipelines.loading import LoadReport
from pipelines.resources import WarehouseResource
from pipelines.schema import TABLES
from pipelines.warehouse import scalar


def table_check(
    table: str,
    *,
    min_rows: int = 1,
    conditions: Sequence[str] = (),
    asset: str | None = None,
) -> dg.AssetChecksDefinition:
    """A blocking check on ``table``: at least ``min_rows`` rows, its key unique, and no row
    violating any of ``conditions`` (SQL boolean expressions written here, never from users)."""
    key = TABLES[table].key
    target = asset or table

    @dg.asset_check(
        asset=target,
        name=f"{table}_valid",
        blocking=True,
        description=f"{table}: >= {min_rows} rows, key {key} unique, {list(conditions)}",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connection() as con:
            rows = scalar(con, f'SELECT count(*) FROM "{table}"')
            dups = 0
            if key:
                cols = ", ".join(f'"{k}"' for k in key)
                dups = scalar(
                    con,
                    f'SELECT count(*) FROM (SELECT {cols} FROM "{table}" GROUP BY ALL HAVING count(*) > 1)',
                )
            violations = {
                cond: scalar(con, f'SELECT count(*) FROM "{table}" WHERE NOT ({cond})') for cond in conditions
            }
        bad = {c: n for c, n in violations.items() if n}
        passed = rows >= min_rows and dups == 0 and not bad
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "rows": rows,
                "min_rows": min_rows,
                "duplicate_keys": dups,
                "violations": dg.MetadataValue.json(bad),
            },
            description=None
            if passed
            else f"{table}: rows={rows} (min {min_rows}), duplicate keys={dups}, violations={bad}",
        )

    return _check


QUARANTINE_CHECK = "no_quarantined_rows"


def quarantine_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    """The warn-only check, reported by the loading asset itself, that every source row passed validation."""
    return [
        dg.AssetCheckSpec(
            QUARANTINE_CHECK, asset=asset, description="every source row passed validation (warns)"
        )
    ]


def quarantine_result(context: dg.AssetExecutionContext, report: LoadReport) -> dg.MaterializeResult:
    """A loading asset's result with its quarantine check; quarantined rows are also logged as a warning."""
    if report.rows_quarantined:
        context.log.warning(report.summary)
    return dg.MaterializeResult(
        metadata=report.metadata(),
        check_results=[
            dg.AssetCheckResult(
                check_name=QUARANTINE_CHECK,
                passed=report.rows_quarantined == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"quarantined_rows": report.rows_quarantined},
                description=None if report.rows_quarantined == 0 else report.summary,
            )
        ],
    )
