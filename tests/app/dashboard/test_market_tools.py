"""Market page terminal tools as pure functions: presets, rebasing, relative performance, drawdown, labels."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from app.dashboard.pages import market_tools as tools

FIRST, LAST = date(2019, 1, 2), date(2024, 3, 31)


def test_presets_end_on_the_last_price_and_clip_to_the_first() -> None:
    assert tools.preset_range("1M", FIRST, LAST) == (date(2024, 2, 29), LAST)  # month-end clamped (leap year)
    assert tools.preset_range("3M", FIRST, LAST) == (date(2023, 12, 31), LAST)
    assert tools.preset_range("YTD", FIRST, LAST) == (date(2024, 1, 1), LAST)
    assert tools.preset_range("1Y", FIRST, LAST) == (date(2023, 3, 31), LAST)
    assert tools.preset_range("5Y", FIRST, LAST) == (date(2019, 3, 31), LAST)
    assert tools.preset_range("5Y", date(2022, 6, 1), LAST) == (date(2022, 6, 1), LAST)
    assert tools.preset_range("Max", FIRST, LAST) == (FIRST, LAST)
    assert tools.matching_preset(date(2024, 1, 1), LAST, FIRST, LAST) == "YTD"
    assert tools.matching_preset(date(2024, 1, 2), LAST, FIRST, LAST) is None
    with pytest.raises(ValueError, match="preset"):
        tools.preset_range("2W", FIRST, LAST)


def _prices() -> pl.DataFrame:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(5)]
    return pl.DataFrame(
        {
            "date": days * 2,
            "ticker": ["A"] * 5 + ["B"] * 5,
            "close_usd": [10.0, 12.0, 9.0, 15.0, 12.0, 50.0, 50.0, 55.0, 60.0, 66.0],
            "provider": ["x"] * 10,
        }
    )


def test_rebasing_relative_performance_and_drawdown() -> None:
    perf = tools.rebased(_prices(), date(2024, 1, 2))  # 100 = 2 January
    a = perf.filter(pl.col("ticker") == "A")["index"].to_list()
    assert a == pytest.approx([100 * 10 / 12, 100.0, 75.0, 125.0, 100.0])
    bench = tools.rebased(_prices().filter(pl.col("ticker") == "B"), date(2024, 1, 2))
    rel = tools.relative_to(perf.filter(pl.col("ticker") == "A"), bench)
    assert rel["relative"].to_list() == pytest.approx(
        [100 * (10 / 12) / 1.0, 100.0, 75 / 1.1, 125 / 1.2, 100 / 1.32]
    )
    dd = tools.drawdown(tools.rebased(_prices()))
    assert dd.filter(pl.col("ticker") == "A")["drawdown"].to_list() == pytest.approx([0, 0, -0.25, 0, -0.2])
    assert dd.filter(pl.col("ticker") == "B")["drawdown"].max() == 0.0
    late = tools.rebased(_prices(), date(2030, 1, 1))  # after the data: its last day is 100
    assert late.filter(pl.col("ticker") == "A")["index"][-1] == 100.0


def test_short_labels_and_category_colours() -> None:
    label = tools.short_label("Entity List additions: 140 entities (Foreign Direct Product rule)", "BIS")
    assert label == "BIS Entity List addit…" and len(label) == 22
    assert tools.short_label("MOFCOM: gallium export ban", "MOFCOM") == "MOFCOM gallium export…"
    assert tools.category_colour("entity_list") != tools.category_colour("allied_control")
    assert tools.category_colour("something new") == tools.OTHER_CATEGORY
