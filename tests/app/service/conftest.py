"""Real services for the team-mode tests: a throwaway Redis (Debian's ``redis-server``) on a free
loopback port with its own temp dir, started by the test that needs it and stopped afterwards.

Without ``redis-server`` these tests skip, unless ``FABSCOPE_REQUIRE_SERVICES=1`` (CI, which installs it),
in which case they fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabscope.settings import get_settings

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "bench"))  # serve_load: the simulated users and process plumbing

import serve_load  # noqa: E402

REDIS_START_TIMEOUT_S = 15.0


def _redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found:
        return found
    reason = "redis-server is not installed (apt-get install redis-server)"
    if get_settings().require_services:
        pytest.fail(f"FABSCOPE_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason}; set FABSCOPE_REQUIRE_SERVICES=1 to fail instead")


def _ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    """A Redis on a free 127.0.0.1 port, no persistence, working dir ``folder``: ``(process, url)``."""
    binary = _redis_binary()
    folder.mkdir(parents=True, exist_ok=True)
    port = serve_load.free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
            "--logfile",
            str(folder / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while not _ping(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            serve_load.stop(proc)
            log = folder / "redis.log"
            raise RuntimeError(
                f"redis-server did not start: {log.read_text()[-1000:] if log.exists() else ''}"
            )
        time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Redis started for this test module (stopped at its end)."""
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield url
    finally:
        serve_load.stop(proc, timeout=10)
