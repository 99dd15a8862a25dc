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
    """Add the contract's ``--db PATH`` option (else $FABSCOPE_DB, else ./data/fabscope.duckdb)."""
    parser.add_argument(
        "--db", default=None, help="warehouse file (default: $FABSCOPE_DB or ./data/fabscope.duckdb)"
    )
