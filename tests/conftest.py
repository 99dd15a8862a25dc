"""Shared fixtures: an isolated Dagster instance, a fixed run date, one refreshed warehouse per session.

No test reads the wall clock for a date: runs take ``today`` (fixture ``today``, ``TODAY``) as their
run date, so a session that straddles midnight UTC gives the same rows as one that does not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from fabscope.settings import ENV_VARS

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="fabscope-tests-"))
os.environ["DAGSTER_HOME"] = str(_SESSION_DIR / "dagster")
(_SESSION_DIR / "dagster").mkdir(parents=True, exist_ok=True)
(_SESSION_DIR / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
for _name in set(ENV_VARS) - {
    "DAGSTER_HOME",
    "FABSCOPE_REQUIRE_BROWSER",
    "FABSCOPE_REQUIRE_SERVICES",
    "FABSCOPE_REAL_PRICES",
}:
    os.environ.pop(_name, None)  # the tests see the documented defaults, not the caller's settings

REPO = Path(__file__).resolve().parents[1]
TODAY = date(2026, 12, 4)  # a Friday, after the latest bundled reference date (2026-11-09)


# The keys CONTRACT.md promises in `fabscope sim chip|system --json` (and the catalog records behind them).
CONTRACT_KEYS = {
    "chip": frozenset(
        {"id", "vendor", "bf16_tflops", "int8_tops", "hbm_gb", "hbm_tbps", "scaleup_gbps", "tdp_w", "sources"}
    ),
    "system": frozenset({"id", "chips", "bf16_pflops", "hbm_tb", "hbm_tbps", "scaleup_tbps"})  # capacity
    | {"power_kw", "pflops_per_kw", "power_breakdown_kw"},  # power
}


@pytest.fixture(scope="session")
def contract_keys() -> dict[str, frozenset[str]]:
    """``CONTRACT_KEYS``: the promised JSON keys per record kind (``chip``, ``system``), written once."""
    return CONTRACT_KEYS


@pytest.fixture(scope="session")
def today() -> date:
    """The run date every test refresh uses (never the wall clock)."""
    return TODAY


@pytest.fixture(autouse=True)
def _no_wall_clock_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process code that falls back on the wall clock for "today" gets ``TODAY`` instead
    (subprocesses are given ``--today``)."""
    from pipelines import clock

    monkeypatch.setattr(clock, "utc_today", lambda: TODAY)


@pytest.fixture(autouse=True)
def _no_dash_app_left_in_context():
    """Dash's request handlers set its ``app_context`` variable in the calling thread before copying the
    context, so after a Flask test-client request ``dash.get_app()`` keeps naming that test's app. Reset it
    after each test, so "the app last built" means the same whatever ran before on this worker."""
    yield
    get_app_module = sys.modules.get("dash._get_app")
    if get_app_module is not None:
        get_app_module.app_context.set(None)


