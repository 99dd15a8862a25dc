"""Stacking the substitution curves and the anchored forecasts on out-of-sample CRPS.

Few-point information criteria cannot tell the curves apart (each fits two to five points
almost exactly), so the weights come from how each member forecast data it had not seen.
Members: the three curves (``models.substitution``) and the anchored forecasts last value,
linear trend and damped trend (``models.anchored``).

Rolling origin inside the training data: for each of the last ``INNER_ORIGINS`` origin years u,
every member is fitted to the rows up to u (curves at the posterior mode, ``fit(...,
sample=False)``) and samples the rows of the next ``INNER_HORIZON`` years. The CRPS of a
mixture with weights w is, per pair, sum_m w_m E|X_m - y| - 1/2 sum_mk w_m w_k E|X_m - X_k|
(Gneiting & Raftery 2007, eq. 21), a convex quadratic in w; the stacking weights w* minimise
its mean over the pairs, plus a ridge ``RESOLUTION`` * |w - equal|^2 (differences inside
the one-point reporting precision do not decide weights), on the simplex (Yao, Vehtari,
Simpson & Gelman, "Using stacking to average Bayesian predictive distributions", Bayesian
Analysis 13:917-1007, 2018, with CRPS in place of the log score). With n pairs the published weights shrink toward equal:
w = (n w* + n0 / M) / (n + n0), n0 = ``PRIOR_PAIRS`` per member (assumption, flag: estimate:
one pseudo-pair per member, so three pairs do not decide six weights). With no pair (one year
of data) the weights are equal and ``weights_basis_`` says so.

Sampled paths are a mixture, each path drawn from one member chosen with probability w_m, so
disagreement between the members widens the band. The point forecast is the mixture's median, so it lies inside its
own band (a weighted mean of the members' point forecasts need not, when they disagree).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from models.anchored import ANCHORED
from models.substitution import ESTIMATORS

# Shares are reported to one percentage point: CRPS differences below this do not separate members.
RESOLUTION = 0.01
INNER_HORIZON = 3
INNER_ORIGINS = 5  # the last five origin years of the training data are scored
INNER_PATHS = 200  # sampled paths per member and inner pair
PRIOR_PAIRS = 1.0  # pseudo-pairs per member pulling the weights toward equal
POINT_PATHS = 4000  # mixture paths behind the point forecast


def default_members() -> list[tuple[str, BaseEstimator]]:
    """(name, unfitted estimator): every curve of ``ESTIMATORS``, then every anchored forecast."""
    return [(name, cls()) for name, cls in {**ESTIMATORS, **ANCHORED}.items()]


def inner_samples(members, t, y, w, proxy, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rolling-origin samples inside the training data: (samples (pairs, M, INNER_PATHS), observed (pairs,))."""
    rng = np.random.default_rng(seed)
    samples, observed = [], []
    for origin in np.unique(t)[:-1][-INNER_ORIGINS:]:
        train = t <= origin
        test = (t > origin) & (t <= origin + INNER_HORIZON)
        if not test.any():
            continue
        per_member = []
        for _, est in members:
            model = clone(est).fit(
                t[train, None], y[train], sample_weight=w[train], proxy_sd=proxy[train], sample=False
            )
            per_member.append(model.sample_paths(t[test, None], n_paths=INNER_PATHS, random_state=rng).T)
        samples.append(np.stack(per_member, axis=1))  # (n_test, M, paths)
        observed.append(y[test])
    if not samples:
        return np.empty((0, len(members), INNER_PATHS)), np.empty(0)
    return np.concatenate(samples), np.concatenate(observed)


