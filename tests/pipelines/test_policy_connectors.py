"""Federal Register and Consolidated Screening List connectors, merged with the curated events."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from pipelines.assets.policy import entity_list, export_controls
from pipelines.sources import federal_register as fr
from pipelines.sources import screening_list as csl
from pipelines.sources.reference import REFERENCE_FILES
from pipelines.warehouse import Warehouse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FR_JSON = FIXTURES / "federal_register_bis_documents.json"
CSL_CSV = FIXTURES / "csl_consolidated_sample.csv"


def test_fr_request_targets_bis_rules() -> None:
    params = fr.build_params(date(2018, 1, 1))
    assert ("conditions[agencies][]", "industry-and-security-bureau") in params
    assert ("conditions[type][]", "RULE") in params and ("fields[]", "document_number") in params
    assert ("conditions[publication_date][gte]", "2018-01-01") in params


def test_fr_fetch_follows_pages_and_dedupes() -> None:
    page = json.loads(FR_JSON.read_text())
    urls: list[str] = []

    def get_json(url: str) -> dict:
        urls.append(url)
        if len(urls) == 1:
            return {**page, "next_page_url": "https://example.test/page2", "results": page["results"][:3]}
        return {**page, "next_page_url": None, "results": page["results"][2:]}

    docs = fr.fetch_documents(date(2018, 1, 1), get_json=get_json, sleep=lambda s: None)
    assert len(urls) == 2 and urls[1] == "https://example.test/page2"
    assert [d["document_number"] for d in docs] == [d["document_number"] for d in page["results"]]


def test_fr_documents_become_events_with_both_dates() -> None:
    events = fr.documents_to_events(fr.load_recorded(str(FR_JSON)))
    assert "2099-00002" not in events["document_number"].to_list()  # irrelevant rule filtered out
    ai = events.filter(pl.col("document_number") == "2025-00636").row(0, named=True)
    assert ai["announced_date"] == date(2025, 1, 15) and ai["effective_date"] == date(2025, 1, 13)
    assert (
        ai["category"] == "ai_diffusion"
        and "90 FR 4544" in ai["citation"]
        and ai["origin"] == "federal_register"
    )
    assert events.filter(pl.col("announced_date").is_null() | pl.col("effective_date").is_null()).height == 0


def test_fr_documents_already_curated_are_matched() -> None:
    curated = REFERENCE_FILES["export_controls"].load().good
    new = fr.unmatched(fr.documents_to_events(fr.load_recorded(str(FR_JSON))), curated)
    assert new["document_number"].to_list() == ["2099-00001"]


def test_citation_keys() -> None:
    keys = fr.citation_keys("88 FR 73458 and 88 FR 73424 (2023-10-25), FR Doc 2023-23055")
    assert keys == {"fr:88FR73458", "fr:88FR73424", "doc:2023-23055"}


def test_csl_entity_list_rows_china_only_keyed_on_id() -> None:
    result = csl.read_csl(CSL_CSV)
    assert result.quarantine.height == 0 and result.good.height == 7
    rows = csl.entity_list_rows(result.good)
    assert set(rows["country"]) == {"CN", "HK"}
    assert "TEST-ONLY Example Trading LLC" not in rows["name"].to_list()  # RU row
    assert "TEST-ONLY Example Shipping Co." not in rows["name"].to_list()  # SDN, not Entity List
    assert rows.height == 5 and rows["csl_id"].n_unique() == 5


def test_csl_duplicate_ids_are_quarantined(tmp_path: Path) -> None:
    text = CSL_CSV.read_text().splitlines()
    (tmp_path / "c.csv").write_text("\n".join([*text, text[1]]) + "\n")
    result = csl.read_csl(tmp_path / "c.csv")
    assert set(result.quarantine["field"]) == {"_id"} and result.quarantine.height == 2


def _materialize(resources, db: Path, config: dict | None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [export_controls, entity_list],
        resources=resources(db),
        run_config=config,
        raise_on_error=False,
    )


@pytest.mark.slow
def test_offline_policy_refresh_is_curated_only(tmp_path: Path, run_resources) -> None:
    assert _materialize(run_resources, tmp_path / "w.duckdb", None).success
    wh = Warehouse(tmp_path / "w.duckdb")
    assert wh.query("SELECT DISTINCT origin FROM export_controls")["origin"].to_list() == ["curated"]
    n_curated = REFERENCE_FILES["export_controls"].load().good.height
    assert wh.query("SELECT count(*) AS n FROM export_controls")["n"].item() == n_curated


@pytest.mark.slow
def test_recorded_connectors_merge_without_duplicates(tmp_path: Path, run_resources) -> None:
    cfg = {
        "export_controls": {"config": {"fr_json": str(FR_JSON), "csl_csv": str(CSL_CSV)}},
        "entity_list": {"config": {"csl_csv": str(CSL_CSV)}},
    }
    db = tmp_path / "w.duckdb"
    assert _materialize(run_resources, db, {"ops": cfg}).success
    assert _materialize(run_resources, db, {"ops": cfg}).success  # idempotent
    wh = Warehouse(db)
    n_curated = REFERENCE_FILES["export_controls"].load().good.height
    origins = dict(wh.query("SELECT origin, count(*) FROM export_controls GROUP BY 1").rows())
    assert origins == {"curated": n_curated, "federal_register": 1, "screening_list": 1}
    new = wh.query("SELECT * FROM export_controls WHERE origin = 'screening_list'").row(0, named=True)
    assert "999 FR 12345" in new["citation"] and new["announced_date"] == date(2099, 2, 1)
    assert wh.query("SELECT count(*) - count(DISTINCT event_id) AS d FROM export_controls")["d"].item() == 0
    el = wh.query("SELECT name, event_id FROM entity_list WHERE notes LIKE 'CSL _id%' ORDER BY name")
    assert el["name"].to_list() == [
        "TEST-ONLY Example Chip Design Co., Ltd.",
        "TEST-ONLY Example Photonics (HK) Limited",
        "TEST-ONLY Moore Threads Example Affiliate",
    ]
    # linked through the FR citation to the curated Biren/Moore Threads event, and to the new CSL event
    assert el["event_id"].to_list()[2] == "2023-10-17-bis-biren-moore-threads-entity-list"
    assert el["event_id"].to_list()[0] == new["event_id"]
    cambricon = wh.query("SELECT count(*) AS n FROM entity_list WHERE name ILIKE 'Cambricon%'")["n"].item()
    assert cambricon == 1  # curated row kept, CSL duplicate skipped


def test_live_switch_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.assets.policy import PolicyConfig, _live

    assert not _live(PolicyConfig())
    monkeypatch.setenv("FABSCOPE_LIVE", "1")
    assert _live(PolicyConfig())


@pytest.mark.slow
def test_unreachable_live_sources_name_themselves_and_curated_events_are_stored(
    tmp_path: Path, run_resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.error

    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(fr, "http_get_json", offline)
    monkeypatch.setattr(fr, "fetch_documents", lambda since, **kw: offline())
    monkeypatch.setattr(csl, "fetch_csv", lambda cache: offline())
    monkeypatch.setenv("FABSCOPE_LIVE", "1")
    assert _materialize(run_resources, tmp_path / "w.duckdb", None).success
    wh = Warehouse(tmp_path / "w.duckdb")
    n_curated = REFERENCE_FILES["export_controls"].load().good.height
    assert wh.query("SELECT count(*) AS n FROM export_controls")["n"].item() == n_curated


def test_offline_note_names_the_source_and_the_root_cause() -> None:
    import urllib.error

    from pipelines.assets.policy import offline_note

    note = offline_note(
        "Federal Register", urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))
    )
    assert (
        note.startswith("Federal Register unreachable (")
        and "name resolution" in note
        and "urlopen" not in note
    )
