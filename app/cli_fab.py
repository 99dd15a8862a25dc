"""``fabscope sim etch`` and ``fabscope sim fab``: the fab-tooling simulator.

Both build a request of :mod:`hardware_sim.api.fab` from the flags and print its result; limits and defaults
live in the request, not here.
"""

from __future__ import annotations

import argparse

from app.cli_common import build_request, emit_json, help_text, run_request
from hardware_sim.accelerators import catalog
from hardware_sim.api.fab import EtchRequest, FabRequest

_ETCH_TEXT_KEYS = (
    "aspect_ratio",
    "etch_rate_nm_min",
    "mean_etch_rate_nm_min",
    "etch_time_min",
    "wafers_per_hour",
    "decks",
    "stack_height_nm",
    "chemistry",
)


def _etch(args: argparse.Namespace) -> int:
    out = run_request(build_request(EtchRequest, args)).model_dump()
    if args.json:
        emit_json(out)
    else:
        for k in _ETCH_TEXT_KEYS:
            v = out[k]
            print(f"{k:24s} {v:,.3f}" if isinstance(v, float) else f"{k:24s} {v}")
    return 0


def _fab(args: argparse.Namespace) -> int:
    if args.catalog is not None:
        catalog.use_catalog(args.catalog)  # a DataError names file, entry and field
    res = run_request(build_request(FabRequest, args))
    if args.json:
        emit_json(res.model_dump())
    else:
        print(f"{res.process}: {res.name} at {res.wspm:,.0f} WSPM")
        print(f"{'tool type':12s} {'count':>7s} {'passes':>8s} {'wph':>8s}")
        for t in res.tools:
            print(f"{t.type:12s} {t.count:7d} {t.passes_per_wafer:8.1f} {t.wafers_per_hour:8.1f}")
        print(f"total tools {res.total_tools}, capex ${res.capex_usd_b:.2f}B (estimate)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``etch`` and ``fab`` to the ``sim`` sub-command group."""
    p = subparsers.add_parser("etch", help="channel-hole / high-aspect-ratio etch rate and time")
    for field in (
        "layers",
        "aspect_ratio",
        "chemistry",
        "hole_diameter_nm",
        "layer_pitch_nm",
        "decks",
        "chambers",
    ):
        p.add_argument("--" + field.replace("_", "-"), help=help_text(EtchRequest, field))
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_etch)

    p = subparsers.add_parser("fab", help="tool counts and capex for a process flow at a WSPM")
    for field in ("process", "wspm", "uptime", "utilisation"):
        p.add_argument("--" + field, help=help_text(FabRequest, field))
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--catalog", default=None, help="directory whose process_flows.yaml adds process flows")
    p.set_defaults(func=_fab)
