"""Rolling-origin backtests on vintages: what each model would have said, scored on what came later.

For each segment and target metric (``ai_accelerators`` in units and in H100e, ``wfe``,
``hbm``; ``models.observations``) and each origin year Y: the *vintage* as of Y-12-31 is the
set of share observations published by then; every model is fitted to that vintage alone and
forecasts the years Y+1 .. Y+``horizon``; the held-back observations of those years (published
later) are the targets. Models: the three curves, their ensemble, and two naive forecasts:

- ``last_value``: the (weighted) mean of the latest year in the vintage, carried forward;
- ``linear_trend``: a weighted least-squares line through the vintage (last value when the
  vintage has one year).

Both naive forecasts get a Gaussian band of sd s * sqrt(h) (h = years ahead), s the RMS of the
vintage's year-over-year changes, floored at ``NAIVE_SD_FLOOR``; shares are clipped to [0, 1].

Scores over all (origin, held-back row) pairs, unweighted (the *published* p50 and band, i.e.
the quantiles of the sampled paths, are scored, not the fitted mean curve):

- ``mae`` (|p50 - observed|), ``mape`` (rows with observed > ``MAPE_FLOOR``, else None);
- ``crps``: continuous ranked probability score of the sampled paths (``crps_ensemble``, equal to
  ``properscoring.crps_ensemble`` to rounding);
- ``interval_score``: the 80% interval score (Gneiting & Raftery 2007, eq. 43),
  (u - l) + (2 / 0.2) * ((l - y)+ + (y - u)+);
- ``coverage_p10_p90``; ``n_origins``, ``n_points``, ``horizon_years``;
- ``in_sample_mae``: |p50 - observed| of the same model fitted to every observation (all
  vintages), over the observed years: in-sample error, beside the out-of-sample ``mae``;
- ``beats_last_value``: CRPS below last value's on the same pairs (None without pairs).

The structural model is not backtested here: its inputs (capacity, demand, regimes) describe
2025 and have no history of vintages (docs/methodology-forecasts.md, section 5).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import properscoring as ps

from fabscope.errors import InputError
from models.anchored import ANCHORED
from models.ensemble import fit_default_ensemble
from models.observations import AI_METRICS, share_series
from models.substitution import ESTIMATORS, observation_weights

# Observed shares at or below this are excluded from MAPE (a percentage error of a ~0 share
# is undefined); they still count in the other scores.
MAPE_FLOOR = 0.01
DEFAULT_HORIZON = 3
BACKTEST_PATHS = 2000
NAIVE_MODELS = ("last_value", "linear_trend")  # the benchmarks
MODELS = (*ESTIMATORS, "damped_trend", "ensemble", *NAIVE_MODELS)  # every model a backtest scores
INTERVAL_ALPHA = 0.2  # p10-p90
# (segment, metric label, structural output the series measures)
SERIES = (
    ("ai_accelerators", "units", AI_METRICS["units"]),
    ("ai_accelerators", "h100e", AI_METRICS["h100e"]),
    ("wfe", "share", "share"),
    ("hbm", "share", "share"),
)


def series_arrays(series: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(years, values, weights, proxy sd) of a ``share_series`` frame."""
    years = series["year"].to_numpy().astype(float)
    values = series["value"].to_numpy().astype(float)
    weights = observation_weights(
        series["flag"].to_list(), series["metric"].to_list(), series["notes"].to_list()
    )
    return years, values, weights, series["proxy_sd"].to_numpy().astype(float)


def naive_paths(
    kind: str, t: np.ndarray, y: np.ndarray, w: np.ndarray, years_out: np.ndarray, n: int, rng
) -> np.ndarray:
    """Sampled paths (n, len(years_out)) of an anchored forecast (``models.anchored``) fitted to (t, y, w)."""
    if kind not in ANCHORED:
        raise InputError(f"unknown naive model {kind!r}; expected one of {tuple(ANCHORED)}")
    model = ANCHORED[kind]().fit(t[:, None], y, sample_weight=w)
    return model.sample_paths(years_out[:, None], n_paths=n, random_state=rng)


def interval_score(
    lo: np.ndarray, hi: np.ndarray, obs: np.ndarray, alpha: float = INTERVAL_ALPHA
) -> np.ndarray:
    """Interval score of central (1 - alpha) intervals [lo, hi] for observations ``obs`` (lower is better)."""
    return (hi - lo) + (2.0 / alpha) * (np.maximum(lo - obs, 0.0) + np.maximum(obs - hi, 0.0))


def crps_ensemble(obs: np.ndarray, members: np.ndarray) -> np.ndarray:
    """CRPS of each observation ``obs[i]`` against the equally weighted ensemble ``members[i, :]`` (units
    of the data): E|X - y| - E|X - X'| / 2 (Gneiting & Raftery 2007, eq. 21), the second term from the
    sorted members, sum_ij |x_i - x_j| = 2 sum_i (2i - m - 1) x_(i), in O(m log m) where
    ``properscoring.crps_ensemble`` forms all m^2 differences (2000 paths: 4e6 per observation). Same
    estimator, equal to it to rounding; ensembles holding NaN go to properscoring (it skips them)."""
    if np.isnan(members).any():
        return ps.crps_ensemble(obs, members)
    x = np.sort(members, axis=-1)
    m = x.shape[-1]
    spread = ((2.0 * np.arange(1, m + 1) - m - 1) * x).sum(axis=-1) / (m * m)
    return np.abs(x - obs[..., None]).mean(axis=-1) - spread


