"""Market page: normalised USD performance, event markers, the event study and its stored cross-section."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from app import queries as q
from app.dashboard import components as ui
from app.dashboard import exports as ex
from app.dashboard.pages import market_views as mv
from app.dashboard.views_common import parse_date

TICKERS = pl.DataFrame(
    {"ticker": ["DOM", "FOR"], "name": ["Domestic Co", "Foreign Co"], "domestic_china": [True, False]}
)
ES = pl.DataFrame(
    {
        "event_id": ["e"] * 4,
        "ticker": ["A", "B", "C", "D"],
        "window": ["[-1,+1]"] * 4,
        "car": [0.05, 0.03, -0.01, -0.03],
        "t_stat": [2.0, 1.0, -0.5, -1.5],
        "name": ["a", "b", "c", "d"],
        "domestic_china": [True, True, False, False],
        "source": ["x"] * 4,
    }
)
CROSS = pl.DataFrame(  # deliberately not the mean of the per-ticker rows: the page must show what is stored
    {
        "event_id": ["e"] * 3,
        "window": ["[-1,+1]"] * 3,
        "group": ["domestic_china", "foreign", "domestic_china"],
        "method": ["J1", "J1", "BMP"],
        "n": [2, 2, 2],
        "mean_car": [0.07, -0.04, 0.07],
        "t_stat": [2.47, -0.73, 1.9],
        "source": ["cs"] * 3,
    }
)


def _prices() -> pl.DataFrame:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(10)]
    return pl.DataFrame(
        {
            "date": days * 2,
            "ticker": ["DOM"] * 10 + ["FOR"] * 10,
            "close_usd": [float(50 + i) for i in range(10)] + [float(200 - i) for i in range(10)],
            "provider": ["sample"] * 10 + ["yahoo"] * 10,
            "source": ["s"] * 20,
        }
    )


def test_normalise_usd_starts_each_ticker_at_100() -> None:
    perf = mv.normalise_usd(_prices())
    firsts = perf.group_by("ticker").agg(pl.col("index").first())
    assert firsts["index"].to_list() == [100.0, 100.0]
    dom = perf.filter(pl.col("ticker") == "DOM")
    assert dom["index"][-1] == pytest.approx(100 * 59 / 50)


def test_normalise_drops_rows_without_usd() -> None:
    frame = _prices().with_columns(
        pl.when(pl.col("date") == date(2024, 1, 1))
        .then(None)
        .otherwise(pl.col("close_usd"))
        .alias("close_usd")
    )
    perf = mv.normalise_usd(frame)
    assert (
        perf.height == 18
        and perf.filter(pl.col("date") == date(2024, 1, 2))["index"].to_list() == [100.0] * 2
    )


def test_performance_view_marks_events_in_range_and_sample_tickers(qr) -> None:
    events = pl.DataFrame(
        {
            "event_id": ["in", "out"],
            "announced_date": [date(2024, 1, 5), date(2020, 1, 1)],
            "title": ["inside", "outside"],
            "agency": ["BIS"] * 2,
            "citation": ["c"] * 2,
            "source": ["ev source"] * 2,
        }
    )
    view = mv.performance_view(qr(_prices()), TICKERS, events)
    names = [t.name for t in view.figure.data]
    assert "DOM · Domestic Co" in names and "▼ other" in names
    marker = next(t for t in view.figure.data if t.name == "▼ other")
    assert list(marker.customdata) == ["in"]
    assert view.sample_tickers == ("DOM",)
    assert "ev source" in view.sources
    marks = {a.name: a.text for a in view.figure.layout.annotations if a.name}
    assert view.figure.layout.title.text == mv.PERFORMANCE_TITLE
    assert "ev source" in marks["export-sources"] and marks["sample-watermark"] == ex.SAMPLE_WATERMARK


def test_performance_view_without_data_says_why(empty) -> None:
    view = mv.performance_view(empty("no price data yet — run `fabscope refresh`"), TICKERS, None)
    assert not view.figure.data
    assert "fabscope refresh" in view.figure.layout.annotations[0].text


def test_car_view_splits_domestic_and_foreign_and_draws_the_stored_means(qr) -> None:
    view = mv.car_view(qr(ES), None, qr(CROSS))
    bars = {t.name: list(t.y) for t in view.figure.data}
    assert bars["domestic (China)"] == pytest.approx([5.0, 3.0])
    assert bars["foreign"] == pytest.approx([-1.0, -3.0])
    lines = [a.text for a in view.figure.layout.annotations if not a.name]  # named ones: export marks
    assert lines == ["mean domestic (China): +7.00%", "mean foreign: -4.00%"]  # stored, not 4% / -2%
    no_cross = mv.car_view(qr(ES))
    assert not [a for a in no_cross.figure.layout.annotations if not a.name]  # no re-derived line
    assert "sample-watermark" not in [a.name for a in view.figure.layout.annotations]
    marked = mv.car_view(qr(ES), None, qr(CROSS), sample=True)
    assert "sample-watermark" in [a.name for a in marked.figure.layout.annotations]


def test_summary_shows_every_stored_row_and_column_of_the_window(qr, empty) -> None:
    frame, formats = mv.cross_section_table(qr(CROSS), "[-1,+1]")
    assert frame.columns == ["group", "method", "n", "mean_car", "t_stat"]  # a new method column shows up
    assert frame.height == 3 and frame["t_stat"].to_list() == [2.47, -0.73, 1.9]
    assert frame["group"].to_list() == ["domestic (China)", "foreign", "domestic (China)"]
    assert formats == {"mean_car": "+.2%", "t_stat": ".2f"}
    docs = {"t_stat": "MacKinlay J1", "n": "tickers averaged"}
    cells = mv.summary_cells(qr(CROSS), "[-1,+1]", docs)
    assert "t stat: MacKinlay J1" in cells["notes"] and "n: tickers averaged" in cells["notes"]
    assert "no cross-section stored" in mv.summary_cells(qr(CROSS), "[0,+5]", docs)["reason"]
    assert mv.summary_cells(empty("gone"), "[-1,+1]", docs) == {"reason": "gone"}


def test_windows_sorted_narrowest_first(qr) -> None:
    es = pl.DataFrame({"window": ["[-5,+5]", "[0,+20]", "[-1,+1]"]})
    assert mv.window_options(qr(es)) == ["[-1,+1]", "[-5,+5]", "[0,+20]"]


def test_default_range_and_date_parsing() -> None:
    assert mv.default_range(date(2020, 1, 1), date(2025, 6, 30), 3)[0] == date(2022, 6, 30)
    assert mv.default_range(date(2025, 1, 1), date(2025, 6, 30), 3)[0] == date(2025, 1, 1)
    assert parse_date("2024-03-01T00:00:00") == date(2024, 3, 1)
    assert parse_date("garbage") is None and parse_date(None) is None


def test_one_year_return() -> None:
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(400)]
    frame = pl.DataFrame({"date": days, "ticker": ["X"] * 400, "close_usd": [100.0] * 35 + [150.0] * 365})
    assert mv.one_year_return(frame, "X") == pytest.approx(0.5)
    assert mv.one_year_return(frame, "missing") is None


# ---- the page on the refreshed warehouse ---------------------------------------------------------
H20 = "2025-04-15-nvidia-8k-h20-licence"


def test_event_study_summary_is_the_warehouse_statistic(pages: dict, refreshed_db: Path) -> None:
    stored = q.event_study_cross_section(refreshed_db, H20)
    assert stored.ok, stored.reason
    _view, summary, windows, _banner = pages["market"].event_study(str(refreshed_db), H20, "[-1,+1]")
    table = summary.children[0]
    shown = {(r["group"], r["method"]): r for r in table.data}  # one row per group and test method
    want = stored.frame.filter(pl.col("window") == "[-1,+1]")
    assert len(shown) == want.height
    for r in want.iter_rows(named=True):
        row = shown[(mv.GROUP_LABELS[r["group"]], r["method"])]
        assert row["t_stat"] == r["t_stat"] and row["mean_car"] == r["mean_car"] and row["n"] == r["n"]
    assert "bmp_kp" in summary.children[1].children  # the methods, from the schema's column docs
    assert windows[0] == "[-1,+1]"


def test_sample_banner_only_when_sample_prices_are_on_screen(pages_on, db_copy: Path) -> None:
    """Market + Overview: the banner follows the provider of the prices actually drawn."""
    import duckdb

    pages = pages_on(db_copy)
    with duckdb.connect(str(db_copy)) as con:  # pretend NVDA came from a real provider
        con.execute("UPDATE prices_daily SET provider = 'yahoo' WHERE ticker = 'NVDA'")
    db = str(db_copy)
    _view, banner = pages["market"].performance(db, ["NVDA"], None, None, [])
    assert banner is None
    view, banner = pages["market"].performance(db, ["NVDA", mv.CAMBRICON], None, None, [])
    assert view.sample_tickers == (mv.CAMBRICON,) and banner is not None
    assert mv.CAMBRICON in str(banner) and "NVDA" not in str(banner.children[1])
    _view, banner = pages["market"].performance(db, [], None, None, [])
    assert banner is None  # nothing on screen, nothing to warn about
    overview = pages["overview"].layout()
    assert "Sample prices on screen" in str(overview)  # Cambricon (sample) is in the race chart


def test_price_lines_domestic_red_foreign_blue_stable_and_distinct_beyond_ten() -> None:
    from app.dashboard.views_common import entity_styles

    domestic = {f"D{i:02d}" for i in range(12)}
    universe = sorted(domestic | {f"F{i:02d}" for i in range(12)})
    styles = entity_styles(universe, domestic)
    assert styles["D00"]["color"] == ui.DOMESTIC and styles["F00"]["color"] == ui.FOREIGN
    pairs = [(s["color"], s["dash"]) for s in styles.values()]
    assert len(set(pairs)) == len(pairs) == 24  # no two of 24 tickers look alike
    assert entity_styles(["D03", "F01", *universe], domestic)["D03"] == styles["D03"]  # stable
    assert {styles[d]["color"] for d in domestic}.isdisjoint(
        {styles[f"F{i:02d}"]["color"] for i in range(12)}
    )
