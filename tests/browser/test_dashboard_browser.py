"""The dashboard in a real headless Chromium (dash_duo): pages, picker, calculators, a stored rerun.

Run with ``pytest --headless``. Skipped when chromium/chromedriver are missing, unless
``FABSCOPE_REQUIRE_BROWSER=1`` (CI), in which case a missing browser fails the tests.
Screenshots of every page are saved under each test's tmp dir.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from app import queries as q
from fabscope.settings import get_settings

REQUIRE = get_settings().require_browser
_HAVE_BROWSER = bool(shutil.which("chromedriver")) and bool(
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)

if not _HAVE_BROWSER:
    if REQUIRE:
        pytest.fail("FABSCOPE_REQUIRE_BROWSER=1 but chromium/chromedriver are not installed", pytrace=False)
    pytest.skip(
        "chromium/chromedriver not installed (set FABSCOPE_REQUIRE_BROWSER=1 to fail instead)",
        allow_module_level=True,
    )

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.timeout(240)]

PAGES = {  # path -> graphs that must render on load
    "/": ["overview-race-graph"],
    "/market": ["market-performance-graph", "market-car-graph"],
    "/policy": ["policy-timeline-graph"],
    "/capacity": [
        "cap-capacity-graph",
        "cap-tools-graph",
        "cap-supply-graph",
        "cap-etch-graph",
        "cap-fab-graph",
    ],
    "/hardware": ["hw-chips-graph", "hw-power-graph", "hw-perfw-graph", "hw-llm-graph"],
    "/forecasts": ["forecast-fan-graph", "forecast-overlay-graph", "forecast-compare-graph"],
}


def _severe(dash_duo) -> list[dict]:
    return [e for e in dash_duo.get_logs() if e.get("level") == "SEVERE"]


def _trace_names(dash_duo, graph_id: str) -> list[str]:
    return dash_duo.driver.execute_script(
        "const g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return g && g.data ? g.data.map(t => t.name || '') : null;",
        f"#{graph_id}",
    )


def _wait_rendered(dash_duo, graph_id: str, timeout: float = 20) -> None:
    """Wait until Plotly has drawn the graph (data or an explanatory annotation)."""
    dash_duo.wait_for_element(f"#{graph_id} .main-svg", timeout=timeout)
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = dash_duo.driver.execute_script(
            "const g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
            "if (!g || !g.layout) return null;"
            "const ann = (g.layout.annotations || []).map(a => a.text);"
            "return {n: (g.data || []).length, ann: ann};",
            f"#{graph_id}",
        )
        if state and (state["n"] > 0 or any(a and a != "loading…" for a in state["ann"])):
            return
        time.sleep(0.1)
    raise AssertionError(f"graph {graph_id} never rendered")


def _visit(dash_duo, path: str) -> None:
    dash_duo.driver.get(dash_duo.server_url + path)
    for graph in PAGES[path]:
        _wait_rendered(dash_duo, graph)


def test_every_page_loads_renders_its_charts_without_console_errors(dash_app, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    for path, graphs in PAGES.items():
        _visit(dash_app, path)
        assert dash_app.find_element(".navbar")
        for graph in graphs:
            assert dash_app.find_element(f"#{graph} .main-svg")
        assert "Traceback" not in dash_app.driver.page_source
        time.sleep(0.3)  # let late callbacks settle before reading the console
        assert _severe(dash_app) == [], f"console errors on {path}: {_severe(dash_app)}"
        name = "overview" if path == "/" else path.strip("/")
        dash_app.driver.save_screenshot(str(shots / f"{name}.png"))
    assert sorted(p.name for p in shots.iterdir()) == sorted(
        f"{'overview' if p == '/' else p.strip('/')}.png" for p in PAGES
    )


def test_pages_have_csv_and_sources_controls(dash_app) -> None:
    _visit(dash_app, "/hardware")
    buttons = dash_app.find_elements("button[id*='csv-button']")
    sources = dash_app.find_elements("details.sources summary")
    assert len(buttons) == len(PAGES["/hardware"]) and len(sources) == len(PAGES["/hardware"])
    dash_app.find_elements("details.sources summary")[0].click()
    items = dash_app.find_elements("details.sources[open] li")
    assert items and "no sources on screen" not in items[0].text


def test_market_ticker_picker_changes_the_chart(dash_app, app_db: Path) -> None:
    if not q.prices(app_db, ["NVDA", "688256.SS"]).ok:
        message = "the refreshed warehouse holds no prices yet (market group)"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    _visit(dash_app, "/market")
    before = _trace_names(dash_app, "market-performance-graph")
    assert before and any("688256.SS" in n for n in before)
    assert dash_app.find_element(".banner-sample")  # bundled data uses the labelled sample provider
    dash_app.find_element("#market-tickers").click()
    options = dash_app.find_elements(".dash-dropdown-option")
    new = next(o for o in options if not any(o.text.split(" · ")[0] in n for n in before))
    label = new.text.split(" · ")[0]
    new.click()
    deadline = time.time() + 15
    after = before
    while time.time() < deadline and after == before:
        time.sleep(0.2)
        after = _trace_names(dash_app, "market-performance-graph")
    assert after != before and any(label in n for n in after)
    assert _severe(dash_app) == []


def _yaxis_title(dash_duo, graph_id: str) -> str:
    return dash_duo.driver.execute_script(
        "const g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return g && g.layout && g.layout.yaxis && g.layout.yaxis.title ? g.layout.yaxis.title.text : '';",
        f"#{graph_id}",
    )


def test_event_study_summary_shows_the_stored_statistic(dash_app, app_db: Path) -> None:
    """The summary holds the warehouse's cross-section statistics as stored (per group and test method)."""
    h20 = "2025-04-15-nvidia-8k-h20-licence"
    stored = q.event_study_cross_section(app_db, h20)
    if stored.empty:
        if REQUIRE:
            pytest.fail(stored.reason)
        pytest.skip(stored.reason)
    row = next(
        r
        for r in stored.frame.iter_rows(named=True)
        if r["window"] == "[-1,+1]" and r["group"] == "domestic_china" and r["method"] == "bmp_kp"
    )
    _visit(dash_app, "/market")
    dash_app.find_element("#market-event").click()
    option = next(
        o for o in dash_app.find_elements(".dash-dropdown-option") if o.text.startswith("2025-04-15")
    )
    option.click()
    dash_app.wait_for_contains_text("#market-es-table", f"{row['t_stat']:.2f}", timeout=15)
    assert "bmp_kp" in dash_app.find_element("#market-es-method").text
    assert _severe(dash_app) == []


