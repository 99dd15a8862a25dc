"""``fabscope forecast run|backtest|list|compare|explain``: substitution forecasts from the command line.

``run`` and ``backtest`` write through ``Warehouse(...).write()`` (the single writer) via
``pipelines.forecast_store``, the same code the Dagster assets and the dashboard use;
``list`` and ``compare`` only read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli_common import CliError, add_db_arg, emit_json, warehouse_of
from models.observations import AI_METRICS, DEFAULT_AI_METRIC

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

    wh = Warehouse(warehouse_of(args))
    with wh.write() as con:  # a ScenarioError, ObservationError or SamplerError is rendered by app.cli.main
        doc = forecast_store.run_and_store_scenario(
            con,
            args.file,
            seed=args.seed,
            n_paths=args.n_paths,
            as_of_date=args.as_of,
            metric=args.metric,
            observations_file=args.observations,
        )
    if "fisher_pry" not in doc["models"]:
        print(
            "fabscope: no observations in the warehouse: statistical curves skipped "
            "(run `fabscope refresh` first)",
            file=sys.stderr,
        )
    if args.json:
        emit_json(doc)
    else:
        as_of = f"  as of {doc['as_of']}" if doc["as_of"] else ""
        print(
            f"scenario {doc['name']}  id {doc['scenario_id']}  seed {doc['seed']}  metric {doc['metric']}"
            f"{as_of}  stored in {wh.path}"
        )
        cal = doc.get("calibration")
        if cal:
            print(
                f"calibrated {len(cal['inputs'])} inputs on {cal['n_observations']} observations: "
                f"ESS {cal['ess']:.0f} (floor {cal['ess_floor']:.0f}), R-hat {cal['rhat']:.3f}"
                f"{' (cached draws)' if cal['cached'] else ''}"
            )
        _print_segments(doc)
        for c in doc["observation_checks"]:
            verdict = "inside" if c["inside"] else "OUTSIDE"
            print(
                f"observed {c['segment']} {c['year']} {c['metric']} {c['observed']:.3g} vs structural "
                f"p10-p90 {c['p10']:.3g}-{c['p90']:.3g}: {verdict} ({c['source']})"
            )
        for v in doc.get("backtest_verdicts", []):
            if v["any_beats_last_value"] is False:
                print(f"backtest: {v['message']}")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    if args.horizon < 1:
        raise CliError(f"--horizon: expected a whole number of years >= 1, got {args.horizon}")
    from pipelines import forecast_store
    from pipelines.warehouse import Warehouse

    wh = Warehouse(warehouse_of(args))
    with wh.write() as con:
        doc = forecast_store.run_and_store_backtest(con, horizon=args.horizon)
    if not doc["models"]:
        print("fabscope: no observations in the warehouse (run `fabscope refresh` first)", file=sys.stderr)
    if args.json:
        emit_json(doc)
    else:

        def num(v, fmt=".3f"):
            return "  n/a" if v is None else format(v, fmt)

        for r in doc["models"]:
            print(
                f"{r['segment']:16s} {r['metric']:6s} {r['name']:13s} "
                f"lead {str(r.get('lead_years') or '1-' + str(r['horizon_years'])):>3s}  MAE {num(r['mae'])}  CRPS {num(r['crps'])}  "
                f"IS80 {num(r['interval_score'])}  coverage {num(r['coverage_p10_p90'], '.2f')}  "
                f"in-sample MAE {num(r['in_sample_mae'])}  origins {r['n_origins']}  points {r['n_points']}"
            )
        for v in doc["verdicts"]:
            print(v["message"])
    return 0


def _read(args: argparse.Namespace, fn_name: str, *fn_args):
    """``pipelines.forecast_store.<fn_name>(con, *fn_args)`` on a read-only connection."""
    from pipelines import forecast_store
    from pipelines.warehouse import Warehouse

    with Warehouse(warehouse_of(args)).read() as con:
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


def cmd_explain(args: argparse.Namespace) -> int:
    doc = _read(args, "explain_run", args.id)
    if args.json:
        emit_json(doc)
    else:
        print(f"{args.id}: {doc['method']} ({doc['n_paths']} paths, metric {doc['metric']})")
        for segment, rows in doc["segments"].items():
            for r in rows:
                top = ", ".join(f"{d['parameter']} {d['rho']:+.2f}" for d in r["drivers"][:3])
                print(f"  {segment:16s} {r['year']}  {top}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``run``, ``backtest``, ``list`` and ``compare`` under ``fabscope forecast``."""
    run = subparsers.add_parser("run", help="run a scenario file and store its forecast")
    run.add_argument("file", help="scenario YAML (e.g. models/scenarios/baseline.yaml)")
    add_db_arg(run)
    run.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    run.add_argument("--n-paths", type=int, default=None, help="override the number of Monte Carlo paths")
    run.add_argument(
        "--as-of",
        default=None,
        metavar="DATE",
        help="use only observations published by DATE (YYYY-MM-DD): the forecast as it could be made then",
    )
    run.add_argument(
        "--metric",
        default=DEFAULT_AI_METRIC,
        help=f"AI-accelerator share: {' | '.join(sorted(AI_METRICS))} (accelerator units or "
        f"H100-equivalents; default {DEFAULT_AI_METRIC})",
    )
    run.add_argument(
        "--observations",
        default=None,
        metavar="CSV",
        help="an observations CSV instead of the warehouse table",
    )
    run.add_argument("--json", action="store_true", help="print one JSON document")
    run.set_defaults(func=cmd_run)

    bt = subparsers.add_parser(
        "backtest", help="vintage (rolling-origin) backtests of the curves against naive forecasts"
    )
    add_db_arg(bt)
    bt.add_argument("--horizon", type=int, default=3, help="years ahead scored from each origin (default 3)")
    bt.add_argument("--json", action="store_true", help="print one JSON document")
    bt.set_defaults(func=cmd_backtest)

    ls = subparsers.add_parser("list", help="stored forecast runs")
    add_db_arg(ls)
    ls.add_argument("--json", action="store_true", help="print one JSON document")
    ls.set_defaults(func=cmd_list)

    exp = subparsers.add_parser("explain", help="which inputs drive a stored run (rank-correlation tornado)")
    exp.add_argument("id")
    add_db_arg(exp)
    exp.add_argument("--json", action="store_true", help="print one JSON document")
    exp.set_defaults(func=cmd_explain)

    cmp_ = subparsers.add_parser("compare", help="compare two stored runs")
    cmp_.add_argument("id1")
    cmp_.add_argument("id2")
    add_db_arg(cmp_)
    cmp_.add_argument("--model", default="structural", help="model to compare (default structural)")
    cmp_.add_argument("--json", action="store_true", help="print one JSON document")
    cmp_.set_defaults(func=cmd_compare)
