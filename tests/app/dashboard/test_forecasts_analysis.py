"""Forecasts page transparency: the tornado is `forecast explain`'s result, P(share > x) comes from the
stored run's own paths (which reproduce its stored quantiles), and the metric toggle lists runs by metric."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from app import queries as q
from app.dashboard.pages import forecasts_analysis as fa
from pipelines import forecast_store
from pipelines.warehouse import Warehouse


@pytest.mark.slow
def test_tornado_and_exceedance_are_the_models_numbers(refreshed_db: Path) -> None:
    db = str(refreshed_db)
    runs = q.scenario_runs(db, "units")
    base = runs.frame.filter(pl.col("name") == "baseline")["scenario_id"][0]
    with Warehouse(db).read() as con:
        doc = forecast_store.explain_run(con, base)
    view = fa.tornado_view(fa.explain_doc(db, base), "wfe", 2030)
    stored = next(r for r in doc["segments"]["wfe"] if r["year"] == 2030)["drivers"]
    assert list(view.figure.data[0].x) == [d["rho"] for d in reversed(stored)]
    assert view.frame["rho"].to_list() == [d["rho"] for d in stored]

    p50 = q.substitution_forecast(db, [base]).frame.filter(
        (pl.col("segment") == "wfe") & (pl.col("model") == "structural") & (pl.col("year") == 2030)
    )["p50"][0]
    rows = fa.exceedance(db, base, "wfe", p50)
    at = rows.filter(pl.col("year") == 2030).row(0, named=True)
    assert at["n_paths"] == runs.frame.filter(pl.col("scenario_id") == base)["n_paths"][0]
    assert at["p_above"] == pytest.approx(0.5, abs=1e-3)  # the stored p50 is the median of these very paths
    assert (
        fa.exceedance(db, base, "wfe", 0.0)["p_above"].min()
        >= fa.exceedance(db, base, "wfe", 0.9)["p_above"].max()
    )
    text = fa.statements(rows.filter(pl.col("year") == 2030), "wfe", base)
    assert text == [f"P(domestic share of fab equipment (WFE) > {p50:.0%} in 2030) = 50%"]
    assert q.scenario_runs(db, "units").frame.height == q.scenario_runs(db).frame.height


def test_threshold_outside_0_100_is_refused_beside_the_answer(refreshed_db: Path) -> None:
    out = fa.tornado_outputs(str(refreshed_db), None, None, "wfe", 140)
    assert "must be in 0..100 %" in out[-1][0].children
    assert fa.tornado_view(None, "wfe", None).note == "pick a stored run to explain"
