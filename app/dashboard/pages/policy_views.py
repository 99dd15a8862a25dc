"""Policy page views: a timeline of export-control actions (one lane per category) and Entity List
additions, and the details of one action. Pure functions of :mod:`app.queries` results."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl

from app import queries as q
from app.dashboard.components import styled
from app.dashboard.views_common import View, colour, empty_view, flag_symbols, groups, merge_sources, points

ENTITY_LANE = "Entity List additions"
TIMELINE_COLUMNS = ("event_id", "date", "category", "title", "agency", "citation", "source", "flag")
"""Columns of the timeline's rows (CSV): actions by announced date, Entity List additions by added date."""


def policy_timeline_view(
    events: q.QueryResult, entities: q.QueryResult, *, include_entities: bool = True, height: int = 420
) -> View:
    """Timeline: one lane per category (announced date), plus Entity List additions by date."""
    if events.empty and (entities.empty or not include_entities):
        return empty_view(events.reason or entities.reason, height=height)
    fig = go.Figure()
    frames = []
    if not events.empty:
        ev = events.frame
        for i, cat, g in groups(ev.filter(pl.col("category").is_not_null()).sort("category"), "category"):
            marker = {"size": 12, "color": colour(i), "line": {"width": 1, "color": "white"}}
            fig.add_trace(
                points(
                    g["announced_date"],
                    [cat] * g.height,
                    cat,
                    marker | {"symbol": flag_symbols(g["flag"].to_list())},
                    text=g["title"].to_list(),
                    customdata=g["event_id"].to_list(),
                    hovertemplate="%{x|%Y-%m-%d} · %{text}<extra>" + cat + "</extra>",
                )
            )
        frames.append(ev.rename({"announced_date": "date"}).select(TIMELINE_COLUMNS))
    if include_entities and not entities.empty:
        counts = (
            entities.frame.group_by("added_date", "event_id")
            .agg(pl.col("name").count().alias("n"), pl.col("name").str.join("; ").alias("names"))
            .sort("added_date")
        )
        sizes = [8 + 3 * min(n, 8) for n in counts["n"].to_list()]
        fig.add_trace(
            points(
                counts["added_date"],
                [ENTITY_LANE] * counts.height,
                ENTITY_LANE,
                {"size": sizes, "color": "#52606d", "symbol": "diamond"},
                text=[
                    f"{n} part{'y' if n == 1 else 'ies'}: {names[:160]}"
                    for n, names in zip(counts["n"], counts["names"], strict=True)
                ],
                customdata=counts["event_id"].to_list(),
                hovertemplate="%{x|%Y-%m-%d} · %{text}<extra>Entity List</extra>",
            )
        )
        additions = entities.frame.rename({"added_date": "date", "name": "title"}).with_columns(
            category=pl.lit("entity_list_addition"), agency=pl.lit("BIS")
        )
        frames.append(additions.select(TIMELINE_COLUMNS))
    styled(
        fig,
        height=height,
        showlegend=False,
        hovermode="closest",
        margin={"l": 170, "r": 16, "t": 16, "b": 40},
        yaxis={"title": None, "categoryorder": "category descending"},
    )
    frame = pl.concat(frames, how="vertical_relaxed").sort("date") if frames else pl.DataFrame()
    return View(fig, frame, merge_sources(events.sources, entities.sources if include_entities else ()))


def event_detail(events: pl.DataFrame, entities: pl.DataFrame, event_id: str | None) -> dict[str, Any] | None:
    """Everything about one event: its row plus the Entity List parties it added."""
    if not event_id or events.is_empty():
        return None
    row = events.filter(pl.col("event_id") == event_id)
    if row.is_empty():
        return None
    out = row.row(0, named=True)
    listed = entities.filter(pl.col("event_id") == event_id) if not entities.is_empty() else entities
    out["entities"] = listed["name"].to_list() if not listed.is_empty() else []
    return out
