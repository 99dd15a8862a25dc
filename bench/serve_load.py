"""Simulated dashboard users against a running ``fabscope serve``, and the process plumbing to start one.

Shared by ``bench/bench_serve.py`` (p50/p95 and throughput) and the team-mode tests in
``tests/app/service`` (0 errors under load). Standard library only (``urllib`` + threads), so the load
generator is not the bottleneck it measures.

A *user* loops over what a browser asks for when it opens pages: ``/healthz``, the index HTML,
``/_dash-layout``, ``/_dash-dependencies`` and the page-content callback of a few pages (the server
renders that page's layout, warehouse queries included), until the deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PAGES = ("/", "/market", "/policy", "/capacity", "/hardware")
"""Pages each simulated user opens (the Forecasts page is left to the rerun test)."""
REQUEST_TIMEOUT_S = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fabscope_env(**extra: str) -> dict[str, str]:
    """The environment of a ``python -m app.cli`` child: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def start_fabscope(args: Sequence[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """``python -m app.cli ARGS`` in the background, stdout and stderr into ``log``."""
    handle = log.open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(REPO),
            start_new_session=True,  # stop() ends the whole group (gunicorn's arbiter and its workers)
        )
    finally:
        handle.close()


def stop(*procs: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM the process groups of ``procs`` together (graceful), SIGKILL what is left after ``timeout`` s."""
    import signal

    def signal_group(proc: subprocess.Popen, sig: int) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)

    for proc in procs:
        signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=timeout)


def wait_healthy(base: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> dict[str, Any]:
    """Poll ``base/healthz`` until it answers 200; its document. Raises with the log tail otherwise."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(exc)
        time.sleep(0.25)
    raise RuntimeError(
        f"no healthy answer from {base} in {timeout:.0f} s ({last}): {log.read_text()[-2000:]}"
    )


def request(
    base: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One GET (``body`` None) or JSON POST; ``(status, body)``, HTTP errors included."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="GET" if body is None else "POST")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def page_callback(base: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The dependency spec of the pages app's routing callback (``_pages_content``), from the server."""
    status, text = request(base, "/_dash-dependencies", headers=headers)
    if status != 200:
        raise RuntimeError(f"/_dash-dependencies: HTTP {status}")
    specs = json.loads(text)
    return next(s for s in specs if "_pages_content.children" in s["output"])


def page_payload(spec: dict[str, Any], pathname: str) -> dict[str, Any]:
    """The ``/_dash-update-component`` body that renders page ``pathname``, as the browser sends it."""
    values = {"pathname": pathname, "search": "", "hash": "", "href": "http://localhost" + pathname}
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in spec["output"].strip(".").split("...")
    ]
    inputs = [{**i, "value": values.get(i["property"])} for i in spec["inputs"]]
    state = [{**s, "value": values.get(s["property"])} for s in spec.get("state", [])]
    return {
        "output": spec["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in spec["inputs"]],
    }


@dataclass
class LoadResult:
    """What the simulated users saw: per-request latencies (ms) and every failure."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, pct: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        k = (len(ordered) - 1) * pct / 100.0
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + len(self.errors)


def simulate_users(
    base: str, users: int, seconds: float, headers: dict[str, str] | None = None
) -> LoadResult:
    """``users`` threads looping over the pages for ``seconds``; every non-2xx answer is an error."""
    spec = page_callback(base, headers)
    steps: list[tuple[str, Any]] = [("/healthz", None), ("/", None), ("/_dash-layout", None)]
    steps += [("/_dash-update-component", page_payload(spec, p)) for p in PAGES]
    result = LoadResult()
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + seconds

    def user(offset: int) -> None:
        i = offset
        while time.monotonic() < deadline:
            path, body = steps[i % len(steps)]
            i += 1
            t0 = time.perf_counter()
            try:
                status, _ = request(base, path, body, headers)
                problem = None if 200 <= status < 300 else f"{path}: HTTP {status}"
            except Exception as exc:  # a refused or reset connection is an error the users saw
                problem = f"{path}: {type(exc).__name__}: {exc}"
            elapsed = (time.perf_counter() - t0) * 1000.0
            with lock:
                if problem:
                    result.errors.append(problem)
                else:
                    result.latencies_ms.append(elapsed)

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + REQUEST_TIMEOUT_S + 5)
    result.seconds = time.monotonic() - start
    return result
