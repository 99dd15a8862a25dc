"""The dashboard as a service: background-callback managers, authentication, ``/healthz``.

One place for what changes when the dashboard leaves the laptop (docs/deploy.md):

- **Background reruns** (the Forecasts page's scenario rerun) run on Celery workers over Redis when
  ``$FABSCOPE_REDIS_URL`` is set (:func:`background_manager` → ``dash.CeleryManager``; ``fabscope worker``
  runs them), else in a local process with a diskcache beside the warehouse (``dash.DiskcacheManager``,
  the single-machine default). A Redis that is down is a :class:`~fabscope.errors.ServiceError` naming
  the URL at start-up (:func:`check_redis`), and a banner in the dashboard afterwards
  (:func:`background_problem`).
- **Authentication** (:func:`install_auth`): HTTP basic auth via dash-auth with users from
  ``$FABSCOPE_AUTH_USERS_FILE`` (``user:hash`` lines, werkzeug password hashes), or a trusted reverse
  proxy that names the signed-in user in ``$FABSCOPE_AUTH_PROXY_HEADER``. ``fabscope serve`` refuses to
  bind anything but loopback without one of them (:func:`require_auth_for`).
- **/healthz** (:func:`register_healthz`): ``{"status", "version", "host", "pid", "warehouse": {...},
  "background": {...}}``,
  HTTP 200 when the warehouse is readable and the background queue reachable, else 503. Public (no
  authentication), and it names no path.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
from importlib import metadata
from pathlib import Path
from typing import Any

import dash
import flask

from fabscope.errors import InputError, ServiceError, WarehouseError
from fabscope.settings import Settings, redacted_url

CACHE_DIR_NAME = "dashboard-cache"
"""Folder (beside the warehouse file) holding the diskcache background-callback store."""
HEALTH_PATH = "/healthz"
REDIS_TIMEOUT_S = 2.0
"""Connect/read timeout for Redis pings (start-up checks, /healthz, the dashboard banner), seconds."""
WORKER_PING_TIMEOUT_S = 1.0
"""How long the Forecasts page waits for a Celery worker to answer a ping, seconds."""
RESULT_EXPIRES_S = 3600
"""Background-callback results and progress kept in Redis at most this long, seconds."""
EXTENSION_KEY = "fabscope_background"
"""Key of the background manager in ``server.extensions`` (``fabscope worker`` reads its Celery app)."""
LOOPBACK_NAMES = ("localhost", "ip6-localhost")


def version() -> str:
    """The installed fabscope version (``pyproject.toml``)."""
    try:
        return metadata.version("fabscope")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


# ---- background callbacks --------------------------------------------------------------------
def cache_dir_for(db: str | Path) -> Path:
    """Diskcache background-callback folder for warehouse ``db`` (created if needed; for a lakehouse,
    beside its data folder); a one-line :class:`WarehouseError` when that folder cannot hold it
    (read-only, full, not a folder)."""
    from pipelines.warehouse import Warehouse

    folder = Warehouse(db).path.parent / CACHE_DIR_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(
            f"cannot create {folder} for the dashboard's background reruns: {exc.strerror or exc} "
            f"({type(exc).__name__}); serve a warehouse in a writable folder, or set $FABSCOPE_REDIS_URL "
            "to run reruns on Celery"
        ) from None
    return folder


def celery_app(redis_url: str) -> Any:
    """The Celery application of the dashboard's background callbacks: broker and results on ``redis_url``."""
    from celery import Celery

    app = Celery("fabscope_dashboard", broker=redis_url, backend=redis_url)
    app.conf.update(
        result_expires=RESULT_EXPIRES_S,
        broker_connection_retry_on_startup=False,
        broker_connection_max_retries=3,
        redis_socket_connect_timeout=REDIS_TIMEOUT_S,
        redis_socket_timeout=30.0,
        broker_transport_options={"socket_connect_timeout": REDIS_TIMEOUT_S},
        worker_hijack_root_logger=False,
        worker_prefetch_multiplier=1,  # a rerun is long: one at a time per worker process
        task_acks_late=True,
    )
    return app


def background_manager(db: str, settings: Settings) -> dash.CeleryManager | dash.DiskcacheManager:
    """``CeleryManager`` over ``settings.redis_url`` if set, else a ``DiskcacheManager`` beside ``db``."""
    if settings.redis_url:
        return dash.CeleryManager(celery_app(settings.redis_url), expire=RESULT_EXPIRES_S)
    import diskcache

    return dash.DiskcacheManager(diskcache.Cache(str(cache_dir_for(db))))


