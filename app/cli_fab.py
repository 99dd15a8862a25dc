"""``fabscope sim etch`` and ``fabscope sim fab``: the fab-tooling simulator."""

from __future__ import annotations

import argparse
import math
from typing import Any

from app.cli_common import CliError, emit_json
from hardware_sim.fab import etch, tool_counts
from hardware_sim.fab.process_flows import MAX_NAND_LAYERS, get_flow
from hardware_sim.fab.tool_throughput import tool_throughput

#: Largest --wspm accepted, 300 mm wafer starts per month: about the whole world's installed capacity
#: (SEMI World Fab Forecast: ~33.7M 200mm-equivalent wafers/month in 2025 ~= 15M 300 mm). Above it is a typo.
MAX_WSPM = 15_000_000

#: Chambers on a high-aspect-ratio etch tool (estimate: cluster platforms carry up to ~6 process modules).
HAR_ETCH_CHAMBERS = 6


def _finite(name: str, value: float | None, minimum: float | None = None, strict: bool = True) -> None:
    if value is None:
        return
    if not math.isfinite(value):
        raise CliError(f"--{name} must be a finite number, got {value}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise CliError(f"--{name} must be {'>' if strict else '>='} {minimum:g}, got {value:g}")


def _etch(args: argparse.Namespace) -> int:
    if args.layers is not None and not 0 < args.layers <= MAX_NAND_LAYERS:
        raise CliError(f"--layers must be an integer in 1..{MAX_NAND_LAYERS}, got {args.layers}")
    _finite("aspect-ratio", args.aspect_ratio, 0.0)
    _finite("hole-diameter-nm", args.hole_diameter_nm, 0.0)
    _finite("layer-pitch-nm", args.layer_pitch_nm, 0.0)
    if args.decks is not None and args.decks <= 0:
        raise CliError(f"--decks must be a positive integer, got {args.decks}")
    if args.chambers <= 0:
        raise CliError(f"--chambers must be a positive integer, got {args.chambers}")
    chem = etch.get_chemistry(args.chemistry)
    diameter = args.hole_diameter_nm or etch.DEFAULT_HOLE_DIAMETER_NM
    if args.layers is not None:
        res = etch.channel_hole_etch(
            args.layers, chem, args.layer_pitch_nm or etch.DEFAULT_LAYER_PITCH_NM, diameter, args.decks
        )
    else:
        res = etch.hole_etch_for_aspect_ratio(args.aspect_ratio, chem, diameter)
    per_deck = tool_throughput(res.etch_time_min / res.decks, chambers=args.chambers)
    out: dict[str, Any] = {
        "aspect_ratio": res.aspect_ratio,
        "etch_rate_nm_min": res.etch_rate_nm_min,
        "etch_time_min": res.etch_time_min,
        "wafers_per_hour": per_deck.wafers_per_hour / res.decks,
        "mean_etch_rate_nm_min": res.mean_etch_rate_nm_min,
        "open_field_rate_nm_min": res.open_field_rate_nm_min,
        "clausing_k": float(etch.clausing_from_aspect_ratio(res.aspect_ratio)),
        "neutral_ratio": float(etch.arde_neutral_ratio(res.aspect_ratio, chem.reaction_probability)),
        "layers": res.layers or None,
        "decks": res.decks,
        "stack_height_nm": res.stack_height_nm,
        "deck_depth_nm": res.deck_depth_nm,
        "hole_diameter_nm": res.hole_diameter_nm,
        "layer_pitch_nm": None if math.isnan(res.layer_pitch_nm) else res.layer_pitch_nm,
        "chemistry": chem.name,
        "chambers": args.chambers,
        "throughput_limited_by": per_deck.limited_by,
        "notes": "aspect_ratio and etch_rate_nm_min are per deck at full depth; etch_time_min covers all decks; "
        "wafers_per_hour is one tool while up, all decks",
        "source": chem.source,
        "flag": chem.flag,
    }
    if args.json:
        emit_json(out)
    else:
        for k in (
            "aspect_ratio",
            "etch_rate_nm_min",
            "mean_etch_rate_nm_min",
            "etch_time_min",
            "wafers_per_hour",
            "decks",
            "stack_height_nm",
            "chemistry",
        ):
            v = out[k]
            print(f"{k:24s} {v:,.3f}" if isinstance(v, float) else f"{k:24s} {v}")
    return 0


def _fab(args: argparse.Namespace) -> int:
    _finite("wspm", args.wspm, 0.0, strict=False)
    if args.wspm > MAX_WSPM:
        raise CliError(
            f"--wspm {args.wspm:,.0f} exceeds {MAX_WSPM:,} wafer starts per month, about the whole "
            "world's 300 mm capacity; check the number"
        )
    for name in ("uptime", "utilisation"):
        value = getattr(args, name)
        _finite(name, value, 0.0)
        if value is not None and value > 1:
            raise CliError(f"--{name} must be a fraction in (0, 1], got {value:g}")
    get_flow(args.process)  # NotFoundError (valid ids) or InputError (layer count) before any work
    out = tool_counts.fab_summary(args.process, args.wspm, args.uptime, args.utilisation)
    if args.json:
        emit_json(out)
    else:
        print(f"{out['process']}: {out['name']} at {args.wspm:,.0f} WSPM")
        print(f"{'tool type':12s} {'count':>7s} {'passes':>8s} {'wph':>8s}")
        for t in out["tools"]:
            print(f"{t['type']:12s} {t['count']:7d} {t['passes_per_wafer']:8.1f} {t['wafers_per_hour']:8.1f}")
        print(f"total tools {out['total_tools']}, capex ${out['capex_usd_b']:.2f}B (estimate)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``etch`` and ``fab`` to the ``sim`` sub-command group."""
    p = subparsers.add_parser("etch", help="channel-hole / high-aspect-ratio etch rate and time")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--layers", type=int, help="3D NAND word-line layers")
    which.add_argument("--aspect-ratio", type=float, help="hole depth / diameter")
    p.add_argument("--chemistry", choices=sorted(etch.CHEMISTRIES), default="conventional")
    p.add_argument(
        "--hole-diameter-nm",
        type=float,
        default=None,
        help=f"hole diameter, nm (default {etch.DEFAULT_HOLE_DIAMETER_NM:g})",
    )
    p.add_argument(
        "--layer-pitch-nm",
        type=float,
        default=None,
        help=f"oxide/nitride pair thickness, nm (default {etch.DEFAULT_LAYER_PITCH_NM:g})",
    )
    p.add_argument("--decks", type=int, default=None, help="channel-hole decks (default: by layer count)")
    p.add_argument("--chambers", type=int, default=HAR_ETCH_CHAMBERS, help="etch chambers per tool")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_etch)

    p = subparsers.add_parser("fab", help="tool counts and capex for a process flow at a WSPM")
    p.add_argument("--process", required=True, help="process flow id (see `fabscope sim list`)")
    p.add_argument("--wspm", type=float, required=True, help="wafer starts per month (300 mm)")
    p.add_argument("--uptime", type=float, default=None, help="tool availability, fraction (default 0.90)")
    p.add_argument("--utilisation", type=float, default=None, help="loaded share of up-time (default 0.85)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_fab)
