"""Fuzzing the dashboard's callback inputs (issue 18): crafted ``/_dash-update-component`` requests — wrong
types, huge strings, nested lists, NaN, HTML — posted to every server callback of the real app on the test
warehouse get an answer or a one-line HTTP 400, never a 500 or a traceback. Also the red team's damaged warehouse
(checksums failing in the blocks of the tables the pages read), seen from the callbacks and the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.dashboard import callback_guard

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def served(refreshed_db: Path) -> tuple[Any, Any, dict[str, dict[str, Any]]]:
    """``(app, test client, {output: valid request body})`` for every server callback but the rerun."""
    from app.dashboard.app import create_app

    app = create_app(str(refreshed_db))
    client = app.server.test_client()
    assert client.get("/").status_code == 200  # registers the pages' callbacks
    guard = app.server.extensions[callback_guard.EXTENSION_KEY]
    bodies = {}
    with app.server.test_request_context("/"):
        index = guard.index().complete()
        for output, spec in app.callback_map.items():
            if spec.get("callback") is None or spec.get("background"):
                continue  # clientside callbacks never reach the server; the rerun is tested on its own
            bodies[output] = valid_body(index, output, spec)
    return app, client, bodies


def _value(comp: Any, prop: str) -> Any:
    value = getattr(comp, prop, None) if comp is not None else None
    return value.isoformat() if isinstance(value, date) else value  # as the browser sends a date


def _item(index: callback_guard.ComponentIndex, dep: dict[str, Any]) -> Any:
    pattern = callback_guard._pattern(dep["id"])
    if pattern is None:
        return {
            "id": dep["id"],
            "property": dep["property"],
            "value": _value(index.by_id.get(dep["id"]), dep["property"]),
        }
    fixed = {k: v for k, v in pattern.items() if not callback_guard._is_wildcard(v)}
    matches = [
        c
        for cid, c in index.patterned
        if cid.keys() == pattern.keys() and all(cid[k] == v for k, v in fixed.items())
    ]
    items = [{"id": c.id, "property": dep["property"], "value": _value(c, dep["property"])} for c in matches]
    if any(v == ["MATCH"] for v in pattern.values()):
        return (
            items[0]
            if items
            else {
                "id": {k: (v if k in fixed else "x") for k, v in pattern.items()},
                "property": dep["property"],
            }
        )
    return items


def valid_body(index: callback_guard.ComponentIndex, output: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The request the renderer would send for ``output`` with the layouts' initial values."""
    from dash._utils import split_callback_id

    parts = split_callback_id(output)
    outputs = [
        {"id": json.loads(p["id"]) if p["id"].startswith("{") else p["id"], "property": p["property"]}
        for p in (parts if isinstance(parts, list) else [parts])
    ]
    inputs = [_item(index, d) for d in spec["inputs"]]
    return {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": inputs,
        "state": [_item(index, d) for d in spec.get("state", [])],
        "changedPropIds": [f"{d['id']}.{d['property']}" for d in spec["inputs"]],
    }


def _no_crash(response: Any, what: Any) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code != 500, (what, text[:300])
    assert "Traceback" not in text and 'File "' not in text, what
    if response.status_code == 400:
        assert text.strip() and "\n" not in text.strip(), (what, text)


def test_every_server_callback_answers_its_layouts_own_values(served) -> None:
    """No false refusals: the values the layouts start with pass the guard and the callbacks answer."""
    _app, client, bodies = served
    assert len(bodies) >= 20
    for output, body in bodies.items():
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code in (200, 204), (output, response.get_data(as_text=True)[:300])


