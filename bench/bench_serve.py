"""The dashboard under load: ``fabscope serve`` (gunicorn, N workers) against ``fabscope serve --dev``
(Flask's threaded development server, one process), the same simulated users on the same warehouse.

Each of ``--users`` threads loops over /healthz, the index page, /_dash-layout and the page-content
callback of five pages (``bench/serve_load.py``) for ``--seconds``; a non-2xx answer or a refused
connection counts as an error. Prints p50/p95 latency, requests/s and errors per server, and the
ratios gunicorn / Flask (the baseline measured in the same run), after a 5 s warm-up per server. Servers are started and stopped here.

Run: ``python bench/bench_serve.py [--db EXISTING.duckdb] [--users 50] [--seconds 10] [--workers 2 4]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import serve_load  # noqa: E402

from app.cli_service import DEFAULT_THREADS  # noqa: E402


def _build_db(folder: Path) -> Path:
    os.environ.setdefault("DAGSTER_HOME", str(folder / "dagster"))
    from app.cli_data import dagster_home, run_refresh

    dagster_home()
    db = folder / "fabscope.duckdb"
    print(f"refreshing bundled data into {db} …", file=sys.stderr)
    if not run_refresh(db):
        raise SystemExit("bundled refresh failed; cannot benchmark")
    return db


def measure(db: Path, folder: Path, extra: list[str], users: int, seconds: float) -> serve_load.LoadResult:
    """Start ``fabscope serve --db db EXTRA`` on a free port, run the users against it, stop it."""
    port = serve_load.free_port()
    log = folder / f"serve-{port}.log"
    env = serve_load.fabscope_env()
    env.pop("FABSCOPE_REDIS_URL", None)  # the single-machine background manager: no Redis needed
    proc = serve_load.start_fabscope(["serve", "--db", str(db), "--port", str(port), *extra], log, env)
    try:
        base = f"http://127.0.0.1:{port}"
        serve_load.wait_healthy(base, proc, log)
        serve_load.simulate_users(base, users, min(5.0, seconds))  # warm every worker's imports and caches
        return serve_load.simulate_users(base, users, seconds)
    finally:
        serve_load.stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4], help="gunicorn worker counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fabscope-bench-serve-") as tmp:
        folder = Path(tmp)
        db = Path(args.db).absolute() if args.db else _build_db(folder)
        results = {"flask --dev (1 process)": measure(db, folder, ["--dev"], args.users, args.seconds)}
        for n in args.workers:
            results[f"gunicorn {n} workers × {DEFAULT_THREADS} threads"] = measure(
                db, folder, ["--workers", str(n)], args.users, args.seconds
            )
    print(f"{args.users} simulated users, {args.seconds:.0f} s each, on {os.cpu_count()} cores")
    print(f"{'server':<34} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}")
    for name, r in results.items():
        print(
            f"{name:<34} {r.requests:>8} {len(r.latencies_ms) / r.seconds:>7.1f} "
            f"{r.percentile(50):>8.0f} {r.percentile(95):>8.0f} {len(r.errors):>6}"
        )
    flask = results["flask --dev (1 process)"]
    for name, r in results.items():
        if r is not flask:
            print(
                f"ratio {name} / flask: p95 {r.percentile(95) / flask.percentile(95):.2f}×, throughput "
                f"{(len(r.latencies_ms) / r.seconds) / (len(flask.latencies_ms) / flask.seconds):.2f}×"
            )
    for name, r in results.items():
        for error in sorted(set(r.errors))[:5]:
            print(f"  {name} error: {error}")


if __name__ == "__main__":
    main()
