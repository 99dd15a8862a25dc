"""``fabscope sim list|chip|system|llm|train|replace|validate``: the accelerator / cluster / LLM simulator."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli_common import build_request, emit_json, help_text, run_request
from hardware_sim.accelerators import catalog
from hardware_sim.api.accelerators import (
    ChipRequest,
    LlmServeRequest,
    ReplaceRequest,
    SystemRequest,
    TrainRequest,
)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, list):
        return "; ".join(str(x) for x in v)
    return str(v)


def _print_record(rec: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
    for k, v in rec.items():
        if k in skip:
            continue
        if isinstance(v, dict):
            print(f"{k}:")
            for kk, vv in v.items():
                print(f"  {kk:24s} {_fmt(vv)}")
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            continue
        else:
            print(f"{k:26s} {_fmt(v)}")


def _emit(args: argparse.Namespace, rec: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
    """One JSON document with ``--json``, else the record as aligned text (``skip``: keys left out)."""
    if args.json:
        emit_json(rec)
    else:
        _print_record(rec, skip)


def _list(args: argparse.Namespace) -> int:
    from hardware_sim.fab.process_flows import process_flow_ids  # not the fab physics for the other commands

    out = {
        "chips": catalog.chip_ids(),
        "systems": catalog.system_ids(),
        "llms": catalog.llm_ids(),
        "process_flows": process_flow_ids(),
    }
    if args.json:
        emit_json(out)
    else:
        for k, v in out.items():
            print(f"{k}: {', '.join(v) if v else '(none)'}")
    return 0


def _chip(args: argparse.Namespace) -> int:
    _emit(args, run_request(build_request(ChipRequest, args)).record())
    return 0


def _system(args: argparse.Namespace) -> int:
    _emit(args, run_request(build_request(SystemRequest, args)).record(), skip=("notes",))
    return 0


def _llm(args: argparse.Namespace) -> int:
    res = run_request(build_request(LlmServeRequest, args, {"with_operators": "ops"})).record()
    if args.json:
        emit_json(res)
    else:
        _print_record(res)
        for row in res.get("operators", []):
            print(f"  {row['name']:22s} {row['time_ms']:9.3f} ms  {row['bound']}")
    return 0


def _train(args: argparse.Namespace) -> int:
    _emit(args, run_request(build_request(TrainRequest, args)).record())
    return 0


def _replace(args: argparse.Namespace) -> int:
    _emit(args, run_request(build_request(ReplaceRequest, args)).record())
    return 0


def _validate(args: argparse.Namespace) -> int:
    from hardware_sim.accelerators import validation

    res = validation.validate()
    if args.json:
        emit_json(res)
        return 0
    print(f"{'case':24s} {'measured':>10s} {'predicted':>10s} {'error':>8s} {'LOSO':>8s}  unit")
    for r in res["cases"]:
        print(
            f"{r['id']:24s} {r['measured']:10,.0f} {r['predicted']:10,.0f} {r['error_pct']:+7.1f}% "
            f"{r['loso_error_pct']:+7.1f}%  {r['unit']}"
        )
    print(f"mean |error| {res['mean_abs_error_pct']:.1f}%")
    for kind, s in res["summary"].items():
        pl, lo = s["plain"], s["loso"]
        print(
            f"{kind}: geometric-mean error {pl['geo_mean_error_pct']:.1f}% (LOSO {lo['geo_mean_error_pct']:.1f}%), "
            f"worst factor {pl['worst_factor']:.2f}x (LOSO {lo['worst_factor']:.2f}x)"
        )
    for n in res["notes"]:
        print(f"note: {n}")
    return 0


def _finish(p: argparse.ArgumentParser, func) -> None:
    """Add ``--catalog DIR`` (user catalog: chips/systems/llms YAML with the bundled schema) and the handler."""
    p.add_argument(
        "--catalog",
        default=None,
        help="directory of chips/systems/llms/process_flows YAML adding to the catalog",
    )

    def run(args: argparse.Namespace) -> int:
        if args.catalog is not None:
            catalog.use_catalog(args.catalog)  # CatalogError (a DataError) names file, entry and field
        return func(args)

    p.set_defaults(func=run)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``list``, ``chip``, ``system``, ``llm``, ``train``, ``replace``, ``validate`` to the ``fabscope sim`` sub-parsers."""
    p = subparsers.add_parser("list", help="ids of chips, systems, LLMs and process flows")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _list)

    p = subparsers.add_parser("chip", help="accelerator spec sheet with sources")
    p.add_argument("id", help=help_text(ChipRequest, "id"))
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _chip)

    p = subparsers.add_parser("system", help="system totals and component power")
    p.add_argument("id", help=help_text(SystemRequest, "id"))
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _system)

    p = subparsers.add_parser("llm", help="LLM prefill/decode performance on a system")
    for field in LlmServeRequest.model_fields:
        if field not in ("with_operators", "no_ep_overlap"):
            p.add_argument("--" + field.replace("_", "-"), help=help_text(LlmServeRequest, field))
    p.add_argument("--ops", action="store_true", help=help_text(LlmServeRequest, "with_operators"))
    p.add_argument("--no-ep-overlap", action="store_true", help=help_text(LlmServeRequest, "no_ep_overlap"))
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _llm)

    p = subparsers.add_parser("train", help="training step time and MFU on all chips of a system")
    for field in TrainRequest.model_fields:
        p.add_argument("--" + field.replace("_", "-"), help=help_text(TrainRequest, field))
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _train)

    p = subparsers.add_parser(
        "replace", help="chips of one system needed to match N chips of another (decode)"
    )
    for field in ReplaceRequest.model_fields:
        if field == "no_ep_overlap":
            p.add_argument("--no-ep-overlap", action="store_true", help=help_text(ReplaceRequest, field))
            continue
        flag = ReplaceRequest.flag(field)
        p.add_argument(flag, dest=field, help=help_text(ReplaceRequest, field))
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _replace)

    p = subparsers.add_parser("validate", help="model predictions beside published measurements")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _validate)
