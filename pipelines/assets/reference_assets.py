"""Factory for thin assets that load one bundled reference file into its table."""


from collections.abc import Sequence

import dagster as dg

from pipelines.loading import load_reference_file
from pipelines.resources import WarehouseResource
from pipelines.sources.reference import REFERENCE_FILES


def reference_asset(name: str, group: str, description: str, deps: Sequence[str] = ()) -> dg.AssetsDefinition:
    """An asset named after the reference file ``name`` that validates and stores it."""
    ref = REFERENCE_FILES[name]

    @dg.asset(name=name, group_name=group, deps=list(deps), description=description,
              kinds={"duckdb", "csv"}, tags={"source": "bundled"},
              check_specs=[dg.AssetCheckSpec("no_quarantined_rows", asset=name,
                                             description="every row of the file passed validation (warns)")])
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.connection() as con:
            report = load_reference_file(con, ref, asset=name, run_id=context.run_id)
        if report.rows_quarantined:
            context.log.warning(report.summary)
        return dg.MaterializeResult(
            metadata=report.metadata(),
            check_results=[dg.AssetCheckResult(
                check_name="no_quarantined_rows",
                passed=report.rows_quarantined == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"quarantined_rows": report.rows_quarantined},
                description=None if report.rows_quarantined == 0 else report.summary,
            )],
        )

    return _asset
