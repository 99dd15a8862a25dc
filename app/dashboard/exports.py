"""What an exported chart image carries: title, sources line and, over sample prices, a watermark.

The toolbar's *Download plot as PNG* (and ``Plotly.toImage`` for SVG) renders the figure's own layout, so
these marks live in the figure: a view calls :func:`mark_for_export` once it has drawn its traces.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from app.dashboard.components import DOMESTIC

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
