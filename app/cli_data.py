"""``fabscope refresh`` and ``status``: the warehouse commands (``serve`` is in :mod:`app.cli_service`)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from app.cli_common import CliError, add_command, emit_json, warehouse_of
from fabscope.errors import InputError
from fabscope.settings import get_settings
from pipelines.clock import run_date
from pipelines.warehouse import Warehouse, WarehouseError, WarehouseNotFound, scalar

GROUPS = ("market", "policy", "capacity", "hardware", "forecast")


def dagster_home() -> Path:
    """The shared Dagster instance folder: ``$DAGSTER_HOME``, else ``./data/dagster``.

    Sets ``$DAGSTER_HOME`` to the absolute path (Dagster refuses a relative one) and creates it."""
    home = get_settings().dagster_home
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        home.mkdir(parents=True, exist_ok=True)
        yaml = home / "dagster.yaml"
        if not yaml.exists():
            yaml.write_text("telemetry:\n  enabled: false\n")
    except OSError as exc:  # a read-only working directory
        raise CliError(
            f"cannot create the Dagster folder {home} ({exc.strerror or exc}); set $DAGSTER_HOME to a writable folder"
        ) from None
    return home


def _prices_config(provider: str | None, start: str = "", end: str = "") -> dict[str, Any]:
    if not provider and not (start or end):
        return {}
    from pipelines.assets.market import market_run_config

    return market_run_config(provider or "sample", start=start, end=end)  # InputError for a bad provider


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def run_refresh(db: Path | str, **options: Any) -> bool:
    """``execute_refresh(db, **options)`` without the run id: True if every asset and check passed."""
    return execute_refresh(db, **options)[0]


def execute_refresh(
    db: Path | str,
    prices: str | None = None,
    select: str | None = None,
    start: str = "",
    end: str = "",
    today: date | None = None,
) -> tuple[bool, str]:
    """Materialise the refresh job (all assets or one group ``select``) through Dagster into ``db``:
    ``(success, run_id)``. ``prices``, ``start``, ``end`` as for ``fabscope refresh``; ``today`` is the
    run date (the last price day, the latest date a reference row may hold; default: the UTC date
    when the run starts)."""
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.warehouse_url import export, target

    export(target(str(db)))
    dagster_home()
    defs = build_definitions(str(db))
    job = defs.resolve_job_def("refresh")
    selection = None
    if select:
        graph = defs.resolve_asset_graph()
        selection = sorted(
            (k for k in graph.get_all_asset_keys() if graph.get(k).group_name == select), key=str
        )
        if not selection:
            raise CliError(f"no assets in group {select!r}; groups: {', '.join(GROUPS)}")
    run_config = _merge({"loggers": {"progress": {}}}, _prices_config(prices, start, end))
    if today is not None:
        run_config["resources"] = {"run_date": {"config": {"today": today.isoformat()}}}
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
            asset_selection=selection,
        )
    return result.success, result.run_id


def _today_arg(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return run_date(text)
    except InputError as exc:
        raise CliError(f"--today: {exc}") from None


def cmd_refresh(args: argparse.Namespace) -> int:
    db = warehouse_of(args)
    Warehouse(db).preflight()  # an unreachable catalog or unwritable data path: one line, exit 2
    print(f"fabscope refresh → {Warehouse(db)} (prices: {args.prices or 'sample'})", file=sys.stderr)
    ok, run_id = execute_refresh(
        db, args.prices, args.select, args.start or "", args.end or "", _today_arg(args.today)
    )
    summary = quarantine_summary(db, run_id=run_id, failed=not ok)
    if summary:
        print(summary, file=sys.stderr)
    if not ok:
        print(
            "refresh FAILED (see the lines above): the published warehouse was left as it was, "
            "quarantine included.",
            file=sys.stderr,
        )
        return 1
    print("refresh ok: warehouse published.", file=sys.stderr)
    return 0


def quarantine_summary(
    db: Path | str, limit: int = 10, run_id: str | None = None, *, failed: bool = False
) -> str:
    """One readable block listing the quarantined rows per source file (empty if none).

    With ``run_id``, only the rows that run quarantined (not those left by earlier runs or by
    files since fixed or moved). ``failed``: the run failed, so its rows are in the failed-run report
    beside the warehouse (a failed run stores nothing), not in the warehouse."""
    wh = Warehouse(db)
    sql = (
        "SELECT source_file, count(DISTINCT row) AS n, first(row ORDER BY row) AS row, "
        "first(field ORDER BY row) AS field, first(value ORDER BY row) AS value, "
        "first(reason ORDER BY row) AS reason FROM quarantine {where}GROUP BY source_file ORDER BY source_file"
    )
    where = "WHERE run_id = ? " if run_id else ""
    try:
        if failed:
            if not wh.failed_run_report.is_file():
                return ""
            con = duckdb.connect()
            try:
                import polars as pl  # only for a failed run's report: `status` starts without Polars

                con.register("quarantine", pl.read_parquet(wh.failed_run_report).to_arrow())
                rows = con.sql(sql.format(where=where), params=[run_id] if run_id else None).pl()
            finally:
                con.close()
        else:
            if not wh.exists():
                return ""
            rows = wh.query(sql.format(where=where), [run_id] if run_id else None)
    except Exception:  # an older warehouse without the table, or an unreadable file
        return ""
    if rows.is_empty():
        return ""
    lines = ["quarantined rows (kept out of the warehouse; details in table `quarantine`):"]
    for r in rows.head(limit).iter_rows(named=True):
        lines.append(
            f"  {r['source_file']}: {r['n']} row(s); first: row {r['row']} field {r['field']!r} "
            f"value {r['value']!r}: {r['reason']}"
        )
    return "\n".join(lines)


def status(db: Path | str) -> dict[str, Any]:
    """``{"tables": [{"name", "rows", "refreshed_at"}...], "sample_data": bool, ...}``."""
    wh = Warehouse(db)
    if not wh.exists():
        raise WarehouseNotFound(f"no warehouse at {wh}: run `fabscope refresh` first")
    try:
        return _status(wh)
    except duckdb.Error as exc:
        raise WarehouseError(
            f"{wh}: cannot read the warehouse ({str(exc).strip().splitlines()[0]})"
        ) from None


def _status(wh: Warehouse) -> dict[str, Any]:
    db = str(wh)
    with wh.read() as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
            ).fetchall()
        ]
        if not {"schema_meta", "table_refreshes"} <= set(names):
            raise WarehouseError(
                f"{db} is a DuckDB file but not a fabscope warehouse (no schema_meta/table_refreshes); "
                "point --db at a warehouse written by `fabscope refresh`"
            )
        refreshed = dict(con.execute("SELECT table_name, refreshed_at FROM table_refreshes").fetchall())
        tables = [
            {
                "name": n,
                "rows": scalar(con, f'SELECT count(*) FROM "{n}"'),
                "refreshed_at": refreshed[n].isoformat() + "Z" if n in refreshed else None,
            }
            for n in names
            if n not in ("schema_meta", "table_refreshes")
        ]
        sample = "prices_daily" in names and bool(
            scalar(con, "SELECT count(*) FROM prices_daily WHERE provider = 'sample'")
        )
        version = scalar(con, "SELECT value FROM schema_meta WHERE key = 'schema_version'")
    return {
        "db": str(db),
        "schema_version": int(version) if version else None,
        "tables": tables,
        "sample_data": sample,
    }


def cmd_status(args: argparse.Namespace) -> int:
    result = status(warehouse_of(args))
    if args.json:
        emit_json(result)
    else:
        for t in result["tables"]:
            print(f"{t['name']:<28} {t['rows']:>10}  {t['refreshed_at'] or '-'}")
        print(f"sample data: {'yes' if result['sample_data'] else 'no'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add refresh/status to the top-level parser."""
    p = add_command(sub, "refresh", "materialise the Dagster assets into the warehouse", cmd_refresh)
    p.add_argument("--prices", default=None, help="sample (default) | yahoo | akshare | csv:DIR")
    p.add_argument("--select", default=None, choices=GROUPS, help="refresh one asset group only")
    p.add_argument(
        "--start", default=None, help="backfill prices from this date (YYYY-MM-DD); default: incremental"
    )
    p.add_argument("--end", default=None, help="last price date to fetch (YYYY-MM-DD); default: --today")
    p.add_argument(
        "--today",
        default=None,
        help="the run date (YYYY-MM-DD): default last price day and latest date a reference row may "
        "hold; default: the UTC date",
    )
    add_command(sub, "status", "what is in the warehouse", cmd_status, json_flag=True)
