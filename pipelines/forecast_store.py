"""Run forecasts against the warehouse and store them: the one code path for assets, CLI and dashboard.

Writers take a read-write connection from ``Warehouse(...).write()`` (CLI, dashboard rerun)
or ``WarehouseResource.connection()`` (Dagster), so every write goes through the single
writer. Readers (``list_runs``, ``compare_runs``, ``stored_segments``) take any connection,
e.g. ``Warehouse(...).read()``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
from pydantic import ValidationError

from fabscope.errors import DataError, NotFoundError
from fabscope.settings import get_settings
from models.backtest import DEFAULT_HORIZON, pooled_coverage, run_backtests, verdicts
from models.calibration import calibrate, vintage_scenario
from models.explain import explain
from models.montecarlo import STRUCTURAL, run_scenario
from models.observations import (
    COLUMNS as OBSERVATION_COLUMNS,
)
from models.observations import (
    DEFAULT_AI_METRIC,
    ObservationError,
    as_of,
    empty_frame,
    parse_as_of,
    target_output,
    validate_observations,
)
from models.scenarios import Scenario, ScenarioError, load_scenario, scenario_id
from pipelines.schema import SCHEMA_VERSION
from pipelines.warehouse import replace_rows

FORECAST_SOURCE = "fabscope models.montecarlo (see docs/methodology-forecasts.md)"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?",
        [table],
    ).fetchall()
    return bool(rows[0][0])


def read_observations(
    con: duckdb.DuckDBPyConnection, path: str | Path | None = None, *, today: date | None = None
) -> pl.DataFrame:
    """Observations from the warehouse table (or from an analyst's CSV at ``path``), validated.

    Raises ``ObservationError`` naming the file (or table), row and field of the first bad row
    (unknown metric, wrong segment, value out of range, published after ``today``).
    """
    today = today or date.today()
    if path is not None:
        label = str(path)
        try:
            frame = pl.read_csv(path, infer_schema_length=0)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise ObservationError(f"{label}: cannot read the observations file: {exc}") from None
        try:
            frame = frame.with_columns(
                pl.col("year").cast(pl.Int64),
                pl.col("value").cast(pl.Float64),
                pl.col("published").str.to_date("%Y-%m-%d"),
            )
        except (pl.exceptions.PolarsError, pl.exceptions.ColumnNotFoundError) as exc:
            raise ObservationError(
                f"{label}: expected columns {list(OBSERVATION_COLUMNS)} with year (integer), value (number) "
                f"and published (YYYY-MM-DD): {str(exc).splitlines()[0]}"
            ) from None
        for column in ("source", "flag", "notes"):
            if column not in frame.columns:
                frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    elif _has_table(con, "observations"):
        label = "warehouse table observations"
        cols = ", ".join(f'"{c}"' for c in OBSERVATION_COLUMNS)
        frame = con.sql(f"SELECT {cols} FROM observations ORDER BY ALL NULLS LAST").pl()
    else:
        return empty_frame()
    frame = frame.select(OBSERVATION_COLUMNS).sort(list(OBSERVATION_COLUMNS), nulls_last=True)
    return validate_observations(frame, today=today, label=label)


def warehouse_version(frame: pl.DataFrame) -> str:
    """``s<schema version>-h<sha256 prefix of the rows>``: what the forecast read."""
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
    as_of_date: str | date | None = None,
    metric: str = DEFAULT_AI_METRIC,
    observations_file: str | Path | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Run one scenario on the warehouse's observations and store it; returns the CLI document.

    ``as_of_date``: use only observations published by then (the vintage; the JSON says
    ``as_of``); ``metric``: the AI-accelerator share (``units`` | ``h100e``, JSON ``metric``);
    ``observations_file``: an analyst's CSV instead of the warehouse table. Every input is
    checked before anything is written: a bad one raises ``ScenarioError``/``ObservationError``
    and nothing is stored.

    Writes ``substitution_forecast`` (rows of this scenario id replaced) and ``scenario_runs``.
    Returns ``{"scenario_id", "name", "file", "seed", "n_paths", "warehouse_version",
    "content_sha256", "created_at", "segments": {SEG: [{"year","p10","p50","p90"}...]}
    (structural model), "models": {MODEL: {SEG: [...]}}, "fitted": {...}}``.
    Raises ``models.scenarios.ScenarioError`` for a bad scenario.
    """
    scenario = with_overrides(load_scenario(scenario_path_or_yaml), seed=seed, n_paths=n_paths)
    label, text = _source_text(scenario_path_or_yaml)
    seed = scenario.seed
    target_output("ai_accelerators", metric)  # refuses an unknown --metric before any work
    observations = read_observations(con, observations_file, today=today)
    day = parse_as_of(as_of_date, observations)
    observations = as_of(observations, day)
    # a vintage uses only priors known by then (later-published ones give way to their ``before``)
    scenario = vintage_scenario(scenario, day, label)
    version = f"{warehouse_version(observations)}-{metric}"
    # The overrides are part of the hashed content: a run with other paths is another run.
    sid, digest = scenario_id(scenario, seed, version)
    # the structural posterior (SamplerError, one line, when it does not mix: nothing is stored)
    posterior = structural_posterior(scenario, observations, day, seed)
    result = run_scenario(
        scenario, observations if observations.height else None, metric=metric, calibration=posterior
    )
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
                "as_of": day,
                "metric": metric,
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
        "as_of": None if day is None else day.isoformat(),
        "metric": metric,
        "model": STRUCTURAL,
        "segments": result.segments(STRUCTURAL),
        "models": {m: result.segments(m) for m in models},
        "fitted": {f"{m}/{s}": v for (m, s), v in sorted(result.fitted.items())},
        "observation_checks": result.checks,
        "calibration": result.calibration,
        "backtest_verdicts": stored_verdicts(con),
    }


