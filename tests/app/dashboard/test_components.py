"""Shared dashboard pieces: chart cards (CSV + sources), banners, downloads."""

from __future__ import annotations

import polars as pl

from app.dashboard import components as ui


def test_components_csv_sources_banner() -> None:
    assert ui.frame_csv(pl.DataFrame({"a": [1], "b": ["x"]})) == "a,b\n1,x\n"
    assert ui.frame_csv(None) == ""
    items = ui.sources_list(["https://example.org/x", "FR 1", "FR 1"])
    assert len(items) == 2 and items[0].children.href == "https://example.org/x"
    assert ui.sample_banner([]) is None
    assert "Sample prices" in str(ui.sample_banner(["688256.SS"]).children[0].children)
    assert ui.csv_filename("Market Performance!") == "fabscope-market-performance-.csv"
    card = ui.chart_card("demo", "Demo", sources=["s1"])
    ids = [getattr(c, "id", None) for c in card.children if c is not None]
    assert "demo-graph" in ids and ui.csv_store_id("demo") in ids


def test_download_payload_names_the_file_and_explains_no_rows() -> None:
    assert ui.download_payload(0, "a\n1\n", "x") is None
    got = ui.download_payload(1, "a\n1\n", "market-performance")
    assert got == {
        "content": "a\n1\n",
        "filename": "fabscope-market-performance.csv",
        "type": "text/csv",
        "base64": False,
    }
    assert ui.download_payload(2, "", "x")["content"] == ui.NO_ROWS_CSV
