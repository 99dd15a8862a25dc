"""Team mode's warehouse: a DuckLake lakehouse with its catalog in a real, throwaway PostgreSQL (Debian's
initdb/pg_ctl, started once per session on loopback and stopped afterwards; ``bench/team_pg.py``) and its
Parquet data in a temp folder.

Covers a refresh into the lake (the same rows as the single file), two writer processes (a refresh and
scenario reruns) beside a loop of readers (no failed read, every snapshot complete, no lost run), a
killed writer (the lake stays readable, the next refresh succeeds) and bad input (an unreachable or
misspelt URL, a refused login, an unwritable data path: one line, exit 2, nothing written; the dashboard
shows the same line). Without PostgreSQL these tests skip, unless ``FABSCOPE_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from fabscope.settings import get_settings
from pipelines.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))  # team_pg: the throwaway PostgreSQL (shared with bench_team.py)

import team_pg  # noqa: E402

pytestmark = pytest.mark.slow
TODAY_ARG = "2026-12-04"  # tests/conftest.py TODAY
SELECT = "policy"  # one asset group: enough rows for every check, a fraction of a full refresh's time


@contextlib.contextmanager
def _env_kept() -> Iterator[None]:
    """A refresh exports its warehouse to the environment: keep the session's as it was."""
    saved = {k: os.environ.get(k) for k in ("FABSCOPE_WAREHOUSE", "FABSCOPE_DB")}
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[team_pg.Postgres]:
    """A PostgreSQL for this session (per xdist worker), on a free 127.0.0.1 port."""
    if team_pg.binaries() is None:
        reason = "PostgreSQL is not installed (apt-get install postgresql)"
        if get_settings().require_services:
            pytest.fail(f"FABSCOPE_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(f"{reason}; set FABSCOPE_REQUIRE_SERVICES=1 to fail instead")
    pg = team_pg.start(tmp_path_factory.mktemp("postgres"))
    try:
        yield pg
    finally:
        pg.stop()


def _refresh(url: str, *more: str) -> int:
    with _env_kept():
        return main(["refresh", "--warehouse", url, "--select", SELECT, "--today", TODAY_ARG, *more])


@pytest.fixture(scope="session")
def lake(postgres: team_pg.Postgres, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a lakehouse holding one refresh of the policy group (treat as shared: tests add to it)."""
    url = postgres.url(postgres.create_catalog("lake_shared"), tmp_path_factory.mktemp("lake") / "data")
    assert _refresh(url) == 0
    return url


def _counts(db: str) -> dict[str, int]:
    from app.cli_data import status

    return {t["name"]: t["rows"] for t in status(db)["tables"]}


def _snapshot(url: str) -> int:
    with Warehouse(url).read() as con:
        return con.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchall()[0][0]


def test_team_lake(
    lake: str,
    refreshed_db: Path,
    postgres: team_pg.Postgres,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every lake check in one test: pytest-xdist would otherwise start a PostgreSQL and refresh a lake
    on each worker that draws one of them (as tests/app/service/test_team_stack.py does for Redis)."""
    _refresh_matches_the_single_file(lake, refreshed_db)
    _bad_urls_are_one_line_exit_2_and_write_nothing(lake, postgres, tmp_path, capsys)
    _refresh_and_reruns_commit_concurrently_while_readers_see_whole_snapshots(lake)
    _a_killed_writer_leaves_the_lake_readable_and_the_next_refresh_succeeds(lake)


def _refresh_matches_the_single_file(lake: str, refreshed_db: Path) -> None:
    lake_rows = _counts(lake)
    file_rows = _counts(str(refreshed_db))
    written = {n for n, rows in lake_rows.items() if rows and n != "quarantine"}
    assert {"export_controls", "entity_list"} <= written
    assert {n: lake_rows[n] for n in written} == {n: file_rows[n] for n in written}
    data = Path(Warehouse(lake).url.data_path)
    assert list(data.rglob("*.parquet")), "the rows live as Parquet files under data="
    # the dashboard's queries read the lake through the same functions as the file
    from app import queries

    res = queries.export_controls(lake)
    assert res.ok and res.frame.height == lake_rows["export_controls"]


def _refresh_and_reruns_commit_concurrently_while_readers_see_whole_snapshots(lake: str) -> None:
    full = _counts(lake)["export_controls"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FABSCOPE_WAREHOUSE", None)
    refresh = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "refresh", "--warehouse", lake, "--select", SELECT, "--today", TODAY_ARG],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    reruns = subprocess.Popen(
        [sys.executable, "-c", _RERUNS, lake, "2"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    seen: set[int] = set()
    failures: list[str] = []
    reads = 0
    while refresh.poll() is None or reruns.poll() is None:
        try:
            with Warehouse(lake).read() as con:
                seen.add(con.execute("SELECT count(*) FROM export_controls").fetchall()[0][0])
                # a rerun writes scenario_runs and substitution_forecast in one commit: never one alone
                orphans = con.execute(
                    "SELECT count(*) FROM scenario_runs r WHERE NOT EXISTS "
                    "(SELECT 1 FROM substitution_forecast f WHERE f.scenario_id = r.scenario_id)"
                ).fetchall()[0][0]
                sizes = con.execute(
                    "SELECT DISTINCT count(*) FROM substitution_forecast GROUP BY scenario_id"
                ).fetchall()
            if orphans or len(sizes) > 1:
                failures.append(f"half a rerun visible: {orphans} runs without rows, run sizes {sizes}")
            reads += 1
        except Exception as exc:  # any failed read fails the test
            failures.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.05)
    out, err = reruns.communicate()
    assert refresh.returncode == 0, refresh.stderr.read()[-2000:]
    assert reruns.returncode == 0, err[-2000:]
    assert not failures, failures[:3]
    assert reads > 10 and seen == {full}, "every read saw the whole table, never a half-written one"
    ids = [line.split()[1] for line in out.splitlines() if line.startswith("stored ")]
    assert len(ids) == 2, out[-2000:]
    with Warehouse(lake).read() as con:
        stored = {r[0] for r in con.execute("SELECT scenario_id FROM scenario_runs").fetchall()}
        forecast = {
            r[0] for r in con.execute("SELECT DISTINCT scenario_id FROM substitution_forecast").fetchall()
        }
    assert set(ids) <= stored and set(ids) <= forecast, "no rerun was lost to the concurrent refresh"


_RERUNS = """
import sys
from pathlib import Path
from app.dashboard.scenario_edit import Rerun, rerun
text = Path("models/scenarios/baseline.yaml").read_text()
for i in range(int(sys.argv[2])):
    print("stored", rerun(sys.argv[1], Rerun(text, seed=1000 + i, n_paths=100))["scenario_id"], flush=True)
"""


def _a_killed_writer_leaves_the_lake_readable_and_the_next_refresh_succeeds(lake: str) -> None:
    before, rows = _snapshot(lake), _counts(lake)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FABSCOPE_WAREHOUSE", None)
    writer = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, lake],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "staged", writer.stderr.read() if writer.stderr else ""
    staged = Warehouse(lake).staging_dir
    assert list(staged.glob(f"{writer.pid}-*")), "the writer has its staging copy"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    assert _snapshot(lake) == before and _counts(lake) == rows, "nothing of the killed writer is visible"
    assert _refresh(lake) == 0
    assert _snapshot(lake) > before
    assert _counts(lake)["export_controls"] == rows["export_controls"]
    assert not list(staged.glob(f"{writer.pid}-*")), "the next writer removed the dead one's staging copy"


# a writer that stages, changes a table and then hangs before publishing, so the test can kill it
_SLOW_WRITER = """
import sys, time
from pipelines.warehouse import Warehouse
with Warehouse(sys.argv[1]).write() as con:
    con.execute("DELETE FROM export_controls")
    print("staged", flush=True)
    time.sleep(600)
"""


def _one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], *expected: str) -> str:
    with _env_kept():
        code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("fabscope: "), err
    for part in expected:
        assert part in err, err
    assert "Traceback" not in err
    return err.removeprefix("fabscope: ")


