"""Hardware group: accelerator specs and system totals computed by ``hardware_sim``."""

import json

import dagster as dg
import polars as pl

from pipelines.checks import table_check
from pipelines.resources import WarehouseResource
from pipelines.warehouse import replace_rows

_SOURCE = "hardware_sim catalog (see hardware_sim/data/*.yaml for per-figure sources)"


def chip_spec_frame() -> pl.DataFrame:
    """One row per catalog chip with the CONTRACT ``sim chip`` keys; ``sources`` joined with '; '."""
    from hardware_sim.accelerators.catalog import chip_ids, chip_spec_record

    rows = []
    for cid in chip_ids():
        rec = chip_spec_record(cid)
        rows.append(
            {
                "id": rec["id"],
                "vendor": rec["vendor"],
                "bf16_tflops": rec["bf16_tflops"],
                "int8_tops": rec["int8_tops"],
                "hbm_gb": rec["hbm_gb"],
                "hbm_tbps": rec["hbm_tbps"],
                "scaleup_gbps": rec["scaleup_gbps"],
                "tdp_w": rec["tdp_w"],
                "sources": "; ".join(rec.get("sources") or []),
                "flag": rec.get("flag"),
                "source": _SOURCE,
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def system_perf_frame() -> pl.DataFrame:
    """One row per catalog system with totals and the component power breakdown (JSON, kW)."""
    from hardware_sim.accelerators.catalog import system_ids
    from hardware_sim.accelerators.power import system_record

    rows = []
    for sid in system_ids():
        rec = system_record(sid)
        rows.append(
            {
                "id": rec["id"],
                "chips": int(rec["chips"]),
                "bf16_pflops": rec["bf16_pflops"],
                "hbm_tb": rec["hbm_tb"],
                "hbm_tbps": rec["hbm_tbps"],
                "scaleup_tbps": rec["scaleup_tbps"],
                "power_kw": rec["power_kw"],
                "pflops_per_kw": rec["pflops_per_kw"],
                "power_breakdown_kw": json.dumps(rec["power_breakdown_kw"], sort_keys=True),
                "source": _SOURCE,
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


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
