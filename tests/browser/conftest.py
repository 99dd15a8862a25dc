"""Every test in tests/browser is a browser test (headless Chromium), whatever its module says.

Fixtures shared by the browser modules: one private copy of the refreshed warehouse and one dashboard
server + Chromium per module (``dash_app``; starting them per test cost seconds each), reset between
tests (window size, console log); ``dash_duo`` stays available for a test that needs its own app.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
WINDOW = (1440, 2200)
"""Window size every browser test starts from (CSS px)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _headless(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("headless")) or not os.environ.get("DISPLAY")


@pytest.fixture(autouse=True)
def _headless_without_display(request: pytest.FixtureRequest) -> None:
    """Plain ``pytest`` on a machine without a display still runs Chromium headless (``dash_duo``)."""
    if _headless(request):
        request.config.option.headless = True


@pytest.fixture(scope="module")
def app_db(refreshed_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the refreshed warehouse for the module (rerun tests write to it)."""
    target = tmp_path_factory.mktemp("warehouse") / "fabscope.duckdb"
    shutil.copyfile(refreshed_db, target)
    return target


@pytest.fixture(scope="module")
def _module_app(request: pytest.FixtureRequest, app_db: Path, tmp_path_factory: pytest.TempPathFactory):
    from dash.testing.application_runners import ThreadedRunner
    from dash.testing.composite import DashComposite

    from app.dashboard.app import create_app

    config = request.config
    with (
        ThreadedRunner() as runner,
        DashComposite(
            server=runner,
            browser=config.getoption("webdriver"),
            remote=config.getoption("remote"),
            remote_url=config.getoption("remote_url"),
            headless=_headless(request),
            options=config.hook.pytest_setup_options(),
            download_path=str(tmp_path_factory.mktemp("download")),
            percy_assets_root=config.getoption("percy_assets"),
            percy_finalize=config.getoption("nopercyfinalize"),
            pause=False,
        ) as duo,
    ):
        duo.start_server(create_app(str(app_db)))
        yield duo


@pytest.fixture
def dash_app(_module_app):
    """The module's dashboard in Chromium, at the standard window size with an empty console log."""
    _module_app.driver.set_window_size(*WINDOW)
    _module_app.get_logs()  # drain what earlier tests left
    return _module_app
