"""How the dashboard shows a refused input or a failed action: one helper for every page.

A :class:`fabscope.errors.FabscopeError` (bad input, bad or missing data, warehouse trouble, unknown id)
shows its one-line message as written. A calculator's own refusals (``ValueError``/``TypeError`` from
parsing a form field) show their message too. Anything else is a bug: it is named by its type so the
analyst can report it, never shown as a traceback.
"""

from __future__ import annotations

from typing import Any

from fabscope.errors import FabscopeError


def error_text(exc: BaseException) -> str:
    """The one line shown for ``exc``."""
    if isinstance(exc, FabscopeError):
        return exc.message
    text = str(exc).strip()
    if isinstance(exc, ValueError | TypeError) and text:
        return text.splitlines()[0]
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def error_result(exc: BaseException) -> dict[str, Any]:
    """A calculator's answer for refused inputs: ``{"error": one line}``."""
    return {"error": error_text(exc)}
