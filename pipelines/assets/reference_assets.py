"""Factory for thin assets that load one bundled reference file into its table."""

from collections.abc import Sequence

import dagster as dg

from pipelines.checks import quarantine_check_specs, quarantine_result
from pipelines.loading import load_reference_file
from pipelines.resources import RunDateResource, WarehouseResource
from pipelines.sources.reference import REFERENCE_FILES


def reference_asset(name: str, group: str, description: str, deps: Sequence[str] = ()) -> dg.AssetsDefinition:
    """An asset named after the reference file ``name`` that validates and stores it."""
    ref = REFERENCE_FILES[name]

    @dg.asset(
        name=name,
        group_name=group,
        deps=list(deps),
        description=description,
        kinds={"duckdb", "csv"},
        tags={"source": "bundled"},
        check_specs=quarantine_check_specs(name),
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, run_date: RunDateResource
    ) -> dg.MaterializeResult:
        with warehouse.connection() as con:
            report = load_reference_file(
                con, ref, asset=name, run_id=context.run_id, today=run_date.as_date()
            )
        return quarantine_result(context, report)

    return _asset
