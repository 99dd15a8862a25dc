"""Screening-list events: one event per Federal Register notice, dated only where a row dates it."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.policy_merge import merge_entities, screening_list_events


def _entities(rows: list[tuple[str, str, date]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"name": pl.String, "citation": pl.String, "added_date": pl.Date}, orient="row"
    )


def _existing(citations: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"citation": citations}, schema={"citation": pl.String})


def test_a_notice_cited_in_several_citation_strings_gives_one_event() -> None:
    ents = _entities(
        [
            ("Alpha Ltd", "85 FR 83416", date(2020, 12, 22)),
            ("Beta Ltd", "85 FR 83416.", date(2020, 12, 22)),
            ("Gamma Ltd", "85 FR 83416; 89 FR 12345", date(2020, 12, 22)),
        ]
    )
    ev = screening_list_events(ents, _existing([]))
    assert ev["citation"].to_list() == ["85 FR 83416"]
    assert ev["event_id"].n_unique() == ev.height == 1
    assert ev["announced_date"].to_list() == [date(2020, 12, 22)]
    assert ev["effective_date"].null_count() == 0


def test_later_notices_of_a_multi_notice_row_are_not_given_its_first_listing_date() -> None:
    ents = _entities(
        [
            (
                "Huawei-like Co",
                "84 FR 22963, 85 FR 51603",
                date(2019, 5, 16),
            ),  # start_date is the 2019 listing
            ("Other Co", "85 FR 51603", date(2020, 8, 20)),
        ]
    )
    ev = screening_list_events(ents, _existing([]))
    got = dict(zip(ev["citation"].to_list(), ev["announced_date"].to_list(), strict=True))
    assert got == {"84 FR 22963": date(2019, 5, 16), "85 FR 51603": date(2020, 8, 20)}


def test_notices_already_covered_are_skipped() -> None:
    ents = _entities(
        [
            ("Alpha Ltd", "87 FR 77505", date(2022, 12, 19)),
            ("Beta Ltd", "87 FR 77505, 88 FR 1", date(2022, 12, 19)),
        ]
    )
    ev = screening_list_events(ents, _existing(["87 FR 77505 (2022-12-19), FR Doc 2022-27151"]))
    assert ev.height == 0


def test_csl_entities_already_curated_are_skipped_and_new_ones_linked_to_their_event() -> None:
    curated = pl.DataFrame(
        {"name": ["Huawei Technologies Co., Ltd. (Huawei)"], "added_date": [date(2019, 5, 16)]},
        schema={"name": pl.String, "added_date": pl.Date},
    )
    entities = pl.DataFrame(
        {
            "name": ["HUAWEI TECHNOLOGIES CO LTD", "New Chip Ltd", "New Chip Ltd"],
            "added_date": [date(2019, 5, 16), date(2022, 12, 19), date(2022, 12, 19)],
            "citation": ["84 FR 22963", "87 FR 77505", "87 FR 77505"],
            "csl_id": ["a", "b", "c"],
        }
    )
    events = pl.DataFrame({"event_id": ["2022-12-15-bis-el"], "citation": ["87 FR 77505 (2022-12-19)"]})
    merged = merge_entities(curated, entities, events)
    assert merged["name"].to_list() == ["Huawei Technologies Co., Ltd. (Huawei)", "New Chip Ltd"]
    new = merged.row(1, named=True)
    assert new["event_id"] == "2022-12-15-bis-el" and new["notes"] == "CSL _id b"
    assert merge_entities(curated, None, events).equals(curated)
