"""``fabscope config``: the effective settings (``fabscope.settings``) and where each comes from."""

from __future__ import annotations

import argparse

from app.cli_common import add_db_arg, emit_json, warehouse_of
from fabscope.settings import describe


def cmd_config(args: argparse.Namespace) -> int:
    settings = describe(db=args.db)
    if args.warehouse is not None or args.db is not None:  # the flag wins over $FABSCOPE_WAREHOUSE
        from pipelines.warehouse import Warehouse

        settings["warehouse"] = {
            **settings["warehouse"],
            "value": str(Warehouse(warehouse_of(args))),
            "source": "flag",
        }
    if args.json:
        emit_json({"settings": settings})
    else:
        width = max(len(s["env"]) for s in settings.values())
        for s in settings.values():
            value = "(unset)" if s["value"] is None else s["value"]
            print(f"{s['env']:<{width}}  {value}  [{s['source']}]")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``config`` to the top-level parser."""
    p = sub.add_parser("config", help="the effective settings (environment variables and defaults)")
    add_db_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_config)
