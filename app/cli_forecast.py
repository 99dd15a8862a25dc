"""``fabscope forecast run|backtest|list|compare``: substitution forecasts from the command line.

``run`` and ``backtest`` write through ``Warehouse(...).write()`` (the single writer) via
``pipelines.forecast_store``, the same code the Dagster assets and the dashboard use;
``list`` and ``compare`` only read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli_common import CliError, add_db_arg, emit_json

# pipelines.forecast_store (scikit-learn, SciPy) and pipelines.warehouse are imported inside the commands:
# building the parser must stay cheap (fast start, tests/app/test_cli_start.py)


def _print_segments(doc: dict[str, Any]) -> None:
    for segment, rows in doc["segments"].items():
        print(f"{segment}:")
        for r in rows:
            print(f"  {r['year']}  p10 {r['p10']:.3f}  p50 {r['p50']:.3f}  p90 {r['p90']:.3f}")


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines import forecast_store
    from pipelines.warehouse import Warehouse

    wh = Warehouse(args.db)
    with wh.write() as con:  # a ScenarioError or WarehouseError is rendered by app.cli.main
        doc = forecast_store.run_and_store_scenario(con, args.file, seed=args.seed, n_paths=args.n_paths)
    if "fisher_pry" not in doc["models"]:
        print(
            "fabscope: no substitution_history in the warehouse: statistical curves skipped "
            "(run `fabscope refresh` first)",
            file=sys.stderr,
        )
    if args.json:
        emit_json(doc)
    else:
        print(f"scenario {doc['name']}  id {doc['scenario_id']}  seed {doc['seed']}  stored in {wh.path}")
        _print_segments(doc)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    if args.horizon < 1:
        raise CliError(f"--horizon: expected a whole number of years >= 1, got {args.horizon}")
    from pipelines import forecast_store
    from pipelines.warehouse import Warehouse

    wh = Warehouse(args.db)
    with wh.write() as con:
        results = forecast_store.run_and_store_backtest(con, horizon=args.horizon)
    if not results:
        print(
            "fabscope: no substitution_history in the warehouse (run `fabscope refresh` first)",
            file=sys.stderr,
        )
    if args.json:
        emit_json({"models": results})
    else:
        for r in results:
            mape = "  n/a" if r["mape"] is None else f"{r['mape']:.3f}"
            cov = "n/a" if r["coverage_p10_p90"] is None else f"{r['coverage_p10_p90']:.2f}"
            print(
                f"{r['segment']:16s} {r['name']:11s} MAPE {mape}  MAE {r['mae']:.3f}  "
                f"coverage {cov}  origins {r['n_origins']}  h {r['horizon_years']}"
            )
    return 0


def _read(args: argparse.Namespace, fn_name: str, *fn_args):
    """``pipelines.forecast_store.<fn_name>(con, *fn_args)`` on a read-only connection."""
    from pipelines import forecast_store
    from pipelines.warehouse import Warehouse

    with Warehouse(args.db).read() as con:
        return getattr(forecast_store, fn_name)(con, *fn_args)


def cmd_list(args: argparse.Namespace) -> int:
    runs = _read(args, "list_runs")
    if args.json:
        emit_json({"runs": runs})
    else:
        for r in runs:
            print(
                f"{r['scenario_id']:32s} {r['name']:16s} seed {r['seed']:<10d} {r['created_at']}  {r['file']}"
            )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    doc = _read(args, "compare_runs", args.id1, args.id2, args.model)
    if args.json:
        emit_json(doc)
    else:
        print(f"a = {args.id1}, b = {args.id2} ({args.model})")
        for segment, rows in doc["segments"].items():
            print(f"{segment}:")
            for r in rows:
                print(
                    f"  {r['year']}  p50 a {r['a']['p50']:.3f}  b {r['b']['p50']:.3f}  diff {r['p50_diff']:+.3f}"
                )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``run``, ``backtest``, ``list`` and ``compare`` under ``fabscope forecast``."""
    run = subparsers.add_parser("run", help="run a scenario file and store its forecast")
    run.add_argument("file", help="scenario YAML (e.g. models/scenarios/baseline.yaml)")
    add_db_arg(run)
    run.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    run.add_argument("--n-paths", type=int, default=None, help="override the number of Monte Carlo paths")
    run.add_argument("--json", action="store_true", help="print one JSON document")
    run.set_defaults(func=cmd_run)

    bt = subparsers.add_parser("backtest", help="rolling-origin backtests of the substitution curves")
    add_db_arg(bt)
    bt.add_argument("--horizon", type=int, default=3, help="years ahead scored from each origin (default 3)")
    bt.add_argument("--json", action="store_true", help="print one JSON document")
    bt.set_defaults(func=cmd_backtest)

    ls = subparsers.add_parser("list", help="stored forecast runs")
    add_db_arg(ls)
    ls.add_argument("--json", action="store_true", help="print one JSON document")
    ls.set_defaults(func=cmd_list)

    cmp_ = subparsers.add_parser("compare", help="compare two stored runs")
    cmp_.add_argument("id1")
    cmp_.add_argument("id2")
    add_db_arg(cmp_)
    cmp_.add_argument("--model", default="structural", help="model to compare (default structural)")
    cmp_.add_argument("--json", action="store_true", help="print one JSON document")
    cmp_.set_defaults(func=cmd_compare)
