"""Observations as data: the bundled file, the measurement models, vintages and bad rows."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from models.montecarlo import structural_outputs
from models.observations import (
    METRICS,
    ObservationError,
    as_of,
    parse_as_of,
    share_series,
    target_output,
    validate_observations,
)
from models.scenarios import SCENARIO_DIR, load_scenario
from pipelines.sources.reference import REFERENCE_FILES

TODAY = date(2026, 12, 6)


@pytest.fixture(scope="module")
def observations() -> pl.DataFrame:
    res = REFERENCE_FILES["observations"].load()
    assert res.quarantine.height == 0
    return res.good


def test_bundled_observations_are_valid_cited_and_include_2025_actuals(observations):
    validate_observations(observations, today=TODAY)
    assert observations.filter(pl.col("source").str.len_chars() < 5).height == 0
    assert set(observations["flag"]) <= {"reported", "estimate"}
    latest = observations.filter(pl.col("year") == 2025)
    assert {"unit_share", "units_shipped", "vendor_units", "localisation_ratio", "hbm_share"} <= set(
        latest["metric"]
    )
    idc = latest.filter(pl.col("metric") == "unit_share").row(0, named=True)
    assert idc["value"] == pytest.approx(0.41) and idc["flag"] == "reported" and "IDC" in idc["source"]


def test_every_metric_measures_an_output_the_structural_model_has():
    outputs = structural_outputs(load_scenario(SCENARIO_DIR / "baseline.yaml"), n_paths=20)
    for name, spec in METRICS.items():
        assert spec.output in outputs[spec.segment], name
        assert spec.kind in ("share", "count") and spec.proxy_sd >= 0


def test_unit_share_is_compared_with_unit_share_not_h100e(observations):
    units = share_series(observations, "ai_accelerators", target_output("ai_accelerators", "units"))
    h100e = share_series(observations, "ai_accelerators", target_output("ai_accelerators", "h100e"))
    assert set(units["metric"]) == {"unit_share", "server_chip_share"}
    assert set(h100e["metric"]) == {"revenue_share", "self_sufficiency"}
    assert units.filter(pl.col("metric") == "unit_share")["proxy_sd"].to_list() == [0.0] * 3


def test_a_vintage_keeps_only_what_was_published_by_then(observations):
    old = as_of(observations, date(2024, 12, 31))
    assert old["published"].max() <= date(2024, 12, 31)
    assert 2025 not in old["year"].to_list() and old.height < observations.height
    assert as_of(observations, None).height == observations.height
    with pytest.raises(ObservationError, match=r"--as-of: 2019-01-01 is before the first observation"):
        parse_as_of("2019-01-01", observations)
    with pytest.raises(ObservationError, match="--as-of: expected a date"):
        parse_as_of("last year", observations)


def _frame(**overrides) -> pl.DataFrame:
    row = {
        "segment": "wfe",
        "year": 2024,
        "metric": "localisation_ratio",
        "value": 0.25,
        "published": date(2025, 1, 9),
        "source": "x",
        "flag": "estimate",
        "notes": None,
    }
    good = pl.DataFrame([row], schema_overrides={"notes": pl.String})
    return pl.concat([good, pl.DataFrame([{**row, **overrides}], schema=good.schema)])


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"metric": "market_vibes"}, ["obs.csv row 2, field metric", "unknown metric 'market_vibes'"]),
        ({"published": date(2027, 1, 1)}, ["obs.csv row 2, field published", "after today"]),
        ({"segment": "hbm"}, ["obs.csv row 2, field segment", "belongs to 'wfe'"]),
        ({"value": 1.3}, ["obs.csv row 2, field value", "a share in [0, 1]"]),
    ],
)
def test_bad_rows_are_named_by_file_row_and_field(overrides, words):
    with pytest.raises(ObservationError) as err:
        validate_observations(_frame(**overrides), today=TODAY, label="obs.csv")
    message = str(err.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_rank_correlation_by_hand():
    import numpy as np

    from models.explain import _rank_corr

    x = np.column_stack([np.arange(10.0), -(np.arange(10.0) ** 3), np.ones(10)])
    rho = _rank_corr(x, np.exp(np.arange(10.0)))  # monotone in the first column, reversed in the second
    assert rho[0] == pytest.approx(1.0) and rho[1] == pytest.approx(-1.0) and np.isnan(rho[2])