def _bad_urls_are_one_line_exit_2_and_write_nothing(
    lake: str, postgres: team_pg.Postgres, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(lake)
    url = Warehouse(lake).url
    dead_port = team_pg.free_port()
    unreachable = (
        f"ducklake:postgresql://fabscope:fabscope@127.0.0.1:{dead_port}/lake_shared?data={tmp_path}/d"
    )
    _one_line_exit_2(capsys, ["status", "--warehouse", unreachable], "cannot reach", f"127.0.0.1:{dead_port}")
    _one_line_exit_2(capsys, ["refresh", "--warehouse", unreachable], "cannot reach")
    misspelt = lake.replace("ducklake:", "duklake:")
    _one_line_exit_2(capsys, ["status", "--warehouse", misspelt], "unknown warehouse kind 'duklake'", "***")
    _one_line_exit_2(capsys, ["status", "--warehouse", lake.split("?")[0]], "needs ?data=PATH")
    _one_line_exit_2(capsys, ["status", "--db", "x.duckdb", "--warehouse", lake], "not both")
    wrong_password = postgres.url("lake_shared", url.data_path, password="wrong-password")
    err = _one_line_exit_2(
        capsys, ["refresh", "--warehouse", wrong_password], "refused the login", "'fabscope'"
    )
    assert "wrong-password" not in err
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    fresh = postgres.url(postgres.create_catalog("lake_unwritable"), blocker / "data")
    _one_line_exit_2(capsys, ["refresh", "--warehouse", fresh], "data path", "not writable")
    _one_line_exit_2(
        capsys, ["forecast", "run", "models/scenarios/baseline.yaml", "--warehouse", fresh], "not writable"
    )
    assert _snapshot(lake) == before, "nothing was committed to the good lake"
    tables = postgres.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db="lake_unwritable")
    assert tables.strip() == "0", "not even an empty catalog was created"
    # the dashboard shows the same line where a page would have drawn
    from app import queries
    from app.cli_data import status
    from app.dashboard.app import create_app
    from fabscope.errors import WarehouseError

    with pytest.raises(WarehouseError) as cli_error:
        status(unreachable)
    res = queries.export_controls(unreachable)
    assert not res.ok and cli_error.value.message in (res.reason or "")
    health = create_app(unreachable).server.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["warehouse"]["error"] == cli_error.value.message