def _scores(paths: np.ndarray, obs: np.ndarray) -> dict[str, np.ndarray]:
    q10, q50, q90 = np.quantile(paths, (0.1, 0.5, 0.9), axis=0)
    return {
        "abs_err": np.abs(q50 - obs),
        "crps": crps_ensemble(obs, paths.T),
        "interval": interval_score(q10, q90, obs),
        "covered": (q10 <= obs) & (obs <= q90),
        "obs": obs,
    }


class _Models:
    """Samples every model on a vintage; fits are shared through ``fit_default_ensemble``."""

    def __init__(self, seed: int, fit_ensemble=None):
        self.seed = seed
        self.fit_ensemble = fit_ensemble or fit_default_ensemble

    def paths(self, t, y, w, proxy, years_out: np.ndarray, target_w=None, target_proxy=None):
        """{model: (BACKTEST_PATHS, len(years_out)) paths}; ``target_*``: the predicted figures' weights, proxy sd."""
        out = {}
        rng = np.random.default_rng(self.seed)
        ens = self.fit_ensemble(t, y, w, proxy)
        noise = {"noise_weight": target_w, "noise_proxy_sd": target_proxy}
        X = years_out[:, None]
        for name, est in [*getattr(ens, "members_", ens.estimators_), ("ensemble", ens)]:
            kw = noise if name in ESTIMATORS or name == "ensemble" else {}
            out[name] = est.sample_paths(X, n_paths=BACKTEST_PATHS, random_state=rng, **kw)
        for kind in ANCHORED:  # members the ensemble was not given are still scored
            if kind not in out:
                out[kind] = naive_paths(kind, t, y, w, years_out, BACKTEST_PATHS, rng)
        return out


def _summary(pairs: list[dict]) -> dict:
    got = {
        k: np.concatenate([s[k] for s in pairs]) for k in ("abs_err", "crps", "interval", "covered", "obs")
    }
    pos = got["obs"] > MAPE_FLOOR
    return {
        "mape": float(np.mean(got["abs_err"][pos] / got["obs"][pos])) if pos.any() else None,
        "mae": float(np.mean(got["abs_err"])),
        "crps": float(np.mean(got["crps"])),
        "interval_score": float(np.mean(got["interval"])),
        "coverage_p10_p90": float(np.mean(got["covered"])),
        "n_points": int(len(got["obs"])),
    }


_EMPTY = {
    "mape": None,
    "mae": None,
    "crps": None,
    "interval_score": None,
    "coverage_p10_p90": None,
    "n_points": 0,
}


def backtest_series(
    series: pl.DataFrame,
    *,
    horizon: int = DEFAULT_HORIZON,
    seed: int = 0,
    models: _Models | None = None,
    fit_ensemble=None,
) -> dict[str, dict]:
    """Vintage scores of every model on one share series (``share_series`` frame with ``published``).

    ``fit_ensemble(t, y, w, proxy) -> SubstitutionEnsemble`` fits the curves to a vintage
    (default ``fit_default_ensemble``: production sampler settings, cached).

    Returns ``{model: {mape, mae, crps, interval_score, coverage_p10_p90, n_origins, n_points,
    horizon_years, in_sample_mae}}``.
    """
    if int(horizon) != horizon or horizon < 1:
        raise InputError(f"horizon must be a whole number of years >= 1, got {horizon!r}")
    models = models or _Models(seed, fit_ensemble)
    t, y, w, proxy = series_arrays(series)
    published = np.array(series["published"].to_list(), dtype=object)
    names = list(MODELS)
    pairs: dict[str, list[dict]] = {n: [] for n in names}
    n_origins = 0
    if len(y):
        first, last = min(published).year, int(t.max())
        for origin in range(first, last):
            vintage = np.array([p <= date(origin, 12, 31) for p in published])
            test = ~vintage & (t > origin) & (t <= origin + horizon)
            if not vintage.any() or not test.any():
                continue
            n_origins += 1
            years_out = t[test]
            got = models.paths(
                t[vintage], y[vintage], w[vintage], proxy[vintage], years_out, w[test], proxy[test]
            )
            for name, p in got.items():
                pairs[name].append(_scores(p, y[test]) | {"lead": years_out - origin})
    in_sample = {}
    if len(y):
        fitted = models.paths(t, y, w, proxy, t, w, proxy)
        in_sample = {
            name: float(np.mean(np.abs(np.quantile(p, 0.5, axis=0) - y))) for name, p in fitted.items()
        }
    out = {}
    for name in names:
        by_lead = {}
        if pairs[name]:
            lead = np.concatenate([s["lead"] for s in pairs[name]])
            for h in range(1, int(horizon) + 1):
                picked = [{k: v[s["lead"] == h] for k, v in s.items()} for s in pairs[name]]
                by_lead[str(h)] = _summary(picked) if np.any(lead == h) else dict(_EMPTY)
        out[name] = {
            **(_summary(pairs[name]) if pairs[name] else dict(_EMPTY)),
            "n_origins": n_origins,
            "horizon_years": int(horizon),
            "in_sample_mae": in_sample.get(name),
            "by_horizon": by_lead,
        }
    return out