def test_tool_demand_switches_between_additions_and_installed_base(dash_app) -> None:
    _visit(dash_app, "/capacity")
    assert "annual additions" in _yaxis_title(dash_app, "cap-tools-graph")
    label = next(e for e in dash_app.find_elements("#cap-tool-measure label") if "installed base" in e.text)
    label.click()
    deadline = time.time() + 15
    while time.time() < deadline and "installed base" not in _yaxis_title(dash_app, "cap-tools-graph"):
        time.sleep(0.2)
    assert "installed base" in _yaxis_title(dash_app, "cap-tools-graph")
    assert _severe(dash_app) == []


def _retype(dash_duo, input_id: str, value: str, answer_id: str, expected: str) -> tuple[str, str]:
    """Replace the value of ``input_id`` and wait until ``answer_id`` shows ``expected``: (text before, after)."""
    before = dash_duo.find_element(f"#{answer_id}").text
    box = dash_duo.find_element(f"#{input_id}")
    box.clear()
    box.send_keys(f"{value}\n")
    dash_duo.wait_for_contains_text(f"#{answer_id}", expected, timeout=15)
    return before, dash_duo.find_element(f"#{answer_id}").text


def test_calculators_answer(dash_app) -> None:
    _visit(dash_app, "/hardware")
    dash_app.wait_for_contains_text("#llm-answer", "tokens/s per chip", timeout=15)
    first, answer = _retype(dash_app, "llm-batch", "4", "llm-answer", "batch per chip\n4")
    assert answer != first

    _visit(dash_app, "/capacity")
    dash_app.wait_for_contains_text("#etch-answer", "etch time", timeout=15)
    dash_app.wait_for_contains_text("#fab-answer", "tools (all types)", timeout=15)
    before, answer = _retype(dash_app, "fab-wspm", "10000", "fab-answer", "10,000")
    assert answer != before
    assert _severe(dash_app) == []


