"""Bayesian calibration of the structural model: priors in quantile space, recovery, floors, vintages, cache."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.calibration import (
    OBSERVATION_NOISE,
    _Model,
    calibrate,
    likelihood_rows,
    summary,
    vintage_scenario,
)
from models.observations import DTYPES, METRICS
from models.posterior import SamplerError
from models.scenario_distributions import Normal, Triangular, Uniform
from models.scenarios import SCENARIO_DIR, ScenarioError, load_scenario

BASELINE = SCENARIO_DIR / "baseline.yaml"
RECOVER = ("foreign_inventory_units", "other_domestic_accelerators_base", "domestic_wfe_base")


def _dist(kind, **kw):
    return {"normal": Normal, "uniform": Uniform, "triangular": Triangular}[kind](
        dist=kind, source="test", flag="estimate", **kw
    )


@pytest.mark.parametrize(
    "dist",
    [
        _dist("triangular", low=1.0, mode=2.0, high=5.0),
        _dist("uniform", low=-1.0, high=3.0),
        _dist("normal", mean=0.5, sd=0.2, low=0.0, high=1.0),
    ],
)
def test_ppf_is_the_inverse_of_the_sampled_distribution(dist):
    draws = dist.sample(np.random.default_rng(1), 200_000)
    u = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    np.testing.assert_allclose(dist.ppf(u), np.quantile(draws, u), atol=0.01 * (draws.max() - draws.min()))
    assert np.all(np.diff(dist.ppf(np.linspace(0, 1, 101))) >= -1e-12)


def _scenario(inputs=RECOVER, **calibration):
    text = BASELINE.read_text(encoding="utf-8")
    block = {"inputs": list(inputs), "n_walkers": 16, "n_steps": 400, "ess_floor": 50, **calibration}
    scen = load_scenario(text, label="test.yaml")
    return scen.model_copy(update={"calibration": scen.calibration.model_copy(update=block)})


def _synthetic(scen, truth: dict[str, float], seed: int = 3) -> pl.DataFrame:
    """Observations drawn from the likelihood's own model at ``truth`` (quantiles), with its noise."""
    metrics = ("unit_share", "units_shipped", "localisation_ratio", "vendor_units")
    rows = [
        {
            "segment": METRICS[m].segment,
            "year": y,
            "metric": m,
            "value": 0.5,
            "published": date(y + 1, 4, 1),
            "source": "synthetic",
            "flag": "reported",
            "notes": None,
        }
        for y in (2023, 2024, 2025)
        for m in metrics
    ]
    frame = pl.DataFrame(rows, schema=DTYPES)
    model = _Model(scen, tuple(truth), likelihood_rows(frame, 2023))
    out = model.outputs(np.array([list(truth.values())]))
    rng = np.random.default_rng(seed)
    values = []
    for r, j in zip(model.rows, model.col, strict=True):
        true = float(out[r["segment"]][r["output"]][0, j])
        noise = rng.normal(0.0, r["sd"])
        values.append(true * np.exp(noise) if r["kind"] == "count" else float(np.clip(true + noise, 0, 1)))
    return frame.with_columns(pl.Series("value", values))


@pytest.mark.slow
def test_simulation_recovery_posterior_covers_the_true_inputs_and_narrows_the_prior():
    scen = _scenario()
    truth = {
        "foreign_inventory_units": 0.8,
        "other_domestic_accelerators_base": 0.3,
        "domestic_wfe_base": 0.6,
    }
    res = calibrate(scen, _synthetic(scen, truth), seed=5)
    assert res.ess >= 50 and res.rhat <= 1.1
    for i, name in enumerate(res.inputs):
        lo, hi = np.quantile(res.u[:, i], (0.02, 0.98))
        assert lo <= truth[name] <= hi, (name, lo, hi)
    # the data say something: the posterior is narrower than the prior (uniform u: 0.8 wide at 10-90)
    widths = np.subtract(*np.quantile(res.u, (0.9, 0.1), axis=0))
    assert np.all(widths < 0.75) and widths.min() < 0.4, widths
    doc = summary(scen, res)
    assert {"ess", "rhat", "ess_floor", "inputs", "observations"} <= set(doc)
    assert (
        doc["inputs"]["domestic_wfe_base"]["prior"]["p10"]
        < doc["inputs"]["domestic_wfe_base"]["prior"]["p90"]
    )


@pytest.mark.slow
def test_ess_below_the_floor_fails_with_one_line_and_nothing_returned():
    scen = _scenario(ess_floor=1e9)
    frame = _synthetic(scen, dict.fromkeys(RECOVER, 0.5))
    with pytest.raises(SamplerError) as err:
        calibrate(scen, frame, seed=1)
    msg = str(err.value)
    assert "\n" not in msg and "effective sample size" in msg and "not published" in msg


