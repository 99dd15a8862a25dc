"""Policy: timeline of export-control actions and Entity List additions, with citations."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, html

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import share
from app.dashboard.pages import policy_views as views
from app.dashboard.views_common import parse_date

dash.register_page(__name__, path="/policy", name="Policy", title="fabscope · Policy", order=2)

SHARE = "policy-share"
STATE = {
    "cats": ("policy-categories", "value"),
    "entities": ("policy-entities", "value"),
    "start": ("policy-dates", "start_date"),
    "end": ("policy-dates", "end_date"),
}
"""What of the page its link holds (``share``)."""

TABLE_COLUMNS = ("announced_date", "category", "agency", "title", "citation", "flag")


def timeline(
    db: str, categories: list[str] | None, include_entities: bool, start: Any = None, end: Any = None
) -> tuple[views.View, Any]:
    """Logic of the timeline callback: the timeline view and the events table.

    ``categories`` filters the actions; ``start``/``end`` (dates or 'YYYY-MM-DD', inclusive, either
    may be empty) filter both the actions (announced date) and the Entity List additions (added date).
    """
    first, last = parse_date(start), parse_date(end)
    if first and last and first > last:
        reason = f"the start date {first.isoformat()} is after the end date {last.isoformat()} — pick a valid range"
        return views.empty_view(reason, height=420), ui.empty_state(reason, title="Export-control actions")
    known = q.export_control_categories(db)
    events = q.export_controls(db, categories if known else None, first, last)
    entities = q.entity_list(db, first, last)
    view = views.policy_timeline_view(events, entities, include_entities=include_entities)
    if events.empty:
        table: Any = ui.empty_state(events.reason, title="Export-control actions")
    else:
        table = ui.data_table(events.frame, table_id="policy-table", columns=TABLE_COLUMNS, page_size=10)
    return view, table


def detail(db: str, event_id: str | None) -> Any:
    """Logic of the details panel: one event with its citation, source, flag and listed parties."""
    if not event_id:
        return html.P(
            "Click a point on the timeline to see the action, its citation and the parties it listed.",
            className="muted",
        )
    info = views.event_detail(q.export_controls(db).frame, q.entity_list(db).frame, event_id)
    if info is None:
        return html.P(f"no details stored for {event_id}", className="muted")
    effective = info["effective_date"].isoformat() if info.get("effective_date") else "—"
    rows = [
        html.H4(info["title"]),
        html.P(
            [
                html.Strong("Announced "),
                info["announced_date"].isoformat(),
                html.Strong(" · effective "),
                effective,
                html.Strong(" · agency "),
                info.get("agency") or "—",
                html.Strong(" · category "),
                info.get("category") or "—",
            ]
        ),
        html.P([html.Strong("Citation: "), info.get("citation") or "—"]),
        html.P([html.Strong("Source: "), info.get("source") or "—", f" ({info.get('flag') or '?'})"]),
    ]
    if info.get("notes"):
        rows.append(html.P([html.Strong("Notes: "), info["notes"]], className="note"))
    if info["entities"]:
        rows.append(
            html.P(
                [
                    html.Strong(f"Entity List parties added ({len(info['entities'])}): "),
                    "; ".join(info["entities"]),
                ]
            )
        )
    return html.Div(rows, className="detail", id="policy-detail-body")


def layout(**query: object) -> html.Div:
    """The page; its state restored from the URL ``query`` (see :data:`STATE`)."""
    db = ui.current_db()
    cats = q.export_control_categories(db)
    span = q.policy_date_range(db)
    first, last = (span.frame.item(0, "first"), span.frame.item(0, "last")) if span.ok else (None, None)
    tree = html.Div(
        [
            ui.page_header(
                "Policy",
                "US export-control actions, allied controls and Chinese countermeasures, with "
                "their citations.",
            ),
            html.Div(
                className="controls-row",
                children=[
                    ui.checks(
                        "Categories",
                        "policy-categories",
                        cats,
                        cats,
                        wide=True,
                        inputStyle={"marginLeft": "10px"},
                    ),
                    ui.date_range(
                        "Date range",
                        "policy-dates",
                        first,
                        last,
                        start_date=None,
                        end_date=None,
                        initial_visible_month=last,
                        clearable=True,
                        start_date_placeholder_text=first.isoformat() if first else "from",
                        end_date_placeholder_text=last.isoformat() if last else "to",
                    ),
                    ui.checks("Entity List", "policy-entities", {"show": "show additions"}, ["show"]),
                    share.share_control(SHARE),
                ],
            ),
            ui.chart_card(
                "policy-timeline",
                "Timeline of actions",
                subtitle="one lane per category; hollow = estimate (citation not yet verified); "
                "◆ Entity List additions, size = parties listed; click a point for details",
            ),
            ui.panel("Details", html.Div(id="policy-detail", children=detail(db, None))),
            ui.panel("Actions (filtered)", html.Div(id="policy-table-wrap")),
        ]
    )
    return share.restore(tree, query, STATE)


share.register("/policy", SHARE, STATE)


@callback(
    *ui.card_outputs("policy-timeline"),
    Output("policy-table-wrap", "children"),
    Input("policy-categories", "value"),
    Input("policy-entities", "value"),
    Input("policy-dates", "start_date"),
    Input("policy-dates", "end_date"),
)
def _update_timeline(categories: list[str] | None, entities: list[str] | None, start: Any, end: Any) -> tuple:
    view, table = timeline(ui.current_db(), categories or [], bool(entities), start, end)
    return (*view.card_outputs, table)


@callback(
    Output("policy-detail", "children"),
    Input("policy-timeline-graph", "clickData"),
    prevent_initial_call=True,
)
def _show_detail(click: dict | None) -> Any:
    points = (click or {}).get("points") or []
    return detail(ui.current_db(), points[0].get("customdata") if points else None)
