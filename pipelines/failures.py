"""How Dagster shows an expected fabscope failure: one helper for every asset, op and check.

An asset body runs inside ``with fabscope_failures():``; a :class:`fabscope.errors.FabscopeError`
raised where the problem was found (a bad reference file, a refused load, a bad provider, a bad scenario)
becomes a ``dagster.Failure`` with the full message as its description, the error kind in its metadata
and no retries (rerunning cannot fix bad input or data). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from fabscope.errors import FabscopeError, error_kind


def as_failure(exc: FabscopeError) -> dg.Failure:
    """The ``dagster.Failure`` for ``exc``: its message, its kind, no retries."""
    return dg.Failure(
        description=str(exc),
        metadata={"error_kind": error_kind(exc), "error": type(exc).__name__},
        allow_retries=False,
    )


@contextmanager
def fabscope_failures() -> Iterator[None]:
    """Turn a ``FabscopeError`` raised in the block into a ``dagster.Failure`` (see :func:`as_failure`)."""
    try:
        yield
    except FabscopeError as exc:
        raise as_failure(exc) from None
