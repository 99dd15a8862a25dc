"""``fabscope serve``, ``worker`` and ``passwd``: the dashboard as a service (docs/deploy.md).

``serve`` runs the dashboard under gunicorn (``--workers N`` processes of ``--threads`` threads each;
``--dev`` keeps Flask's development server). It refuses, with one line and exit 2, to bind anything but
loopback without authentication configured, and to start when ``$FABSCOPE_REDIS_URL`` names a Redis
that does not answer. ``worker`` runs a Celery worker for the dashboard's background reruns over that
Redis. ``passwd`` prints a users-file line for basic auth.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import socket
import sys
from typing import Any

from app.cli_common import CliError, add_command, warehouse_of
from fabscope.settings import env_var, get_settings, redacted_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
DEFAULT_WORKERS = 2
"""gunicorn worker processes of ``fabscope serve`` (each holds its own Dash app, ~200 MB)."""
DEFAULT_THREADS = 16
"""Threads per gunicorn worker (``gthread``): page callbacks spend much of their time in DuckDB, which
releases the GIL (bench/bench_serve.py: 2 workers × 16 threads serve ~3.5× the requests of 2 × 4)."""
REQUEST_TIMEOUT_S = 120
"""gunicorn kills a worker stuck on one request this long, seconds (the slowest page callback takes ~2 s)."""
DEFAULT_WORKER_CONCURRENCY = 2
"""Celery worker processes of ``fabscope worker`` (reruns at the same time on one host)."""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def preflight(host: str, port: int) -> str | None:
    """Every check ``fabscope serve`` makes before it starts; returns the authentication mode."""
    from app.dashboard import service

    settings = get_settings()
    mode = service.auth_mode(settings)
    service.require_auth_for(host, settings)
    if settings.auth_users_file is not None:
        service.load_users(settings.auth_users_file)  # a bad users file: one line now, not a 500 later
    if settings.redis_url:
        service.check_redis(settings.redis_url)
    _check_port_free(host, port)
    return mode


class GunicornServer:
    """gunicorn through its Python API: ``app.dashboard.wsgi.create_server()`` in each worker after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        from gunicorn.app.base import BaseApplication

        outer = self

        class _App(BaseApplication):
            def load_config(self) -> None:
                for key, value in outer.options.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                from app.dashboard.wsgi import create_server

                return create_server()

        self.options = options
        self._app = _App()

    def run(self) -> None:
        self._app.run()


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """The gunicorn settings of ``fabscope serve``."""
    return {
        "bind": f"[{host.strip('[]')}]:{port}" if ":" in host.strip("[]") else f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": REQUEST_TIMEOUT_S,
        "graceful_timeout": 10,
        "keepalive": 5,
        "proc_name": "fabscope-web",
        "errorlog": "-",
        "loglevel": "warning",
    }


def cmd_serve(args: argparse.Namespace) -> int:
    from app.dashboard import service
    from pipelines.warehouse import Warehouse

    db = warehouse_of(
        args, export=True
    )  # $FABSCOPE_WAREHOUSE: what each gunicorn worker (app.dashboard.wsgi) reads
    mode = preflight(args.host, args.port)
    if not get_settings().redis_url:
        service.cache_dir_for(db)  # a read-only folder: one line now, not a traceback in every worker
    if not Warehouse(db).exists():
        print(
            f"fabscope: no warehouse at {Warehouse(db)} yet; pages will say how to fill it (`fabscope refresh`).",
            file=sys.stderr,
        )
    if get_settings().secret_key is None:  # one key shared by this server's workers
        os.environ[env_var("secret_key")] = secrets.token_hex(32)
    auth = f"auth: {mode}" if mode else "no auth (loopback only)"
    if args.dev:
        print(f"fabscope serve --dev → http://{args.host}:{args.port} (Flask, {auth})", file=sys.stderr)
        from app.dashboard.app import serve

        serve(str(db), host=args.host, port=args.port)
        return 0
    print(
        f"fabscope serve → http://{args.host}:{args.port} (gunicorn, {args.workers} workers × "
        f"{args.threads} threads, {auth}, warehouse {Warehouse(db)})",
        file=sys.stderr,
    )
    GunicornServer(gunicorn_options(args.host, args.port, args.workers, args.threads)).run()
    return 0


def celery_worker_argv(concurrency: int, loglevel: str, hostname: str | None = None) -> list[str]:
    """The ``celery worker`` arguments of ``fabscope worker``."""
    return [
        "worker",
        f"--loglevel={loglevel}",
        f"--concurrency={concurrency}",
        "--pool=prefork",
        "--without-gossip",
        "--without-mingle",
        f"--hostname={hostname or 'fabscope@%h'}",
    ]


def cmd_worker(args: argparse.Namespace) -> int:
    from app.dashboard import service

    settings = get_settings()
    if not settings.redis_url:
        raise CliError(
            f"fabscope worker runs background reruns from Redis: set ${env_var('redis_url')} "
            "(e.g. redis://127.0.0.1:6379/0) here and for `fabscope serve`"
        )
    service.check_redis(settings.redis_url)
    db = warehouse_of(args, export=True)
    from app.dashboard.app import create_app
    from pipelines.warehouse import Warehouse

    app = create_app(str(db))  # registers every background callback as a Celery task
    celery = app.server.extensions[service.EXTENSION_KEY].handle
    print(
        f"fabscope worker → {redacted_url(settings.redis_url)} ({args.concurrency} worker process(es), "
        f"warehouse {Warehouse(db)})",
        file=sys.stderr,
    )
    celery.worker_main(celery_worker_argv(args.concurrency, args.loglevel, args.hostname))
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from app.dashboard import service

    user = args.user.strip()
    if not user or ":" in user:
        raise CliError(f"user {args.user!r}: use a non-empty name without ':'")
    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {user}: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise CliError("password: use at least 8 characters")
    print(f"{user}:{service.hash_password(password)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add serve/worker/passwd to the top-level parser."""
    p = add_command(sub, "serve", "serve the Dash dashboard (gunicorn; --dev: Flask's server)", cmd_serve)
    p.add_argument("--host", default=DEFAULT_HOST, help="address to bind (non-loopback needs auth)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--workers", type=_positive, default=DEFAULT_WORKERS, help="gunicorn worker processes")
    p.add_argument("--threads", type=_positive, default=DEFAULT_THREADS, help="threads per worker")
    p.add_argument("--dev", action="store_true", help="Flask's development server (one process)")

    p = add_command(
        sub, "worker", "a Celery worker for the dashboard's background reruns (Redis)", cmd_worker
    )
    p.add_argument("--concurrency", type=_positive, default=DEFAULT_WORKER_CONCURRENCY)
    p.add_argument("--loglevel", default="info", choices=("debug", "info", "warning", "error"))
    p.add_argument("--hostname", default=None, help="Celery node name (default fabscope@HOST)")

    p = add_command(
        sub, "passwd", "print a basic-auth users-file line (password from stdin)", cmd_passwd, db=False
    )
    p.add_argument("user")


__all__ = ["celery_worker_argv", "gunicorn_options", "preflight", "register"]