def mixture_crps_terms(samples: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, B): a[p, m] = E|X_m - y_p|, B[p, m, k] = E|X_m - X_k| so CRPS_p(w) = a_p.w - w.B_p.w / 2."""
    a = np.abs(samples - observed[:, None, None]).mean(axis=2)
    B = np.abs(samples[:, :, None, :, None] - samples[:, None, :, None, :]).mean(axis=(3, 4))
    return a, B


def stacking_weights(a: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Weights on the simplex minimising the mean mixture CRPS over the pairs plus a ridge
    RESOLUTION * |w - equal|^2 (convex quadratic): CRPS differences inside the shares'
    reporting precision do not move the weights off equal."""
    m = a.shape[1]
    a_bar, B_bar = a.mean(axis=0), B.mean(axis=0)

    u = np.full(m, 1.0 / m)

    def crps(v):
        return float(a_bar @ v - 0.5 * v @ B_bar @ v + RESOLUTION * np.sum((v - u) ** 2))

    def grad(v):
        return a_bar - B_bar @ v + 2.0 * RESOLUTION * (v - u)

    res = minimize(
        crps,
        np.full(m, 1.0 / m),
        jac=grad,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1.0, "jac": lambda v: np.ones_like(v)}],
        options={"ftol": 1e-12, "maxiter": 200},
    )
    v = np.clip(res.x, 0.0, None)
    return v / v.sum()


class SubstitutionEnsemble(RegressorMixin, BaseEstimator):
    """CRPS-stacked mixture of curves and anchored forecasts; ``weights_`` maps name -> weight.

    ``estimators_``: the fitted *curves* (name, estimator) only, which is what callers reporting
    per-curve parameters iterate; ``members_``: every fitted member, curves and anchored.
    """

    def __init__(self, members=None, prior_pairs: float = PRIOR_PAIRS):
        self.members = members
        self.prior_pairs = prior_pairs

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
        names = [name for name, _ in fitted_members]
        order = np.lexsort((proxy, w, y, X[:, 0]))  # a canonical row order: the same data, the same weights
        samples, observed = inner_samples(members, X[order, 0], y[order], w[order], proxy[order])
        n_pairs = len(observed)
        if n_pairs:
            a, B = mixture_crps_terms(samples, observed)
            star = stacking_weights(a, B)
            n0 = self.prior_pairs * len(names)
            weights = (n_pairs * star + n0 / len(names)) / (n_pairs + n0)
            self.oos_crps_ = dict(
                zip(names, (a - 0.5 * np.einsum("pmm->pm", B)).mean(axis=0).tolist(), strict=True)
            )
            self.oos_mae_ = dict(
                zip(
                    names,
                    np.abs(np.median(samples, axis=2) - observed[:, None]).mean(axis=0).tolist(),
                    strict=True,
                )
            )
            self.weights_basis_ = f"stacking on out-of-sample CRPS within the training data ({n_pairs} pairs, shrunk toward equal)"
        else:
            weights = np.full(len(names), 1.0 / len(names))
            self.oos_crps_ = dict.fromkeys(names)
            self.oos_mae_ = dict.fromkeys(names)
            self.weights_basis_ = "equal: no out-of-sample pair in the training data"
        self.n_pairs_ = n_pairs
        self.members_ = fitted_members
        self.estimators_ = [(n, e) for n, e in fitted_members if n in ESTIMATORS]
        self.weights_ = dict(zip(names, weights.tolist(), strict=True))
        self.best_ = names[int(np.argmax(weights))]
        self.n_features_in_ = 1
        return self

    def predict(self, X) -> np.ndarray:
        """Point forecast: the median of the mixture (``POINT_PATHS`` paths, fixed seed), so it lies in its band."""
        check_is_fitted(self, "members_")
        return np.median(self.sample_paths(X, n_paths=POINT_PATHS, random_state=0), axis=0)

    def sample_paths(self, X, n_paths: int = 2000, random_state=None, include_noise: bool = True, **noise):
        """Mixture of the members' sampled paths, shape (n_paths, n_years).

        ``noise``: ``noise_weight``/``noise_proxy_sd`` of the figures predicted, passed to the curves
        (``_SubstitutionCurve.sample_paths``); the anchored forecasts' bands already hold their noise.
        """
        check_is_fitted(self, "members_")
        rng = np.random.default_rng(random_state)
        w = np.array([self.weights_[name] for name, _ in self.members_])
        counts = rng.multinomial(n_paths, w)
        parts = [
            est.sample_paths(
                X,
                n_paths=int(c),
                random_state=rng,
                include_noise=include_noise,
                **(noise if name in ESTIMATORS else {}),
            )
            for (name, est), c in zip(self.members_, counts, strict=True)
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
