"""The warehouse URL (pipelines/warehouse_url.py): one parser, one rule between flags and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabscope.errors import InputError
from pipelines import warehouse_url as wu
from pipelines.warehouse import Warehouse


def test_a_ducklake_url_parses_into_its_parts_and_back() -> None:
    url = wu.parse("ducklake:postgresql://ana:p%40ss@db.lan:6543/lake?data=/srv/lake&sslmode=require")
    assert (url.kind, url.user, url.password, url.host, url.port, url.dbname) == (
        "ducklake", "ana", "p@ss", "db.lan", 6543, "lake",
    )  # fmt: skip
    assert url.data_path == Path("/srv/lake") and url.sslmode == "require"
    assert wu.parse(str(url)) == url, "the canonical string reads back as the same URL"
    assert "p@ss" not in url.shown() and "p%40ss" not in url.shown() and "***" in url.shown()
    assert "password='p@ss'" in url.libpq() and "connect_timeout=5" in url.libpq()
    assert wu.parse("ducklake:postgres://ana@db/lake?data=rel").port == 5432


def test_duckdb_url_and_db_flag_name_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert wu.parse("duckdb:w.duckdb").path == tmp_path / "w.duckdb"
    assert wu.locate(db="w.duckdb") == wu.locate(warehouse="duckdb:w.duckdb")
    assert str(wu.locate(db="w.duckdb")) == str(tmp_path / "w.duckdb"), (
        "a file travels as its path, as before"
    )
    assert type(Warehouse(str(tmp_path / "w.duckdb"))) is Warehouse


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("duklake:postgresql://a@h/db?data=/d", "unknown warehouse kind 'duklake'"),
        ("ducklake:mysql://a@h/db?data=/d", "ducklake:postgresql://"),
        ("ducklake:postgresql://h/db?data=/d", "needs USER@HOST"),
        ("ducklake:postgresql://a@h:99999/db?data=/d", "port"),
        ("ducklake:postgresql://a@h/db", "needs ?data=PATH"),
        ("ducklake:postgresql://a@h/db?data=/d&colour=red", "unknown option 'colour'"),
        (
            "ducklake:postgresql://a@h/db?data=s3://bucket/x",
            "S3-compatible storage is the documented next step",
        ),
        ("ducklake:postgresql://a:secret@h/db?data=/d&connect_timeout=0", "connect_timeout"),
        ("duckdb:", "needs a file path"),
        ("/no/scheme.duckdb", "expected duckdb:PATH"),
    ],
)
def test_a_malformed_url_is_one_line_naming_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(InputError) as err:
        wu.parse(text)
    assert says in err.value.message and "\n" not in str(err.value)
    assert "secret" not in str(err.value)


def test_flags_win_over_settings_and_warehouse_wins_over_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = "ducklake:postgresql://a@h/db?data=/d"
    monkeypatch.setenv("FABSCOPE_DB", str(tmp_path / "env.duckdb"))
    assert wu.locate().path == tmp_path / "env.duckdb"
    monkeypatch.setenv("FABSCOPE_WAREHOUSE", lake)
    assert wu.locate().is_lake and wu.target(None).is_lake
    assert wu.locate(db=tmp_path / "flag.duckdb").path == tmp_path / "flag.duckdb"
    with pytest.raises(InputError, match="not both"):
        wu.locate(db="x.duckdb", warehouse=lake)
    monkeypatch.setenv("FABSCOPE_WAREHOUSE", "postgresql://a@h/db")
    with pytest.raises(InputError, match=r"\$FABSCOPE_WAREHOUSE"):
        wu.locate()


def test_export_hands_a_file_on_exactly_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("FABSCOPE_WAREHOUSE", "ducklake:postgresql://a@h/db?data=/d")
    monkeypatch.setenv("FABSCOPE_DB", "old.duckdb")
    wu.export(wu.locate(db=tmp_path / "f.duckdb"))
    assert os.environ["FABSCOPE_DB"] == str(tmp_path / "f.duckdb") and "FABSCOPE_WAREHOUSE" not in os.environ
    lake = wu.parse("ducklake:postgresql://a@h/db?data=/d")
    wu.export(lake)
    assert wu.parse(os.environ["FABSCOPE_WAREHOUSE"]) == lake
