"""Run forecasts against the warehouse and store them: the one code path for assets, CLI and dashboard.

Writers take a read-write connection from ``Warehouse(...).write()`` (CLI, dashboard rerun)
or ``WarehouseResource.connection()`` (Dagster), so every write goes through the single
writer. Readers (``list_runs``, ``compare_runs``, ``stored_segments``) take any connection,
e.g. ``Warehouse(...).read()``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from pydantic import ValidationError

from fabscope.errors import DataError, NotFoundError
from models.backtest import DEFAULT_HORIZON, run_backtests
from models.montecarlo import STRUCTURAL, run_scenario
from models.scenarios import Scenario, ScenarioError, load_scenario, scenario_id
from pipelines.schema import SCHEMA_VERSION
from pipelines.warehouse import replace_rows

HISTORY_COLUMNS = ("segment", "year", "domestic_share", "metric", "source", "flag", "notes")
FORECAST_SOURCE = "fabscope models.montecarlo (see docs/methodology-forecasts.md)"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?",
        [table],
    ).fetchall()
    return bool(rows[0][0])


def read_history(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The ``substitution_history`` rows (empty frame with the columns if the table is missing)."""
    if not _has_table(con, "substitution_history"):
        return pl.DataFrame({c: [] for c in HISTORY_COLUMNS})
    cols = ", ".join(f'"{c}"' for c in HISTORY_COLUMNS)
    # A total order (every column), so equal data always give the same rows in the same order:
    # the fits and the warehouse version must not depend on how DuckDB breaks ties.
    return con.sql(f"SELECT {cols} FROM substitution_history ORDER BY ALL NULLS LAST").pl()


def warehouse_version(history: pl.DataFrame) -> str:
    """``s<schema version>-h<sha256 prefix of the history rows>``: what the forecast read."""
    frame = history.select([c for c in HISTORY_COLUMNS if c in history.columns])
    payload = json.dumps(frame.sort(frame.columns, nulls_last=True).rows(), default=str)
    return f"s{SCHEMA_VERSION}-h{hashlib.sha256(payload.encode('utf-8')).hexdigest()[:12]}"


def _source_text(scenario_source: str | Path) -> tuple[str, str]:
    """(file label, YAML text) of a scenario given as a path or as YAML text."""
    if isinstance(scenario_source, str) and "\n" in scenario_source:
        return "<scenario text>", scenario_source
    path = Path(scenario_source)
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file")
    return str(path), path.read_text(encoding="utf-8", errors="replace")


def with_overrides(scenario: Scenario, *, seed: int | None = None, n_paths: int | None = None) -> Scenario:
    """The scenario with ``seed``/``n_paths`` replaced (validated like the file's own values).

    Raises ``ScenarioError`` naming the override and what was expected.
    """
    update = {k: v for k, v in (("seed", seed), ("n_paths", n_paths)) if v is not None}
    if not update:
        return scenario
    try:
        return Scenario.model_validate({**scenario.model_dump(), **update})
    except ValidationError as exc:
        msgs = [
            f"--{'-'.join(str(p) for p in err['loc']).replace('_', '-')}: {err['msg']} (got {str(err['input'])[:40]!r})"
            if err["loc"]
            else str(err["msg"]).removeprefix("Value error, ")
            for err in exc.errors()
        ]
        raise ScenarioError(f"{scenario.name}: " + "; ".join(msgs)) from None


def run_and_store_scenario(
    con: duckdb.DuckDBPyConnection,
    scenario_path_or_yaml: str | Path,
    seed: int | None = None,
    *,
    n_paths: int | None = None,
) -> dict[str, Any]:
    """Run one scenario on the warehouse's history and store it; returns the CLI document.

    Writes ``substitution_forecast`` (rows of this scenario id replaced) and ``scenario_runs``.
    Returns ``{"scenario_id", "name", "file", "seed", "n_paths", "warehouse_version",
    "content_sha256", "created_at", "segments": {SEG: [{"year","p10","p50","p90"}...]}
    (structural model), "models": {MODEL: {SEG: [...]}}, "fitted": {...}}``.
    Raises ``models.scenarios.ScenarioError`` for a bad scenario.
    """
    scenario = with_overrides(load_scenario(scenario_path_or_yaml), seed=seed, n_paths=n_paths)
    label, text = _source_text(scenario_path_or_yaml)
    seed = scenario.seed
    history = read_history(con)
    version = warehouse_version(history)
    # The overrides are part of the hashed content: a run with other paths is another run.
    sid, digest = scenario_id(scenario, seed, version)
    result = run_scenario(scenario, history=history if history.height else None)
    rows = pl.DataFrame(result.rows(sid)).with_columns(pl.lit(FORECAST_SOURCE).alias("source"))
    created = _now()
    replace_rows(con, "substitution_forecast", rows, where={"scenario_id": sid})
    run = pl.DataFrame(
        [
            {
                "scenario_id": sid,
                "name": scenario.name,
                "file": label,
                "seed": seed,
                "n_paths": result.n_paths,
                "start_year": scenario.horizon.start_year,
                "end_year": scenario.horizon.end_year,
                "warehouse_version": version,
                "content_sha256": digest,
                "created_at": created,
                "yaml": text,
                "resolved_json": scenario.canonical_json(),
            }
        ]
    )
    replace_rows(con, "scenario_runs", run, key=("scenario_id",))
    models = sorted({m for m, _ in result.quantiles})
    return {
        "scenario_id": sid,
        "name": scenario.name,
        "file": label,
        "seed": seed,
        "n_paths": result.n_paths,
        "warehouse_version": version,
        "content_sha256": digest,
        "created_at": created.isoformat(),
        "model": STRUCTURAL,
        "segments": result.segments(STRUCTURAL),
        "models": {m: result.segments(m) for m in models},
        "fitted": {f"{m}/{s}": v for (m, s), v in sorted(result.fitted.items())},
    }


