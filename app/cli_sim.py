"""``fabscope sim list|chip|system|llm|train|replace|validate``: the accelerator / cluster / LLM simulator."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.cli_common import CliError, emit_json
from hardware_sim.accelerators import catalog, cost, equivalence, llm, power, validation
from hardware_sim.accelerators.roofline import PRECISIONS


def _process_flow_ids() -> list[str]:
    try:
        from hardware_sim.fab.process_flows import process_flow_ids
    except ImportError:
        return []
    return list(process_flow_ids())


def _check_id(kind: str, value: str, valid: list[str]) -> None:
    if value not in valid:
        raise CliError(f"unknown {kind} id {value!r}; valid {kind} ids: {', '.join(valid)}")


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


@contextmanager
def _model_errors() -> Iterator[None]:
    """Turn the simulator's KeyError/ValueError (unknown id, impossible layout) into a CliError."""
    try:
        yield
    except (KeyError, ValueError) as exc:
        raise CliError(str(exc).strip("'\"")) from exc


def _list(args: argparse.Namespace) -> int:
    out = {
        "chips": catalog.chip_ids(),
        "systems": catalog.system_ids(),
        "llms": catalog.llm_ids(),
        "process_flows": _process_flow_ids(),
    }
    if args.json:
        emit_json(out)
    else:
        for k, v in out.items():
            print(f"{k}: {', '.join(v) if v else '(none)'}")
    return 0


def _chip(args: argparse.Namespace) -> int:
    _check_id("chip", args.id, catalog.chip_ids())
    _emit(args, catalog.chip_spec_record(args.id))
    return 0


def _system(args: argparse.Namespace) -> int:
    _check_id("system", args.id, catalog.system_ids())
    _emit(args, power.system_record(args.id), skip=("notes",))
    return 0


