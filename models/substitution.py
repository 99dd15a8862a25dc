"""Statistical substitution curves as scikit-learn estimators: Fisher-Pry, Gompertz, Bass.

Each estimator maps calendar years ``X`` (shape ``(n, 1)``) to a domestic share in [0, 1].
Every model has two curve parameters (a rate and a timing, or Bass's p and q) plus the
observation noise ``sigma``; the ceiling (the long-run share) is a fixed hyper-parameter,
1.0 by default.

One likelihood is fitted and sampled: observation i is Normal(curve(t_i), sd_i) with
sd_i^2 = sigma^2 / w_i + proxy_i^2 (``w_i`` the relative weight of the source, ``proxy_i``
the measurement model's proxy error, ``models.observations``), with weak Gaussian priors
on the curve parameters (stated on each class) and log(sigma) ~ N(log noise_scale, 0.75),
sigma >= ``min_noise``. ``fit`` finds the posterior mode (the start) and then draws the
posterior with emcee (``models.posterior``); a run whose effective sample size is below the
floor raises ``SamplerError``. Because sigma is sampled, not plugged in, the predictive band
of a curve fitted to three points is a scale mixture of normals: Student-t-like, wider than
a plug-in normal band (the small-sample widening). The point forecast ``predict`` is the
posterior median curve, so it lies inside its own band.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, check_array, check_is_fitted, check_X_y

from fabscope.errors import InputError
from models.posterior import ESS_FLOOR, N_STEPS, laplace_cov, sample_posterior

# Fisher & Pry, "A simple substitution model of technological change", Technological
# Forecasting and Social Change 3:75-88 (1971): f/(1-f) = exp(2*alpha*(t - t0)); the
# 10%->90% takeover time is ln(81) / (2*alpha).
LN81 = float(np.log(81.0))

# Prior centre for the timing parameter (the year a curve reaches half of / 1/e of its
# ceiling). Assumption (flag: estimate): 2030 +- 15 years, deliberately not drawn from any
# analyst outlook, so a vintage forecast (``--as-of``) carries no information published later.
T_MID_PRIOR = (2030.0, 15.0)
# Prior on the observation noise: log(sigma) ~ N(log noise_scale, LOG_SIGMA_PRIOR_SD), sigma in
# [min_noise, SIGMA_MAX]. Assumption (flag: estimate): sources disagree by ~5 share points.
LOG_SIGMA_PRIOR_SD = 0.75
SIGMA_MAX = 0.5

# Start of forced substitution used by the Bass model's clock: Huawei's Entity-List
# listing, 2019-05-16 (84 FR 22961). A hyper-parameter, not fitted.
BASS_LAUNCH_YEAR = 2019.0

# Source weights: a figure the source itself reported (e.g. IDC unit shipments) counts
# twice a secondary estimate; a row stated as a lower/upper bound counts half again.
# Assumption (flag: estimate), see docs/methodology-forecasts.md.
FLAG_WEIGHTS = {"reported": 1.0, "estimate": 0.5}
BOUND_FACTOR = 0.5
# Grid for the posterior mode's starting point: (rate or p, timing or q, log sigma).
GRID_POINTS = (30, 40, 6)
# Posterior draws kept for the point forecast (median curve).
POINT_DRAWS = 2000

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
    def fit(self, X, y, sample_weight=None, proxy_sd=None, sample: bool = True):
        """Fit to years ``X`` (n, 1), shares ``y`` in [0, 1], relative weights, per-row proxy sd.

        With ``sample`` (default) the posterior is drawn (``posterior_``, ``ess_``, ``rhat_``);
        ``sample=False`` stops at the posterior mode (used for cheap inner backtests).
        """
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
        proxy = (
            np.zeros_like(y) if proxy_sd is None else np.broadcast_to(np.asarray(proxy_sd, float), y.shape)
        )
        keep = w > 0
        t, y, w, proxy = t[keep], y[keep], w[keep], proxy[keep]
        order = np.lexsort((proxy, w, y, t))  # a canonical row order: the same data, the same chain
        t, y, w, proxy = t[order], y[order], w[order], proxy[order]
        self.weight_scale_ = float(w.mean())  # a new figure of raw weight v has relative weight v / this
        w = w / self.weight_scale_  # relative weights: mean 1, so n stays the count of observations
        self.t_fit_, self.y_fit_, self.w_fit_, self.proxy_fit_ = t, y, w, proxy
        self.n_obs_ = int(len(y))
        lo, hi = self._full_bounds()
        # Posterior mode: the best point of a vectorised grid over the bounds (and the class's own
        # starting guesses), polished by one Nelder-Mead run. The same log posterior is sampled below.
        x0 = self._grid_start(t, y, lo, hi)
        best = minimize(
            lambda th: -self._log_posterior(th[None, :])[0],
            x0,
            method="Nelder-Mead",
            bounds=list(zip(lo, hi, strict=True)),
            options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000},
        )
        self.map_ = best.x
        self.success_ = bool(best.success)
        fitted = self._curve(t, best.x[None, :-1])[0]
        self.weighted_sse_ = float(np.sum(w * (fitted - y) ** 2))
        if sample:
            cov = laplace_cov(self._log_posterior, best.x, lo, hi)
            post = sample_posterior(
                self._log_posterior,
                best.x,
                cov,
                lo,
                hi,
                seed=self.random_state,
                n_steps=self.n_steps,
                ess_floor=self.ess_floor,
                label=type(self).__name__,
            )
            self.posterior_ = post.draws
            self.ess_, self.rhat_, self.acceptance_ = post.ess, post.rhat, post.acceptance
        else:
            self.posterior_ = best.x[None, :]
            self.ess_, self.rhat_, self.acceptance_ = float("nan"), float("nan"), float("nan")
        # Point estimates: posterior medians of the parameters (public names) and of sigma.
        self.theta_ = np.median(self.posterior_[:, :-1], axis=0)
        self.sigma_ = float(np.exp(np.median(self.posterior_[:, -1])))
        k = self.posterior_.shape[1] - 1
        self.theta_cov_ = (
            np.atleast_2d(np.cov(self.posterior_[:, :-1], rowvar=False))
            if len(self.posterior_) > 1
            else np.zeros((k, k))
        )
        for name, value in self._to_public(self.theta_).items():
            setattr(self, name, value)
        return self

    def _grid_start(self, t: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Highest-posterior point of a GRID_POINTS grid over the bounds plus ``_starts`` (one call)."""
        axes = [np.linspace(lo[i] + 1e-6, hi[i] - 1e-6, n) for i, n in enumerate(GRID_POINTS)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
        sigma0 = np.log(max(self.noise_scale, self.min_noise))
        starts = np.array(
            [np.append(np.clip(s, lo[:-1] + 1e-6, hi[:-1] - 1e-6), sigma0) for s in self._starts(t, y)]
        )
        candidates = np.vstack([grid, starts])
        return candidates[int(np.argmax(self._log_posterior(candidates)))]

    def _full_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self._bounds()
        return (
            np.append(lo, np.log(self.min_noise)),
            np.append(hi, np.log(SIGMA_MAX)),
        )

    def _log_posterior(self, params: np.ndarray) -> np.ndarray:
        """Log posterior (unnormalised) of draws ``params`` (m, k+1): curve parameters + log sigma."""
        params = np.atleast_2d(params)
        lo, hi = self._full_bounds()
        inside = np.all((params >= lo) & (params <= hi), axis=1)
        out = np.full(params.shape[0], -np.inf)
        if not inside.any():
            return out
        p = params[inside]
        theta, log_sigma = p[:, :-1], p[:, -1]
        mu, sd = self._prior()
        fitted = self._curve(self.t_fit_, theta)
        var = np.exp(2.0 * log_sigma)[:, None] / self.w_fit_[None, :] + self.proxy_fit_[None, :] ** 2
        loglik = -0.5 * np.sum((fitted - self.y_fit_) ** 2 / var + np.log(var), axis=1)
        log_prior = -0.5 * self.prior_weight * np.sum(((theta - mu) / sd) ** 2, axis=1)
        log_prior -= 0.5 * ((log_sigma - np.log(self.noise_scale)) / LOG_SIGMA_PRIOR_SD) ** 2
        out[inside] = loglik + log_prior
        return out

    # ---- prediction -------------------------------------------------------------------
    def _years(self, X) -> np.ndarray:
        check_is_fitted(self, "posterior_")
        X = check_array(X)
        if X.shape[1] != 1:
            raise InputError(f"X must have one column (the year); got {X.shape[1]}")
        return X[:, 0].astype(float)

    def predict(self, X) -> np.ndarray:
        """Point forecast: the posterior median of the mean curve at years ``X`` (n, 1), in [0, 1]."""
        t = self._years(X)
        step = max(1, len(self.posterior_) // POINT_DRAWS)
        curves = self._curve(t, self.posterior_[::step, :-1])
        return np.clip(np.median(curves, axis=0), 0.0, 1.0)

    def sample_parameters(self, n: int, random_state=None) -> np.ndarray:
        """``n`` posterior draws (with replacement from the stored chain): (n, k+1), last column log sigma."""
        rng = np.random.default_rng(random_state)
        return self.posterior_[rng.integers(0, len(self.posterior_), size=n)]

    def sample_paths(
        self,
        X,
        n_paths: int = 2000,
        random_state=None,
        include_noise: bool = True,
        noise_weight=None,
        noise_proxy_sd=None,
    ) -> np.ndarray:
        """``n_paths`` sampled share figures at years ``X``: shape (n_paths, n_years), in [0, 1].

        Each path is one posterior draw; with ``include_noise`` the observation error of a new
        figure is added per point, drawn from the likelihood that was fitted: N(0, sd) with
        sd^2 = sigma^2 / w + proxy^2 for that draw's sigma, ``w`` the figure's relative weight
        (``noise_weight``, a raw weight of ``observation_weights``, divided by the training
        data's mean raw weight; default 1, an average training row) and ``proxy`` its
        measurement model's proxy sd (``noise_proxy_sd``, default 0). Because sigma varies
        over the draws the band is a scale mixture of normals (Student-t-like), so it covers
        where a new figure of that kind would fall, not just the mean curve.
        """
        t = self._years(X)
        rng = np.random.default_rng(random_state)
        draws = self.sample_parameters(n_paths, rng)
        paths = self._curve(t, draws[:, :-1])
        if include_noise:
            w_rel = (
                np.ones_like(t)
                if noise_weight is None
                else np.broadcast_to(np.asarray(noise_weight, float), t.shape) / self.weight_scale_
            )
            proxy = np.zeros_like(t) if noise_proxy_sd is None else np.broadcast_to(noise_proxy_sd, t.shape)
            sd = np.sqrt(
                np.exp(2.0 * draws[:, [-1]]) / w_rel[None, :] + np.asarray(proxy, float)[None, :] ** 2
            )
            paths = paths + sd * rng.standard_normal(paths.shape)
        return np.clip(paths, 0.0, 1.0)

    def predict_quantiles(self, X, quantiles=(0.1, 0.5, 0.9), n_paths: int = 2000, random_state=None):
        """Quantiles of ``sample_paths``: shape (len(quantiles), n_years), non-decreasing in q."""
        paths = self.sample_paths(X, n_paths=n_paths, random_state=random_state)
        return np.quantile(paths, quantiles, axis=0)

    def diagnostics(self) -> dict[str, float]:
        """Sampler diagnostics of the last fit: ess, rhat, acceptance, n_draws."""
        check_is_fitted(self, "posterior_")
        return {
            "ess": float(self.ess_),
            "rhat": float(self.rhat_),
            "acceptance": float(self.acceptance_),
            "n_draws": len(self.posterior_),
        }

    @property
    def n_params(self) -> int:
        """Number of fitted parameters (for information criteria)."""
        return len(self._PARAMS)


def _timing_starts(t: np.ndarray, rate_guesses: tuple[float, ...]) -> list[np.ndarray]:
    """A small grid of (log rate, timing year) starting points for multi-start fitting."""
    t_mid = float(np.mean(t))
    return [np.array([np.log(r), t_mid + dt]) for r in rate_guesses for dt in (-3.0, 8.0)]


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
        min_noise: float = 0.01,
        prior_weight: float = 1.0,
        rate_prior: tuple[float, float] | None = None,
        t0_prior: tuple[float, float] = T_MID_PRIOR,
        rate_bounds: tuple[float, float] = (0.01, 3.0),
        t0_bounds: tuple[float, float] = (1990.0, 2080.0),
        random_state: int = 0,
        n_steps: int = N_STEPS,
        ess_floor: float = ESS_FLOOR,
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
        return _timing_starts(t, (0.15, 0.6))


class FisherPry(_RateTimingCurve):
    """Fisher-Pry logistic substitution: share = ceiling / (1 + exp(-2*alpha*(t - t0))).

    Fitted parameters: ``alpha_`` (1/year; takeover time 10%->90% = ln 81 / (2 alpha),
    ``takeover_years_``) and ``t0_`` (year the share reaches half the ceiling).
    Weak priors: log(alpha) ~ N(log 0.25, 1.0) (takeover ~9 years, a factor e either
    way); t0 ~ N(2030, 15). Bounds: alpha in [0.01, 3] 1/year, t0 in [1990, 2080].
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
    log(k) ~ N(log 0.3, 1.0); t0 ~ N(2030, 15). Bounds: k in [0.01, 3], t0 in [1990, 2080].
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
        min_noise: float = 0.01,
        prior_weight: float = 1.0,
        p_prior: tuple[float, float] = (0.02, 1.5),
        q_prior: tuple[float, float] = (0.4, 1.0),
        p_bounds: tuple[float, float] = (1e-4, 1.0),
        q_bounds: tuple[float, float] = (1e-3, 3.0),
        random_state: int = 0,
        n_steps: int = N_STEPS,
        ess_floor: float = ESS_FLOOR,
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
        return [np.log([p, q]) for p in (0.005, 0.05) for q in (0.15, 0.8)]

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