def run_and_store_backtest(
    con: duckdb.DuckDBPyConnection, *, horizon: int = DEFAULT_HORIZON, seed: int = 0
) -> list[dict[str, Any]]:
    """Backtest every estimator on the warehouse's history; replaces ``forecast_backtest``."""
    history = read_history(con)
    results = run_backtests(history, horizon=horizon, seed=seed) if history.height else []
    version = warehouse_version(history)
    computed = _now()
    frame = pl.DataFrame(
        [{**r, "warehouse_version": version, "computed_at": computed} for r in results],
        schema={
            "name": pl.String,
            "segment": pl.String,
            "mape": pl.Float64,
            "mae": pl.Float64,
            "coverage_p10_p90": pl.Float64,
            "n_origins": pl.Int64,
            "n_points": pl.Int64,
            "horizon_years": pl.Int64,
            "warehouse_version": pl.String,
            "computed_at": pl.Datetime,
        },
    )
    replace_rows(con, "forecast_backtest", frame)
    return results


def list_runs(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Stored runs, newest first: scenario_id, name, file, seed, n_paths, years, version, created_at."""
    if not _has_table(con, "scenario_runs"):
        return []
    frame = con.sql(
        "SELECT scenario_id, name, file, seed, n_paths, start_year, end_year, warehouse_version, "
        "content_sha256, created_at FROM scenario_runs ORDER BY created_at DESC, scenario_id"
    ).pl()
    return frame.to_dicts()


def stored_segments(
    con: duckdb.DuckDBPyConnection, sid: str, model: str = STRUCTURAL
) -> dict[str, list[dict]]:
    """``{segment: [{"year","p10","p50","p90"}...]}`` of a stored run (empty if unknown)."""
    if not _has_table(con, "substitution_forecast"):
        return {}
    frame = con.sql(
        "SELECT segment, year, p10, p50, p90 FROM substitution_forecast "
        "WHERE scenario_id = ? AND model = ? ORDER BY segment, year",
        params=[sid, model],
    ).pl()
    out: dict[str, list[dict]] = {}
    for row in frame.to_dicts():
        out.setdefault(row.pop("segment"), []).append(row)
    return out


def compare_runs(
    con: duckdb.DuckDBPyConnection, sid_a: str, sid_b: str, model: str = STRUCTURAL
) -> dict[str, Any]:
    """Side-by-side p10/p50/p90 of two stored runs and the p50 difference (b - a) per segment/year.

    Raises ``NotFoundError`` naming the scenario id that is not stored, ``DataError`` when a run has
    no rows for ``model`` (e.g. the curves of a run made before any history was loaded).
    """
    runs = {r["scenario_id"]: r for r in list_runs(con)}
    for sid in (sid_a, sid_b):
        if sid not in runs:
            raise NotFoundError(f"no stored run with scenario_id {sid!r} (see `fabscope forecast list`)")
    a, b = stored_segments(con, sid_a, model), stored_segments(con, sid_b, model)
    if not a or not b:
        stored = con.execute(
            "SELECT DISTINCT model FROM substitution_forecast WHERE scenario_id = ? ORDER BY model",
            [sid_b if a else sid_a],
        ).fetchall()
        raise DataError(
            f"model {model!r} is not stored for run {sid_b if a else sid_a!r}; "
            f"stored models: {[m for (m,) in stored]}"
        )
    segments: dict[str, list[dict]] = {}
    for segment in sorted(set(a) | set(b)):
        by_year_b = {r["year"]: r for r in b.get(segment, [])}
        rows = []
        for ra in a.get(segment, []):
            rb = by_year_b.get(ra["year"])
            if rb is None:
                continue
            rows.append(
                {
                    "year": ra["year"],
                    "a": {k: ra[k] for k in ("p10", "p50", "p90")},
                    "b": {k: rb[k] for k in ("p10", "p50", "p90")},
                    "p50_diff": rb["p50"] - ra["p50"],
                }
            )
        segments[segment] = rows
    return {"a": runs[sid_a], "b": runs[sid_b], "model": model, "segments": segments}
