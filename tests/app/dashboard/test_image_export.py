"""Server-side chart export (kaleido): the PNG carries title, sources and the sample-data mark both drawn
and as text metadata; the SVG carries them as text; bad requests are refused with a reason."""

from __future__ import annotations

import importlib.util
import json

import plotly.graph_objects as go
import pytest

from app.dashboard import exports as ex
from fabscope.settings import get_settings

HAVE_KALEIDO = importlib.util.find_spec("kaleido") is not None


def _need_kaleido() -> None:
    if not HAVE_KALEIDO:
        if get_settings().require_browser:
            pytest.fail("FABSCOPE_REQUIRE_BROWSER=1 but kaleido is not installed")
        pytest.skip("kaleido not installed")


def _figure(sample: bool) -> dict:
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[100, 104, 98], name="688256.SS"))
    ex.mark_for_export(fig, "Normalised performance (USD)", ["Sample provider (synthetic)"], sample=sample)
    return json.loads(fig.to_json())


def test_png_text_chunks_round_trip_without_an_imaging_library() -> None:
    tiny = bytes.fromhex(  # a 1x1 PNG
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000100e527de4c0000000049454e44ae426082"
    )
    marked = ex.png_with_text(tiny, {"Title": "Ünïcode title", "Sample data": "yes"})
    assert ex.png_text(marked) == {"Title": "Ünïcode title", "Sample data": "yes"}
    assert marked.startswith(tiny[:33]) and marked.endswith(tiny[33:])
    with pytest.raises(ValueError):
        ex.png_with_text(b"GIF89a", {})


@pytest.mark.slow
def test_server_png_and_svg_carry_title_sources_and_sample_mark() -> None:
    _need_kaleido()
    png, marks = ex.render_image(_figure(sample=True), "png", "ignored: the figure has its marks")
    meta = ex.png_text(png)
    assert png.startswith(b"\x89PNG") and meta == marks
    assert meta["Title"] == "Normalised performance (USD)"
    assert "Sample provider (synthetic)" in meta["Source"] and meta["Sample data"].startswith("yes")
    svg, _ = ex.render_image(_figure(sample=False), "svg", "x")
    text = svg.decode()
    assert "Normalised performance (USD)" in text and "Sources:" in text
    assert ex.SAMPLE_WATERMARK.split(" — ")[0] not in text  # no sample prices drawn: no watermark


def test_unmarked_figures_get_the_card_title_and_unknown_formats_are_refused() -> None:
    bare = json.loads(go.Figure(go.Bar(x=["a"], y=[1])).to_json())
    fig = go.Figure(bare)
    assert ex.export_marks(fig)["Title"] == "" and ex.export_marks(fig)["Sample data"] == "no"
    with pytest.raises(ValueError, match="format"):
        ex.render_image(bare, "gif", "t")
    assert (
        ex.export_filename("Tool demand by type & share", "png") == "fabscope-tool-demand-by-type-share.png"
    )
