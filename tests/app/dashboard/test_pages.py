"""Every page as Dash loads it: layouts, callbacks on the refreshed and on empty warehouses, chart cards,
uploads, request limits, and where the warehouse location lives."""

from __future__ import annotations

import ast
import base64
from pathlib import Path

import pytest

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import scenario_edit as se
from app.dashboard.pages import hardware_views, market_views
from app.dashboard.views_common import View

DASHBOARD = Path(__file__).resolve().parents[3] / "app" / "dashboard"


def test_page_layouts_build_on_the_refreshed_warehouse(pages: dict, refreshed_db: Path) -> None:
    for name, module in pages.items():
        tree = module.layout()
        assert tree is not None, name
        assert "Traceback" not in str(tree)


def test_page_callbacks_on_the_refreshed_warehouse(pages: dict, refreshed_db: Path) -> None:
    db = str(refreshed_db)
    view, _table = pages["policy"].timeline(db, ["entity_list"], True)
    assert view.frame.height > 0 and set(view.frame["category"].to_list()) <= {
        "entity_list",
        "entity_list_addition",
    }
    assert pages["capacity"].capacity(db, "country", None, None).frame.height > 0
    hw_view, answer = pages["hardware"].calculator(
        "cloudmatrix-384", "deepseek-r1", "decode", "fp8", 32, None, 2048, 512
    )
    assert hw_view.frame.height > 0 and answer.id == "llm-answer"
    fan = pages["forecasts"].fan(db, "ai_accelerators", None, "structural")
    assert fan.frame.height > 0
    perf, _banner = pages["market"].performance(
        db, list(market_views.DEFAULT_TICKERS), None, None, ["events"]
    )
    prices = q.prices(refreshed_db, list(market_views.DEFAULT_TICKERS))
    assert (perf.frame.height > 0) == prices.ok  # draws when prices are stored; otherwise says why
    if not prices.ok:
        assert "fabscope refresh" in perf.figure.layout.annotations[0].text


def _tree_nodes(node: object) -> list:
    out: list = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, list | tuple):
            stack.extend(n)
        elif hasattr(n, "to_plotly_json"):
            out.append(n)
            stack.append(getattr(n, "children", None))
    return out


def _card_names(tree: object) -> list[str]:
    return [
        n.id[: -len("-card")]
        for n in _tree_nodes(tree)
        if isinstance(getattr(n, "id", None), str)
        and n.id.endswith("-card")
        and any(type(c).__name__ == "Graph" for c in _tree_nodes(n.children))
    ]


def test_every_chart_on_every_page_has_csv_and_sources(pages: dict, refreshed_db: Path) -> None:
    """Each chart card carries Download CSV + Sources, and a callback (or the layout) fills all three."""
    from dash._callback import GLOBAL_CALLBACK_MAP

    outputs = " ".join(GLOBAL_CALLBACK_MAP)
    seen = {}
    for name, module in pages.items():
        tree = module.layout()
        nodes = _tree_nodes(tree)
        graphs = [n.id for n in nodes if type(n).__name__ == "Graph"]
        cards = _card_names(tree)
        assert sorted(graphs) == sorted(f"{c}-graph" for c in cards), f"{name}: a chart outside a chart card"
        for card in cards:
            ids = [getattr(n, "id", None) for n in nodes]
            assert {"type": "csv-button", "card": card} in ids and {
                "type": "csv-download",
                "card": card,
            } in ids
            assert ui.csv_store_id(card) in ids and ui.sources_id(card) in ids
            wired = f"{card}-graph.figure" in outputs
            if wired:  # the page callback sets figure, CSV and sources together
                assert f'"card":"{card}","type":"csv-data"' in outputs.replace(" ", ""), card
                assert f'"card":"{card}","type":"sources"' in outputs.replace(" ", ""), card
            else:  # static card (Overview): its CSV and sources come with the layout
                store = next(n for n in nodes if getattr(n, "id", None) == ui.csv_store_id(card))
                assert store.data, f"{card}: static chart without CSV rows"
        seen[name] = cards
    assert all(seen.values()), seen


def _views_of_every_callback(pages: dict, db: str) -> dict[str, View]:
    """What each chart's callback draws with the layout's default inputs."""
    m, p, c, f = (pages[n] for n in ("market", "policy", "capacity", "forecasts"))
    ev = q.event_study_events(db)
    _table, _opts, a, b, _fan_opts, fan_ids = f.run_list(db)
    chips = list(hardware_views.DEFAULT_CHIPS)
    systems = list(hardware_views.DEFAULT_SYSTEMS)
    return {
        "market-performance": m.performance(
            db, list(market_views.DEFAULT_TICKERS) if q.tickers(db).ok else [], None, None, ["events"]
        )[0],
        "market-car": m.event_study(db, ev.frame["event_id"][0] if ev.ok else None, None)[0],
        "policy-timeline": p.timeline(db, q.export_control_categories(db), True)[0],
        "cap-capacity": c.capacity(db, "company", [], []),
        "cap-tools": c.tool_demand(db, None),
        "cap-supply": c.tool_supply(db, None),
        "hw-chips": hardware_views.chip_compare_view(q.chip_specs(db), chips, "bf16_tflops"),
        "hw-power": hardware_views.power_view(q.system_perf(db), systems, per_chip=True),
        "hw-perfw": hardware_views.perf_per_watt_view(q.system_perf(db), systems),
        "forecast-fan": f.fan(db, "ai_accelerators", fan_ids, "structural"),
        "forecast-compare": f.compare(db, a, b, "ai_accelerators"),
    }


