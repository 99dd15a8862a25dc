"""Forecasts page: fan charts, run comparison, stored-run helpers."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from app.dashboard import components as ui
from app.dashboard.pages import forecasts_views as fv

FC = pl.DataFrame(
    {
        "scenario_id": ["base"] * 3 + ["alt"] * 3 + ["base"] * 3,
        "segment": ["wfe"] * 9,
        "year": [2025, 2026, 2027] * 3,
        "model": ["structural"] * 6 + ["ensemble"] * 3,
        "p10": [0.1, 0.2, 0.3, 0.2, 0.3, 0.4, 0.0, 0.0, 0.0],
        "p50": [0.2, 0.3, 0.4, 0.3, 0.4, 0.5, 0.1, 0.1, 0.1],
        "p90": [0.3, 0.4, 0.5, 0.4, 0.5, 0.6, 0.2, 0.2, 0.2],
        "source": ["m"] * 9,
    }
)


HIST = pl.DataFrame(
    {
        "segment": ["wfe"],
        "year": [2024],
        "domestic_share": [0.25],
        "metric": ["m"],
        "source": ["SEMI"],
        "flag": ["estimate"],
    }
)


def test_fan_view_draws_band_and_median_per_scenario(qr) -> None:
    hist = HIST
    view = fv.fan_view(qr(FC), "wfe", ["base", "alt"], qr(hist), None)
    bands = [t for t in view.figure.data if t.fill == "toself"]
    assert len(bands) == 2
    base_band = bands[0]
    assert list(base_band.y) == [0.3, 0.4, 0.5, 0.3, 0.2, 0.1]  # p90 forward, p10 back
    assert view.note == "model: structural" and "SEMI" in view.sources
    assert fv.fan_view(qr(FC), "hbm").figure.layout.annotations  # no hbm rows: says so


def test_compare_runs_difference(qr) -> None:
    view = fv.compare_runs_view(qr(FC), "base", "alt", "wfe")
    assert view.frame["p50_b_minus_a"].to_list() == pytest.approx([0.1, 0.1, 0.1])
    assert fv.compare_runs_view(qr(FC), None, "alt", "wfe").figure.layout.annotations


def test_run_helpers(qr, empty) -> None:
    from datetime import datetime

    runs = qr(
        pl.DataFrame(
            {
                "scenario_id": ["baseline-old", "baseline-new", "x-1"],
                "name": ["baseline", "baseline", "x"],
                "created_at": [datetime(2026, 1, 1), datetime(2026, 3, 1), datetime(2026, 2, 1)],
            }
        )
    )
    assert fv.baseline_run_id(runs) == "baseline-new"
    assert fv.latest_per_name(runs) == ["baseline-new", "x-1"]
    assert fv.baseline_run_id(empty(), ["x", "baseline-7"]) == "baseline-7"
    assert [o["value"] for o in fv.run_options(runs)] == ["baseline-old", "baseline-new", "x-1"]


def test_fan_csv_holds_every_point_drawn(qr) -> None:
    hist = HIST
    outlook = pl.DataFrame(
        {
            "segment": ["wfe"],
            "year": [2027],
            "domestic_share": [0.5],
            "metric": ["m"],
            "publisher": ["Bank"],
            "published": [date(2025, 1, 1)],
            "source": ["Bank note"],
            "flag": ["estimate"],
        }
    )
    view = fv.fan_view(qr(FC), "wfe", ["base"], qr(hist), qr(outlook))
    drawn = sum(len(t.y) for t in view.figure.data if t.fill != "toself")  # p50 points + observed + outlooks
    assert view.frame.height == drawn == 5
    assert view.frame.columns[0] == "series"
    assert set(view.frame["series"].to_list()) == {"forecast", "observed", "third-party outlook"}
    csv = ui.frame_csv(view.frame)
    assert "observed" in csv and "Bank" in csv
    compare = fv.compare_runs_view(qr(FC), "base", "alt", "wfe")
    assert compare.frame.height == 3  # compare CSV: one row per year, no observed rows mixed in


def test_compare_on_an_empty_warehouse_says_what_is_missing(qr, empty) -> None:
    view = fv.compare_runs_view(
        empty("no forecast data yet (table `substitution_forecast` is missing) — run `fabscope refresh`"),
        None,
        None,
        "wfe",
    )
    assert "substitution_forecast" in view.figure.layout.annotations[0].text
    assert (
        "pick two runs" in fv.compare_runs_view(qr(FC), None, "alt", "wfe").figure.layout.annotations[0].text
    )


def test_scenario_names_with_markup_are_drawn_as_text(qr) -> None:
    evil = "<b>x</b><a href='javascript:alert(1)'>y</a>"
    view = fv.fan_view(
        qr(FC.with_columns(pl.col("scenario_id").replace("alt", evil))), "wfe", None, None, None
    )
    names = [t.name for t in view.figure.data]
    assert any("&lt;b&gt;x&lt;/b&gt;" in n for n in names)
    assert all("<" not in n for n in names)
    assert all("<a" not in (t.hovertemplate or "") for t in view.figure.data)


def _runs(qr):
    return qr(
        pl.DataFrame(
            {
                "scenario_id": ["baseline-old", "baseline-new", "mine"],
                "name": ["baseline", "baseline", "mine"],
                "seed": [7, 20240601, 1],
                "n_paths": [500, 10000, 2000],
                "created_at": [date(2024, 1, 1), date(2024, 6, 1), date(2024, 7, 1)],
            }
        )
    )


def test_editor_starts_from_the_stored_baseline_seed_and_paths(qr, empty) -> None:
    assert fv.editor_defaults(_runs(qr), 2000) == (20240601, 10000)  # newest baseline, common random numbers
    assert fv.editor_defaults(empty(), 2000) == (1, 2000)


def test_difference_view_draws_the_paired_band_as_compare_returns_it() -> None:
    rows = [
        {
            "year": 2030,
            "diff_p10": -0.01,
            "diff_p50": 0.02,
            "diff_p90": 0.05,
            "p_a_above": 0.4,
            "p_b_above": 0.5,
        }
    ]
    doc = {
        "a": {"scenario_id": "base"},
        "b": {"scenario_id": "mine"},
        "paired": {
            "n_paths": 4000,
            "threshold": 0.5,
            "common_random_numbers": True,
            "segments": {"hbm": rows},
        },
    }
    view = fv.difference_view(doc, "hbm")
    band_hi, band_lo, median = view.figure.data
    assert list(median.y) == pytest.approx([2.0]) and list(band_lo.y) == pytest.approx([-1.0])
    assert list(band_hi.y) == pytest.approx([5.0]) and band_lo.fill == "tonexty"
    assert view.frame["diff_p50"].to_list() == [0.02]  # the stored number, in the CSV as returned
    assert "common random numbers" in view.note and "mine − base" in view.note
    assert "P(share > 50%) in 2030: baseline 40%, rerun 50%" in view.note  # as compare_runs returns it
    assert not fv.difference_view(doc, "wfe").figure.data  # no rows for the segment: says so


def test_compose_keeps_an_upload_when_a_lever_moves(pages: dict) -> None:
    forecasts = pages["forecasts"]

    text, message = forecasts.compose(
        "baseline.yaml", "x", [1.5], [{"param": "p"}], "data:...", "up.yaml", "lever"
    )
    assert text is forecasts.dash.no_update and "up.yaml is kept" in str(message.children)
    fresh, _ = forecasts.compose("baseline.yaml", "x", [1.0], [{"param": "p"}], None, None, "editor-upload")
    assert "name: x" in fresh  # a discarded upload (cleared) returns the editor to base + levers


def test_backtest_table_shows_the_stored_scores_and_verdicts(qr, empty, refreshed_db) -> None:
    from app import queries as q

    scores = q.forecast_backtest(refreshed_db, "hbm")
    assert scores.ok and set(scores.frame["segment"].to_list()) == {"hbm"}
    frame, formats = fv.backtest_table(scores)
    assert frame["crps"].to_list() == scores.frame["crps"].to_list()  # as stored, not recomputed
    assert set(frame["beats_last_value"].to_list()) <= {"beats last value", "worse than last value", "—"}
    assert formats["coverage_p10_p90"] == ".0%"
    assert fv.backtest_table(empty())[0].is_empty()
