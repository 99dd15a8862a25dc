"""What an exported chart image carries: title, sources line and, over sample prices, a watermark.

The toolbar's *Download plot as PNG* (and ``Plotly.toImage`` for SVG) renders the figure's own layout, so
these marks live in the figure: a view calls :func:`mark_for_export` once it has drawn its traces.

Each chart card's **PNG** / **SVG** buttons export on the server instead (:data:`IMAGE_ROUTE`, kaleido
driving a headless Chromium): the same figure, its marks, and — in a PNG — the marks as text metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from app.dashboard.components import DOMESTIC, IMAGE_ROUTE

SAMPLE_WATERMARK = "SAMPLE DATA — synthetic prices, not market data"
"""Text of the watermark drawn across a chart that shows sample (synthetic) prices."""


def mark_for_export(
    fig: go.Figure, title: str, sources: Sequence[str], *, sample: bool = False, max_sources: int = 3
) -> go.Figure:
    """Give ``fig`` what an exported image must carry: its ``title``, a one-line "Sources:" note (the first
    ``max_sources`` citations, "+N more") and, when ``sample`` prices are drawn, the watermark
    :data:`SAMPLE_WATERMARK`. All live in the figure's layout, so the toolbar's PNG/SVG export carries them.
    """
    cited = [s for s in dict.fromkeys(str(s).strip() for s in sources) if s]
    line = "; ".join(cited[:max_sources]) + (
        f" (+{len(cited) - max_sources} more)" if len(cited) > max_sources else ""
    )
    notes = [
        {
            "text": f"Sources: {line or 'none on screen'} · fabscope",
            "name": "export-sources",
            "x": 0,
            "y": 0,
            "xref": "paper",
            "yref": "paper",
            "yshift": -52,
            "xanchor": "left",
            "yanchor": "top",
            "showarrow": False,
            "font": {"size": 9, "color": "#52606d"},
        }
    ]
    if sample:
        notes.append(
            {
                "text": SAMPLE_WATERMARK,
                "name": "sample-watermark",
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
                "textangle": -18,
                "opacity": 0.22,
                "font": {"size": 26, "color": DOMESTIC},
            }
        )
    for note in notes:
        fig.add_annotation(**note)
    margin = dict(fig.layout.margin.to_plotly_json()) if fig.layout.margin else {}
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 13}},
        margin={**margin, "t": max(margin.get("t", 24), 64), "b": max(margin.get("b", 40), 72)},
    )
    return fig


# ---- server-side image export (kaleido) ------------------------------------------------------------
IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
"""Formats the server renders, with their MIME types."""
MAX_FIGURE_BYTES = 16 * 1024 * 1024
"""Largest figure (JSON) an export request may carry."""
EXPORT_WIDTH_PX, EXPORT_SCALE = 1200, 2
"""Exported image width (CSS px) and PNG pixel scale."""
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def export_marks(fig: go.Figure) -> dict[str, str]:
    """What an exported image says it is: title, sources line, whether sample data are drawn (from the
    marks :func:`mark_for_export` put in the figure)."""
    notes = {a.name: a.text for a in fig.layout.annotations or () if a.name}
    title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else ""
    return {
        "Title": title,
        "Source": notes.get("export-sources", ""),
        "Sample data": "yes — " + SAMPLE_WATERMARK if "sample-watermark" in notes else "no",
        "Software": "fabscope dashboard (plotly + kaleido)",
    }


def png_with_text(png: bytes, text: dict[str, str]) -> bytes:
    """``png`` with one ``iTXt`` chunk (UTF-8 text, PNG spec §11.3.4.5) per ``text`` item after its header
    chunk. (PNG text chunks are a few bytes of framing; no imaging library is needed to write them.)"""
    import struct
    import zlib

    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG image")
    end_of_header = len(_PNG_SIGNATURE) + 8 + struct.unpack(">I", png[8:12])[0] + 4
    chunks = b""
    for key, value in text.items():
        body = key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + value.encode("utf-8")
        chunks += (
            struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
        )
    return png[:end_of_header] + chunks + png[end_of_header:]


def png_text(png: bytes) -> dict[str, str]:
    """The ``iTXt``/``tEXt`` items of a PNG (the reader twin of :func:`png_with_text`)."""
    import struct

    out, pos = {}, len(_PNG_SIGNATURE)
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I", png[pos : pos + 4])[0], png[pos + 4 : pos + 8]
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\x00")
            out[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\x00")
            value = rest[2:].split(b"\x00", 2)[-1]  # compression flag, method, language, translated key
            out[key.decode("latin-1")] = value.decode("utf-8")
        pos += 12 + length
    return out


def render_image(figure: dict, fmt: str, title: str) -> tuple[bytes, dict[str, str]]:
    """The chart ``figure`` (Plotly JSON) rendered by kaleido as ``fmt`` (png | svg), with its export marks.

    A figure without marks gets ``title`` and an empty sources line first; the PNG carries the marks as
    text metadata too (Title, Source, Sample data). Raises ``ValueError`` for an unknown format.
    """
    import plotly.io as pio

    if fmt not in IMAGE_TYPES:
        raise ValueError(f"format: expected one of {sorted(IMAGE_TYPES)}, got {fmt!r}")
    fig = go.Figure(figure, skip_invalid=True)
    if not any(a.name == "export-sources" for a in fig.layout.annotations or ()):
        mark_for_export(fig, title, ())
    marks = export_marks(fig)
    height = int(fig.layout.height or 450) + 40
    image = pio.to_image(
        fig, format=fmt, width=EXPORT_WIDTH_PX, height=height, scale=EXPORT_SCALE if fmt == "png" else 1
    )
    return (png_with_text(image, marks) if fmt == "png" else image), marks


def export_filename(title: str, fmt: str) -> str:
    """Download name of an exported chart."""
    import re

    stem = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "chart"
    return f"fabscope-{stem}.{fmt}"


def register_image_route(app: Any) -> None:
    """The :data:`IMAGE_ROUTE` of ``app`` (under Dash's routes prefix): POST a chart's figure, get its image."""
    import importlib.util
    import json

    import flask

    def export_image() -> flask.Response:
        if importlib.util.find_spec("kaleido") is None:
            return flask.Response(
                "server-side export needs the kaleido package (and Chromium) on the server\n",
                503,
                mimetype="text/plain",
            )
        if (flask.request.content_length or 0) > MAX_FIGURE_BYTES:
            return flask.Response(
                f"figure larger than {MAX_FIGURE_BYTES} bytes\n", 413, mimetype="text/plain"
            )
        try:
            body = json.loads(flask.request.get_data(as_text=True) or "{}")
            figure, fmt = body["figure"], str(body.get("format", "png"))
            title = str(body.get("title") or "fabscope chart")
            image, _marks = render_image(figure, fmt, title)
        except (ValueError, KeyError, TypeError) as exc:
            return flask.Response(f"cannot export this chart: {exc}\n", 400, mimetype="text/plain")
        return flask.Response(
            image,
            mimetype=IMAGE_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{export_filename(title, fmt)}"'},
        )

    route = str(app.config.routes_pathname_prefix or "/").rstrip("/") + IMAGE_ROUTE
    app.server.add_url_rule(route, "fabscope_image", export_image, methods=["POST"])
