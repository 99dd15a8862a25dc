"""Fixtures of the dashboard view tests: query results built from frames, and the page modules as Dash
loads them on a warehouse."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

from app import queries as q

PAGE_NAMES = ("overview", "market", "policy", "capacity", "hardware", "forecasts")


@pytest.fixture
def qr() -> Callable[..., q.QueryResult]:
    """``qr(frame, sources=("test",))``: a query result holding ``frame``."""

    def make(frame: pl.DataFrame, sources: tuple[str, ...] = ("test",)) -> q.QueryResult:
        return q.QueryResult(frame, None, sources)

    return make


@pytest.fixture
def empty() -> Callable[..., q.QueryResult]:
    """``empty(reason)``: a query result with no rows and the reason why."""

    def make(reason: str = "no data yet — run `fabscope refresh`") -> q.QueryResult:
        return q.QueryResult(pl.DataFrame(), reason)

    return make


def _load_pages(db: str | Path) -> dict[str, ModuleType]:
    from app.dashboard.app import create_app

    create_app(str(db))
    return {name: sys.modules[f"pages.{name}"] for name in PAGE_NAMES}


@pytest.fixture
def pages_on() -> Callable[[str | Path], dict[str, ModuleType]]:
    """``pages_on(db)``: build the dashboard on warehouse ``db``; its page modules (as Dash imports them)."""
    return _load_pages


@pytest.fixture
def pages(refreshed_db: Path) -> dict[str, ModuleType]:
    """The page modules of an app reading the refreshed warehouse."""
    return _load_pages(refreshed_db)
