"""At most ``$FABSCOPE_MAX_RERUNS`` dashboard reruns at once, in every process that runs them.

A rerun holds one of ``max_reruns`` numbered slots while its Monte Carlo process runs
(:func:`rerun_slot`, taken by ``scenario_edit.rerun_in_subprocess``); a rerun that finds every slot taken
is refused at once with a one-line :class:`~fabscope.errors.ServiceError` ("busy, try again"), never
queued behind the others. The slots live where the background manager lives:

- **diskcache** (one machine): a ``filelock`` per slot in the ``dashboard-cache`` folder beside the
  warehouse; the OS frees it when the holder dies.
- **Celery** (``$FABSCOPE_REDIS_URL``, workers on any host): a redis-py ``Lock`` per slot
  (``fabscope:rerun-slot:N``) with a lease of :data:`LEASE_S`, so a worker that dies mid-run frees its
  slot when the lease ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from fabscope.errors import ServiceError
from fabscope.settings import Settings, env_var, get_settings, redacted_url

LEASE_S = 960.0
"""Longest a Redis slot is held, seconds: the rerun timeout (900 s) plus a minute for start and store."""
REDIS_PREFIX = "fabscope:rerun-slot:"


class _Held(Protocol):
    def release(self) -> None: ...


class RerunsBusy(ServiceError):
    """Every rerun slot is taken: try again when one finishes."""


def _busy(limit: int) -> RerunsBusy:
    return RerunsBusy(
        f"busy: {limit} dashboard rerun(s) already running (the limit, ${env_var('max_reruns')}); "
        "try again when one finishes"
    )


def _file_slot(folder: Path, limit: int) -> _Held | None:
    from filelock import FileLock, Timeout

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServiceError(f"cannot keep rerun slots in {folder}: {exc.strerror or exc}") from None
    for n in range(limit):
        lock = FileLock(str(folder / f"rerun-slot-{n}.lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            continue
        return lock
    return None


def _redis_slot(url: str, limit: int, lease_s: float) -> _Held | None:
    import redis

    from app.dashboard.service import REDIS_TIMEOUT_S

    client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S)
    try:
        for n in range(limit):
            lock = client.lock(f"{REDIS_PREFIX}{n}", timeout=lease_s, blocking=False)
            if lock.acquire():
                return lock
    except (redis.RedisError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServiceError(f"Redis at {redacted_url(url)} cannot hold rerun slots ({reason})") from None
    return None


def slot_folder(db: str | Path) -> Path:
    """Where the file slots of warehouse ``db`` live (the diskcache folder beside it)."""
    from app.dashboard.service import CACHE_DIR_NAME

    return Path(db).parent / CACHE_DIR_NAME


@contextlib.contextmanager
def rerun_slot(
    db: str | Path, settings: Settings | None = None, *, lease_s: float = LEASE_S
) -> Iterator[Any]:
    """Hold one rerun slot for the block; :class:`RerunsBusy` at once if all ``max_reruns`` are taken."""
    settings = settings or get_settings()
    limit = settings.max_reruns
    if settings.redis_url:
        held = _redis_slot(settings.redis_url, limit, lease_s)
    else:
        held = _file_slot(slot_folder(db), limit)
    if held is None:
        raise _busy(limit)
    try:
        yield held
    finally:
        with contextlib.suppress(Exception):  # an expired Redis lease is already free
            held.release()
