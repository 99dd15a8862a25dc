"""Team mode's cost: the same refresh, the dashboard's queries and a scenario rerun on the two warehouse
backends, as ratios DuckLake / single DuckDB file timed in the same run (docs/benchmarks.md).

    .venv/bin/python bench/bench_team.py [--select GROUP] [--repeat N] [--rounds N] [--reruns N]

Starts a throwaway PostgreSQL (``bench/team_pg.py``; needs Debian's postgresql package) for the lake's
catalog, with the lake's Parquet data and the file in a temp folder on the same disk. The refresh is the
bundled-data refresh (sample prices, a fixed run date; ``--select`` one asset group to shorten it). Each
query round calls the dashboard's query functions (:mod:`app.queries`) once each on warm connections; the
median round is reported. A rerun is :func:`app.dashboard.scenario_edit.rerun` of the baseline scenario.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import team_pg  # noqa: E402

TODAY = "2026-12-04"


def _queries(db: str) -> None:
    """The reads the dashboard's pages make on a first visit of each page (app.queries)."""
    from app import queries as q

    q.table_freshness(db)
    q.tickers(db)
    q.price_range(db)
    q.prices(db, q.sample_price_tickers(db)[:4])
    q.event_study_events(db)
    q.export_controls(db)
    q.entity_list(db)
    q.policy_date_range(db)
    q.fab_capacity(db)
    q.tool_demand(db)
    q.chip_specs(db)
    q.system_perf(db)
    q.substitution_history(db)
    q.scenario_runs(db)
    q.substitution_forecast(db, None, "ai_accelerators")


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--select", default=None, help="refresh one asset group only (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="refreshes per backend (interleaved; median)")
    parser.add_argument("--rounds", type=int, default=15, help="query rounds per backend")
    parser.add_argument("--reruns", type=int, default=3, help="scenario reruns per backend")
    args = parser.parse_args()
    if team_pg.binaries() is None:
        print("skipped: PostgreSQL is not installed (apt-get install postgresql)")
        return 0
    with tempfile.TemporaryDirectory(prefix="fabscope-bench-team-") as tmp:
        folder = Path(tmp)
        os.environ["DAGSTER_HOME"] = str(folder / "dagster")
        os.environ.setdefault("FABSCOPE_CACHE_DIR", str(folder / "cache"))
        pg = team_pg.start(folder / "pg")
        try:
            return _run(args, folder, pg)
        finally:
            pg.stop()


def _run(args: argparse.Namespace, folder: Path, pg: team_pg.Postgres) -> int:
    from app.cli_data import execute_refresh
    from app.dashboard.scenario_edit import Rerun, rerun
    from pipelines.clock import run_date

    backends = {
        "file": str(folder / "file" / "fabscope.duckdb"),
        "ducklake": pg.url(pg.create_catalog("bench"), folder / "lake-data"),
    }
    today = run_date(TODAY)
    refresh_s: dict[str, float] = {}
    query_s: dict[str, float] = {}
    rerun_s: dict[str, float] = {}
    execute_refresh(str(folder / "warm.duckdb"), select="hardware", today=today)  # imports, Dagster
    times: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        for name, db in backends.items():
            t = time.perf_counter()
            if not execute_refresh(db, select=args.select, today=today)[0]:
                print(f"the {name} refresh failed", file=sys.stderr)
                return 1
            times[name].append(time.perf_counter() - t)
    refresh_s = {name: statistics.median(t) for name, t in times.items()}
    from app.cli_data import status

    counts = {name: {t["name"]: t["rows"] for t in status(db)["tables"]} for name, db in backends.items()}
    same = counts["file"] == counts["ducklake"]
    print(f"row counts equal on both backends: {same} ({len(counts['file'])} tables)")
    if not same:
        return 1
    for name, db in backends.items():  # reads after both refreshes: the machine is in the same state
        _queries(db)  # warm: connections opened, imports paid
        query_s[name] = statistics.median(_time(lambda db=db: _queries(db)) for _ in range(args.rounds))
    text = (REPO / "models" / "scenarios" / "baseline.yaml").read_text()
    for name, db in backends.items():
        rerun(db, Rerun(text, seed=1, n_paths=200))  # warm: the model's first-run costs
        times = [
            _time(lambda db=db, i=i: rerun(db, Rerun(text, seed=100 + i, n_paths=200)))
            for i in range(args.reruns)
        ]
        rerun_s[name] = statistics.median(times)
    what = f"refresh ({args.select or 'all groups'}, median of {args.repeat})"
    print(f"{'':34} {'file':>9} {'ducklake':>9} {'ratio':>7}")
    for label, d in (
        (what, refresh_s),
        ("dashboard queries (1 round)", query_s),
        ("scenario rerun", rerun_s),
    ):
        print(f"{label:34} {d['file']:8.3f}s {d['ducklake']:8.3f}s {d['ducklake'] / d['file']:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
