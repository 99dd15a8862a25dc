"""Hardware group: accelerator specs and system totals computed by ``hardware_sim``."""

import json
from collections.abc import Callable

import dagster as dg
import polars as pl

from pipelines.checks import table_check
from pipelines.resources import WarehouseResource
from pipelines.schema import TABLES
from pipelines.warehouse import replace_rows

_SOURCE = "hardware_sim catalog (see hardware_sim/data/*.yaml for per-figure sources)"


def _catalog_frame(table: str, records: list[dict], **derived: Callable[[dict], object]) -> pl.DataFrame:
    """``table``'s columns taken from simulator ``records`` (``derived`` columns replaced), plus ``source``."""
    cols = [c for c in TABLES[table].column_names if c != "source"]
    rows = [{c: derived[c](rec) if c in derived else rec.get(c) for c in cols} for rec in records]
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(pl.lit(_SOURCE).alias("source"))


def chip_spec_frame() -> pl.DataFrame:
    """One row per catalog chip with the CONTRACT ``sim chip`` keys; ``sources`` joined with '; '."""
    from hardware_sim.accelerators.catalog import chip_ids, chip_spec_record

    return _catalog_frame(
        "chip_specs",
        [chip_spec_record(cid) for cid in chip_ids()],
        sources=lambda rec: "; ".join(rec.get("sources") or []),
    )


def system_perf_frame() -> pl.DataFrame:
    """One row per catalog system with totals and the component power breakdown (JSON, kW)."""
    from hardware_sim.accelerators.catalog import system_ids
    from hardware_sim.accelerators.power import system_record

    return _catalog_frame(
        "system_perf",
        [system_record(sid) for sid in system_ids()],
        chips=lambda rec: int(rec["chips"]),
        power_breakdown_kw=lambda rec: json.dumps(rec["power_breakdown_kw"], sort_keys=True),
    )


def _publish(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, table: str, frame: pl.DataFrame
) -> dg.MaterializeResult:
    """Replace ``table``'s rows with ``frame`` (tagged with the run id) and report the row count."""
    with warehouse.connection() as con:
        replace_rows(con, table, frame, run_id=context.run_id)
    return dg.MaterializeResult(metadata={"rows": frame.height})


@dg.asset(
    group_name="hardware",
    kinds={"duckdb", "python"},
    description="Accelerator specs (TFLOP/s, GB, TB/s, W) from the hardware_sim catalog.",
)
def chip_specs(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    return _publish(context, warehouse, "chip_specs", chip_spec_frame())


@dg.asset(
    group_name="hardware",
    deps=[chip_specs],
    kinds={"duckdb", "python"},
    description="System totals and component power (kW) computed by hardware_sim.power.",
)
def system_perf(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    return _publish(context, warehouse, "system_perf", system_perf_frame())


chip_specs_valid = table_check("chip_specs", min_rows=7, conditions=("bf16_tflops > 0", "hbm_tbps > 0"))
system_perf_valid = table_check("system_perf", min_rows=5, conditions=("power_kw > 0", "bf16_pflops > 0"))
