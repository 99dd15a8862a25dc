"""Refused drop files in the quarantine table: the value is what was found, the reason says why."""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.market_store import quarantine_refused
from pipelines.sources.prices.base import FetchResult, empty_prices
from pipelines.warehouse import migrate


def test_refused_files_store_the_columns_found_not_the_whole_message() -> None:
    con = duckdb.connect()
    migrate(con)
    res = FetchResult(
        empty_prices(),
        refused_files={
            "/d/weird.csv": "/d/weird.csv: unknown price layout; found columns ['a', 'b']. Expected the canonical ...",
            "/d/empty.csv": "/d/empty.csv: empty file (no header, no rows)",
        },
    )
    assert quarantine_refused(con, res, None) == 2
    rows = pl.DataFrame(
        con.execute(
            "SELECT source_file, row, field, value, reason FROM quarantine ORDER BY source_file"
        ).fetchall(),
        schema=["source_file", "row", "field", "value", "reason"],
        orient="row",
    )
    assert rows["value"].to_list() == [None, "['a', 'b']"]
    assert rows["reason"][0] == "/d/empty.csv: empty file (no header, no rows)"