def test_calculators_refuse_out_of_range_input_beside_the_control(dash_app) -> None:
    """No silent substitution: out-of-range, fractional or empty input shows why next to the box and
    withholds the answer (the browser must not blank the value before the server sees it)."""
    _visit(dash_app, "/capacity")
    dash_app.wait_for_contains_text("#etch-answer", "etch time", timeout=15)
    _retype(dash_app, "etch-chambers", "13", "etch-chambers-msg", "must be in 1..12, got 13")
    dash_app.wait_for_contains_text("#etch-answer", "no answer", timeout=15)
    _retype(dash_app, "etch-chambers", "6", "etch-answer", "6 chamber(s)")
    _retype(dash_app, "etch-layers", "2.5", "etch-layers-msg", "must be a whole number, got 2.5")
    _retype(dash_app, "fab-wspm", "15000001", "fab-wspm-msg", "must be in [0, 15,000,000]")

    _visit(dash_app, "/hardware")
    dash_app.wait_for_contains_text("#llm-answer", "tokens/s per chip", timeout=15)
    _retype(dash_app, "llm-batch", "0", "llm-batch-msg", "must be in 1..65,536, got 0")
    assert "no answer" in dash_app.find_element("#llm-answer").text
    _retype(dash_app, "llm-batch", "", "llm-batch-msg", "a value is required")
    _retype(dash_app, "llm-batch", "4", "llm-answer", "batch per chip\n4")
    assert dash_app.find_element("#llm-batch-msg").text == ""
    assert _severe(dash_app) == []


def test_scenario_rerun_completes_and_appears_in_the_run_list(dash_app, app_db: Path) -> None:
    _visit(dash_app, "/forecasts")
    dash_app.wait_for_contains_text("#editor-check", "valid scenario", timeout=15)
    name = dash_app.find_element("#editor-name")
    name.clear()
    name.send_keys("browser-run\n")
    paths = dash_app.find_element("#editor-paths")
    paths.clear()
    paths.send_keys("200")
    dash_app.wait_for_contains_text("#editor-check", "browser-run", timeout=15)
    dash_app.find_element("#editor-run").click()
    dash_app.wait_for_element("#editor-done", timeout=120)
    run_id = dash_app.find_element("#editor-done code").text
    assert run_id.startswith("browser-run-")
    dash_app.wait_for_contains_text("#runs-list", run_id, timeout=20)
    assert "stored run" in dash_app.find_element("#editor-status").text
    assert run_id in q.scenario_runs(app_db).frame["scenario_id"].to_list()
    _wait_rendered(dash_app, "forecast-overlay-graph")
    deadline = time.time() + 15
    names: list[str] = []
    while time.time() < deadline and run_id not in names:
        names = _trace_names(dash_app, "forecast-overlay-graph") or []
        time.sleep(0.2)
    assert run_id in names
    assert _severe(dash_app) == []


def _wait_download(folder: Path, name: str, timeout: float = 20) -> str:
    """Text of ``folder/name`` once Chromium has finished writing it."""
    target = folder / name
    deadline = time.time() + timeout
    while time.time() < deadline:
        if target.is_file() and not list(folder.glob("*.crdownload")):
            text = target.read_text(encoding="utf-8")
            if text:
                return text
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded; {sorted(p.name for p in folder.iterdir())}")