def structural_posterior(scenario: Scenario, observations: pl.DataFrame, day: date | None, seed: int):
    """``models.calibration.calibrate`` with the draws cached under the cache directory (setting)."""
    return calibrate(scenario, observations, as_of=day, seed=seed, cache_dir=get_settings().cache_dir)


def stored_verdicts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """``models.backtest.verdicts`` of the stored ``forecast_backtest`` rows: per segment and metric,
    the best model by CRPS and whether any beats last value (empty before any backtest is stored)."""
    if not _has_table(con, "forecast_backtest"):
        return []
    rows = con.sql(
        "SELECT name, segment, metric, lead_years, crps, beats_last_value FROM forecast_backtest"
    ).pl()
    return verdicts(rows.to_dicts())


BACKTEST_SCHEMA = {
    "name": pl.String,
    "segment": pl.String,
    "metric": pl.String,
    "mape": pl.Float64,
    "mae": pl.Float64,
    "crps": pl.Float64,
    "interval_score": pl.Float64,
    "coverage_p10_p90": pl.Float64,
    "in_sample_mae": pl.Float64,
    "beats_last_value": pl.Boolean,
    "n_origins": pl.Int64,
    "n_points": pl.Int64,
    "horizon_years": pl.Int64,
    "lead_years": pl.Int64,
    "warehouse_version": pl.String,
    "computed_at": pl.Datetime,
}


def run_and_store_backtest(
    con: duckdb.DuckDBPyConnection,
    *,
    horizon: int = DEFAULT_HORIZON,
    seed: int = 0,
    today: date | None = None,
) -> dict[str, Any]:
    """Vintage backtests of every model on the warehouse's observations; replaces ``forecast_backtest``.

    Returns ``{"models": [...], "verdicts": [...], "pooled_coverage": {...}}``
    (``models.backtest.run_backtests``, ``verdicts``, ``pooled_coverage``).
    """
    observations = read_observations(con, today=today)
    results = run_backtests(observations, horizon=horizon, seed=seed) if observations.height else []
    version = warehouse_version(observations)
    computed = _now()
    frame = pl.DataFrame(
        [{**r, "warehouse_version": version, "computed_at": computed} for r in results],
        schema=BACKTEST_SCHEMA,
    )
    replace_rows(con, "forecast_backtest", frame)
    return {"models": results, "verdicts": verdicts(results), "pooled_coverage": pooled_coverage(results)}


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
    doc = {"a": runs[sid_a], "b": runs[sid_b], "model": model, "segments": segments}
    if model == STRUCTURAL:
        doc["paired"] = paired_differences(con, sid_a, sid_b)
    return doc


PAIRED_PATHS = 4000
SHARE_THRESHOLD = 0.5


def _stored_scenario(con: duckdb.DuckDBPyConnection, sid: str) -> tuple[Scenario, int, int, str, Any]:
    """(scenario, seed, paths, metric, structural posterior) of a stored run.

    The posterior is the run's own (same scenario, warehouse observations of its vintage, seed):
    read from the calibration cache, so redrawing the paths does not sample again.
    """
    resolved, seed, n_paths, metric, day = con.execute(
        "SELECT resolved_json, seed, n_paths, metric, as_of FROM scenario_runs WHERE scenario_id = ?", [sid]
    ).fetchall()[0]
    n = min(int(n_paths or PAIRED_PATHS), PAIRED_PATHS)
    scenario = Scenario.model_validate(json.loads(resolved))
    observations = as_of(read_observations(con), day)
    posterior = structural_posterior(scenario, observations, day, int(seed))
    return scenario, int(seed), n, metric or DEFAULT_AI_METRIC, posterior


