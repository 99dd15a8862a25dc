"""Lean responses: large series down-sampled for drawing, CSV built on click at full resolution."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from plotly.io.json import to_json_plotly

from app import queries as q
from app.dashboard import components as ui
from app.dashboard.pages import market_views as mv

MAX_PERFORMANCE_RESPONSE_KIB = 100


def test_thin_keeps_short_series_and_the_shape_of_long_ones() -> None:
    x = np.arange(500)
    assert np.array_equal(ui.thin(x, np.sin(x / 10)), x)
    days = np.arange("2000-01-03", "2026-01-03", dtype="datetime64[D]")
    y = np.sin(np.arange(days.size) / 50.0) + np.arange(days.size) / 1e3
    y[4321] = 50.0  # a spike must survive the down-sampling
    drawn = ui.thin(days, y, max_points=1000)
    assert drawn.size == 1000 and np.all(np.diff(drawn) > 0)
    assert drawn[0] == 0 and drawn[-1] == days.size - 1 and 4321 in drawn
    assert y[drawn].min() == pytest.approx(y.min(), abs=1e-2) and y[drawn].max() == 50.0


def test_a_long_history_draws_at_most_the_cap_per_trace_but_keeps_every_row() -> None:
    days = [date(2000, 1, 3) + timedelta(days=i) for i in range(6000)]
    prices = pl.DataFrame(
        {
            "date": days * 2,
            "ticker": ["DOM"] * 6000 + ["FOR"] * 6000,
            "close_usd": np.concatenate([np.linspace(10, 90, 6000), np.linspace(200, 20, 6000)]),
            "provider": ["sample"] * 12000,
            "source": ["s"] * 12000,
        }
    )
    tickers = pl.DataFrame({"ticker": ["DOM", "FOR"], "name": ["D", "F"], "domestic_china": [True, False]})
    view = mv.performance_view(q.QueryResult(prices, None, ("s",)), tickers, None)
    assert [len(t.x) for t in view.figure.data] == [ui.MAX_POINTS_PER_TRACE] * 2
    assert view.frame.height == 12000  # the CSV's rows: full resolution
    last = view.figure.data[0]
    assert str(last.x[-1])[:10] == str(days[-1]) and last.y[-1] == pytest.approx(900.0)


def _default_performance(pages: dict, db: Path):
    rng = q.price_range(db)
    start, end = mv.default_range(rng.frame.item(0, "first"), rng.frame.item(0, "last"))
    return pages["market"].performance(str(db), list(mv.DEFAULT_TICKERS), start, end, ["events"])


def test_the_performance_response_is_small_and_its_csv_comes_on_click(
    pages: dict, refreshed_db: Path
) -> None:
    view, banner = _default_performance(pages, refreshed_db)
    figure, csv, sources = view.card_outputs
    assert isinstance(csv, dict) and csv["card"] == "market-performance"  # a request, not the rows
    size = len(to_json_plotly([figure, csv, sources, banner]).encode())
    assert size <= MAX_PERFORMANCE_RESPONSE_KIB * 1024, f"{size / 1024:.0f} KiB"

    from app.dashboard.app import create_app

    client = create_app(str(refreshed_db)).server.test_client()
    resp = client.get(ui.CSV_ROUTE, query_string={"card": csv["card"], "args": json.dumps(csv["args"])})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert 'filename="fabscope-market-performance.csv"' in resp.headers["Content-Disposition"]
    assert resp.get_data(as_text=True) == ui.frame_csv(view.frame)  # every row, as the chart's frame
    assert resp.get_data(as_text=True).count("\n") == view.frame.height + 1


def test_csv_requests_that_cannot_be_served_say_why(pages: dict, refreshed_db: Path) -> None:
    db = str(refreshed_db)
    assert ui.build_csv(db, "no-such-card", "{}")[0] == 404
    assert ui.build_csv(db, "market-performance", "{not json")[0] == 400
    assert ui.build_csv(db, "market-performance", "[1, 2]")[0] == 400
    assert ui.build_csv(db, "market-performance", json.dumps({"colour": "red"}))[0] == 400
    big = json.dumps({"tickers": ["X" * 10] * 1000})
    assert ui.build_csv(db, "market-performance", big)[0] == 413
    status, body = ui.build_csv(db, "market-performance", json.dumps({"tickers": ["NO-SUCH"]}))
    assert status == 200 and body == ui.NO_ROWS_CSV
