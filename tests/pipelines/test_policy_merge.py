"""Screening-list events: one event per Federal Register notice, dated only where a row dates it."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.policy_merge import screening_list_events


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
