"""Shared dashboard pieces: chart cards (CSV + sources), banners, downloads."""

from __future__ import annotations

import polars as pl

from app.dashboard import components as ui
from app.dashboard import exports as ex


def test_components_csv_sources_banner() -> None:
    assert ui.frame_csv(pl.DataFrame({"a": [1], "b": ["x"]})) == "a,b\n1,x\n"
    assert ui.frame_csv(None) == ""
    items = ui.sources_list(["https://example.org/x", "FR 1", "FR 1"])
    assert len(items) == 2 and items[0].children.href == "https://example.org/x"
    assert ui.sample_banner([]) is None
    assert "Sample prices" in str(ui.sample_banner(["688256.SS"]).children[0].children)
    assert ui.csv_filename("Market Performance!") == "fabscope-market-performance-.csv"
    card = ui.chart_card("demo", "Demo", sources=["s1"])
    ids = [getattr(c, "id", None) for c in _walk(card)]
    assert "demo-graph" in ids and ui.csv_store_id("demo") in ids
    wrap = next(c for c in _walk(card) if getattr(c, "role", None) == "img")
    assert wrap.to_plotly_json()["props"]["aria-label"] == "chart: Demo"
    assert any(type(c).__name__ == "Loading" for c in _walk(card))  # a loading indicator on the chart


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


def test_graph_config_offers_no_cloud_share_and_keeps_image_export() -> None:
    config = ui.GRAPH_CONFIG
    assert (
        config["displaylogo"] is False and config["showSendToCloud"] is False and config["showLink"] is False
    )
    assert {"sendDataToCloud", "editInChartStudio"} <= set(config["modeBarButtonsToRemove"])
    assert "toImage" not in config["modeBarButtonsToRemove"]
    card = ui.chart_card("demo", "Demo")
    graphs = [c for c in _walk(card) if type(c).__name__ == "Graph"]
    assert graphs and all(g.config is ui.GRAPH_CONFIG for g in graphs)


def _walk(node):
    yield node
    kids = getattr(node, "children", None)
    for kid in kids if isinstance(kids, list | tuple) else [kids]:
        if kid is not None and hasattr(kid, "to_plotly_json"):
            yield from _walk(kid)


def test_mark_for_export_puts_title_sources_and_sample_watermark_in_the_figure() -> None:
    import plotly.graph_objects as go

    fig = ex.mark_for_export(go.Figure(), "Prices", ["s1", "s2", "s3", "s4", "s1"], sample=True)
    texts = [a.text for a in fig.layout.annotations]
    assert fig.layout.title.text == "Prices"
    assert texts[0] == "Sources: s1; s2; s3 (+1 more) · fabscope"
    assert ex.SAMPLE_WATERMARK in texts
    plain = ex.mark_for_export(go.Figure(), "Prices", [], sample=False)
    assert [a.text for a in plain.layout.annotations] == ["Sources: none on screen · fabscope"]


def test_nav_classes_mark_only_the_current_page() -> None:
    from app.dashboard.app import nav_classes

    hrefs = ["/", "/market", "/forecasts"]
    assert nav_classes("/market", hrefs) == ["nav-link", "nav-link active", "nav-link"]
    assert nav_classes("/", hrefs) == ["nav-link active", "nav-link", "nav-link"]
    assert nav_classes("/market/", hrefs)[1] == "nav-link active"