@pytest.fixture(scope="session")
def run_resources():
    """``run_resources(db)``: the Dagster resources of a run on warehouse ``db`` with run date ``TODAY``."""
    from pipelines.resources import run_resources as build

    return lambda db: build(db, today=TODAY)


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by every pytest-xdist worker of this session (the session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _build_once(tmp_path_factory: pytest.TempPathFactory, name: str, build, wait: bool = True) -> Path:
    """``build(path)`` run by the first worker that asks; the others wait for it and reuse the file.

    With ``wait=False`` a worker that finds another one building returns at once (the file may not be
    there yet)."""
    from filelock import FileLock, Timeout

    folder = _shared_dir(tmp_path_factory) / name
    folder.mkdir(parents=True, exist_ok=True)
    target, done = folder / "fabscope.duckdb", folder / "done"
    try:
        with FileLock(str(folder / ".lock"), timeout=-1 if wait else 0):
            if not done.exists():
                build(target)
                done.touch()
    except Timeout:
        pass
    return target


@pytest.fixture(scope="session")
def build_once(tmp_path_factory: pytest.TempPathFactory):
    """``build_once(name, build)``: the warehouse path ``build(path)`` wrote, built once per session by
    the first xdist worker that asks and reused by the others (for results several tests read)."""
    return lambda name, build: _build_once(tmp_path_factory, name, build)


def _needs_refreshed_db(item: pytest.Item) -> bool:
    return "refreshed_db" in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the session for two xdist workers: slow and browser tests first (long tests at the end
    would leave one worker idle), tests on the shared refreshed warehouse after the others of their
    group (the first worker builds it, ``_build_refreshed_db_early``, while the other runs tests that
    do not need it). A stable sort: within a group, the collection order."""
    items.sort(
        key=lambda item: (
            not (item.get_closest_marker("slow") or item.get_closest_marker("browser")),
            _needs_refreshed_db(item),
        )
    )


def _refresh(db: Path) -> None:
    from app.cli_data import run_refresh

    saved = os.environ.get("FABSCOPE_DB")
    try:
        assert run_refresh(db, today=TODAY), "the bundled-data refresh failed (see the progress lines above)"
    finally:  # run_refresh points $FABSCOPE_DB at its warehouse: keep the session's environment as it was
        if saved is None:
            os.environ.pop("FABSCOPE_DB", None)
        else:
            os.environ["FABSCOPE_DB"] = saved


@pytest.fixture(scope="session")
def refreshed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse refreshed from the bundled data (sample prices, run date ``TODAY``) by the real
    Dagster definitions, once per session and shared by all xdist workers.

    Treat it as read-only (``db_copy`` gives a writable copy).
    """
    return _build_once(tmp_path_factory, "refreshed", _refresh)


@pytest.fixture(scope="session", autouse=True)
def _build_refreshed_db_early(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Under pytest-xdist, when some test of the session needs ``refreshed_db``, the first worker to
    start builds it before its first test; the others do not wait for it until a test of theirs needs it."""
    if os.environ.get("PYTEST_XDIST_WORKER") and any(map(_needs_refreshed_db, request.session.items)):
        # a failure is not this test's: the tests that need the warehouse build it again and report why
        with contextlib.suppress(Exception):
            _build_once(tmp_path_factory, "refreshed", _refresh, wait=False)


@pytest.fixture
def db_copy(refreshed_db: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the refreshed warehouse."""
    target = tmp_path / "fabscope.duckdb"
    shutil.copyfile(refreshed_db, target)
    return target


@pytest.fixture
def reference_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the bundled reference files, used instead of them for this test."""
    from pipelines.sources.reference import REFERENCE_DIR

    target = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, target)
    monkeypatch.setenv("FABSCOPE_REFERENCE_DIR", str(target))
    return target


@pytest.fixture(scope="session")
def real_prices() -> Path:
    """The folder of real price exports (read in place, never copied into the repository): the
    ``real_prices`` setting (``$FABSCOPE_REAL_PRICES``), else ``../shared/data/real-prices`` beside the
    checkout (where CI lays it); the test is skipped when neither exists."""
    from fabscope.settings import get_settings

    folder = get_settings().real_prices or REPO.parent / "shared" / "data" / "real-prices"
    if not folder.is_dir():
        pytest.skip(f"real price exports not present at {folder}")
    return folder


def _history_only(path: Path) -> None:
    import polars as pl

    from pipelines.warehouse import Warehouse, replace_rows

    history = pl.read_csv(
        REPO / "pipelines" / "reference" / "substitution_history.csv", infer_schema_length=0
    ).with_columns(pl.col("year").cast(pl.Int32), pl.col("domestic_share").cast(pl.Float64))
    observations = pl.read_csv(
        REPO / "pipelines" / "reference" / "observations.csv", infer_schema_length=0
    ).with_columns(
        pl.col("year").cast(pl.Int32), pl.col("value").cast(pl.Float64), pl.col("published").str.to_date()
    )
    with Warehouse(path).write() as con:
        replace_rows(con, "substitution_history", history)
        replace_rows(con, "observations", observations)


@pytest.fixture
def history_db(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A private warehouse holding only the bundled ``substitution_history`` and ``observations`` rows."""
    target = tmp_path / "w.duckdb"
    shutil.copyfile(_build_once(tmp_path_factory, "history", _history_only), target)
    return target


_READER = textwrap.dedent("""
    import os, sys, duckdb
    path, sql, stop_file, out = sys.argv[1:5]
    ok = fail = 0
    states, errors = set(), []
    while not os.path.exists(stop_file):
        try:
            con = duckdb.connect(path, read_only=True)
            try:
                state, consistent = con.execute(sql).fetchall()[0]
            finally:
                con.close()
            if not consistent:
                raise AssertionError(f"inconsistent state {state!r}")
            states.add(state)
            ok += 1
        except Exception as exc:
            fail += 1
            errors.append(repr(exc))
    open(out, "w").write(f"{ok} {fail} {len(states)}\\n" + "\\n".join(errors[:5]))
""")


@dataclass
class ReaderReport:
    """What a reader process saw: reads that worked, reads that failed, distinct states, first errors."""

    ok: int = 0
    fail: int = 0
    states: int = 0
    errors: str = ""


@pytest.fixture(scope="session")
def reading_in():
    """``with reading_in(folder)(db, sql) as seen:`` ``concurrent_reader`` with its files in ``folder``
    (for session fixtures, which have no ``tmp_path``)."""
    return _concurrent_reader


@pytest.fixture
def concurrent_reader(tmp_path: Path):
    """``with concurrent_reader(db, sql) as seen:`` a separate process reads ``db`` read-only in a loop
    while the block runs; ``sql`` returns one row ``(state, consistent)``. After the block, ``seen``
    (a ``ReaderReport``) says how many reads worked and failed (an exception or an inconsistent row)."""
    return _concurrent_reader(tmp_path)


def _concurrent_reader(tmp_path: Path):
    @contextlib.contextmanager
    def run(db: Path, sql: str):
        stop, out = tmp_path / "reader.stop", tmp_path / "reader.out"
        reader = subprocess.Popen([sys.executable, "-c", _READER, str(db), sql, str(stop), str(out)])
        seen = ReaderReport()
        try:
            yield seen
        finally:
            stop.touch()
            reader.wait(timeout=60)
        counts, *errors = out.read_text().splitlines()
        seen.ok, seen.fail, seen.states = (int(x) for x in counts.split())
        seen.errors = "\n".join(errors)

    return run
