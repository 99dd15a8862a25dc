"""Shared plumbing for the ``fabscope`` command line: JSON output, errors, db path."""

from __future__ import annotations

import json
import math
import sys
from datetime import date, datetime
from typing import Any

from fabscope.errors import InputError


class CliError(InputError):
    """A bad command line (kept for the callers that predate ``fabscope.errors``): like every
    ``FabscopeError``, printed as one line on stderr without a traceback, exit 2."""


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(obj: Any) -> Any:
    """Replace NaN/inf (invalid JSON) by null, recursively."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def emit_json(obj: Any) -> None:
    """Print exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(_clean(obj), default=_default, indent=2, allow_nan=False))
    sys.stdout.write("\n")
    sys.stdout.flush()


def add_db_arg(parser: Any) -> None:
    """Add the contract's ``--db PATH`` and ``--warehouse URL`` options (one definition for every command
    that touches data; the rule between them and the environment: :func:`pipelines.warehouse_url.locate`)."""
    parser.add_argument(
        "--db", default=None, help="warehouse file (default: $FABSCOPE_DB or ./data/fabscope.duckdb)"
    )
    parser.add_argument(
        "--warehouse",
        default=None,
        metavar="URL",
        help="warehouse URL: duckdb:PATH (what --db PATH means) or "
        "ducklake:postgresql://USER@HOST:PORT/DB?data=PATH (default: $FABSCOPE_WAREHOUSE, else --db's rule)",
    )


def warehouse_of(args: Any, *, export: bool = False) -> str:
    """The warehouse a command uses, as the string fabscope hands around (``str(WarehouseURL)``: a file's
    absolute path or a ``ducklake:`` URL). ``export``: also put it in ``$FABSCOPE_WAREHOUSE`` (and a file in
    ``$FABSCOPE_DB``) for the processes this one starts (Dagster, gunicorn workers, reruns)."""
    from pipelines import warehouse_url

    url = warehouse_url.locate(getattr(args, "db", None), getattr(args, "warehouse", None))
    if export:
        warehouse_url.export(url)
    return str(url)


def add_command(
    sub: Any, name: str, help: str, func: Any, *, db: bool = True, json_flag: bool = False
) -> Any:
    """Sub-command ``name`` of ``sub`` running ``func(args)``; with the contract's ``--db`` (``db``) and
    ``--json`` (``json_flag``: one JSON document on stdout). Returns the parser for more options."""
    parser = sub.add_parser(name, help=help)
    if db:
        add_db_arg(parser)
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=func)
    return parser


def build_request(request_type: Any, args: Any, fields: dict[str, str] | None = None) -> Any:
    """A simulator request (``hardware_sim.api``) from parsed CLI ``args``; a refusal becomes a ``CliError``.

    ``fields`` maps request fields to ``args`` attributes when the names differ; options left unset (None)
    are left out so the request's own defaults apply, and an empty value (``--batch ""``) is passed as
    "no value" so it is refused as such. The request alone validates and defaults.
    """
    from hardware_sim.api import RequestRefused

    names = fields or {}
    values = {}
    for field in request_type.model_fields:
        value = getattr(args, names.get(field, field), None)
        if value is not None:
            values[field] = None if isinstance(value, str) and not value.strip() else value
    try:
        return request_type.build(**values)
    except RequestRefused as exc:
        raise CliError(refusal_line(request_type, exc)) from None


def refusal_line(request_type: Any, exc: Any) -> str:
    """One line naming the flag: ``--layers: must be in 1..1,000, got 5000``."""
    first = exc.refusals[0]
    flag = request_type.flag(first.field)
    return f"{flag}: {first.reason}" if flag else first.reason


def run_request(request: Any) -> Any:
    """``request.run()``; what the physics refuses (an impossible layout, say) becomes a ``CliError``."""
    from hardware_sim.api import RequestRefused

    try:
        return request.run()
    except RequestRefused as exc:
        raise CliError(refusal_line(type(request), exc)) from None


def help_text(request_type: Any, field: str) -> str:
    """``--help`` text of a request field, all from the request: description (with unit), limits, default."""
    from hardware_sim.api import range_text

    info = request_type.model_fields[field]
    limits = range_text(request_type, field)
    notes = [] if limits == "a valid value" else [limits]
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    if default is not None and not isinstance(default, bool):
        notes.append(f"default {default:g}" if isinstance(default, float) else f"default {default}")
    return f"{info.description}" + (f" ({'; '.join(notes)})" if notes else "")