def check_redis(url: str, timeout: float = REDIS_TIMEOUT_S) -> None:
    """Ping Redis at ``url``; a :class:`ServiceError` naming the URL (password hidden) if it does not answer."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServiceError(
            f"Redis at {redacted_url(url)} is not reachable ({reason}): start it, or unset "
            "$FABSCOPE_REDIS_URL to run background reruns locally"
        ) from None


def celery_workers(redis_url: str, timeout: float = WORKER_PING_TIMEOUT_S) -> list[str]:
    """Name of a Celery worker answering a ping on ``redis_url`` within ``timeout`` s (empty list: none)."""
    replies = celery_app(redis_url).control.ping(timeout=timeout, limit=1) or []
    return sorted(name for reply in replies for name in reply)


def background_problem(settings: Settings, *, workers: bool = False) -> str | None:
    """Why background reruns cannot run now (one line), or None. ``workers``: also ping the Celery workers."""
    if not settings.redis_url:
        return None
    try:
        check_redis(settings.redis_url)
        if workers and not celery_workers(settings.redis_url):
            return (
                f"No fabscope worker answers on {redacted_url(settings.redis_url)}: reruns wait in the "
                "queue until one runs (`fabscope worker`)."
            )
    except ServiceError as exc:
        return f"Background reruns are unavailable: {exc.message}. Pages still read the warehouse."
    except Exception as exc:  # a broker error from the ping: say it, never break the page
        return f"Background reruns are unavailable: {type(exc).__name__}: {exc}"
    return None


# ---- authentication --------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_mode(settings: Settings) -> str | None:
    """``"basic"``, ``"proxy"`` or None (no authentication configured)."""
    if settings.auth_users_file and settings.auth_proxy_header:
        raise InputError(
            "set one of $FABSCOPE_AUTH_USERS_FILE (basic auth) and $FABSCOPE_AUTH_PROXY_HEADER "
            "(trusted reverse proxy), not both"
        )
    if settings.auth_users_file:
        return "basic"
    if settings.auth_proxy_header:
        return "proxy"
    return None


def require_auth_for(host: str, settings: Settings) -> None:
    """Refuse (:class:`InputError`) to bind a non-loopback ``host`` without authentication configured."""
    if auth_mode(settings) is None and not is_loopback(host):
        raise InputError(
            f"refusing to serve on {host} without authentication: set $FABSCOPE_AUTH_USERS_FILE "
            "(basic auth) or $FABSCOPE_AUTH_PROXY_HEADER (trusted reverse proxy), or bind 127.0.0.1"
        )


def hash_password(password: str) -> str:
    """A werkzeug password hash (scrypt) for a users-file line."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)


def load_users(path: Path) -> dict[str, str]:
    """``{user: password hash}`` from a users file; an :class:`InputError` naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the users file ({exc.strerror or exc})") from None
    users: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or not hashed.startswith(("scrypt:", "pbkdf2:")):
            raise InputError(
                f"{path}, line {number}: expected `user:password-hash` (a werkzeug scrypt/pbkdf2 hash "
                "written by `fabscope passwd USER`), not a plain password"
            )
        users[user] = hashed
    if not users:
        raise InputError(f"{path}: no users (add lines with `fabscope passwd USER >> {path.name}`)")
    return users


MAX_VERIFIED = 256
"""Verified (user, password) digests kept per process (a hash check costs ~50 ms of CPU)."""


def _password_checker(users: dict[str, str]) -> Any:
    from werkzeug.security import check_password_hash

    verified: set[bytes] = set()

    def check(user: str, password: str) -> bool:
        # every callback request carries the credentials: each good pair is hash-checked once per
        # process and remembered as a digest (never as text); wrong ones are checked every time
        digest = hashlib.sha256(f"{user}\0{password}".encode()).digest()
        if digest in verified:
            return True
        if user not in users or not check_password_hash(users[user], password):
            return False
        if len(verified) >= MAX_VERIFIED:
            verified.clear()
        verified.add(digest)
        return True

    return check


def install_auth(app: dash.Dash, settings: Settings) -> str | None:
    """Protect every route of ``app`` but /healthz as ``settings`` say; returns the mode (or None)."""
    mode = auth_mode(settings)
    if mode == "basic":
        import dash_auth

        assert settings.auth_users_file is not None
        dash_auth.BasicAuth(
            app,
            auth_func=_password_checker(load_users(settings.auth_users_file)),
            public_routes=[HEALTH_PATH],
        )
    elif mode == "proxy":
        header = str(settings.auth_proxy_header)

        @app.server.before_request
        def _proxy_user() -> flask.Response | None:
            if flask.request.path == HEALTH_PATH or flask.request.headers.get(header, "").strip():
                return None
            return flask.Response(f"sign in through the proxy (no {header} header)\n", status=401)

    return mode


# ---- /healthz --------------------------------------------------------------------------------
def health(db: str, settings: Settings) -> tuple[dict[str, Any], int]:
    """The /healthz document and HTTP status (200 when everything it checks is fine, else 503)."""
    from pipelines.warehouse import Warehouse, stored_schema_version

    warehouse: dict[str, Any] = {"readable": False, "schema_version": None}
    try:
        with Warehouse(db).read() as con:
            warehouse = {"readable": True, "schema_version": stored_schema_version(con)}
    except Exception as exc:  # reported, not raised: the probe must answer
        warehouse["error"] = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    problem = background_problem(settings)
    background = {"manager": "celery" if settings.redis_url else "diskcache", "reachable": problem is None}
    ok = warehouse["readable"] and problem is None
    doc = {
        "status": "ok" if ok else "degraded",
        "version": version(),
        "host": socket.gethostname(),
        "pid": os.getpid(),  # which web worker answered
        "warehouse": warehouse,
        "background": background,
    }
    return doc, 200 if ok else 503


def register_healthz(app: dash.Dash, settings: Settings) -> None:
    """Add ``GET /healthz`` to the app's Flask server."""
    from app.dashboard import components as ui

    @app.server.route(HEALTH_PATH)
    def _healthz() -> flask.Response:
        doc, status = health(str(flask.current_app.config[ui.DB_CONFIG_KEY]), settings)
        return flask.jsonify(doc), status
