"""Averaging over the substitution curves with weights from out-of-sample scores.

Few-point information criteria cannot tell the curves apart (each fits two to five points
almost exactly), so the weights come from how each curve forecast data it had not seen:
inside the training data, for each of the last ``INNER_ORIGINS`` origin years u (rows up to u fitted at the posterior
mode, ``fit(..., sample=False)``), each member predicts the rows of the next ``INNER_HORIZON``
years; ``oos_mae_`` is its mean absolute error over those pairs and
w_m ∝ 1 / (oos_mae_m + resolution), resolution = 0.01 (the precision the shares are reported
at: errors inside it do not separate the curves). With no such pair (one year of data) the
weights are equal and ``weights_basis_`` says so. The point forecast is the weighted mean of
the members' point forecasts; sampled paths are a mixture, each path drawn from one member
chosen with probability w_m, so disagreement between the curves widens the band.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from models.substitution import ESTIMATORS

# Shares are reported to one percentage point: errors below this do not separate the curves.
RESOLUTION = 0.01
INNER_HORIZON = 3
INNER_ORIGINS = 5  # the last five origin years of the training data are scored


def default_members() -> list[tuple[str, BaseEstimator]]:
    """(name, unfitted estimator) for each curve in ``models.substitution.ESTIMATORS``."""
    return [(name, cls()) for name, cls in ESTIMATORS.items()]


def inner_oos_errors(
    estimator, t: np.ndarray, y: np.ndarray, w: np.ndarray, proxy: np.ndarray
) -> list[float]:
    """Absolute errors of ``estimator`` (mode fits) forecasting later training rows from each origin."""
    errors: list[float] = []
    for origin in np.unique(t)[:-1][-INNER_ORIGINS:]:
        train = t <= origin
        test = (t > origin) & (t <= origin + INNER_HORIZON)
        if not test.any():
            continue
        model = clone(estimator).fit(
            t[train, None], y[train], sample_weight=w[train], proxy_sd=proxy[train], sample=False
        )
        errors.extend(np.abs(model.predict(t[test, None]) - y[test]).tolist())
    return errors


class SubstitutionEnsemble(RegressorMixin, BaseEstimator):
    """Out-of-sample-weighted average of substitution curves; ``weights_`` maps name -> weight."""

    def __init__(self, members=None, resolution: float = RESOLUTION):
        self.members = members
        self.resolution = resolution

    def fit(self, X, y, sample_weight=None, proxy_sd=None, fitted_members=None):
        """Fit every member (or take ``fitted_members``, already fitted on the same data); weigh them."""
        members = self.members if self.members is not None else default_members()
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        proxy = (
            np.zeros_like(y) if proxy_sd is None else np.broadcast_to(np.asarray(proxy_sd, float), y.shape)
        )
        if fitted_members is None:
            fitted_members = [
                (name, clone(est).fit(X, y, sample_weight=w, proxy_sd=proxy)) for name, est in members
            ]
        t = X[:, 0]
        mae = {}
        for name, est in members:
            errors = inner_oos_errors(est, t, y, w, proxy)
            mae[name] = float(np.mean(errors)) if errors else None
        if all(v is not None for v in mae.values()):
            raw = np.array([1.0 / (mae[name] + self.resolution) for name, _ in fitted_members])
            self.weights_basis_ = "inverse out-of-sample MAE within the training data"
        else:
            raw = np.ones(len(fitted_members))
            self.weights_basis_ = "equal: no out-of-sample pair in the training data"
        weights = raw / raw.sum()
        self.estimators_ = fitted_members
        self.oos_mae_ = mae
        self.weights_ = dict(zip([name for name, _ in fitted_members], weights.tolist(), strict=True))
        self.best_ = fitted_members[int(np.argmax(weights))][0]
        self.n_features_in_ = 1
        return self

    def predict(self, X) -> np.ndarray:
        """Weighted mean of the members' point forecasts, in [0, 1]."""
        check_is_fitted(self, "estimators_")
        preds = np.array([est.predict(X) for _, est in self.estimators_])
        w = np.array([self.weights_[name] for name, _ in self.estimators_])
        return np.clip(w @ preds, 0.0, 1.0)

    def sample_paths(
        self, X, n_paths: int = 2000, random_state=None, include_noise: bool = True
    ) -> np.ndarray:
        """Mixture of the members' sampled curves, shape (n_paths, n_years)."""
        check_is_fitted(self, "estimators_")
        rng = np.random.default_rng(random_state)
        w = np.array([self.weights_[name] for name, _ in self.estimators_])
        counts = rng.multinomial(n_paths, w)
        parts = [
            est.sample_paths(X, n_paths=int(c), random_state=rng, include_noise=include_noise)
            for (_, est), c in zip(self.estimators_, counts, strict=True)
            if c > 0
        ]
        paths = np.concatenate(parts, axis=0)
        return paths[rng.permutation(n_paths)]

    def predict_quantiles(self, X, quantiles=(0.1, 0.5, 0.9), n_paths: int = 2000, random_state=None):
        """Quantiles of the mixture paths: shape (len(quantiles), n_years)."""
        return np.quantile(
            self.sample_paths(X, n_paths=n_paths, random_state=random_state), quantiles, axis=0
        )


# Fitted ensembles by data: a fit is deterministic (fixed sampler seeds), so scenario runs and
# backtests on the same observations reuse it within a process. Bounded; oldest evicted first.
_FIT_CACHE: OrderedDict[tuple, SubstitutionEnsemble] = OrderedDict()
FIT_CACHE_SIZE = 64


def fit_default_ensemble(
    t: np.ndarray, y: np.ndarray, w: np.ndarray, proxy: np.ndarray
) -> SubstitutionEnsemble:
    """The default-member ensemble fitted to years ``t``, shares ``y``, weights, proxy sd (cached)."""
    key = tuple(np.round(np.concatenate([t, y, w, proxy]), 12).tolist()) + (len(t),)
    if key in _FIT_CACHE:
        _FIT_CACHE.move_to_end(key)
        return _FIT_CACHE[key]
    ens = SubstitutionEnsemble().fit(t[:, None], y, sample_weight=w, proxy_sd=proxy)
    _FIT_CACHE[key] = ens
    while len(_FIT_CACHE) > FIT_CACHE_SIZE:
        _FIT_CACHE.popitem(last=False)
    return ens
