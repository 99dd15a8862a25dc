"""Policy page: the timeline of actions and Entity List additions, event details, the date filter."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from app import queries as q
from app.dashboard.pages import policy_views as pv

EVENTS = pl.DataFrame(
    {
        "event_id": ["a", "b"],
        "announced_date": [date(2019, 5, 15), date(2022, 10, 7)],
        "effective_date": [date(2019, 5, 16), date(2022, 10, 21)],
        "agency": ["BIS"] * 2,
        "title": ["Huawei listed", "Advanced computing rule"],
        "citation": ["84 FR 22961", "87 FR 62186"],
        "category": ["entity_list", "chips_and_sme"],
        "source": ["FR"] * 2,
        "flag": ["reported", "estimate"],
        "notes": [None, None],
    }
)
ENTITIES = pl.DataFrame(
    {
        "name": ["Huawei", "HiSilicon"],
        "country": ["CN"] * 2,
        "added_date": [date(2019, 5, 16)] * 2,
        "citation": ["84 FR 22961"] * 2,
        "event_id": ["a"] * 2,
        "source": ["FR"] * 2,
        "flag": ["reported"] * 2,
        "notes": [None] * 2,
    }
)


def test_policy_timeline_has_a_lane_per_category_and_entity_additions(qr) -> None:
    view = pv.policy_timeline_view(qr(EVENTS), qr(ENTITIES))
    lanes = {t.name for t in view.figure.data}
    assert lanes == {"entity_list", "chips_and_sme", pv.ENTITY_LANE}
    entity = next(t for t in view.figure.data if t.name == pv.ENTITY_LANE)
    assert "2 parties" in entity.text[0]
    hollow = next(t for t in view.figure.data if t.name == "chips_and_sme")
    assert list(hollow.marker.symbol) == ["circle-open"]  # estimate
    assert set(view.frame["category"].to_list()) == {"entity_list", "chips_and_sme", "entity_list_addition"}
    without = pv.policy_timeline_view(qr(EVENTS), qr(ENTITIES), include_entities=False)
    assert pv.ENTITY_LANE not in {t.name for t in without.figure.data}


def test_event_detail() -> None:
    info = pv.event_detail(EVENTS, ENTITIES, "a")
    assert info["citation"] == "84 FR 22961" and info["entities"] == ["Huawei", "HiSilicon"]
    assert pv.event_detail(EVENTS, ENTITIES, "nope") is None


def test_policy_date_range_filters_actions_and_entity_additions(pages: dict, refreshed_db: Path) -> None:
    from datetime import date as d

    db = str(refreshed_db)
    cats = q.export_control_categories(refreshed_db)
    every, _ = pages["policy"].timeline(db, cats, True)
    view, table = pages["policy"].timeline(db, cats, True, "2023-01-01", "2023-12-31")
    assert 0 < view.frame.height < every.frame.height
    assert all(d(2023, 1, 1) <= x <= d(2023, 12, 31) for x in view.frame["date"].to_list())
    assert {"entity_list_addition"} < set(view.frame["category"].to_list())  # additions are filtered too
    announced = [d.fromisoformat(r["announced_date"]) for r in table.data]
    assert announced and all(d(2023, 1, 1) <= x <= d(2023, 12, 31) for x in announced)
    open_end, _ = pages["policy"].timeline(db, cats, True, "2024-01-01", None)
    assert open_end.frame["date"].min() >= d(2024, 1, 1)
    backwards, msg = pages["policy"].timeline(db, cats, True, "2024-01-01", "2023-01-01")
    assert "after the end date" in backwards.figure.layout.annotations[0].text and "after" in str(msg)
    nothing, _ = pages["policy"].timeline(db, cats, True, "1990-01-01", "1990-12-31")
    assert "match this selection" in nothing.figure.layout.annotations[0].text
    layout = str(pages["policy"].layout())
    assert "policy-dates" in layout
