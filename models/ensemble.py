"""Model selection and averaging over the substitution curves (Akaike weights).

All three curves have two fitted parameters, so the AIC penalty is the same for each and
the Akaike weights reduce to a comparison of weighted residual sums of squares:
w_m ∝ exp(-(AIC_m - AIC_min) / 2), AIC_m = n ln(max(SSE_m / n, r²/12)) + 2 k, where r = 0.01 is the
precision the history's shares are reported at (fits inside the rounding noise tie). With the two to five
points available per segment the weights can be lopsided; ``temperature`` > 1 flattens
them (default 1: plain Akaike weights). The ensemble's point forecast is the weighted mean
of the members; its sampled paths are a mixture, each path drawn from one member chosen
with probability w_m, so disagreement between the curves widens the band.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from models.substitution import ESTIMATORS

# Shares in substitution_history are reported to one percentage point; rounding to r adds
# variance r^2 / 12, below which a smaller residual says nothing about which curve is right.
RESOLUTION = 0.01


def default_members() -> list[tuple[str, BaseEstimator]]:
    """(name, unfitted estimator) for each curve in ``models.substitution.ESTIMATORS``."""
    return [(name, cls()) for name, cls in ESTIMATORS.items()]


class SubstitutionEnsemble(RegressorMixin, BaseEstimator):
    """Akaike-weighted average of substitution curves; ``weights_`` maps name -> weight."""

    def __init__(self, members=None, temperature: float = 1.0, resolution: float = RESOLUTION):
        self.members = members
        self.temperature = temperature
        self.resolution = resolution

    def fit(self, X, y, sample_weight=None):
        """Fit every member to years ``X`` (n, 1), shares ``y``; compute Akaike weights."""
        members = self.members if self.members is not None else default_members()
        fitted = [(name, clone(est).fit(X, y, sample_weight=sample_weight)) for name, est in members]
        n = len(np.asarray(y))
        # The mean squared residual is floored at the rounding variance of the data (resolution^2 / 12):
        # curves that all fit to within the precision the shares are reported at (e.g. HBM, 0 so
        # far) tie; without the floor, residuals of 1e-7 vs 1e-8 would decide the weights.
        floor = max(self.resolution**2 / 12.0, 1e-12)
        aic = np.array(
            [n * np.log(max(est.weighted_sse_ / n, floor)) + 2 * est.n_params for _, est in fitted]
        )
        rel = np.exp(-(aic - aic.min()) / (2.0 * self.temperature))
        weights = rel / rel.sum()
        self.estimators_ = fitted
        self.aic_ = dict(zip([name for name, _ in fitted], aic.tolist(), strict=True))
        self.weights_ = dict(zip([name for name, _ in fitted], weights.tolist(), strict=True))
        self.best_ = fitted[int(np.argmax(weights))][0]
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
