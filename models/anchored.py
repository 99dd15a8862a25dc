"""Forecasts anchored at the latest observed year: last value, linear trend, damped trend.

Each is a scikit-learn-style regressor with the curves' interface (``fit(X, y, sample_weight,
proxy_sd, sample)``, ``predict``, ``sample_paths``, ``predict_quantiles``), so the ensemble
can mix them with the curves and the backtests score them the same way. Years ``X`` (n, 1),
shares in [0, 1]; rows of one year are averaged with their weights first.

- ``LastValue``: the latest year's (weighted) mean carried forward;
- ``LinearTrend``: a least-squares line through the yearly means (last value with one year);
- ``DampedTrend``: anchored at the latest yearly mean, plus the least-squares slope damped by
  ``phi`` per year (Gardner & McKenzie, "Forecasting trends in time series", Management
  Science 31:1237-1246, 1985): centre(h) = last + slope * (phi + ... + phi^h).

Bands. ``LastValue`` and ``LinearTrend`` are the benchmarks the issue defines: Gaussian with sd
s * sqrt(h) (h = years after the latest observed year, at least 1), s the RMS of the year-over-
year changes of the yearly means, floored at ``SD_FLOOR``. ``DampedTrend`` treats the change
scale as unknown: a conjugate inverse-gamma estimate from the observed changes and a prior of
``PRIOR_DOF`` pseudo-change(s) of size ``SD_FLOOR``, s^2 = (nu0 * s0^2 + sum c^2) / (nu0 + n_c),
so its band is Student-t with nu0 + n_c degrees of freedom (wide when there are few changes).
Shares are clipped to [0, 1].
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from fabscope.errors import InputError

SD_FLOOR = 0.05  # share points per sqrt(year); the curves' noise prior centre (models.substitution)
# Damping per year. Assumption (flag: estimate): 0.8, the strong end of the range (0.8-0.98) used
# for damped-trend smoothing (Hyndman & Athanasopoulos, Forecasting: Principles and Practice, 3rd
# ed., 8.2), because the series are a handful of points from sources that disagree.
PHI = 0.8
PRIOR_DOF = 1.0  # weight of the SD_FLOOR prior on the change scale, in pseudo-changes


def yearly_means(t: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct years, weighted mean share of each year)."""
    years = np.unique(t)
    w = np.where(w > 0, w, 0.0) + 1e-12
    return years, np.array([np.average(y[t == u], weights=w[t == u]) for u in years])


class _Anchored(RegressorMixin, BaseEstimator):
    """Shared fit/sample code; subclasses give ``_centre(h)`` and ``_draw_noise``."""

    kind = ""

    def fit(self, X, y, sample_weight=None, proxy_sd=None, sample: bool = True):
        """Fit to years ``X`` (n, 1) and shares ``y``; ``proxy_sd`` and ``sample`` are accepted and unused."""
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim != 2 or X.shape[1] != 1 or len(y) != len(X) or len(y) == 0:
            raise InputError(f"X must be (n, 1) years and y n shares, n >= 1; got {X.shape} and {y.shape}")
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.years_, self.means_ = yearly_means(X[:, 0], y, w)
        self.last_year_, self.last_ = float(self.years_[-1]), float(self.means_[-1])
        self.changes_ = np.diff(self.means_) / np.diff(self.years_) if len(self.years_) > 1 else np.array([])
        self.slope_ = float(np.polyfit(self.years_, self.means_, 1)[0]) if len(self.years_) > 1 else 0.0
        self.n_features_in_ = 1
        self.sigma_ = self._scale()
        return self

    def _scale(self) -> float:
        rms = float(np.sqrt(np.mean(self.changes_**2))) if self.changes_.size else 0.0
        return max(SD_FLOOR, rms)

    def _lead(self, X) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self, "means_")
        t = np.asarray(X, dtype=float)[:, 0]
        return t, np.maximum(t - self.last_year_, 1.0)

    def _centre(self, t: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _draw_noise(self, rng, shape) -> np.ndarray:
        return rng.standard_normal(shape)

    def predict(self, X) -> np.ndarray:
        """Point forecast (the band's median before clipping), in [0, 1]."""
        t, _ = self._lead(X)
        return np.clip(self._centre(t), 0.0, 1.0)

    def sample_paths(self, X, n_paths: int = 2000, random_state=None, include_noise: bool = True):
        """``n_paths`` sampled shares at years ``X``: (n_paths, n_years), in [0, 1]."""
        t, h = self._lead(X)
        rng = np.random.default_rng(random_state)
        paths = np.repeat(self._centre(t)[None, :], n_paths, axis=0)
        if include_noise:
            paths = paths + self.sigma_ * np.sqrt(h)[None, :] * self._draw_noise(rng, paths.shape)
        return np.clip(paths, 0.0, 1.0)

    def predict_quantiles(self, X, quantiles=(0.1, 0.5, 0.9), n_paths: int = 2000, random_state=None):
        """Quantiles of ``sample_paths``: (len(quantiles), n_years)."""
        return np.quantile(self.sample_paths(X, n_paths, random_state), quantiles, axis=0)


class LastValue(_Anchored):
    """The latest year's weighted mean share carried forward; Gaussian band s * sqrt(h)."""

    kind = "last_value"

    def _centre(self, t):
        return np.full(t.shape, self.last_)


class LinearTrend(_Anchored):
    """Least-squares line through the yearly means (last value with one year); band s * sqrt(h)."""

    kind = "linear_trend"

    def _centre(self, t):
        if len(self.years_) < 2:
            return np.full(t.shape, self.last_)
        slope, intercept = np.polyfit(self.years_, self.means_, 1)
        return intercept + slope * t


class DampedTrend(_Anchored):
    """Last yearly mean plus the damped least-squares slope; Student-t band (unknown change scale)."""

    kind = "damped_trend"

    def __init__(self, phi: float = PHI, prior_dof: float = PRIOR_DOF):
        self.phi = phi
        self.prior_dof = prior_dof

    def _scale(self) -> float:
        n = self.changes_.size
        return float(
            np.sqrt((self.prior_dof * SD_FLOOR**2 + np.sum(self.changes_**2)) / (self.prior_dof + n))
        )

    @property
    def dof_(self) -> float:
        """Degrees of freedom of the Student-t band: prior pseudo-changes + observed changes."""
        return float(self.prior_dof + self.changes_.size)

    def _centre(self, t):
        h = np.maximum(t - self.last_year_, 0.0)
        phi = float(self.phi)
        damp = h if phi == 1.0 else phi * (1.0 - phi**h) / (1.0 - phi)  # phi + phi^2 + ... + phi^h
        return self.last_ + self.slope_ * damp

    def _draw_noise(self, rng, shape):
        return stats.t.rvs(self.dof_, size=shape, random_state=rng)


ANCHORED: dict[str, type[_Anchored]] = {
    "last_value": LastValue,
    "linear_trend": LinearTrend,
    "damped_trend": DampedTrend,
}