def stored_run_paths(
    con: duckdb.DuckDBPyConnection, sid: str
) -> tuple[dict[str, np.ndarray], list[int], int, str]:
    """The structural paths of stored run ``sid`` redrawn at its full path count from its own seed and
    cached posterior (so they reproduce its stored quantiles): ``(paths by segment, years, n_paths,
    metric)``. Raises ``LookupError`` when ``sid`` is not stored."""
    from models.montecarlo import structural_paths

    row = con.execute("SELECT n_paths FROM scenario_runs WHERE scenario_id = ?", [sid]).fetchone()
    if row is None:
        raise LookupError(f"no stored run {sid}")
    scenario, seed, _n, metric, posterior = _stored_scenario(con, sid)
    n = int(row[0] or PAIRED_PATHS)
    paths = structural_paths(scenario, seed=seed, n_paths=n, metric=metric, calibration=posterior)
    return paths, [int(y) for y in scenario.horizon.years], n, metric


def paired_differences(con: duckdb.DuckDBPyConnection, sid_a: str, sid_b: str) -> dict[str, Any]:
    """Structural paths of both runs redrawn and differenced path by path (b - a).

    Both runs draw every parameter from streams keyed by (seed, name), so with equal seeds path i of
    a and path i of b share every input the scenarios share (common random numbers): the paired
    difference isolates what the scenarios change. Per segment and year: p10/p50/p90 of b - a and
    P(share > 0.5) under each run. With different seeds or metrics the pairing is only nominal
    (``common_random_numbers`` false).
    """
    from models.montecarlo import structural_paths

    scen_a, seed_a, n_a, metric_a, post_a = _stored_scenario(con, sid_a)
    scen_b, seed_b, n_b, metric_b, post_b = _stored_scenario(con, sid_b)
    n = min(n_a, n_b)
    pa = structural_paths(scen_a, seed=seed_a, n_paths=n, metric=metric_a, calibration=post_a)
    pb = structural_paths(scen_b, seed=seed_b, n_paths=n, metric=metric_b, calibration=post_b)
    years_a, years_b = list(scen_a.horizon.years), list(scen_b.horizon.years)
    out: dict[str, list[dict]] = {}
    for segment in pa:
        rows = []
        for year in sorted(set(years_a) & set(years_b)):
            a, b = pa[segment][:, years_a.index(year)], pb[segment][:, years_b.index(year)]
            q10, q50, q90 = np.quantile(b - a, (0.1, 0.5, 0.9))
            rows.append(
                {
                    "year": int(year),
                    "diff_p10": float(q10),
                    "diff_p50": float(q50),
                    "diff_p90": float(q90),
                    "p_a_above": float(np.mean(a > SHARE_THRESHOLD)),
                    "p_b_above": float(np.mean(b > SHARE_THRESHOLD)),
                }
            )
        out[segment] = rows
    return {
        "n_paths": n,
        "threshold": SHARE_THRESHOLD,
        "common_random_numbers": seed_a == seed_b and metric_a == metric_b,
        "segments": out,
    }


def explain_run(con: duckdb.DuckDBPyConnection, sid: str) -> dict[str, Any]:
    """Rank-correlation drivers (``models.explain``) of a stored run, from its resolved scenario and seed.

    Raises ``NotFoundError`` naming the scenario id when it is not stored.
    """
    missing = NotFoundError(f"no stored run with scenario_id {sid!r} (see `fabscope forecast list`)")
    if not _has_table(con, "scenario_runs"):
        raise missing
    rows = con.execute(
        "SELECT resolved_json, seed, n_paths, metric FROM scenario_runs WHERE scenario_id = ?", [sid]
    ).fetchall()
    if not rows:
        raise missing
    resolved, seed, n_paths, metric = rows[0]
    scenario = Scenario.model_validate(json.loads(resolved))
    metric = metric or DEFAULT_AI_METRIC
    n = min(int(n_paths or 0) or 4000, 4000)
    return {
        "scenario_id": sid,
        "method": "spearman rank correlation of each input with the domestic share, per year",
        "metric": metric,
        "n_paths": n,
        "segments": explain(scenario, seed=seed, n_paths=n, metric=metric),
    }
