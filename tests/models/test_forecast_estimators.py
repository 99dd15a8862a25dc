"""Substitution curves: parameter recovery, bounds, [0, 1] predictions, weights, ensemble, backtests.

Sampler-heavy checks use ``FAST`` settings (fewer steps, a lower ESS floor); the defaults are
exercised by the simulation study (tests/models/test_forecast_simulation_study.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import properscoring as ps
import pytest
from sklearn.base import clone

from models.anchored import DampedTrend, LastValue
from models.backtest import MODELS, backtest_series, naive_paths, run_backtests, verdicts
from models.ensemble import SubstitutionEnsemble, mixture_crps_terms, stacking_weights
from models.posterior import SamplerError
from models.substitution import Bass, FisherPry, Gompertz, observation_weights, segment_observations

YEARS = np.arange(2008, 2036, dtype=float)
FAST = {"n_steps": 700, "ess_floor": 50.0}

CASES = [
    (FisherPry, {"alpha_": 0.35, "t0_": 2024.0}, np.array([np.log(0.35), 2024.0])),
    (Gompertz, {"k_": 0.25, "t0_": 2026.0}, np.array([np.log(0.25), 2026.0])),
    (Bass, {"p_": 0.02, "q_": 0.5}, np.log([0.02, 0.5])),
]


def _generate(cls, theta, noise, seed):
    rng = np.random.default_rng(seed)
    clean = cls()._curve(YEARS, theta[None, :])[0]
    return np.clip(clean + rng.normal(0.0, noise, YEARS.size), 0.0, 1.0)


@pytest.mark.slow
@pytest.mark.parametrize(("cls", "truth", "theta"), CASES)
def test_each_estimator_recovers_its_own_parameters(cls, truth, theta):
    y = _generate(cls, theta, noise=0.02, seed=7)
    est = cls().fit(YEARS[:, None], y)
    assert est.ess_ >= 200 and est.rhat_ <= 1.1
    for name, value in truth.items():
        assert getattr(est, name) == pytest.approx(value, rel=0.12, abs=0.6 if name == "t0_" else 0.0)


@pytest.mark.parametrize(("cls", "truth", "theta"), CASES)
def test_fit_is_not_fooled_into_the_other_parameters(cls, truth, theta):
    """Recovery is specific: data generated with other values give other estimates."""
    shifted = theta + np.array([0.4, 0.0]) if cls is not Bass else theta + np.array([0.0, 0.5])
    a = cls(**FAST).fit(YEARS[:, None], _generate(cls, theta, 0.02, 1))
    b = cls(**FAST).fit(YEARS[:, None], _generate(cls, shifted, 0.02, 1))
    assert not np.allclose(a.theta_, b.theta_, atol=0.1)


@pytest.mark.parametrize("cls", [FisherPry, Gompertz, Bass])
def test_predictions_and_samples_stay_in_unit_interval(cls):
    X = np.array([[2020.0], [2024.0]])
    est = cls(**FAST).fit(X, np.array([0.0, 1.0]))
    far = np.arange(1950, 2150, 5, dtype=float)[:, None]
    pred = est.predict(far)
    assert pred.min() >= 0.0 and pred.max() <= 1.0
    paths = est.sample_paths(far, n_paths=500, random_state=0)
    assert paths.min() >= 0.0 and paths.max() <= 1.0
    q = est.predict_quantiles(far, n_paths=500, random_state=0)
    assert np.all(q[0] <= q[1]) and np.all(q[1] <= q[2])


@pytest.mark.parametrize("cls", [FisherPry, Gompertz, Bass])
def test_bounds_are_respected(cls):
    est = cls(**FAST)
    lo, hi = est._full_bounds()
    fitted = est.fit(np.array([[2020.0], [2021.0]]), np.array([0.01, 0.99]))  # absurdly steep
    assert np.all(fitted.posterior_ >= lo - 1e-12) and np.all(fitted.posterior_ <= hi + 1e-12)


def test_sklearn_params_roundtrip_and_clone():
    est = FisherPry(ceiling=0.9, rate_prior=(0.5, 2.0), **FAST)
    assert est.get_params()["ceiling"] == 0.9
    est.set_params(ceiling=0.8)
    copy = clone(est)
    assert copy.ceiling == 0.8 and copy.rate_prior == (0.5, 2.0)
    y = _generate(FisherPry, np.array([np.log(0.3), 2022.0]), 0.01, 3) * 0.8
    assert copy.fit(YEARS[:, None], y).predict(np.array([[2100.0]]))[0] <= 0.8 + 1e-9


def test_shares_outside_unit_interval_are_refused():
    with pytest.raises(ValueError, match="shares in"):
        Gompertz().fit(np.array([[2020.0], [2021.0]]), np.array([0.2, 1.3]))


def test_source_disagreement_widens_the_band():
    years = np.repeat([2020.0, 2021.0, 2022.0, 2023.0], 2)[:, None]
    agree = np.array([0.20, 0.21, 0.25, 0.26, 0.30, 0.31, 0.36, 0.37])
    spread = np.array([0.10, 0.31, 0.15, 0.36, 0.20, 0.41, 0.25, 0.48])  # same mid-points, 2x apart
    X = np.array([[2026.0]])
    narrow = FisherPry(**FAST).fit(years, agree).predict_quantiles(X, n_paths=4000, random_state=0)
    wide = FisherPry(**FAST).fit(years, spread).predict_quantiles(X, n_paths=4000, random_state=0)
    assert (wide[2] - wide[0])[0] > 1.5 * (narrow[2] - narrow[0])[0]


def test_observation_weights_follow_flag_and_bounds():
    w = observation_weights(
        ["reported", "estimate", "reported", "estimate"],
        ["units", "revenue", "units", "revenue"],
        ["", "", "> 0.30: lower bound stored", "so an upper bound"],
    )
    assert w.tolist() == [1.0, 0.5, 0.5, 0.25]


def test_segment_observations_reads_a_frame():
    rows = [("wfe", 2021, 0.2, "estimate"), ("wfe", 2022, 0.3, "reported"), ("hbm", 2022, 0.0, "estimate")]
    frame = pl.DataFrame(rows, schema=["segment", "year", "domestic_share", "flag"], orient="row")
    X, y, w = segment_observations(frame, "wfe")
    assert X[:, 0].tolist() == [2021.0, 2022.0] and y.tolist() == [0.2, 0.3] and w.tolist() == [0.5, 1.0]


def test_weights_pull_the_fit_toward_heavier_rows():
    X = np.array([[2022.0], [2022.0], [2023.0], [2023.0]])
    y = np.array([0.2, 0.4, 0.25, 0.45])
    low = FisherPry(**FAST).fit(X, y, sample_weight=[1, 0.1, 1, 0.1]).predict([[2022.5]])[0]
    high = FisherPry(**FAST).fit(X, y, sample_weight=[0.1, 1, 0.1, 1]).predict([[2022.5]])[0]
    assert low < 0.3 < high


def _fast_members():
    return [("fisher_pry", FisherPry(**FAST)), ("gompertz", Gompertz(**FAST)), ("bass", Bass(**FAST))]


@pytest.mark.slow  # fits the curves with emcee (seconds each)
def test_ensemble_weights_come_from_out_of_sample_crps_and_paths_mix():
    y = _generate(Gompertz, np.array([np.log(0.25), 2026.0]), 0.01, 11)
    members = [*_fast_members(), ("last_value", LastValue())]
    ens = SubstitutionEnsemble(members=members).fit(YEARS[:, None], y)
    assert set(ens.weights_) == {"fisher_pry", "gompertz", "bass", "last_value"}
    assert [n for n, _ in ens.estimators_] == ["fisher_pry", "gompertz", "bass"]  # curves only
    assert sum(ens.weights_.values()) == pytest.approx(1.0)
    assert "out-of-sample CRPS" in ens.weights_basis_ and ens.n_pairs_ > 0
    # a rising curve: carrying the last value forward scores worst out of sample and gets least weight
    assert max(ens.oos_crps_, key=ens.oos_crps_.get) == "last_value"
    assert ens.weights_["last_value"] < 1 / 4
    # published weights are the stacking optimum shrunk toward equal by PRIOR_PAIRS per member
    assert min(ens.weights_.values()) >= 1 / 4 * 4 / (ens.n_pairs_ + 4) - 1e-9
    paths = ens.sample_paths(np.array([[2030.0], [2031.0]]), n_paths=300, random_state=0)
    assert paths.shape == (300, 2) and paths.min() >= 0 and paths.max() <= 1
    q10, q90 = ens.predict_quantiles(np.array([[2030.0]]), (0.1, 0.9), n_paths=4000, random_state=1)
    assert q10[0] <= ens.predict(np.array([[2030.0]]))[0] <= q90[0]  # the point lies in its band


def test_stacking_weights_minimise_the_mixture_crps():
    """Two members on pairs where one is always right: the weight goes to it; identical members stay equal."""
    rng = np.random.default_rng(0)
    obs = np.zeros(6)
    good = 0.02 * rng.standard_normal((6, 1, 300))
    samples = np.concatenate([good, good + 0.3], axis=1)
    a, B = mixture_crps_terms(samples, obs)
    w = stacking_weights(a, B)
    assert w[0] > 0.9 and w.sum() == pytest.approx(1.0)
    # the quadratic form reproduces properscoring's CRPS of the pooled (equal-weight) ensemble
    pooled = samples.reshape(6, -1)
    assert (a @ [0.5, 0.5] - 0.5 * np.einsum("m,pmk,k->p", [0.5, 0.5], B, [0.5, 0.5])) == pytest.approx(
        ps.crps_ensemble(obs, pooled), rel=1e-6
    )
    same = np.concatenate([good, good], axis=1)
    np.testing.assert_allclose(stacking_weights(*mixture_crps_terms(same, obs)), 0.5, atol=1e-6)


@pytest.mark.slow  # fits the curves with emcee (seconds each)
def test_ensemble_with_one_year_of_data_weighs_equally_and_says_so():
    ens = SubstitutionEnsemble(members=_fast_members()).fit(
        np.array([[2023.0], [2023.0]]), np.array([0.1, 0.12])
    )
    assert ens.weights_ == pytest.approx({"fisher_pry": 1 / 3, "gompertz": 1 / 3, "bass": 1 / 3})
    assert ens.weights_basis_.startswith("equal") and ens.n_pairs_ == 0


def test_a_sampler_below_its_ess_floor_refuses_to_publish():
    with pytest.raises(SamplerError, match=r"effective sample size \d+ \(floor 1000000\)"):
        FisherPry(n_steps=300, ess_floor=1e6).fit(YEARS[:, None], _generate(FisherPry, CASES[0][2], 0.02, 1))


def test_point_forecast_lies_inside_its_own_band():
    y = _generate(FisherPry, np.array([np.log(0.3), 2030.0]), 0.03, 5)[:14]  # early part of the curve only
    est = FisherPry(**FAST).fit(YEARS[:14, None], y)
    X = np.arange(2025, 2041, dtype=float)[:, None]
    q = est.predict_quantiles(X, n_paths=4000, random_state=0)
    p = est.predict(X)
    assert np.all(q[0] - 1e-9 <= p) and np.all(p <= q[2] + 1e-9)


# ---- vintage backtests -----------------------------------------------------------------------


def _series(years, values, published, flag="reported"):
    n = len(years)
    return pl.DataFrame(
        {
            "year": [int(y) for y in years],
            "value": [float(v) for v in values],
            "published": published,
            "flag": [flag] * n,
            "notes": [None] * n,
            "metric": ["localisation_ratio"] * n,
            "proxy_sd": [0.0] * n,
        },
        schema_overrides={"notes": pl.String},
    )


def test_naive_forecasts_by_hand():
    rng = np.random.default_rng(0)
    t, y, w = np.array([2020.0, 2021.0, 2022.0]), np.array([0.3, 0.4, 0.6]), np.ones(3)
    last = naive_paths("last_value", t, y, w, np.array([2023.0, 2024.0]), 40000, rng)
    np.testing.assert_allclose(np.median(last, axis=0), [0.6, 0.6], atol=0.01)
    # sd = RMS of the yearly changes (0.1, 0.2) = 0.158, times sqrt(h) (clipping at 1 trims a little)
    np.testing.assert_allclose(last.std(axis=0), [0.158, 0.158 * np.sqrt(2)], rtol=0.06)
    trend = naive_paths("linear_trend", t, y, w, np.array([2023.0]), 40000, rng)
    assert np.median(trend) == pytest.approx(0.4333 + 0.15 * 2, abs=0.01)  # OLS line at 2023


def test_damped_trend_by_hand():
    t, y = np.array([2020.0, 2021.0, 2022.0]), np.array([0.3, 0.4, 0.6])
    est = DampedTrend(phi=0.8).fit(t[:, None], y)
    # anchored at 0.6; OLS slope 0.15 damped: 0.6 + 0.15 * (0.8 + 0.64) at h = 2
    assert est.predict(np.array([[2024.0]]))[0] == pytest.approx(0.6 + 0.15 * 1.44)
    # change scale: (1 * 0.05^2 + 0.1^2 + 0.2^2) / (1 + 2); Student-t with 3 degrees of freedom
    assert est.sigma_ == pytest.approx(np.sqrt((0.0025 + 0.01 + 0.04) / 3)) and est.dof_ == 3
    paths = est.sample_paths(np.array([[2023.0]]), n_paths=40000, random_state=0)
    half = (np.quantile(paths, 0.9) - np.quantile(paths, 0.1)) / 2
    assert half == pytest.approx(1.638 * est.sigma_, rel=0.05)  # t_3 0.9-quantile 1.638, not 1.28


def test_curve_noise_follows_the_predicted_figures_measurement_model():
    """A new estimate-type figure (half weight) with a proxy error gets a wider band than a reported one."""
    y = _generate(FisherPry, CASES[0][2], 0.02, 3)
    est = FisherPry(**FAST).fit(YEARS[:, None], y, sample_weight=np.ones(YEARS.size))
    X = np.array([[2024.0]])  # the midpoint: no clipping at 0 or 1
    sd = {
        key: est.sample_paths(X, n_paths=20000, random_state=0, **kw).std()
        for key, kw in {
            "reported": {},
            "estimate": {"noise_weight": 0.5},
            "proxy": {"noise_weight": 0.5, "noise_proxy_sd": 0.05},
        }.items()
    }
    assert sd["reported"] < sd["estimate"] < sd["proxy"]
    assert sd["proxy"] ** 2 == pytest.approx(sd["estimate"] ** 2 + 0.05**2, rel=0.15)


def _fast_fit(t, y, w, proxy):
    return SubstitutionEnsemble(members=_fast_members()).fit(t[:, None], y, sample_weight=w, proxy_sd=proxy)


@pytest.mark.slow
def test_vintages_only_see_what_was_published_and_score_the_published_band():
    years = np.arange(2018, 2025)
    truth = FisherPry()._curve(years.astype(float), np.array([[np.log(0.3), 2022.0]]))[0]
    published = [date(int(y) + 1, 3, 1) for y in years]  # each figure appears in March of the next year
    series = _series(years, truth, published)
    scores = backtest_series(series, horizon=2, seed=0, fit_ensemble=_fast_fit)
    # origins 2019..2023: the vintage at Y-12-31 holds years <= Y-1; targets Y+1, Y+2 (to 2024)
    assert scores["last_value"]["n_origins"] == 5
    assert scores["last_value"]["n_points"] == 4 * 2 + 1
    for name in MODELS:
        s = scores[name]
        assert s["crps"] >= 0 and s["interval_score"] >= 0 and 0 <= s["coverage_p10_p90"] <= 1
        assert s["in_sample_mae"] is not None
    # the generating curve forecasts a rising share better than carrying the last value forward
    assert scores["fisher_pry"]["crps"] < scores["last_value"]["crps"]
    assert scores["fisher_pry"]["in_sample_mae"] < 0.03


def test_verdicts_say_when_nothing_beats_last_value():
    results = [
        {"name": "fisher_pry", "segment": "wfe", "metric": "share", "crps": 0.2, "beats_last_value": False},
        {"name": "last_value", "segment": "wfe", "metric": "share", "crps": 0.1, "beats_last_value": None},
        {"name": "bass", "segment": "hbm", "metric": "share", "crps": None, "beats_last_value": None},
    ]
    by = {(v["segment"]): v for v in verdicts(results)}
    assert by["wfe"]["best"] == "last_value" and not by["wfe"]["any_beats_last_value"]
    assert "no model beats last value" in by["wfe"]["message"]
    assert "not scored" in by["hbm"]["message"]


@pytest.mark.slow  # fits the curves with emcee (seconds each)
def test_run_backtests_covers_every_series_with_observations():
    frame = pl.DataFrame(
        {
            "segment": ["hbm"] * 3,
            "year": [2022, 2023, 2024],
            "metric": ["hbm_share"] * 3,
            "value": [0.0, 0.0, 0.0],
            "published": [date(2023, 4, 1), date(2024, 4, 1), date(2025, 4, 1)],
            "source": ["x"] * 3,
            "flag": ["estimate"] * 3,
            "notes": [None] * 3,
        },
        schema_overrides={"notes": pl.String},
    )
    rows = run_backtests(frame, horizon=2)
    assert {(r["segment"], r["metric"]) for r in rows} == {("hbm", "share")}
    assert {r["name"] for r in rows} == set(MODELS)
    pooled = [r for r in rows if r["lead_years"] == 0]
    assert len(pooled) == len(MODELS) and len(rows) == 3 * len(MODELS)  # pooled + leads 1 and 2
    assert all(r["mape"] is None and r["mae"] is not None for r in pooled)  # zero shares: MAPE undefined
    # as of 2023-12-31 (sees 2022) -> 2024; 2023 is a nowcast (h = 0), not scored; 2024-12-31 has no target
    assert all(r["n_origins"] == 1 and r["n_points"] == 1 for r in pooled)
    by_lead = {(r["name"], r["lead_years"]): r for r in rows}
    assert all(
        by_lead[(n, 1)]["crps"] == pytest.approx(by_lead[(n, 0)]["crps"]) for n in MODELS
    )  # all lead 1
    assert all(by_lead[(n, 2)]["n_points"] == 0 and by_lead[(n, 2)]["crps"] is None for n in MODELS)
    verdict = verdicts(rows)[0]
    assert set(verdict["by_lead"]) == {"1"} and "by lead: 1y" in verdict["message"]


def test_stored_verdicts_say_where_last_value_wins():
    """The run document's ``backtest_verdicts`` come from the stored table: WFE lost to last value."""
    import duckdb

    from pipelines.forecast_store import stored_verdicts
    from pipelines.schema import TABLES

    con = duckdb.connect()
    assert stored_verdicts(con) == []  # no backtest stored yet
    con.execute(TABLES["forecast_backtest"].ddl())
    rows = [
        ("ensemble", "wfe", "share", 3, 0, 0.15, False),
        ("last_value", "wfe", "share", 3, 0, 0.08, None),
        ("ensemble", "wfe", "share", 3, 1, 0.15, False),
        ("last_value", "wfe", "share", 3, 1, 0.09, None),
    ]
    con.executemany(
        "INSERT INTO forecast_backtest (name, segment, metric, horizon_years, lead_years, crps, "
        "beats_last_value) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    (verdict,) = stored_verdicts(con)
    assert verdict["any_beats_last_value"] is False and verdict["best"] == "last_value"
    assert "no model beats last value" in verdict["message"] and "1y last value wins" in verdict["message"]
