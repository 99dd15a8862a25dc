"""The dashboard as a service with real components: Redis (``redis-server``), ``fabscope worker`` (Celery)
and ``fabscope serve`` (gunicorn, 4 workers), started here on loopback and stopped afterwards.

- 50 simulated users for a bounded time get 0 errors (latencies go to ``bench/bench_serve.py``);
- a scenario rerun submitted through the dashboard's background-callback protocol (what the browser's
  renderer sends to ``/_dash-update-component``) is executed by the Celery worker process and stored.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import serve_load

from app.dashboard import scenario_edit as se
from app.dashboard import service

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

USERS = 50
LOAD_SECONDS = 3.0  # every user starts a request at once; 3 s of load costs ~6 s less CPU than 6 s
WEB_WORKERS = 4
RERUN_TIMEOUT_S = 120.0


@dataclass
class Stack:
    base: str
    db: Path
    redis_url: str
    web_log: Path
    worker_log: Path


@pytest.fixture
def stack(redis_url: str, refreshed_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("stack")
    db = folder / "fabscope.duckdb"
    shutil.copyfile(refreshed_db, db)
    env = serve_load.fabscope_env(FABSCOPE_REDIS_URL=redis_url)
    port = serve_load.free_port()
    web_log, worker_log = folder / "web.log", folder / "worker.log"
    worker = serve_load.start_fabscope(
        ["worker", "--db", str(db), "--concurrency", "1", "--hostname", "test@%h"], worker_log, env
    )
    web = serve_load.start_fabscope(
        ["serve", "--db", str(db), "--port", str(port), "--workers", str(WEB_WORKERS)], web_log, env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        serve_load.wait_healthy(base, web, web_log)
        deadline = time.monotonic() + 90
        while not service.celery_workers(redis_url):
            assert worker.poll() is None, f"worker exited: {worker_log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"worker never answered: {worker_log.read_text()[-2000:]}"
            time.sleep(0.5)
        yield Stack(base, db, redis_url, web_log, worker_log)
    finally:
        serve_load.stop(web, worker)


def _check_health_reports_the_warehouse_and_the_celery_queue(stack: Stack) -> None:
    status, body = serve_load.request(stack.base, "/healthz")
    doc = json.loads(body)
    assert status == 200 and doc["status"] == "ok"
    assert doc["warehouse"] == {"readable": True, "schema_version": doc["warehouse"]["schema_version"]}
    assert doc["background"] == {"manager": "celery", "reachable": True}
    assert doc["version"] == service.version() and str(stack.db) not in body.decode()
    _, deps = serve_load.request(stack.base, "/_dash-dependencies")
    spec = next(s for s in json.loads(deps) if "service-banner" in s["output"])
    status, banner = serve_load.request(
        stack.base, "/_dash-update-component", serve_load.page_payload(spec, "/forecasts")
    )
    assert status == 200 and b"banner-error" not in banner  # Redis up, the worker answers: no banner


def _check_four_gunicorn_workers_serve_fifty_users_without_an_error(stack: Stack) -> None:
    result = serve_load.simulate_users(stack.base, USERS, LOAD_SECONDS)
    assert result.errors == []
    assert result.requests >= USERS  # every user got at least one answer in the time
    pids = {json.loads(serve_load.request(stack.base, "/healthz")[1])["pid"] for _ in range(40)}
    assert len(pids) >= 2, "one gunicorn worker answered everything"


def _end_id(base: str) -> str:
    _, html = serve_load.request(base, "/forecasts")
    match = re.search(rb'<script id="_dash-config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "no _dash-config in the index page"
    return json.loads(match.group(1))["end_id"]


def _background_call(base: str, output_part: str, inputs: dict[str, Any], state: dict[str, Any]) -> dict:
    """Run a background callback the way dash-renderer does: submit, then poll with the signed handles."""
    _, deps = serve_load.request(base, "/_dash-dependencies")
    spec = next(s for s in json.loads(deps) if output_part in s["output"])
    assert spec["background"], f"{output_part} is not a background callback"
    parts = spec["output"].strip(".").split("...")
    payload = {
        "output": spec["output"],
        "outputs": [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts],
        "inputs": [{**i, "value": inputs[i["id"]]} for i in spec["inputs"]],
        "state": [{**s, "value": state[s["id"]]} for s in spec["state"]],
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in spec["inputs"]],
    }
    query = {"endId": _end_id(base)}
    deadline = time.monotonic() + RERUN_TIMEOUT_S
    progress: list[Any] = []
    while time.monotonic() < deadline:
        status, body = serve_load.request(
            base, "/_dash-update-component?" + urllib.parse.urlencode(query), payload
        )
        assert status == 200, f"HTTP {status}: {body[:500]!r}"
        data = json.loads(body)
        if "job" in data and "job" not in query:
            query.update(cacheKey=data["cacheKey"], job=data["job"])
            payload = {
                **payload,
                "inputs": [{**i, "value": None} for i in payload["inputs"]],
                "state": [{**s, "value": None} for s in payload["state"]],
            }
        if "progress" in data:
            progress.append(data["progress"])
        if "response" in data:
            return {"response": data["response"], "progress": progress}
        time.sleep(0.5)
    raise AssertionError(f"no result in {RERUN_TIMEOUT_S:.0f} s; progress seen: {progress}")


def _check_a_rerun_from_the_dashboard_runs_on_the_celery_worker(stack: Stack) -> None:
    import duckdb

    text = se.build_scenario_yaml("baseline.yaml", "celery-rerun", {"demand_growth": 1.2})
    out = _background_call(
        stack.base,
        "editor-last-run.data",
        inputs={"editor-run": 1},
        state={"editor-yaml": text, "editor-seed": 11, "editor-paths": 200, "forecast-metric": "units"},
    )
    stored = out["response"]["editor-last-run"]["data"]
    assert stored["name"] == "celery-rerun"
    assert "Stored" in json.dumps(out["response"]["editor-result"])
    with duckdb.connect(str(stack.db), read_only=True) as con:
        rows = con.execute(
            "SELECT name, n_paths FROM scenario_runs WHERE scenario_id = ?", [stored["scenario_id"]]
        ).fetchall()
    assert rows == [("celery-rerun", 200)]
    worker_log = stack.worker_log.read_text()
    assert "background_callback_" in worker_log and "succeeded" in worker_log  # the worker ran it


def test_the_team_stack(stack: Stack) -> None:
    """One test for the one stack (pytest-xdist would otherwise start a stack per worker): health, then
    50 users, then a rerun through the Celery worker."""
    _check_health_reports_the_warehouse_and_the_celery_queue(stack)
    _check_four_gunicorn_workers_serve_fifty_users_without_an_error(stack)
    _check_a_rerun_from_the_dashboard_runs_on_the_celery_worker(stack)


def test_without_redis_a_rerun_runs_locally_under_gunicorn(
    refreshed_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The single-machine default: gunicorn workers share the diskcache beside the warehouse, so a poll
    answered by another worker than the one that started the rerun still finds its progress and result."""
    folder = tmp_path_factory.mktemp("local")
    db = folder / "fabscope.duckdb"
    shutil.copyfile(refreshed_db, db)
    port, log = serve_load.free_port(), folder / "web.log"
    env = serve_load.fabscope_env()
    env.pop("FABSCOPE_REDIS_URL", None)
    web = serve_load.start_fabscope(
        ["serve", "--db", str(db), "--port", str(port), "--workers", "2"], log, env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert serve_load.wait_healthy(base, web, log)["background"] == {
            "manager": "diskcache",
            "reachable": True,
        }
        text = se.build_scenario_yaml("baseline.yaml", "local-rerun", {})
        out = _background_call(
            base,
            "editor-last-run.data",
            inputs={"editor-run": 1},
            state={"editor-yaml": text, "editor-seed": 5, "editor-paths": 150, "forecast-metric": "units"},
        )
    finally:
        serve_load.stop(web)
    assert out["response"]["editor-last-run"]["data"]["name"] == "local-rerun"
    assert (folder / service.CACHE_DIR_NAME).is_dir()
