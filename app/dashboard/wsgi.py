"""The dashboard as a WSGI application: ``gunicorn 'app.dashboard.wsgi:create_server()'`` (what
``fabscope serve`` runs through gunicorn's Python API).

Each gunicorn worker calls :func:`create_server` after the fork and builds its own app for the warehouse
in ``$FABSCOPE_DB`` (``fabscope serve --db`` sets it), with the team settings of :mod:`fabscope.settings`.
"""

from __future__ import annotations

from typing import Any


def create_server() -> Any:
    """The Flask server of a dashboard on ``$FABSCOPE_DB`` (else ./data/fabscope.duckdb)."""
    from app.dashboard.app import create_app
    from pipelines.warehouse import preload_for_threads

    server = create_app().server
    preload_for_threads()  # before this worker's threads serve requests
    return server
