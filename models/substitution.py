"""Statistical substitution curves as scikit-learn estimators: Fisher-Pry, Gompertz, Bass.

Each estimator maps calendar years ``X`` (shape ``(n, 1)``) to a domestic share in [0, 1].
They are fitted by bounded, weighted least squares (``scipy.optimize.least_squares`` with
``bounds`` and a robust ``soft_l1`` loss by default) plus *weak Gaussian priors* on the
parameters, added as pseudo-observations so a curve can be fitted from the two to five
points that exist per segment (the priors are stated on each class and in
docs/methodology-forecasts.md). Every model has two free parameters; the ceiling (the
long-run share) is a fixed hyper-parameter, 1.0 by default.

Uncertainty: after the fit, a Laplace approximation gives a parameter covariance from
the Jacobian, with the observation noise ``sigma_`` estimated from the weighted residuals
(floored at ``min_noise``). Disagreeing sources for the same year therefore widen
``sigma_`` and the parameter covariance, and so the forecast band: the spread between
sources is kept, not averaged away. ``sample_paths`` draws whole curves (parameter draw
plus, optionally, observation noise) for Monte Carlo quantiles.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, check_array, check_is_fitted, check_X_y

from fabscope.errors import InputError

# Fisher & Pry, "A simple substitution model of technological change", Technological
# Forecasting and Social Change 3:75-88 (1971): f/(1-f) = exp(2*alpha*(t - t0)); the
# 10%->90% takeover time is ln(81) / (2*alpha).
LN81 = float(np.log(81.0))

# Default prior centre for the timing parameter (the year a curve reaches half of / 1/e
# of its ceiling). Assumption (flag: estimate): analyst outlooks quoted in
# docs/reference/market.md put China's AI-accelerator self-sufficiency at 34% (2024)
# -> 82% (2027) (Morgan Stanley) and WFE localisation at 20-40% (2021-2024), so the
# midpoint is centred on 2028 with a wide 10-year standard deviation: weak on purpose.
T_MID_PRIOR = (2028.0, 10.0)

# Start of forced substitution used by the Bass model's clock: Huawei's Entity-List
# listing, 2019-05-16 (84 FR 22961). A hyper-parameter, not fitted.
BASS_LAUNCH_YEAR = 2019.0

# Source weights: a figure the source itself reported (e.g. IDC unit shipments) counts
# twice a secondary estimate; a row stated as a lower/upper bound counts half again.
# Assumption (flag: estimate), see docs/methodology-forecasts.md.
FLAG_WEIGHTS = {"reported": 1.0, "estimate": 0.5}
BOUND_FACTOR = 0.5
# Posterior sampling (sample_parameters): Laplace proposals, widened, then reweighted.
PROPOSALS_PER_DRAW = 4
PROPOSAL_INFLATION = 2.0

_BOUND_WORDS = ("lower bound", "upper bound", "lower-bound", "upper-bound", "at least", "at most")


def observation_weights(flags, metrics=None, notes=None) -> np.ndarray:
    """Relative weight of each history row from its ``flag`` and whether it is a bound.

    ``flags``: iterable of ``reported``/``estimate``; ``metrics``/``notes``: optional text
    columns searched for "lower bound"/"upper bound"/"at least"/"at most" (case-insensitive).
    Unknown flags get the ``estimate`` weight. Returns a float array, same length.
    """
    flags = ["" if f is None else str(f).strip().lower() for f in flags]
    weights = np.array([FLAG_WEIGHTS.get(f, FLAG_WEIGHTS["estimate"]) for f in flags], dtype=float)
    texts = [""] * len(flags)
    for column in (metrics, notes):
        if column is None:
            continue
        texts = [t + " " + ("" if v is None else str(v).lower()) for t, v in zip(texts, column, strict=True)]
    is_bound = np.array([any(word in t for word in _BOUND_WORDS) for t in texts], dtype=bool)
    weights[is_bound] *= BOUND_FACTOR
    return weights


class _SubstitutionCurve(RegressorMixin, BaseEstimator):
    """Shared fitting, prediction and sampling for two-parameter substitution curves.

    Subclasses define ``_PARAMS`` (public names of the fitted parameters), ``_curve``
    (vectorised over parameter draws), ``_to_internal``/``_to_public`` (the optimiser
    works in log space for positive rates), ``_bounds`` and ``_prior``.
    """

    _PARAMS: tuple[str, ...] = ()

    # ---- to be provided by subclasses -------------------------------------------------
    def _curve(self, t: np.ndarray, theta: np.ndarray) -> np.ndarray:  # pragma: no cover
        """Share at years ``t`` (shape (n_t,)) for internal params ``theta`` (m, k) -> (m, n_t)."""
        raise NotImplementedError

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def _prior(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        """(mean, sd) of the Gaussian prior on the internal parameters."""
        raise NotImplementedError

    def _starts(self, t: np.ndarray, y: np.ndarray) -> list[np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def _to_public(self, theta: np.ndarray) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    # ---- fitting ----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit to years ``X`` (n, 1) and shares ``y`` in [0, 1], optional relative weights."""
        X, y = check_X_y(X, y, ensure_min_samples=1, y_numeric=True)
        if X.shape[1] != 1:
            raise InputError(f"X must have one column (the year); got {X.shape[1]}")
        if np.any((y < 0) | (y > 1)):
            raise InputError("y must be shares in [0, 1]")
        if not 0.0 < self.ceiling <= 1.0:
            raise InputError(f"ceiling must be a share in (0, 1], got {self.ceiling!r}")
        self.n_features_in_ = 1
        t = X[:, 0].astype(float)
        try:
            # scikit-learn's own check: one finite, non-negative weight per row (a scalar = all equal)
            w = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        except ValueError as exc:
            raise InputError(f"sample_weight must be finite, non-negative, one per row: {exc}") from None
        if not np.any(w > 0):
            raise InputError("sample_weight must be non-negative, one per row, not all zero")
        w = w / w.mean()  # relative weights: mean 1, so n stays the count of observations
        lo, hi = self._bounds()
        mu, sd = self._prior()
        sw = np.sqrt(w)
        prior_scale = np.sqrt(self.prior_weight)

        def residuals(theta: np.ndarray) -> np.ndarray:
            data = sw * (self._curve(t, theta[None, :])[0] - y) / self.noise_scale
            return np.concatenate([data, prior_scale * (theta - mu) / sd])

        best = None
        for start in self._starts(t, y):
            x0 = np.clip(start, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))
            res = least_squares(residuals, x0, bounds=(lo, hi), loss=self.loss, method="trf")
            if best is None or res.cost < best.cost:
                best = res
        theta = best.x
        self.theta_ = theta
        self.t_fit_, self.y_fit_, self.w_fit_ = t, y, w
        self.n_obs_ = int(len(y))
        self.success_ = bool(best.success)
        for name, value in self._to_public(theta).items():
            setattr(self, name, value)

        # Observation noise from the weighted residuals, with a floor (few points).
        fitted = self._curve(t, theta[None, :])[0]
        dof = max(len(y) - len(theta), 1)
        sigma = float(np.sqrt(np.sum(w * (fitted - y) ** 2) / dof))
        self.sigma_ = max(sigma, self.min_noise)
        self.weighted_sse_ = float(np.sum(w * (fitted - y) ** 2))

        # Laplace covariance: data precision at the estimated noise + prior precision.
        jac = _numeric_jacobian(lambda th: self._curve(t, th[None, :])[0], theta, lo, hi)
        precision = (jac * w[:, None]).T @ jac / self.sigma_**2 + np.diag(self.prior_weight / sd**2)
        self.theta_cov_ = np.linalg.pinv(precision)
        return self

    # ---- prediction -------------------------------------------------------------------
    def _years(self, X) -> np.ndarray:
        check_is_fitted(self, "theta_")
        X = check_array(X)
        if X.shape[1] != 1:
            raise InputError(f"X must have one column (the year); got {X.shape[1]}")
        return X[:, 0].astype(float)

    def predict(self, X) -> np.ndarray:
        """Point forecast of the share at years ``X`` (n, 1), clipped to [0, 1]."""
        t = self._years(X)
        return np.clip(self._curve(t, self.theta_[None, :])[0], 0.0, 1.0)

    def _log_posterior(self, theta: np.ndarray) -> np.ndarray:
        """Unnormalised log posterior of parameter draws ``theta`` (m, k) on the training data."""
        mu, sd = self._prior()
        fitted = self._curve(self.t_fit_, theta)
        loglik = -0.5 * np.sum(self.w_fit_ * (fitted - self.y_fit_) ** 2, axis=1) / self.sigma_**2
        return loglik - 0.5 * self.prior_weight * np.sum(((theta - mu) / sd) ** 2, axis=1)

    def sample_parameters(self, n: int, random_state=None) -> np.ndarray:
        """``n`` posterior draws of the internal parameters, shape (n, k).

        Sampling-importance-resampling: proposals from the Laplace approximation (covariance
        inflated by ``PROPOSAL_INFLATION``, clipped to the bounds) are reweighted by the exact
        posterior (Gaussian likelihood at ``sigma_`` times the priors) and resampled. This
        keeps draws consistent with the data where the curve is far from linear in its
        parameters (e.g. a share that has been ~0 so far).
        """
        rng = np.random.default_rng(random_state)
        lo, hi = self._bounds()
        m = PROPOSALS_PER_DRAW * n
        cov = PROPOSAL_INFLATION**2 * self.theta_cov_
        proposals = np.clip(rng.multivariate_normal(self.theta_, cov, size=m, method="eigh"), lo, hi)
        diff = proposals - self.theta_
        log_q = -0.5 * np.einsum("ij,jk,ik->i", diff, np.linalg.pinv(cov), diff)
        log_w = self._log_posterior(proposals) - log_q
        prob = np.exp(log_w - log_w.max())
        prob /= prob.sum()
        return proposals[rng.choice(m, size=n, replace=True, p=prob)]

    def sample_paths(
        self, X, n_paths: int = 2000, random_state=None, include_noise: bool = True
    ) -> np.ndarray:
        """``n_paths`` sampled share curves at years ``X``: shape (n_paths, n_years), in [0, 1].

        Parameters come from ``sample_parameters``; with ``include_noise`` an independent
        N(0, sigma_) observation error is added per point, so the band covers where a new
        source's figure would fall, not just the mean curve.
        """
        t = self._years(X)
        rng = np.random.default_rng(random_state)
        paths = self._curve(t, self.sample_parameters(n_paths, rng))
        if include_noise:
            paths = paths + rng.normal(0.0, self.sigma_, size=paths.shape)
        return np.clip(paths, 0.0, 1.0)

    def predict_quantiles(self, X, quantiles=(0.1, 0.5, 0.9), n_paths: int = 2000, random_state=None):
        """Quantiles of ``sample_paths``: shape (len(quantiles), n_years), non-decreasing in q."""
        paths = self.sample_paths(X, n_paths=n_paths, random_state=random_state)
        return np.quantile(paths, quantiles, axis=0)

    @property
    def n_params(self) -> int:
        """Number of fitted parameters (for information criteria)."""
        return len(self._PARAMS)


