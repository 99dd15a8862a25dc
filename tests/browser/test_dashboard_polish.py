"""Analyst-facing polish in a real headless Chromium (dash_duo): safe exports, page language, layout width.

Shares the fixtures and helpers of ``test_dashboard_browser`` (same skip rules); screenshots go under
each test's tmp dir.
"""

from __future__ import annotations

import urllib.parse

from app.dashboard import exports as ex
from tests.browser import test_dashboard_browser as base

PAGES, _visit, _wait_rendered = base.PAGES, base._visit, base._wait_rendered
pytestmark = base.pytestmark


def test_no_cloud_share_and_exported_image_carries_title_sources_and_sample_mark(dash_app) -> None:
    _visit(dash_app, "/market")
    driver = dash_app.driver
    buttons = driver.execute_script(
        "return [...document.querySelectorAll('#market-performance-graph .modebar-btn')]"
        ".map(b => b.getAttribute('data-title'));"
    )
    assert "Download plot as a PNG" in buttons
    assert not [b for b in buttons if "Cloud" in (b or "") or "Chart Studio" in (b or "")]
    assert not driver.find_elements("css selector", ".modebar-btn--logo, a[href*='plotly.com']")
    svg = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const g = document.querySelector('#market-performance-graph .js-plotly-plot');"
        "Plotly.toImage(g, {format: 'svg', width: 900, height: 500}).then(done);"
    )
    text = urllib.parse.unquote(svg)
    assert "Normalised performance" in text and "Sources:" in text
    assert ex.SAMPLE_WATERMARK.split(" — ")[0] in text  # the test warehouse draws sample prices


def test_page_language_active_nav_and_labelled_charts(dash_app) -> None:
    _visit(dash_app, "/market")
    driver = dash_app.driver
    assert driver.execute_script("return document.documentElement.lang") == "en"
    dash_app.wait_for_element(".nav-link.active")
    active = [e.text for e in driver.find_elements("css selector", ".nav-link.active")]
    assert active == ["Market"]
    labels = driver.execute_script(
        "return [...document.querySelectorAll('[role=img][aria-label]')].map(e => e.getAttribute('aria-label'));"
    )
    assert any("Normalised performance" in label for label in labels)


def test_no_horizontal_overflow_at_500_and_1600_px(dash_app, tmp_path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    driver = dash_app.driver
    wide = {}
    for width in (500, 1600):
        driver.set_window_size(width, 1400)
        for path in PAGES:
            _visit(dash_app, path)
            sizes = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
            wide[(width, path)] = sizes
            name = "overview" if path == "/" else path.strip("/")
            driver.save_screenshot(str(shots / f"{name}-{width}.png"))
    assert {k: v for k, v in wide.items() if v[0] > v[1]} == {}
    assert len(list(shots.iterdir())) == 2 * len(PAGES)
    driver.set_window_size(500, 1400)
    assert not dash_app.find_element("#nav-links").is_displayed()  # collapsed behind the menu button
    dash_app.find_element("#nav-toggle").click()
    dash_app.wait_for_element("#nav-links.open")
    assert dash_app.find_element("#nav-links").is_displayed()


def test_unchanged_baseline_rerun_reproduces_the_stored_baseline_and_draws_the_difference(
    dash_app, app_db
) -> None:
    import polars as pl

    from app import queries as q
    from app.dashboard.pages.forecasts_views import baseline_run_id, editor_defaults

    runs = q.scenario_runs(app_db)
    seed, paths = editor_defaults(runs, 2000)
    base = baseline_run_id(runs)
    _visit(dash_app, "/forecasts")
    assert dash_app.find_element("#editor-seed").get_attribute("value") == str(seed)
    assert dash_app.find_element("#editor-paths").get_attribute("value") == str(paths)
    dash_app.wait_for_contains_text("#editor-check", "valid scenario", timeout=15)
    dash_app.find_element("#editor-run").click()
    dash_app.wait_for_element("#editor-done", timeout=200)
    run_id = dash_app.find_element("#editor-done code").text
    cols = ["segment", "year", "model", "p10", "p50", "p90"]
    stored = q.substitution_forecast(app_db, [base, run_id]).frame
    mine = stored.filter(pl.col("scenario_id") == run_id).select(cols).sort(cols[:3])
    theirs = stored.filter(pl.col("scenario_id") == base).select(cols).sort(cols[:3])
    assert mine.height and mine.equals(theirs)  # common random numbers: exactly the stored baseline
    dash_app.wait_for_contains_text("#forecast-diff-note", "common random numbers", timeout=60)
    diff = dash_app.driver.execute_script(
        "const g = document.querySelector('#forecast-diff-graph .js-plotly-plot');"
        "return g.data.filter(t => (t.name || '').startsWith('paired p50')).map(t => t.y);"
    )
    assert diff and all(v == 0 for v in diff[0])


def test_systems_table_and_backtest_scores_show_the_stored_rows(dash_app, app_db) -> None:
    import polars as pl

    from app import queries as q

    _visit(dash_app, "/hardware")
    dash_app.wait_for_element("#hw-systems-table", timeout=20)
    text = dash_app.find_element("#hw-systems-table").text
    assert "cloudmatrix-384" in text and "gb200-nvl72" in text and "BF16 PFLOP/S" in text.upper()
    stored = q.system_perf(app_db).frame.filter(pl.col("id") == "gb200-nvl72")["power_kw"][0]
    assert f"{stored:,.2f}" in text
    _visit(dash_app, "/forecasts")
    dash_app.wait_for_element("#forecast-backtest-table", timeout=20)
    assert "beats last value" in dash_app.find_element("#forecast-backtest-table").text or (
        "worse than last value" in dash_app.find_element("#forecast-backtest-table").text
    )


def test_forecasts_state_round_trips_through_the_url(dash_app) -> None:
    driver = dash_app.driver
    driver.get(dash_app.server_url + "/forecasts?segment=hbm&model=gompertz")
    _wait_rendered(dash_app, "forecast-fan-graph")
    dash_app.wait_for_contains_text("#forecast-segment", "HBM", timeout=15)
    dash_app.wait_for_contains_text("#forecast-model", "gompertz", timeout=15)
    dash_app.wait_for_element("#forecast-share[href*='segment=hbm']", timeout=15)
    href = dash_app.find_element("#forecast-share").get_attribute("href")
    assert "model=gompertz" in href and "runs=" in href
    driver.get(href)  # the link reopens the same view
    _wait_rendered(dash_app, "forecast-fan-graph")
    dash_app.wait_for_contains_text("#forecast-segment", "HBM", timeout=15)
    dash_app.wait_for_contains_text("#forecast-model", "gompertz", timeout=15)
