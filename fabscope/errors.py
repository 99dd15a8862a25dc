"""The one fabscope exception hierarchy.

Every expected failure is a :class:`FabscopeError` of one of five kinds, raised where the problem is
found with a one-line message that names the file, row, field or id involved:

- :class:`InputError`: bad user input (an argument, an option, a setting, a scenario file, a form field);
- :class:`DataError`: bad or missing data (a reference CSV, a price file, a catalog entry, a provider);
- :class:`WarehouseError`: the warehouse is missing, corrupt, locked or from a newer fabscope;
- :class:`NotFoundError`: an unknown id (chip, system, model, process flow, stored run...);
- :class:`ServiceError`: a configured service (Redis, a Celery worker) is unreachable.

It is rendered once per front end: ``app.cli.main`` prints ``fabscope: <message>`` on stderr and exits 2;
``pipelines.failures`` turns it into a ``dagster.Failure``; the dashboard shows its message. Callers
decide by class, never by the message text.

For compatibility with code that predates the hierarchy, ``InputError`` and ``DataError`` are also
``ValueError``\\ s and ``NotFoundError`` is also a ``KeyError`` (whose message is shown without the
quotes ``KeyError`` normally adds).
"""

from __future__ import annotations


class FabscopeError(Exception):
    """An expected, user-facing fabscope failure: shown as one line, without a traceback."""

    def __str__(self) -> str:
        # KeyError.__str__ would quote the message; every kind shows the message as written
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()

    @property
    def message(self) -> str:
        """The first line of the message (what the CLI, Dagster and the dashboard show)."""
        text = str(self).strip()
        return text.splitlines()[0] if text else type(self).__name__


class InputError(FabscopeError, ValueError):
    """Bad user input: an argument, option, setting, scenario file or form field."""


class DataError(FabscopeError, ValueError):
    """Bad or missing data: a reference file, price file, catalog entry or data provider."""


class WarehouseError(FabscopeError):
    """The warehouse is missing, corrupt, locked or written by a newer fabscope."""


class ServiceError(FabscopeError):
    """A service fabscope was told to use is unreachable or refuses (Redis, a Celery worker)."""


class NotFoundError(FabscopeError, KeyError):
    """An unknown id (chip, system, model, process flow, stored run...); the message lists valid ones."""


KINDS: dict[type[FabscopeError], str] = {
    NotFoundError: "not_found",
    InputError: "input",
    DataError: "data",
    WarehouseError: "warehouse",
    ServiceError: "service",
}


def error_kind(exc: FabscopeError) -> str:
    """``"not_found"``, ``"input"``, ``"data"``, ``"warehouse"`` or ``"service"`` (``"error"`` for a bare ``FabscopeError``)."""
    return next((name for kind, name in KINDS.items() if isinstance(exc, kind)), "error")


__all__ = [
    "KINDS",
    "DataError",
    "FabscopeError",
    "InputError",
    "NotFoundError",
    "ServiceError",
    "WarehouseError",
    "error_kind",
]
