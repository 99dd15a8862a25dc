"""Analyst tools in a real headless Chromium (one server and browser for the module): every page's state
round-trips through its link, the Market page's terminal tools, the LLM calculator's memory fit and
validation error, the Forecasts page's tornado, P(share > x) and metric toggle, server-side PNG export.

Same skip rules as ``test_dashboard_browser`` (whose helpers it uses).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import polars as pl
import pytest

from app import queries as q
from tests.browser import test_dashboard_browser as base

# func_only: the shared warehouse build (a session fixture, minutes on a loaded machine) is not this test's time
pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.timeout(240, func_only=True),
]
_visit, _wait_rendered, _severe, _trace_names = (
    base._visit,
    base._wait_rendered,
    base._severe,
    base._trace_names,
)

LINKS = {  # page -> (share link id, a state to open it with)
    "/market": (
        "market-share",
        {
            "tickers": "NVDA,AMD",
            "mode": "drawdown",
            "bench": "000300.SS",
            "cats": "entity_list",
            "show": "events",
        },
    ),
    "/policy": ("policy-share", {"cats": "entity_list,fdp_rule", "entities": "", "start": "2020-01-01"}),
    "/capacity": (
        "capacity-share",
        {"dimension": "country", "bars": "count", "layers": "96", "wspm": "20000"},
    ),
    "/hardware": (
        "hardware-share",
        {"systems": "cloudmatrix-384,gb200-nvl72", "power": "system", "batch": "64", "phase": "prefill"},
    ),
    "/forecasts": ("forecast-share", {"segment": "wfe", "metric": "units", "x": "30", "year": "2028"}),
}


def _link_state(dash_duo, ident: str, expected: dict[str, str], timeout: float = 20) -> dict[str, str]:
    """The query of the page's share link once it holds every ``expected`` pair and has settled (the same
    for three polls: late callbacks such as the event-study window have written theirs)."""
    deadline = time.time() + timeout
    state: dict[str, str] = {}
    seen: list[dict[str, str]] = []
    while time.time() < deadline:
        href = dash_duo.find_element(f"#{ident}").get_attribute("href") or ""
        state = dict(parse_qsl(urlsplit(href).query, keep_blank_values=True))
        seen = [*seen[-2:], state]
        if expected.items() <= state.items() and len(seen) == 3 and seen[0] == seen[1] == seen[2]:
            return state
        time.sleep(0.3)
    raise AssertionError(f"{ident} never held {expected}; last {state}")


def test_every_pages_state_round_trips_through_its_link(dash_app) -> None:
    from urllib.parse import urlencode

    for path, (ident, state) in LINKS.items():
        dash_app.driver.get(f"{dash_app.server_url}{path}?{urlencode(state)}")
        first = _link_state(dash_app, ident, state)  # restored into the controls, written back into the link
        assert dash_app.find_element(f"#{ident}-copy")  # the copy-link control beside it
        dash_app.driver.get(dash_app.find_element(f"#{ident}").get_attribute("href"))
        assert _link_state(dash_app, ident, state) == first, path  # the link reopens the same view
        assert _severe(dash_app) == [], f"console errors on {path}: {_severe(dash_app)}"


def _layout(dash_duo, graph_id: str, expr: str):
    return dash_duo.driver.execute_script(
        f"const g = document.querySelector('#{graph_id} .js-plotly-plot'); return g && g.layout ? {expr} : null;"
    )


def _wait_for(check, timeout: float = 20, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} never held")


def test_market_presets_drawdown_relative_events_and_price_reaction(dash_app, app_db: Path) -> None:
    from app.dashboard.pages import market_tools as tools

    rng = q.price_range(app_db).frame
    first, last = rng.item(0, "first"), rng.item(0, "last")
    _visit(dash_app, "/market")
    graph = "market-performance-graph"
    assert _layout(dash_app, graph, "g.layout.hovermode") == "x unified"
    # clicking an event marker shows the stored reaction (the H20 licence event of 2025-04-15)
    h20 = "2025-04-15-nvidia-8k-h20-licence"
    stored = q.event_study(app_db, h20).frame.filter(
        (pl.col("ticker") == "NVDA") & (pl.col("window") == "[-1,+1]")
    )
    dash_app.driver.execute_script(
        "const g = document.querySelector('#market-performance-graph .js-plotly-plot');"
        "const c = g.data.findIndex(t => (t.customdata || []).includes(arguments[0]));"
        "g.emit('plotly_click', {points: [{curveNumber: c, pointNumber: g.data[c].customdata.indexOf(arguments[0])}]});",
        h20,
    )
    dash_app.wait_for_element("#market-reaction-table", timeout=20)
    table = dash_app.find_element("#market-reaction-table").text
    assert "NVDA" in table and f"{stored['car'][0]:+.2%}".replace("-", "\u2212") in table  # d3's minus sign
    dash_app.wait_for_contains_text("#market-event", "2025-04-15", timeout=15)  # the event-study card follows
    next(e for e in dash_app.find_elements("#market-range label") if e.text.strip() == "1Y").click()
    start = tools.preset_range("1Y", first, last)[0].isoformat()
    _wait_for(
        lambda: dash_app.find_element("#market-share").get_attribute("href").count(f"start={start}"),
        what="1Y",
    )

    next(e for e in dash_app.find_elements("#market-mode label") if "drawdown" in e.text).click()
    _wait_for(
        lambda: "drawdown" in (_layout(dash_app, graph, "g.layout.yaxis.title.text") or ""), what="drawdown"
    )
    worst = dash_app.driver.execute_script(
        f"const g = document.querySelector('#{graph} .js-plotly-plot');"
        "return Math.max(...g._fullData.filter(t => t.mode === 'lines').flatMap(t => Array.from(t.y)));"
    )
    assert worst <= 1e-9  # a drawdown never exceeds its running peak

    next(e for e in dash_app.find_elements("#market-mode label") if "relative" in e.text).click()
    _wait_for(
        lambda: "relative to ^SOX" in (_layout(dash_app, graph, "g.layout.yaxis.title.text") or ""),
        what="rel",
    )

    events = lambda: [n for n in _trace_names(dash_app, graph) if n.startswith("▼")]  # noqa: E731
    before = _wait_for(events, what="event markers")
    category = before[0][2:].replace(" ", "_")
    box = next(e for e in dash_app.find_elements("#market-event-cats label") if e.text.strip() == category)
    box.click()
    _wait_for(lambda: before[0] not in events(), what="category filtered out")

    assert _severe(dash_app) == []


def test_llm_calculator_shows_memory_fit_and_validation_error(dash_app) -> None:
    from hardware_sim.accelerators.validation import validate

    _visit(dash_app, "/hardware")
    dash_app.wait_for_contains_text("#llm-answer", "memory fit", timeout=20)
    text = dash_app.find_element("#llm-answer").text
    serving = validate()["summary"]["serving"]
    assert f"±{serving['plain']['geo_mean_error_pct']:.0f}%" in text and "leave-one-source-out" in text
    assert "GB usable HBM per chip" in text and ("fits" in text)


def test_forecasts_tornado_exceedance_and_metric_toggle(dash_app, app_db: Path) -> None:
    from app.dashboard.pages import forecasts_analysis as fa

    runs = q.scenario_runs(app_db, "units")
    base_id = runs.frame.filter(pl.col("name") == "baseline")["scenario_id"][0]
    _visit(dash_app, "/forecasts")
    _wait_rendered(dash_app, "forecast-tornado-graph")
    expected = fa.statements(
        fa.exceedance(str(app_db), base_id, "ai_accelerators", 0.5).filter(pl.col("year") == 2030),
        "ai_accelerators",
        base_id,
    )[0]
    dash_app.wait_for_contains_text("#forecast-exceedance", expected, timeout=30)
    bars = _layout(dash_app, "forecast-tornado-graph", "g.data[0].x.length")
    assert bars and bars > 0
    next(e for e in dash_app.find_elements("#forecast-metric label") if "H100" in e.text).click()
    _link_state(
        dash_app, "forecast-share", {"metric": "h100e", "runs": ""}
    )  # no h100e run stored: none listed
    dash_app.wait_for_contains_text("#forecast-tornado-graph", "pick a stored run", timeout=15)
    assert _severe(dash_app) == []


def test_server_side_png_export_carries_title_sources_and_sample_mark(dash_app) -> None:
    from app.dashboard import exports as ex

    if importlib.util.find_spec("kaleido") is None:
        if base.REQUIRE:
            pytest.fail("FABSCOPE_REQUIRE_BROWSER=1 but kaleido is not installed")
        pytest.skip("kaleido not installed")
    folder = Path(dash_app.download_path)
    _visit(dash_app, "/market")
    dash_app.find_element("#market-performance-export-png").click()
    name = ex.export_filename("Normalised performance (USD)", "png")
    target = folder / name
    _wait_for(
        lambda: target.is_file() and not list(folder.glob("*.crdownload")), timeout=60, what="PNG download"
    )
    png = target.read_bytes()
    meta = ex.png_text(png)
    assert png.startswith(b"\x89PNG") and meta["Title"] == "Normalised performance (USD)"
    assert meta["Source"].startswith("Sources:") and meta["Sample data"].startswith("yes")
