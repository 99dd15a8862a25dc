"""Overview page: headline figures from the published warehouse."""

from __future__ import annotations

import polars as pl

from app.dashboard.pages import overview_views as ov


def test_latest_shares_keep_disagreement_as_a_range() -> None:
    hist = pl.DataFrame(
        {
            "segment": ["wfe", "wfe", "wfe"],
            "year": [2023, 2024, 2024],
            "domestic_share": [0.4, 0.2, 0.25],
            "source": ["a", "b", "c"],
        }
    )
    row = ov.latest_shares(hist).row(0, named=True)
    assert (row["year"], row["low"], row["high"], row["sources"]) == (2024, 0.2, 0.25, 2)
    assert ov.share_range_text(0.2, 0.25) == "20–25%" and ov.share_range_text(0.34, 0.34) == "34%"