def test_download_csv_saves_the_rows_behind_the_chart(dash_app, app_db: Path) -> None:
    from app.dashboard import components as ui
    from app.dashboard.pages import capacity_views

    folder = Path(dash_app.download_path)
    _visit(dash_app, "/capacity")
    dash_app.find_element("#cap-capacity-card button[id*='csv-button']").click()
    got = _wait_download(folder, "fabscope-cap-capacity.csv")
    expected = ui.frame_csv(capacity_views.capacity_view(q.fab_capacity(app_db), "company", [], []).frame)
    assert got == expected and got.startswith("company,fab,country,")

    _visit(dash_app, "/")  # a static card: rows and sources come with the layout
    dash_app.find_element("#overview-race-card button[id*='csv-button']").click()
    race = _wait_download(folder, "fabscope-overview-race.csv")
    lines = race.splitlines()
    assert lines[0].startswith("date,ticker,close_usd,index,provider") and len(lines) > 100
    assert {line.split(",")[1] for line in lines[1:]} <= {"688256.SS", "NVDA"}
    dash_app.find_element("#overview-race-card details.sources summary").click()
    assert (
        "no sources on screen" not in dash_app.find_element("#overview-race-card details.sources[open]").text
    )
    assert _severe(dash_app) == []


def test_market_csv_is_built_on_click_at_full_resolution(dash_app, app_db: Path) -> None:
    """The performance card ships a CSV request, not the rows: the server builds them when clicked."""
    import sys

    from app.dashboard import components as ui
    from app.dashboard.pages import market_views as mv

    folder = Path(dash_app.download_path)
    _visit(dash_app, "/market")
    dash_app.find_element("#market-performance-card button[id*='csv-button']").click()
    got = _wait_download(folder, "fabscope-market-performance.csv")
    rng = q.price_range(app_db)
    start, end = mv.default_range(rng.frame.item(0, "first"), rng.frame.item(0, "last"))
    tickers = [t for t in mv.DEFAULT_TICKERS if t in mv.ticker_labels(q.tickers(app_db).frame)]
    view, _banner = sys.modules["pages.market"].performance(str(app_db), tickers, start, end, ["events"])
    assert got == ui.frame_csv(view.frame) and got.startswith("date,ticker,close_usd,index,provider")
    assert _severe(dash_app) == []


def test_broken_and_oversized_uploads_are_refused_with_a_message(dash_app, tmp_path: Path) -> None:
    from app.dashboard import scenario_edit as se

    _visit(dash_app, "/forecasts")
    dash_app.wait_for_contains_text("#editor-check", "valid scenario", timeout=15)
    good = se.build_scenario_yaml("baseline.yaml", "uploaded-run", {})
    files = tmp_path / "uploads"
    files.mkdir()
    cases = [
        ("big.yaml", good + "#" * se.MAX_UPLOAD_BYTES, "limit"),
        ("notes.txt", good, "expected a .yaml"),
        ("broken.yaml", "name: [unclosed\nhorizon: {start_year: 2025\n", "broken.yaml"),
        ("fine.yaml", good, "valid scenario"),
    ]
    for name, text, expected in cases:
        path = files / name
        path.write_text(text, encoding="utf-8")
        dash_app.find_element("#editor-upload input[type=file]").send_keys(str(path))
        dash_app.wait_for_contains_text("#editor-upload-msg", expected, timeout=15)
        assert name in dash_app.find_element("#editor-upload-msg").text
    dash_app.wait_for_contains_text("#editor-check", "uploaded-run", timeout=15)
    assert "Traceback" not in dash_app.driver.page_source
    assert _severe(dash_app) == []


def test_every_page_on_a_missing_warehouse_says_how_to_get_data(dash_duo, tmp_path: Path) -> None:
    from app.dashboard.app import create_app

    missing = tmp_path / "nowhere" / "fabscope.duckdb"
    missing.parent.mkdir()
    dash_duo.start_server(create_app(str(missing)))
    for path in PAGES:
        _visit(dash_duo, path)
        assert "Traceback" not in dash_duo.driver.page_source
        assert "fabscope refresh" in dash_duo.find_element(".content").text or path == "/forecasts", path
        time.sleep(0.3)
        assert _severe(dash_duo) == [], f"console errors on {path}: {_severe(dash_duo)}"
    # the chart annotations (in SVG) explain the missing warehouse
    _visit(dash_duo, "/market")
    texts = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('.js-plotly-plot')).map("
        "g => (g.layout.annotations || []).map(a => a.text).join(' '));"
    )
    assert texts and all("no warehouse" in t and "fabscope refresh" in t for t in texts), texts