def _positive(name: str, value: float | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise CliError(f"--{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


def _mechanism_kwargs(args: argparse.Namespace) -> dict:
    """Serving-mechanism options of ``sim llm`` (hardware_sim.accelerators.mechanisms) as keyword arguments."""
    if args.acceptance is not None and not 0.0 <= args.acceptance <= 1.0:
        raise CliError(f"--acceptance must be in [0, 1], got {args.acceptance}")
    if args.mtp is not None and not 0 <= args.mtp <= 7:
        raise CliError(f"--mtp must be in 0..7, got {args.mtp}")
    return {
        "mtp": args.mtp,
        "acceptance": args.acceptance,
        "moe_routing": args.moe_routing,
        "ep_overlap": False if args.no_ep_overlap else None,
        "serving": args.serving,
        "kv_precision": args.kv_precision,
    }


def _llm(args: argparse.Namespace) -> int:
    _check_id("system", args.system, catalog.system_ids())
    _check_id("model", args.model, catalog.llm_ids())
    _positive("batch", args.batch)
    _positive("input-len", args.input_len)
    _positive("output-len", args.output_len, allow_zero=True)
    _positive("tpot-ms", args.tpot_ms)
    layout = None
    if any(v is not None for v in (args.tp, args.dp, args.pp)):
        for name in ("tp", "dp", "pp"):
            _positive(name, getattr(args, name))
        layout = {"tp": args.tp or 1, "dp": args.dp or 1, "pp": args.pp or 1}
    with _model_errors():
        if args.precision is None:  # serve a model at the precision its weights are released in
            args.precision = catalog.get_llm(args.model).native_precision
        if args.tpot_ms is not None:
            if args.phase != "decode":
                raise CliError("--tpot-ms applies to --phase decode only")
            res = llm.search_batch_for_tpot(
                args.system,
                args.model,
                args.tpot_ms,
                args.input_len,
                args.output_len,
                args.precision,
                layout,
                **_mechanism_kwargs(args),
            )
        else:
            res = llm.serve(
                args.system,
                args.model,
                args.phase,
                args.batch,
                args.input_len,
                args.output_len,
                args.precision,
                layout,
                **_mechanism_kwargs(args),
            )
    c = cost.serving_cost(res)
    res["cost_per_mtok_usd"] = None if c is None else c["usd_per_mtok"]
    res["cost"] = c
    if not args.ops:
        res.pop("operators", None)
    if args.json:
        emit_json(res)
    else:
        _print_record(res)
        for row in res.get("operators", []):
            print(f"  {row['name']:22s} {row['time_ms']:9.3f} ms  {row['bound']}")
    return 0


def _train(args: argparse.Namespace) -> int:
    _check_id("system", args.system, catalog.system_ids())
    _check_id("model", args.model, catalog.llm_ids())
    _positive("global-batch", args.global_batch)
    _positive("seq-len", args.seq_len)
    with _model_errors():
        res = llm.train_step(args.system, args.model, args.global_batch, args.seq_len, args.precision)
    _emit(args, res)
    return 0


def _replace(args: argparse.Namespace) -> int:
    _check_id("model", args.model, catalog.llm_ids())
    _check_id("system", args.from_system, catalog.system_ids())
    _check_id("system", args.to_system, catalog.system_ids())
    _positive("chips", args.chips)
    _positive("tpot-ms", args.tpot_ms)
    _positive("input-len", args.input_len)
    _positive("output-len", args.output_len)
    with _model_errors():
        res = equivalence.replacement(
            args.model,
            args.from_system,
            args.to_system,
            args.chips,
            args.tpot_ms,
            args.input_len,
            args.output_len,
            args.precision,
            **_mechanism_kwargs(args),
        )
    _emit(args, res)
    return 0


def _validate(args: argparse.Namespace) -> int:
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


def _mechanism_args(p: argparse.ArgumentParser) -> None:
    """Serving-mechanism flags (hardware_sim.accelerators.mechanisms) shared by ``sim llm`` and ``sim replace``."""
    p.add_argument(
        "--mtp", type=int, default=None, help="MTP / speculative draft tokens per step (default 0)"
    )
    p.add_argument("--acceptance", type=float, default=None, help="per-draft-token acceptance (default 0.85)")
    p.add_argument("--moe-routing", choices=("uniform", "balanced"), default=None, help="MoE load model")
    p.add_argument("--no-ep-overlap", action="store_true", help="no two-micro-batch MoE overlap")
    p.add_argument("--serving", choices=("disaggregated", "colocated"), default=None, help="P/D layout")
    p.add_argument(
        "--kv-precision", choices=PRECISIONS, default=None, help="KV-cache precision (default bf16)"
    )


def _finish(p: argparse.ArgumentParser, func) -> None:
    """Add ``--catalog DIR`` (user catalog: chips/systems/llms YAML with the bundled schema) and the handler."""
    p.add_argument(
        "--catalog", default=None, help="directory of chips/systems/llms YAML adding to the catalog"
    )

    def run(args: argparse.Namespace) -> int:
        if args.catalog is not None:
            try:
                catalog.use_catalog(args.catalog)
            except catalog.CatalogError as exc:
                raise CliError(str(exc)) from exc
        return func(args)

    p.set_defaults(func=run)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``list``, ``chip``, ``system``, ``llm``, ``train``, ``replace``, ``validate`` to the ``fabscope sim`` sub-parsers."""
    p = subparsers.add_parser("list", help="ids of chips, systems, LLMs and process flows")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _list)

    p = subparsers.add_parser("chip", help="accelerator spec sheet with sources")
    p.add_argument("id", help="chip id (see `fabscope sim list`)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _chip)

    p = subparsers.add_parser("system", help="system totals and component power")
    p.add_argument("id", help="system id (see `fabscope sim list`)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _system)

    p = subparsers.add_parser("llm", help="LLM prefill/decode performance on a system")
    p.add_argument("--system", required=True, help="system id")
    p.add_argument("--model", required=True, help="LLM id")
    p.add_argument("--phase", required=True, choices=("prefill", "decode"))
    p.add_argument("--batch", type=int, default=1, help="concurrent sequences per accelerator (default 1)")
    p.add_argument("--input-len", type=int, default=2048, help="prompt tokens (default 2048)")
    p.add_argument("--output-len", type=int, default=512, help="generated tokens (default 512)")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="bf16 | fp8 | int8 (default: the precision the model's weights are released in)",
    )
    p.add_argument("--tpot-ms", type=float, default=None, help="search the largest batch meeting this TPOT")
    p.add_argument("--tp", type=int, default=None, help="override tensor parallelism")
    p.add_argument("--dp", type=int, default=None, help="override attention data parallelism")
    p.add_argument("--pp", type=int, default=None, help="override pipeline stages")
    _mechanism_args(p)
    p.add_argument("--ops", action="store_true", help="include the per-operator table")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _llm)

    p = subparsers.add_parser("train", help="training step time and MFU on all chips of a system")
    p.add_argument("--system", required=True, help="system id")
    p.add_argument("--model", required=True, help="LLM id")
    p.add_argument("--global-batch", type=int, default=1024, help="sequences per step (default 1024)")
    p.add_argument("--seq-len", type=int, default=4096, help="tokens per sequence (default 4096)")
    p.add_argument("--precision", choices=PRECISIONS, default="bf16")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _train)

    p = subparsers.add_parser(
        "replace", help="chips of one system needed to match N chips of another (decode)"
    )
    p.add_argument("--model", required=True, help="LLM id")
    p.add_argument("--from", dest="from_system", required=True, help="system id being replaced")
    p.add_argument("--to", dest="to_system", required=True, help="replacement system id")
    p.add_argument("--chips", type=int, required=True, help="accelerators of --from to match")
    p.add_argument(
        "--tpot-ms", type=float, default=50.0, help="decode TPOT target on both sides (default 50)"
    )
    p.add_argument("--input-len", type=int, default=2048, help="prompt tokens (default 2048)")
    p.add_argument("--output-len", type=int, default=512, help="generated tokens (default 512)")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="force one precision on both sides (default: native if the chip supports it, "
        "else the chip's narrowest supported precision)",
    )
    _mechanism_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _replace)

    p = subparsers.add_parser("validate", help="model predictions beside published measurements")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    _finish(p, _validate)
