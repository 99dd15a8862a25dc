"""Substitution curves: parameter recovery, bounds, [0, 1] predictions, weights, ensemble, backtests."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from models.backtest import backtest_segment, run_backtests
from models.ensemble import SubstitutionEnsemble
from models.substitution import Bass, FisherPry, Gompertz, observation_weights, segment_observations

YEARS = np.arange(2008, 2036, dtype=float)

CASES = [
    (FisherPry, {"alpha_": 0.35, "t0_": 2024.0}, np.array([np.log(0.35), 2024.0])),
    (Gompertz, {"k_": 0.25, "t0_": 2026.0}, np.array([np.log(0.25), 2026.0])),
    (Bass, {"p_": 0.02, "q_": 0.5}, np.log([0.02, 0.5])),
]


def _generate(cls, theta, noise, seed):
    rng = np.random.default_rng(seed)
    clean = cls()._curve(YEARS, theta[None, :])[0]
    return np.clip(clean + rng.normal(0.0, noise, YEARS.size), 0.0, 1.0)


@pytest.mark.parametrize(("cls", "truth", "theta"), CASES)
def test_each_estimator_recovers_its_own_parameters(cls, truth, theta):
    y = _generate(cls, theta, noise=0.02, seed=7)
    est = cls().fit(YEARS[:, None], y)
    for name, value in truth.items():
        assert getattr(est, name) == pytest.approx(value, rel=0.12, abs=0.6 if name == "t0_" else 0.0)


@pytest.mark.parametrize(("cls", "truth", "theta"), CASES)
def test_fit_is_not_fooled_into_the_other_parameters(cls, truth, theta):
    """Recovery is specific: data generated with other values give other estimates."""
    shifted = theta + np.array([0.4, 0.0]) if cls is not Bass else theta + np.array([0.0, 0.5])
    a = cls().fit(YEARS[:, None], _generate(cls, theta, 0.02, 1))
    b = cls().fit(YEARS[:, None], _generate(cls, shifted, 0.02, 1))
    assert not np.allclose(a.theta_, b.theta_, atol=0.1)


@pytest.mark.parametrize("cls", [FisherPry, Gompertz, Bass])
def test_predictions_and_samples_stay_in_unit_interval(cls):
    X = np.array([[2020.0], [2024.0]])
    est = cls().fit(X, np.array([0.0, 1.0]))
    far = np.arange(1950, 2150, 5, dtype=float)[:, None]
    pred = est.predict(far)
    assert pred.min() >= 0.0 and pred.max() <= 1.0
    paths = est.sample_paths(far, n_paths=500, random_state=0)
    assert paths.min() >= 0.0 and paths.max() <= 1.0
    q = est.predict_quantiles(far, n_paths=500, random_state=0)
    assert np.all(q[0] <= q[1]) and np.all(q[1] <= q[2])


@pytest.mark.parametrize("cls", [FisherPry, Gompertz, Bass])
def test_bounds_are_respected(cls):
    est = cls()
    lo, hi = est._bounds()
    fitted = est.fit(np.array([[2020.0], [2021.0]]), np.array([0.01, 0.99]))  # absurdly steep
    assert np.all(fitted.theta_ >= lo - 1e-12) and np.all(fitted.theta_ <= hi + 1e-12)


def test_sklearn_params_roundtrip_and_clone():
    est = FisherPry(ceiling=0.9, rate_prior=(0.5, 2.0))
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
    narrow = FisherPry().fit(years, agree).predict_quantiles(X, n_paths=4000, random_state=0)
    wide = FisherPry().fit(years, spread).predict_quantiles(X, n_paths=4000, random_state=0)
    assert (wide[2] - wide[0])[0] > 1.5 * (narrow[2] - narrow[0])[0]


def test_observation_weights_follow_flag_and_bounds():
    w = observation_weights(
        ["reported", "estimate", "reported", "estimate"],
        ["units", "revenue", "units", "revenue"],
        ["", "", "> 0.30: lower bound stored", "so an upper bound"],
    )
    assert w.tolist() == [1.0, 0.5, 0.5, 0.25]


def test_segment_observations_reads_a_frame():
    import polars as pl

    frame = pl.DataFrame(
        {
            "segment": ["wfe", "wfe", "hbm"],
            "year": [2021, 2022, 2022],
            "domestic_share": [0.2, 0.3, 0.0],
            "flag": ["estimate", "reported", "estimate"],
        }
    )
    X, y, w = segment_observations(frame, "wfe")
    assert X[:, 0].tolist() == [2021.0, 2022.0] and y.tolist() == [0.2, 0.3] and w.tolist() == [0.5, 1.0]


def test_weights_pull_the_fit_toward_heavier_rows():
    X = np.array([[2022.0], [2022.0], [2023.0], [2023.0]])
    y = np.array([0.2, 0.4, 0.25, 0.45])
    low = FisherPry().fit(X, y, sample_weight=[1, 0.1, 1, 0.1]).predict([[2022.5]])[0]
    high = FisherPry().fit(X, y, sample_weight=[0.1, 1, 0.1, 1]).predict([[2022.5]])[0]
    assert low < 0.3 < high


def test_ensemble_prefers_the_generating_curve_and_mixes_paths():
    y = _generate(Gompertz, np.array([np.log(0.25), 2026.0]), 0.01, 11)
    ens = SubstitutionEnsemble().fit(YEARS[:, None], y)
    assert set(ens.weights_) == {"fisher_pry", "gompertz", "bass"}
    assert sum(ens.weights_.values()) == pytest.approx(1.0)
    assert ens.best_ == "gompertz"
    paths = ens.sample_paths(np.array([[2030.0], [2031.0]]), n_paths=300, random_state=0)
    assert paths.shape == (300, 2) and paths.min() >= 0 and paths.max() <= 1


@pytest.mark.slow
def test_backtest_scores_a_perfect_model_well_and_a_wrong_one_badly():
    years = np.arange(2015, 2025, dtype=float)
    truth = FisherPry()._curve(years, np.array([[np.log(0.3), 2022.0]]))[0]
    w = np.ones_like(years)
    good = backtest_segment(years[:, None], truth, w, FisherPry(), horizon=2, min_train_rows=4)
    assert good["n_origins"] == len(years) - 4 and good["horizon_years"] == 2
    assert good["mape"] < 0.1 and good["mae"] < 0.03 and good["coverage_p10_p90"] >= 0.9
    biased = backtest_segment(years[:, None], truth, w, FisherPry(ceiling=0.3), horizon=2, min_train_rows=4)
    assert biased["mape"] > 3 * good["mape"]


@pytest.mark.slow
def test_backtests_cover_every_estimator_and_segment_with_history():
    import polars as pl

    frame = pl.DataFrame(
        {
            "segment": ["wfe"] * 4 + ["hbm"] * 3,
            "year": [2021, 2022, 2023, 2024, 2022, 2023, 2024],
            "domestic_share": [0.2, 0.3, 0.35, 0.4, 0.0, 0.0, 0.0],
            "flag": ["estimate"] * 7,
        }
    )
    rows = run_backtests(frame, horizon=2)
    assert {(r["name"], r["segment"]) for r in rows} == {
        (n, s) for n in ("fisher_pry", "gompertz", "bass", "ensemble") for s in ("wfe", "hbm")
    }
    hbm = [r for r in rows if r["segment"] == "hbm"]
    assert all(r["mape"] is None and r["mae"] is not None for r in hbm)  # zero shares: MAPE undefined
