"""Bounded dashboard reruns (issue 18): at most ``$FABSCOPE_MAX_RERUNS`` at once across processes; one more is
refused at once with a one-line "busy, try again", before any Monte Carlo process starts or the writer
lock is taken. (The Redis-held slots of the Celery mode: tests/app/service/test_rerun_slots_redis.py.)"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.dashboard import rerun_slots
from app.dashboard import scenario_edit as se
from fabscope.errors import ServiceError
from fabscope.settings import get_settings


def _holder(folder: Path, slot: int) -> subprocess.Popen:
    """Another process (a gunicorn worker, a diskcache job) holding file slot ``slot`` until stdin closes."""
    code = textwrap.dedent(
        f"""
        import sys
        from filelock import FileLock
        lock = FileLock({str(folder / f"rerun-slot-{slot}.lock")!r})
        lock.acquire()
        print("held", flush=True)
        sys.stdin.read()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_one_rerun_beyond_the_limit_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FABSCOPE_MAX_RERUNS", "2")
    db = tmp_path / "fabscope.duckdb"  # never opened: the refusal comes first
    other = _holder(rerun_slots.slot_folder(db), 0)
    try:
        with rerun_slots.rerun_slot(db):  # slot 1, in this process
            with pytest.raises(rerun_slots.RerunsBusy) as refused:
                se.rerun_in_subprocess(
                    str(db), se.Rerun(se.build_scenario_yaml("baseline.yaml", "busy-test", {}))
                )
            message = refused.value.message
            assert "busy" in message and "FABSCOPE_MAX_RERUNS" in message and "try again" in message
            assert "\n" not in message
            assert isinstance(refused.value, ServiceError)
        with rerun_slots.rerun_slot(db):  # slot 1 is free again
            pass
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait(timeout=10)
    assert not db.exists() and not (tmp_path / "fabscope.duckdb.lock").exists()  # no writer ever started


def test_a_dead_holder_frees_its_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FABSCOPE_MAX_RERUNS", "1")
    db = tmp_path / "fabscope.duckdb"
    other = _holder(rerun_slots.slot_folder(db), 0)
    with pytest.raises(rerun_slots.RerunsBusy), rerun_slots.rerun_slot(db):
        pass
    other.kill()
    other.wait(timeout=10)
    with rerun_slots.rerun_slot(db):
        pass


def test_the_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().max_reruns == 2
    monkeypatch.setenv("FABSCOPE_MAX_RERUNS", "5")
    assert get_settings().max_reruns == 5
    from fabscope.errors import InputError

    monkeypatch.setenv("FABSCOPE_MAX_RERUNS", "0")
    with pytest.raises(InputError, match="FABSCOPE_MAX_RERUNS"):
        get_settings()


def test_the_forecasts_page_shows_busy_in_one_line(
    pages: dict, refreshed_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FABSCOPE_MAX_RERUNS", "1")
    text = se.build_scenario_yaml("baseline.yaml", "busy-page", {})
    shown: list[tuple] = []
    with rerun_slots.rerun_slot(refreshed_db):
        last, banner = pages["forecasts"]._rerun(shown.append, 1, text, "", 500, "units")
    assert "Run failed: busy" in str(banner.children) and "banner-error" in banner.className
    assert shown[-1][2] == "failed"
