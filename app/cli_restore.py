"""``fabscope restore [--list] [VERSION] [--db P]``: bring back one of the kept warehouse versions."""

from __future__ import annotations

import argparse

from app.cli_common import add_db_arg, emit_json, warehouse_of
from pipelines.warehouse import Warehouse, WarehouseError
from pipelines.warehouse_versions import list_versions, restore


def cmd_restore(args: argparse.Namespace) -> int:
    wh = Warehouse(warehouse_of(args))
    if getattr(wh, "url", None) is not None:
        raise WarehouseError(
            f"{wh}: `fabscope restore` brings back kept versions of a duckdb: file; a DuckLake warehouse keeps "
            "its snapshots in its catalog (docs/deploy.md: time travel and rollback)"
        )
    if args.list:
        kept = list_versions(wh)
        rows = [
            {"position": i, "version": v.name, "published_at": v.published_at, "size_bytes": v.size_bytes}
            for i, v in enumerate(kept, 1)
        ]
        if args.json:
            emit_json({"db": str(wh.path), "versions": rows})
        elif not rows:
            print(f"no kept versions of {wh.path}")
        else:
            for r in rows:
                print(
                    f"{r['position']:>3}  {r['version']}  {r['published_at']:%Y-%m-%d %H:%M:%S} UTC  {r['size_bytes']} B"
                )
        return 0
    chosen = restore(wh, args.version)
    if args.json:
        emit_json({"db": str(wh.path), "restored": chosen.name})
    else:
        print(
            f"restored {wh.path} from version {chosen.name} (published {chosen.published_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``restore`` to the top-level parser."""
    p = sub.add_parser("restore", help="bring back a kept version of the warehouse (atomically)")
    p.add_argument(
        "version", nargs="?", default=None, help="version name or position from --list (default: newest)"
    )
    p.add_argument("--list", action="store_true", help="list the kept versions, newest first")
    add_db_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_restore)