HOSTILE_TEXT = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<b>x</b>",
        "'; DROP TABLE prices_daily; --",
        "../../etc/passwd",
        "\x00",
        "寒武纪",
    ]
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**399, max_value=10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | HOSTILE_TEXT
    | st.integers(min_value=10_000, max_value=200_000).map(lambda n: "x" * n),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _replace(body: dict[str, Any], slot: int, value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    entries = [*body["inputs"], *body["state"]]
    target = entries[slot % len(entries)]
    if isinstance(target, list):
        if not target:
            return body
        target = target[0]
    target["value"] = value
    return body


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_crafted_values_never_crash_a_callback(served, data) -> None:
    _app, client, bodies = served
    output = data.draw(st.sampled_from(sorted(bodies)))
    body = _replace(bodies[output], data.draw(st.integers(0, 20)), data.draw(JSON))
    _no_crash(client.post("/_dash-update-component", json=body), body)


RAW = st.sampled_from(
    [
        b"",
        b"not json",
        b"[1,2]",
        b'{"output": 5}',
        b'{"output": "no-such.children", "inputs": []}',
        b'{"output": "nav-links.className", "inputs": [{"id": "nav-toggle", "property": "n_clicks"}]}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b"\xff\xfe\x00",
    ]
)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_malformed_requests_get_one_line(served, data) -> None:
    _app, client, bodies = served
    body = json.loads(json.dumps(bodies[data.draw(st.sampled_from(sorted(bodies)))]))
    choice = data.draw(st.integers(0, 5))
    if choice == 0:
        raw = data.draw(RAW)
    else:
        key = data.draw(st.sampled_from(["output", "outputs", "inputs", "state", "changedPropIds"]))
        body[key] = data.draw(JSON)
        raw = json.dumps(body).encode()
    response = client.post("/_dash-update-component", data=raw, content_type="application/json")
    _no_crash(response, raw[:200])


@pytest.mark.parametrize(
    ("output_part", "slot", "value", "says"),
    [
        ("forecast-fan-graph", 1, 5, "forecast-scenarios.value = 5: expected a list of options"),
        ("forecast-fan-graph", 0, ["wfe"], "forecast-segment.value"),
        ("market-performance-graph", 0, {"a": 1}, "market-tickers.value"),
        ("editor-upload.contents", 0, "many", "editor-discard.n_clicks"),
        ("editor-upload.contents", 0, True, "editor-discard.n_clicks"),
        ("forecast-overlay-graph", 0, [1, 2], "editor-last-run.data"),
        ("_pages_content", 0, "etc/passwd", "_pages_location.pathname"),
    ],
)
def test_wrong_types_are_refused_with_one_line(served, output_part, slot, value, says) -> None:
    _app, client, bodies = served
    output = next(o for o in bodies if output_part in o)
    response = client.post("/_dash-update-component", json=_replace(bodies[output], slot, value))
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert says in text and text.count("\n") == 1, text


def test_numbers_no_browser_sends_are_refused(served) -> None:
    _app, client, bodies = served
    output = next(o for o in bodies if "cap-fab-graph" in o)
    raw = json.dumps(_replace(bodies[output], 1, 1)).replace('"value": 1}', '"value": ' + "9" * 400 + "}", 1)
    response = client.post("/_dash-update-component", data=raw, content_type="application/json")
    assert response.status_code == 400 and "beyond what a browser sends" in response.get_data(as_text=True)
    for constant in ("NaN", "Infinity", "-Infinity"):
        response = client.post(
            "/_dash-update-component", data=raw.replace("9" * 400, constant), content_type="application/json"
        )
        assert response.status_code == 400 and f"{constant} is not JSON" in response.get_data(as_text=True)


def test_the_background_rerun_is_refused_before_it_starts(served) -> None:
    """A wrong-typed rerun request never queues a job (no process, no writer lock)."""
    app, client, _bodies = served
    output = next(o for o, s in app.callback_map.items() if s.get("background"))
    spec = app.callback_map[output]
    guard = app.server.extensions[callback_guard.EXTENSION_KEY]
    with app.server.test_request_context("/"):
        body = valid_body(guard.index().complete(), output, spec)
    body["inputs"][0]["value"] = [1]  # n_clicks: a list
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 400 and "editor-run.n_clicks" in response.get_data(as_text=True)
    body["inputs"][0]["value"] = 1
    body["state"][1]["value"] = {"seed": 1}  # a seed object for a number
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 400 and "editor-seed.value" in response.get_data(as_text=True)


DAMAGED_TABLES = ("prices_daily", "event_study", "export_controls", "substitution_forecast", "scenario_runs")


def damage_blocks(path: Path, tables: tuple[str, ...]) -> list[int]:
    """Overwrite 4 KiB inside every storage block of ``tables`` in the DuckDB file ``path`` (their checksums
    then fail on read, as after a disk fault); returns the damaged block ids."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        block_size = con.execute("PRAGMA database_size").fetchall()[0][2]
        blocks = sorted(
            {
                b
                for t in tables
                for (b,) in con.sql(
                    f"SELECT DISTINCT block_id FROM pragma_storage_info('{t}') WHERE block_id >= 0"
                ).fetchall()
            }
        )
    finally:
        con.close()
    with path.open("r+b") as fh:
        for block in blocks:
            fh.seek(3 * 4096 + block * block_size + 64)  # after the 3 header pages; inside the block
            fh.write(b"\xff" * 4096)
    return blocks


@pytest.mark.slow
def test_callbacks_on_damaged_blocks_answer_without_a_500(served, db_copy: Path) -> None:
    """The red team's corrupted warehouse: 40% of callbacks answered HTTP 500; now each gives a reason."""
    from app.dashboard.app import create_app

    assert damage_blocks(db_copy, DAMAGED_TABLES)
    _app, _client, bodies = served
    client = create_app(str(db_copy)).server.test_client()
    assert client.get("/").status_code == 200
    damaged = 0
    for output, body in bodies.items():
        response = client.post("/_dash-update-component", json=body)
        _no_crash(response, output)
        assert response.status_code in (200, 204), (output, response.status_code)
        damaged += "is damaged" in response.get_data(as_text=True)
    assert damaged >= 5  # the reason reaches the page (cards name the damage and `fabscope restore`)


def test_forecast_list_on_damaged_blocks_is_one_line(
    db_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same damage seen from the CLI (issue 18: `forecast list` raised a traceback): one line, exit 2."""
    from app.cli import main

    assert damage_blocks(db_copy, ("scenario_runs",))
    assert main(["forecast", "list", "--db", str(db_copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is damaged" in err and "fabscope restore" in err and str(db_copy) in err