def test_measurement_model_compares_a_unit_share_with_the_unit_share_and_counts_in_logs():
    frame = _synthetic(_scenario(), dict.fromkeys(RECOVER, 0.5))
    rows = {r["metric"]: r for r in likelihood_rows(frame, 2023)}
    assert rows["unit_share"]["output"] == "unit_share" and rows["unit_share"]["kind"] == "share"
    assert rows["units_shipped"]["output"] == "domestic_units" and rows["units_shipped"]["kind"] == "count"
    assert rows["vendor_units"]["sd"] == pytest.approx(
        np.hypot(0.15, OBSERVATION_NOISE[("count", "reported")])
    )


@pytest.mark.slow
def test_draws_are_cached_on_disk_keyed_by_observations_and_as_of(tmp_path: Path):
    scen = _scenario()
    frame = _synthetic(scen, dict.fromkeys(RECOVER, 0.5))
    first = calibrate(scen, frame, seed=2, cache_dir=tmp_path)
    from models import calibration

    calibration._CACHE.clear()  # a new process: only the disk copy is left
    again = calibrate(scen, frame, seed=2, cache_dir=tmp_path)
    assert again.cached and not first.cached and np.array_equal(again.u, first.u)
    later = calibrate(scen, frame, seed=2, cache_dir=tmp_path, as_of=date(2026, 5, 1))
    assert later.key != first.key
    # more paths or a longer horizon is the same posterior
    wider = scen.model_copy(update={"n_paths": 77})
    assert calibrate(wider, frame, seed=2, cache_dir=tmp_path).key == first.key


def test_calibration_inputs_must_name_an_uncertain_prior():
    text = BASELINE.read_text(encoding="utf-8")
    bad = text.replace("    - grey_market_fraction\n", "    - grey_market_fraction\n    - no_such_input\n")
    with pytest.raises(ScenarioError, match=r"test\.yaml: .*calibration\.inputs\[\d+\]: 'no_such_input'"):
        load_scenario(bad, label="test.yaml")
    fixed = text.replace(
        "    - grey_market_fraction\n", "    - grey_market_fraction\n    - dies_per_accelerator\n"
    )
    with pytest.raises(ScenarioError, match="is fixed; a calibrated input needs a prior"):
        load_scenario(fixed, label="test.yaml")


def test_a_prior_or_its_earlier_vintage_outside_the_range_names_file_and_field():
    text = BASELINE.read_text(encoding="utf-8")
    bad = text.replace(
        "grey_market_fraction:\n    {dist: uniform, low: 0.1, high: 0.6",
        "grey_market_fraction:\n    {dist: uniform, low: 0.1, high: 1.6",
    )
    with pytest.raises(
        ScenarioError, match=r"x\.yaml: .*parameters\.grey_market_fraction: values must be \[0, 1\]"
    ):
        load_scenario(bad, label="x.yaml")
    bad_before = text.replace(
        "before: {dist: triangular, low: 0.03, mode: 0.10, high: 0.25",
        "before: {dist: triangular, low: 0.03, mode: 0.10, high: 1.25",
    )
    with pytest.raises(ScenarioError, match=r"parameters\.ai_logic_fraction\.before: values must be"):
        load_scenario(bad_before, label="x.yaml")


def test_a_vintage_uses_only_priors_published_by_then():
    scen = load_scenario(BASELINE)
    assert scen.parameters["grey_market_accelerators"].published == date(2025, 7, 24)
    then = vintage_scenario(scen, date(2024, 12, 31), "baseline.yaml")
    for name, dist in then.parameters.items():
        assert dist.published is None or dist.published <= date(2024, 12, 31), name
    assert then.parameters["grey_market_accelerators"] == scen.parameters["grey_market_accelerators"].before
    # after every publication date the scenario is unchanged
    assert vintage_scenario(scen, date(2026, 12, 31), "b.yaml") == scen
    # a later prior with no earlier one cannot be used in that vintage: one line naming file and field
    text = BASELINE.read_text(encoding="utf-8").replace(
        '{dist: uniform, low: 0.0, high: 0.15, unit: 1/year, flag: estimate,\n     source: "assumption: cheaper',
        '{dist: uniform, low: 0.0, high: 0.15, unit: 1/year, flag: estimate, published: 2025-02-01,\n     source: "assumption: cheaper',
    )
    late = load_scenario(text, label="late.yaml")
    with pytest.raises(
        ScenarioError,
        match=r"late\.yaml: parameters\.efficiency_gain: prior published 2025-02-01 is after --as-of 2024-12-31",
    ):
        vintage_scenario(late, date(2024, 12, 31), "late.yaml")