@pytest.mark.parametrize("kind", ["missing", "bare"])
def test_every_page_on_an_empty_warehouse_says_what_is_missing(pages_on, tmp_path: Path, kind: str) -> None:
    """No warehouse file, or a file without tables: every chart explains itself; no traceback, no blank."""
    import duckdb

    db = tmp_path / "fabscope.duckdb"
    if kind == "bare":
        duckdb.connect(str(db)).close()
    pages = pages_on(db)
    for name, module in pages.items():
        text = str(module.layout())
        assert "Traceback" not in text, name
    for card, view in _views_of_every_callback(pages, str(db)).items():
        assert not view.figure.data, card
        message = view.figure.layout.annotations[0].text
        assert "fabscope refresh" in message, f"{card}: {message!r} does not say how to get the data"
        assert ("no warehouse" in message) if kind == "missing" else ("missing" in message), card
        _fig, csv, sources = view.card_outputs
        assert csv == "" and sources
    overview = str(pages["overview"].layout())
    assert overview.count("fabscope refresh") >= 5  # race chart + every headline figure


def test_cleared_pickers_ask_for_a_pick(pages: dict, refreshed_db: Path) -> None:
    db = str(refreshed_db)
    assert (
        "pick at least one scenario run"
        in pages["forecasts"].fan(db, "wfe", [], None).figure.layout.annotations[0].text
    )
    assert "pick an event" in pages["market"].event_study(db, None, None)[0].figure.layout.annotations[0].text


def test_oversized_or_wrong_uploads_reach_the_server_and_get_a_message(
    pages: dict, refreshed_db: Path
) -> None:
    """The browser must not silently drop a bad file: it forwards it and the server explains the refusal."""
    import dash

    upload = next(
        n for n in _tree_nodes(pages["forecasts"].layout()) if getattr(n, "id", None) == "editor-upload"
    )
    assert upload.max_size > se.MAX_UPLOAD_BYTES * 4  # oversized files up to the browser cap are sent...
    assert getattr(upload, "accept", None) is None  # ...and so are wrong types (the server names the problem)
    good = se.build_scenario_yaml("baseline.yaml", "uploaded", {})
    compose = pages["forecasts"].compose
    for contents, name, expected in (
        (_upload(good + "#" * se.MAX_UPLOAD_BYTES), "big.yaml", "limit"),
        (_upload(good), "scenario.txt", ".yaml"),
        (_upload("name: [unclosed\n"), "broken.yaml", "broken.yaml"),
        (_upload(b"\x00\xff binary"), "blob.yaml", "UTF-8"),
    ):
        text, message = compose("baseline.yaml", "x", [], [], contents, name, "editor-upload")
        assert text is dash.no_update and expected in str(message.children), (name, message)
        assert message.className == "error-text"


def test_server_refuses_oversized_requests_and_downloads_clientside(pages: dict, refreshed_db: Path) -> None:
    from app.dashboard.app import MAX_REQUEST_BYTES, create_app

    app = create_app(str(refreshed_db))
    client = app.server.test_client()
    resp = client.post(
        "/_dash-update-component", data=b"x" * (MAX_REQUEST_BYTES + 1), content_type="application/json"
    )
    assert resp.status_code == 413
    # the CSV download runs in the browser: the rows never travel back to the server
    download = [c for c in app._callback_list if "csv-download" in c["output"]]
    assert len(download) == 1 and download[0].get("clientside_function")


def _upload(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return "data:application/x-yaml;base64," + base64.b64encode(raw).decode()


def test_the_warehouse_location_lives_in_the_app_config(refreshed_db: Path, tmp_path: Path) -> None:
    """One place: ``server.config``; two apps on two warehouses each keep their own."""
    from app.dashboard.app import create_app

    other = tmp_path / "other.duckdb"
    first, second = create_app(str(refreshed_db)), create_app(str(other))
    assert ui.current_db() == str(other)  # outside a request: the app last built
    with first.server.app_context():
        assert ui.current_db() == str(refreshed_db)
    with second.server.app_context():
        assert ui.current_db() == str(other)
    assert first.server.config[ui.DB_CONFIG_KEY] == str(refreshed_db)


def _module_level_mutables(path: Path) -> list[str]:
    """Module-level names bound to something other than a constant (UPPER_CASE) or a type alias, and
    ``global`` statements anywhere: the dashboard keeps no state of its own between requests."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [f"{path.name}:{n.lineno} global" for n in ast.walk(tree) if isinstance(n, ast.Global)]
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        for t in targets:
            if isinstance(t, ast.Name) and not t.id.lstrip("_")[:1].isupper():
                found.append(f"{path.name}:{node.lineno} {t.id}")
    return found


def test_no_module_global_state_in_the_dashboard() -> None:
    files = sorted(DASHBOARD.rglob("*.py"))
    assert len(files) > 10
    assert [m for f in files for m in _module_level_mutables(f)] == []