def run_backtests(observations: pl.DataFrame, *, horizon: int = DEFAULT_HORIZON, seed: int = 0) -> list[dict]:
    """Backtest every model on every series with observations.

    Per (name, segment, metric) one row pooled over the leads 1..``horizon`` (``lead_years`` 0)
    and one row per lead h = 1..``horizon`` (``lead_years`` h: held-back figures of the year
    origin + h only). Each dict: name, segment, metric, lead_years, mape, mae, crps,
    interval_score, coverage_p10_p90, n_origins, n_points, horizon_years, in_sample_mae,
    beats_last_value.
    """
    out = []
    models = _Models(seed)
    for segment, metric, output in SERIES:
        series = share_series(observations, segment, output).sort(["year", "published", "value"])
        if series.height == 0:
            continue
        scores = backtest_series(series, horizon=horizon, seed=seed, models=models)
        naive = scores["last_value"]
        for name, s in scores.items():
            common = {k: s[k] for k in ("n_origins", "horizon_years", "in_sample_mae")}
            head = {"name": name, "segment": segment, "metric": metric}
            pooled = {k: v for k, v in s.items() if k != "by_horizon"}
            out.append(
                head
                | {"lead_years": 0}
                | pooled
                | {"beats_last_value": _beats(name, s["crps"], naive["crps"])}
            )
            for h in range(1, int(horizon) + 1):
                sh = s["by_horizon"].get(str(h), _EMPTY)
                nh = naive["by_horizon"].get(str(h), _EMPTY)
                beats = _beats(name, sh["crps"], nh["crps"])
                out.append(head | {"lead_years": h} | sh | common | {"beats_last_value": beats})
    return out


def pooled_rows(results: list[dict]) -> list[dict]:
    """The rows pooled over all leads (``lead_years`` 0 or absent)."""
    return [r for r in results if not r.get("lead_years")]


def _beats(name: str, crps: float | None, naive: float | None) -> bool | None:
    """CRPS below last value's on the same pairs; None for last value itself or without pairs."""
    return None if crps is None or naive is None or name == "last_value" else bool(crps < naive)


def verdicts(results: list[dict]) -> list[dict]:
    """Per (segment, metric): the best model by CRPS (pooled over leads) and whether any model beats
    last value; ``by_lead`` lists, per lead with pairs, the non-naive models that beat it there."""
    out = []
    per_lead = [r for r in results if r.get("lead_years")]
    results = pooled_rows(results)
    keys = sorted({(r["segment"], r["metric"]) for r in results})
    for segment, metric in keys:
        rows = [
            r for r in results if (r["segment"], r["metric"]) == (segment, metric) and r["crps"] is not None
        ]
        if not rows:
            out.append(
                {
                    "segment": segment,
                    "metric": metric,
                    "best": None,
                    "any_beats_last_value": None,
                    "message": f"{segment} ({metric}): no vintage with held-back observations; not scored",
                }
            )
            continue
        best = min(rows, key=lambda r: r["crps"])
        winners = [r["name"] for r in rows if r["beats_last_value"]]
        curves_win = [n for n in winners if n not in NAIVE_MODELS]
        message = f"{segment} ({metric}): best by CRPS is {best['name']} ({best['crps']:.3f}); " + (
            f"beats last value: {', '.join(curves_win)}" if curves_win else "no model beats last value"
        )
        by_lead = {
            str(r["lead_years"]): []
            for r in per_lead
            if (r["segment"], r["metric"]) == (segment, metric) and r["crps"] is not None
        }
        for r in per_lead:
            if (
                (r["segment"], r["metric"]) == (segment, metric)
                and r["beats_last_value"]
                and r["name"] not in NAIVE_MODELS
            ):
                by_lead[str(r["lead_years"])].append(r["name"])
        if by_lead:
            message += "; by lead: " + ", ".join(
                f"{h}y {'+'.join(names) if names else 'last value wins'}"
                for h, names in sorted(by_lead.items())
            )
        out.append(
            {
                "segment": segment,
                "metric": metric,
                "best": best["name"],
                "any_beats_last_value": bool(curves_win),
                "by_lead": by_lead,
                "message": message,
            }
        )
    return out


def pooled_coverage(results: list[dict], name: str = "ensemble") -> dict:
    """p10-p90 coverage of ``name`` pooled over series (weighted by their held-back points)."""
    rows = [r for r in pooled_rows(results) if r["name"] == name and r["n_points"]]
    n = sum(r["n_points"] for r in rows)
    cov = sum(r["coverage_p10_p90"] * r["n_points"] for r in rows) / n if n else None
    return {"name": name, "coverage_p10_p90": cov, "n_points": n}
