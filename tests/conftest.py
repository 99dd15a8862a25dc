"""Shared fixtures: an isolated Dagster instance and one fully refreshed warehouse per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="fabscope-tests-"))
os.environ["DAGSTER_HOME"] = str(_SESSION_DIR / "dagster")
(_SESSION_DIR / "dagster").mkdir(parents=True, exist_ok=True)
(_SESSION_DIR / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
os.environ.pop("FABSCOPE_DB", None)
os.environ.pop("FABSCOPE_REFERENCE_DIR", None)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def refreshed_db() -> Path:
    """A warehouse refreshed from the bundled data (sample prices) by the real Dagster definitions.

    Shared by the whole session: treat it as read-only (copy it to tmp_path before writing).
    """
    from app.cli_data import run_refresh

    db = _SESSION_DIR / "warehouse" / "fabscope.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    assert run_refresh(db), "the bundled-data refresh failed (see the progress lines above)"
    return db


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


@pytest.fixture
def history_db(tmp_path: Path) -> Path:
    """A fresh warehouse holding only the bundled ``substitution_history`` and ``observations`` rows."""
    import polars as pl

    from pipelines.warehouse import Warehouse, replace_rows

    path = tmp_path / "w.duckdb"
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
    return path
