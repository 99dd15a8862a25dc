"""Rerun slots in Celery mode (issue 18): held in the real Redis the workers share, so the limit holds
across worker hosts; a Redis that is down is a one-line ServiceError, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.dashboard import rerun_slots
from fabscope.errors import ServiceError
from fabscope.settings import get_settings


def test_slots_are_held_in_redis(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    monkeypatch.setenv("FABSCOPE_REDIS_URL", redis_url)
    monkeypatch.setenv("FABSCOPE_MAX_RERUNS", "2")
    db = tmp_path / "fabscope.duckdb"
    with rerun_slots.rerun_slot(db), rerun_slots.rerun_slot(db):
        client = redis.Redis.from_url(redis_url)
        keys = sorted(k.decode() for k in client.keys(rerun_slots.REDIS_PREFIX + "*"))
        assert keys == [f"{rerun_slots.REDIS_PREFIX}0", f"{rerun_slots.REDIS_PREFIX}1"]
        assert 0 < client.ttl(keys[0]) <= rerun_slots.LEASE_S  # a dead worker's slot ends with its lease
        with (
            pytest.raises(rerun_slots.RerunsBusy, match="busy: 2 dashboard rerun"),
            rerun_slots.rerun_slot(db),
        ):
            pass
    assert not client.keys(rerun_slots.REDIS_PREFIX + "*")
    assert not rerun_slots.slot_folder(db).exists()  # no file slots in Celery mode


def test_redis_down_is_one_line(tmp_path: Path) -> None:
    import serve_load  # bench/, on the path from this folder's conftest

    url = f"redis://127.0.0.1:{serve_load.free_port()}/0"
    settings = get_settings(redis_url=url)
    with (
        pytest.raises(ServiceError, match="cannot hold rerun slots") as refused,
        rerun_slots.rerun_slot(tmp_path / "w.duckdb", settings),
    ):
        pass
    assert "\n" not in refused.value.message
