"""Rolling-origin backtests of the substitution curves on the history.

For each segment and estimator: for every origin year t with at least ``min_train_rows``
observations up to t and at least one observation in (t, t + horizon], fit on the rows up
to t (all sources, weighted as in the forecasts), then predict each later row within the
horizon. Scores, over all (origin, held-out row) pairs, unweighted:

- ``mape``: mean |predicted - observed| / observed over rows with observed > ``MAPE_FLOOR``
  (``None`` when no such row exists, e.g. HBM, where the observed share is 0);
- ``mae``: mean absolute error, share points (fraction);
- ``coverage_p10_p90``: fraction of held-out rows inside the p10-p90 band;
- ``n_origins``, ``n_points``, ``horizon_years``.

The structural model is not backtested here: its inputs (capacity, demand, regimes) are
not available as a history of vintages.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from fabscope.errors import InputError
from models.ensemble import SubstitutionEnsemble
from models.substitution import ESTIMATORS, segment_observations
from models.supply import SEGMENTS

# Observed shares at or below this are excluded from MAPE (a percentage error of a ~0
# share is undefined); they still count in MAE and coverage.
MAPE_FLOOR = 0.01
DEFAULT_HORIZON = 3
MIN_TRAIN_ROWS = 2
BACKTEST_PATHS = 2000


def default_estimators() -> dict[str, object]:
    """name -> unfitted estimator: the three curves and their ensemble."""
    return {**{name: cls() for name, cls in ESTIMATORS.items()}, "ensemble": SubstitutionEnsemble()}


def backtest_segment(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    estimator,
    *,
    horizon: int = DEFAULT_HORIZON,
    min_train_rows: int = MIN_TRAIN_ROWS,
    seed: int = 0,
) -> dict:
    """Rolling-origin scores of one estimator on one segment's observations (see module doc)."""
    if int(horizon) != horizon or horizon < 1:
        raise InputError(f"horizon must be a whole number of years >= 1, got {horizon!r}")
    years = np.asarray(X, dtype=float)[:, 0]
    y = np.asarray(y, dtype=float)
    weights = np.asarray(weights, dtype=float)
    abs_err: list[float] = []
    pct_err: list[float] = []
    covered: list[bool] = []
    n_origins = 0
    for origin in np.unique(years):
        train = years <= origin
        test = (years > origin) & (years <= origin + horizon)
        if train.sum() < min_train_rows or not test.any():
            continue
        model = clone(estimator).fit(years[train, None], y[train], sample_weight=weights[train])
        X_test = years[test, None]
        point = model.predict(X_test)
        band = model.predict_quantiles(
            X_test, quantiles=(0.1, 0.9), n_paths=BACKTEST_PATHS, random_state=seed
        )
        obs = y[test]
        n_origins += 1
        abs_err.extend(np.abs(point - obs).tolist())
        pos = obs > MAPE_FLOOR
        pct_err.extend((np.abs(point[pos] - obs[pos]) / obs[pos]).tolist())
        covered.extend(((band[0] <= obs) & (obs <= band[1])).tolist())
    return {
        "mape": float(np.mean(pct_err)) if pct_err else None,
        "mae": float(np.mean(abs_err)) if abs_err else None,
        "coverage_p10_p90": float(np.mean(covered)) if covered else None,
        "n_origins": n_origins,
        "n_points": len(abs_err),
        "horizon_years": horizon,
    }


def run_backtests(history, *, horizon: int = DEFAULT_HORIZON, seed: int = 0, estimators=None) -> list[dict]:
    """Backtest every estimator on every segment with history; one dict per (name, segment).

    ``history``: a frame with ``segment, year, domestic_share, flag`` (+ ``metric``, ``notes``).
    Each dict: name, segment, mape, mae, coverage_p10_p90, n_origins, n_points, horizon_years.
    """
    estimators = default_estimators() if estimators is None else estimators
    out = []
    for segment in SEGMENTS:
        X, y, w = segment_observations(history, segment)
        if len(y) == 0:
            continue
        for name, est in estimators.items():
            scores = backtest_segment(X, y, w, est, horizon=horizon, seed=seed)
            out.append({"name": name, "segment": segment, **scores})
    return out