def _numeric_jacobian(fun, theta: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of ``fun`` at ``theta`` (one-sided at a bound)."""
    f0 = fun(theta)
    jac = np.empty((f0.size, theta.size))
    for j in range(theta.size):
        h = 1e-5 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] = min(theta[j] + h, hi[j])
        down[j] = max(theta[j] - h, lo[j])
        jac[:, j] = (fun(up) - fun(down)) / (up[j] - down[j])
    return jac


def _timing_starts(t: np.ndarray, rate_guesses: tuple[float, ...]) -> list[np.ndarray]:
    """A small grid of (log rate, timing year) starting points for multi-start fitting."""
    t_mid = float(np.mean(t))
    return [np.array([np.log(r), t_mid + dt]) for r in rate_guesses for dt in (-5.0, 3.0, 12.0)]


def _store_params(estimator, init_locals: dict) -> None:
    """Store every ``__init__`` argument unchanged under its own name (scikit-learn convention)."""
    for name, value in init_locals.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


class _RateTimingCurve(_SubstitutionCurve):
    """A curve with a positive rate (fitted in log space) and a timing year ``t0``.

    Hyper-parameters shared by both: ``rate_prior`` (median, sd of log rate; None = the class
    default ``_DEFAULT_RATE_PRIOR``), ``rate_bounds`` (1/year), ``t0_prior``, ``t0_bounds``.
    """

    _DEFAULT_RATE_PRIOR: tuple[float, float] = (0.3, 1.0)

    def __init__(
        self,
        ceiling: float = 1.0,
        noise_scale: float = 0.05,
        min_noise: float = 0.03,
        prior_weight: float = 1.0,
        rate_prior: tuple[float, float] | None = None,
        t0_prior: tuple[float, float] = T_MID_PRIOR,
        rate_bounds: tuple[float, float] = (0.01, 3.0),
        t0_bounds: tuple[float, float] = (1990.0, 2080.0),
        loss: str = "soft_l1",
    ):
        _store_params(self, locals())

    def _bounds(self):
        return (
            np.array([np.log(self.rate_bounds[0]), self.t0_bounds[0]]),
            np.array([np.log(self.rate_bounds[1]), self.t0_bounds[1]]),
        )

    def _prior(self):
        rate_prior = self._DEFAULT_RATE_PRIOR if self.rate_prior is None else self.rate_prior
        return np.array([np.log(rate_prior[0]), self.t0_prior[0]]), np.array(
            [rate_prior[1], self.t0_prior[1]]
        )

    def _starts(self, t, y):
        return _timing_starts(t, (0.1, 0.3, 0.8))


class FisherPry(_RateTimingCurve):
    """Fisher-Pry logistic substitution: share = ceiling / (1 + exp(-2*alpha*(t - t0))).

    Fitted parameters: ``alpha_`` (1/year; takeover time 10%->90% = ln 81 / (2 alpha),
    ``takeover_years_``) and ``t0_`` (year the share reaches half the ceiling).
    Weak priors: log(alpha) ~ N(log 0.25, 1.0) (takeover ~9 years, a factor e either
    way); t0 ~ N(2028, 10). Bounds: alpha in [0.01, 3] 1/year, t0 in [1990, 2080].
    """

    _PARAMS = ("alpha_", "t0_")

    _DEFAULT_RATE_PRIOR = (0.25, 1.0)

    def _curve(self, t, theta):
        alpha = np.exp(theta[:, [0]])
        return self.ceiling / (1.0 + np.exp(-2.0 * alpha * (t[None, :] - theta[:, [1]])))

    def _to_public(self, theta):
        alpha = float(np.exp(theta[0]))
        return {"alpha_": alpha, "t0_": float(theta[1]), "takeover_years_": LN81 / (2.0 * alpha)}


class Gompertz(_RateTimingCurve):
    """Gompertz curve: share = ceiling * exp(-exp(-k*(t - t0))).

    Fitted parameters: ``k_`` (growth rate, 1/year) and ``t0_`` (inflection year, where the
    share is ceiling/e). Asymmetric: slow start, long tail. Weak priors:
    log(k) ~ N(log 0.3, 1.0); t0 ~ N(2028, 10). Bounds: k in [0.01, 3], t0 in [1990, 2080].
    """

    _PARAMS = ("k_", "t0_")

    _DEFAULT_RATE_PRIOR = (0.3, 1.0)

    def _curve(self, t, theta):
        k = np.exp(theta[:, [0]])
        z = np.clip(-k * (t[None, :] - theta[:, [1]]), -50.0, 50.0)
        return self.ceiling * np.exp(-np.exp(z))

    def _to_public(self, theta):
        return {"k_": float(np.exp(theta[0])), "t0_": float(theta[1])}


class Bass(_SubstitutionCurve):
    """Bass diffusion (cumulative adoption share), clock started at ``launch_year``.

    share = ceiling * (1 - exp(-(p+q)*tau)) / (1 + (q/p) * exp(-(p+q)*tau)), tau = t - launch_year
    (0 before the launch). Fitted parameters: ``p_`` (innovation, 1/year) and ``q_``
    (imitation, 1/year). Weak priors: log(p) ~ N(log 0.02, 1.5); log(q) ~ N(log 0.4, 1.0)
    (Bass-model meta-analyses put typical q around 0.3-0.5 per year). Bounds: p in
    [1e-4, 1], q in [1e-3, 3]. ``launch_year`` defaults to 2019 (Huawei's Entity-List listing).
    """

    _PARAMS = ("p_", "q_")

    def __init__(
        self,
        ceiling: float = 1.0,
        launch_year: float = BASS_LAUNCH_YEAR,
        noise_scale: float = 0.05,
        min_noise: float = 0.03,
        prior_weight: float = 1.0,
        p_prior: tuple[float, float] = (0.02, 1.5),
        q_prior: tuple[float, float] = (0.4, 1.0),
        p_bounds: tuple[float, float] = (1e-4, 1.0),
        q_bounds: tuple[float, float] = (1e-3, 3.0),
        loss: str = "soft_l1",
    ):
        _store_params(self, locals())

    def _curve(self, t, theta):
        p = np.exp(theta[:, [0]])
        q = np.exp(theta[:, [1]])
        tau = np.maximum(t[None, :] - self.launch_year, 0.0)
        e = np.exp(-(p + q) * tau)
        return self.ceiling * (1.0 - e) / (1.0 + (q / p) * e)

    def _bounds(self):
        return (
            np.log([self.p_bounds[0], self.q_bounds[0]]),
            np.log([self.p_bounds[1], self.q_bounds[1]]),
        )

    def _prior(self):
        return np.log([self.p_prior[0], self.q_prior[0]]), np.array([self.p_prior[1], self.q_prior[1]])

    def _starts(self, t, y):
        return [np.log([p, q]) for p in (0.005, 0.03, 0.1) for q in (0.1, 0.4, 1.0)]

    def _to_public(self, theta):
        return {"p_": float(np.exp(theta[0])), "q_": float(np.exp(theta[1]))}


ESTIMATORS: dict[str, type[_SubstitutionCurve]] = {
    "fisher_pry": FisherPry,
    "gompertz": Gompertz,
    "bass": Bass,
}


def segment_observations(history, segment: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X years (n, 1), y shares (n,), relative weights (n,)) of one segment's history rows.

    ``history``: any frame or mapping with columns ``segment``, ``year``, ``domestic_share``,
    ``flag`` and optionally ``metric`` and ``notes`` (polars, pandas or dict of lists). Rows
    with a missing share are skipped. Weights come from ``observation_weights``.
    """
    seg = np.asarray(history["segment"], dtype=object)
    share = np.asarray(history["domestic_share"], dtype=float)
    keep = (seg == segment) & np.isfinite(share)
    years = np.asarray(history["year"], dtype=float)[keep]

    def column(name: str):
        try:
            return np.asarray(history[name], dtype=object)[keep]
        except Exception:  # missing column: KeyError (pandas/dict), ColumnNotFoundError (polars)
            return None

    flags = column("flag")
    flags = np.full(keep.sum(), "estimate", dtype=object) if flags is None else flags
    weights = observation_weights(flags, column("metric"), column("notes"))
    return years[:, None], share[keep], weights
