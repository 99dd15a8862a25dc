"""The shareable-view mechanism (app/dashboard/share.py): links written from a page's state and read back
into its controls only where the control accepts the value."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from dash import dcc, html

from app.dashboard import share

STATE = {
    "segment": ("seg", "value"),
    "runs": ("runs", "value"),
    "start": ("dates", "start_date"),
    "batch": ("batch", "value"),
    "show": ("show", "value"),
}


def _tree() -> html.Div:
    return html.Div(
        [
            dcc.Dropdown(id="seg", options=[{"label": "HBM", "value": "hbm"}, "wfe"], value="wfe"),
            html.Div(dcc.Dropdown(id="runs", options=["a b", "c"], value=["c"], multi=True)),
            dcc.DatePickerRange(id="dates", min_date_allowed="2020-01-01", max_date_allowed="2024-12-31"),
            dcc.Input(id="batch", type="number", value=1),
            dcc.Checklist(id="show", options=["events", "log"], value=["events"]),
        ]
    )


def _ids(tree: html.Div) -> dict[str, object]:
    return {c.id: c for c in tree._traverse() if isinstance(getattr(c, "id", None), str)}


def test_a_link_round_trips_the_state_including_an_emptied_list() -> None:
    link = share.share_query(
        {
            "segment": "hbm",
            "runs": ["a b", "c"],
            "start": "2021-03-04",
            "batch": 4097.0,
            "show": [],
            "x": None,
        }
    )
    query = dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
    assert query == {"segment": "hbm", "runs": "a b,c", "start": "2021-03-04", "batch": "4097", "show": ""}
    got = _ids(share.restore(_tree(), query, STATE))
    assert got["seg"].value == "hbm" and got["runs"].value == ["a b", "c"]
    assert got["dates"].start_date == "2021-03-04"
    assert got["batch"].value == 4097  # out of the calculator's range: kept, so the calculator refuses it
    assert got["show"].value == []
    assert share.share_query({}) == ""


def test_values_a_control_does_not_accept_leave_its_default() -> None:
    query = {"segment": "gpu", "runs": "a b,zzz", "start": "2019-12-31", "batch": "many", "show": "log,x"}
    got = _ids(share.restore(_tree(), query, STATE))
    assert got["seg"].value == "wfe" and got["runs"].value == ["c"]
    assert getattr(got["dates"], "start_date", None) is None
    assert got["batch"].value == 1 and got["show"].value == ["events"]
