"""Cross-sectional event-study tests that hold their size when stocks share the event date.

All functions are pure and vectorised: the last axis of ``car``/``scar`` is the stock, the last two
axes of residual matrices are (stock, day); any leading axes (simulated panels, windows) broadcast.
Missing values are NaN (a stock not traded that day, a stock outside the group). Returns are
fractions of price, per trading day.

Methods (the ``method`` column of ``event_study_cross_section``):

- ``mackinlay_j1``: MacKinlay (1997) J1, ``mean CAR / (√ΣVar(CAR_i) / N)``, standard normal.
  Assumes independent stocks: on a common event date with a sector move the benchmark misses it
  over-rejects (about 30 % at nominal 5 % in tests/models/test_event_size_power.py). Kept as
  the stored reference, not for inference.
- ``bmp``: Boehmer, Musumeci & Poulsen (1991), ``√N · mean(SCAR) / sd(SCAR)`` with
  ``SCAR_i = CAR_i / √Var(CAR_i)`` (the per-stock MacKinlay t), t(N−1). Robust to event-induced
  variance, not to cross-correlation.
- ``bmp_kp``: BMP times the Kolari & Pynnönen (2010, RFS 23:3996) adjustment
  ``√((1 − r̄) / (1 + (N − 1) r̄))``, ``r̄`` the mean pairwise correlation of the estimation-window
  residuals, t(N−1).
- ``grank``: generalized rank test of Kolari & Pynnönen (2011, J. Empirical Finance 18:953) on
  the estimation-window standardized residuals plus the SCAR as one extra "day"; the time-series
  variance of the mean rank carries the cross-correlation, t(T−2). KP re-standardize the SCAR by
  its cross-sectional sd (against event-induced variance); in groups of 5–10 stocks sharing a
  sector shock that over-rejects (8.9 % at N = 10, 13.5 % at N = 5, r̄ = 0.3, nominal 5 %), because
  the common shock shrinks the cross-sectional sd. The stored test ranks the SCAR as it is
  (``restandardize=False``; size 3.9 % / 4.7 % on the same panels); the option is kept.
- ``calendar_time``: the group as one equally weighted portfolio of abnormal returns (Jaffe 1974;
  Brown & Warner 1980 "crude dependence adjustment"): OLS of the portfolio AR on a constant and an
  event-window dummy, ``CAR_p = L2·ĉ``, ``t = ĉ / se(ĉ)``, t(L1 + L2 − 2). Covariances between
  stocks are inside the portfolio variance. Closed form here so that 2,000 simulated panels run in
  one NumPy call; ``calendar_time_ols`` is the same regression in statsmodels (HAC optional) and
  the tests check that the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

METHODS = ("mackinlay_j1", "bmp", "bmp_kp", "grank", "calendar_time")
MIN_GROUP_SIZE = 2  # fewer stocks than this: no cross-sectional statistic (BMP needs a spread)


@dataclass(frozen=True)
class TestResult:
    """Arrays over the leading axes: group size, mean CAR (fraction), statistic, p-value (two-sided)."""

    n: np.ndarray
    mean_car: np.ndarray
    stat: np.ndarray
    p_value: np.ndarray


def _two_sided_t(stat: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        p = 2.0 * stats.t.sf(np.abs(stat), np.where(df > 0, df, np.nan))
    return np.where(np.isfinite(stat), p, np.nan)


def _count(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.isfinite(x).sum(axis=axis)


def _nanmean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    n = _count(x, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.nansum(x, axis=axis) / n, np.nan)


def j1_test(car: np.ndarray, car_var: np.ndarray) -> TestResult:
    """MacKinlay J1 over the last axis: ``mean CAR / (√Σ Var(CAR_i) / N)``, normal p-value."""
    ok = np.isfinite(car) & np.isfinite(car_var)
    n = ok.sum(axis=-1)
    mean = _nanmean(np.where(ok, car, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.where(ok, car_var, 0.0).sum(axis=-1)) / n
        stat = np.where(n >= 1, mean / se, np.nan)
    p = np.where(np.isfinite(stat), 2.0 * stats.norm.sf(np.abs(stat)), np.nan)
    return TestResult(n, mean, stat, p)


def bmp_test(scar: np.ndarray, car: np.ndarray | None = None, rbar: np.ndarray | None = None) -> TestResult:
    """BMP over the last axis of ``scar`` (per-stock t of the CAR); with ``rbar``, the KP adjustment.

    ``car`` only feeds the reported mean CAR (defaults to NaN). ``rbar``: mean residual correlation
    over the leading axes (see ``mean_pairwise_correlation``)."""
    n = _count(scar)
    mean = _nanmean(scar)
    dev = np.where(np.isfinite(scar), scar - mean[..., None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt((dev**2).sum(axis=-1) / (n - 1))
        stat = np.where(n >= MIN_GROUP_SIZE, np.sqrt(n) * mean / sd, np.nan)
        if rbar is not None:
            stat = stat * np.sqrt((1.0 - rbar) / (1.0 + (n - 1) * rbar))
    mean_car = _nanmean(car) if car is not None else np.full(np.shape(stat), np.nan)
    return TestResult(n, mean_car, stat, _two_sided_t(stat, n - 1))


def mean_pairwise_correlation(resid: np.ndarray) -> np.ndarray:
    """Mean off-diagonal correlation of ``resid`` (…, N stocks, L days), each pair on its common days.

    Residuals are taken as mean zero (OLS residuals are), so each pair's correlation is
    ``Σ x_i x_j / √(Σ x_i² · Σ x_j²)`` over the days both have. NaN for fewer than two stocks."""
    ok = np.isfinite(resid)
    x = np.where(ok, resid, 0.0)
    m = ok.astype(float)
    cross = x @ np.swapaxes(x, -1, -2)  # Σ_t x_it x_jt over common days (zeros elsewhere)
    sq = (x**2) @ np.swapaxes(m, -1, -2)  # sq[i, j] = Σ_t x_it² over days j also has
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cross / np.sqrt(sq * np.swapaxes(sq, -1, -2))
    n = resid.shape[-2]
    off = ~np.eye(n, dtype=bool)
    r = np.where(off & np.isfinite(r), r, np.nan)
    with np.errstate(invalid="ignore"):
        return (
            np.nanmean(r.reshape(*r.shape[:-2], n * n), axis=-1) if n > 1 else np.full(r.shape[:-2], np.nan)
        )


def grank_test(
    sar_est: np.ndarray, scar: np.ndarray, car: np.ndarray | None = None, *, restandardize: bool = False
) -> TestResult:
    """Generalized rank test (Kolari & Pynnönen 2011, eq. 6–11).

    ``sar_est``: (…, N, L1) estimation-window residuals divided by each stock's residual sd;
    ``scar``: (…, N) per-stock t of the CAR. The SCAR is re-standardized by its cross-sectional sd
    and appended as day 0; ranks ``U_it = rank / (T_i + 1) − ½`` per stock over its T_i finite days;
    ``Z = Ū_0 / S_Ū`` with ``S_Ū² = (1/T) Σ_t (N_t / N) Ū_t²``; ``t = Z √((T − 2)/(T − 1 − Z²))``."""
    n = _count(scar)
    mean = _nanmean(scar)
    dev = np.where(np.isfinite(scar), scar - mean[..., None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt((dev**2).sum(axis=-1) / (n - 1))
        scar_star = scar / sd[..., None] if restandardize else scar
    in_group = np.isfinite(scar)
    g = np.concatenate([np.where(in_group[..., None], sar_est, np.nan), scar_star[..., None]], axis=-1)
    ok = np.isfinite(g)
    t_i = ok.sum(axis=-1)  # days per stock, event day included
    filled = np.where(ok, g, np.inf)  # missing days rank last and are masked below
    ranks = filled.argsort(axis=-1).argsort(axis=-1) + 1.0
    u = np.where(ok, ranks / (t_i[..., None] + 1.0) - 0.5, np.nan)
    n_t = ok.sum(axis=-2)  # stocks per day
    u_bar = _nanmean(np.swapaxes(u, -1, -2))  # (…, T)
    big_t = g.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = np.nansum((n_t / n[..., None]) * u_bar**2, axis=-1) / big_t
        z = u_bar[..., -1] / np.sqrt(s2)
        stat = z * np.sqrt((big_t - 2) / (big_t - 1 - z**2))
    stat = np.where(n >= MIN_GROUP_SIZE, stat, np.nan)
    mean_car = _nanmean(car) if car is not None else np.full(np.shape(stat), np.nan)
    return TestResult(n, mean_car, stat, _two_sided_t(stat, big_t - 2))


def calendar_time_test(ar_est: np.ndarray, ar_window: np.ndarray) -> TestResult:
    """Equally weighted portfolio of abnormal returns, OLS on a constant and an event-window dummy.

    ``ar_est``: (…, N, L1) estimation-window abnormal returns (residuals); ``ar_window``: (…, N, L2)
    event-window abnormal returns. A stock with no finite window AR is left out of both periods.
    Returns ``mean_car = CAR_p = L2·ĉ`` and ``t = ĉ / se(ĉ)``, ``se² = s²(1/L1 + 1/L2)``, s² the
    residual variance pooled over both periods (df L1 + L2 − 2)."""
    member = np.isfinite(ar_window).any(axis=-1)
    n = member.sum(axis=-1)
    est = _nanmean(np.swapaxes(np.where(member[..., None], ar_est, np.nan), -1, -2))  # (…, L1)
    win = _nanmean(np.swapaxes(np.where(member[..., None], ar_window, np.nan), -1, -2))  # (…, L2)
    l1, l2 = _count(est), _count(win)
    with np.errstate(invalid="ignore", divide="ignore"):
        m_est, m_win = _nanmean(est), _nanmean(win)
        ssr = np.nansum((est - m_est[..., None]) ** 2, axis=-1) + np.nansum(
            (win - m_win[..., None]) ** 2, axis=-1
        )
        df = l1 + l2 - 2
        s2 = ssr / df
        c = m_win - m_est
        stat = c / np.sqrt(s2 * (1.0 / l1 + 1.0 / l2))
    stat = np.where((n >= 1) & (df > 0), stat, np.nan)
    return TestResult(n, l2 * c, stat, _two_sided_t(stat, df))


def calendar_time_ols(
    portfolio_est: np.ndarray, portfolio_window: np.ndarray, *, hac_lags: int | None = None
):
    """The calendar-time regression of ``calendar_time_test`` for one portfolio, fitted by statsmodels.

    ``portfolio_est``/``portfolio_window``: 1-D portfolio abnormal returns (NaN-free). Returns the
    statsmodels results; coefficient 1 is ``ĉ``. ``hac_lags``: Newey–West standard errors."""
    import statsmodels.api as sm

    y = np.concatenate([portfolio_est, portfolio_window])
    dummy = np.concatenate([np.zeros(len(portfolio_est)), np.ones(len(portfolio_window))])
    model = sm.OLS(y, sm.add_constant(dummy))
    if hac_lags is None:
        return model.fit()
    return model.fit(cov_type="HAC", cov_kwds={"maxlags": hac_lags})


CROSS_SECTION_SCHEMA = {
    "event_id": pl.String,
    "window": pl.String,
    "group": pl.String,
    "method": pl.String,  # one of METHODS
    "n": pl.Int64,  # stocks in the statistic
    "mean_car": pl.Float64,  # mean CAR (calendar_time: the portfolio CAR), fraction
    "t_stat": pl.Float64,  # the method's statistic (t or z)
    "p_value": pl.Float64,  # two-sided
    "rbar": pl.Float64,  # mean estimation-residual correlation of the group (bmp_kp), else null
}


def _matrix(frame: pl.DataFrame, index: str, tickers: list[str]) -> np.ndarray:
    """(len(tickers), days) matrix of ``ar`` with days on ``index`` (union over tickers), NaN where absent."""
    if frame.height == 0:
        return np.full((len(tickers), 0), np.nan)
    wide = frame.pivot(on="ticker", index=index, values="ar", aggregate_function="first").sort(index)
    cols = [wide[t].to_numpy() if t in wide.columns else np.full(wide.height, np.nan) for t in tickers]
    return np.asarray(np.vstack(cols), dtype=float)


def cross_section(
    results: pl.DataFrame, group_of: Mapping[str, str], abnormal: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every method of ``METHODS`` per (event, window, group); ``group_of``: ticker → group.

    ``results``: the per-ticker frame of ``models.event_study`` (car, car_var, t_stat); rows with a
    NaN CAR (flagged data problems) are left out. ``abnormal``: its ``ABNORMAL_SCHEMA`` frame;
    without it only ``mackinlay_j1`` is computed."""
    rows: list[dict] = []
    if "t_stat" not in results.columns:
        results = results.with_columns((pl.col("car") / pl.col("car_var").sqrt()).alias("t_stat"))
    tagged = results.filter(pl.col("car").is_finite()).with_columns(
        pl.col("ticker").replace_strict(dict(group_of), default=None, return_dtype=pl.String).alias("group")
    )
    tagged = tagged.filter(pl.col("group").is_not_null())
    for (event_id, group), frame in sorted(tagged.group_by("event_id", "group"), key=lambda kv: kv[0]):
        tickers = sorted(frame["ticker"].unique().to_list())
        ab = None
        if abnormal is not None:
            ab = abnormal.filter((pl.col("event_id") == event_id) & pl.col("ticker").is_in(tickers))
            est = _matrix(ab.filter(pl.col("window").is_null()), "date", tickers)
            sigma = dict(ab.group_by("ticker").agg(pl.col("sigma").first()).iter_rows())
            sd = np.array([sigma.get(t, np.nan) for t in tickers])[:, None]
            rbar = mean_pairwise_correlation(est)
        for (window,), wf in sorted(frame.group_by("window"), key=lambda kv: kv[0]):
            by = dict(zip(wf["ticker"].to_list(), range(wf.height), strict=True))
            pick = [by.get(t) for t in tickers]

            def col(name: str, pick: list = pick, wf: pl.DataFrame = wf) -> np.ndarray:
                v = wf[name].to_numpy()
                return np.array([v[i] if i is not None else np.nan for i in pick], dtype=float)

            car, car_var, scar = col("car"), col("car_var"), col("t_stat")
            tests = {"mackinlay_j1": (j1_test(car, car_var), None)}
            if ab is not None:
                ar_win = _matrix(ab.filter(pl.col("window") == window), "rel_day", tickers)
                tests["bmp"] = (bmp_test(scar, car), None)
                tests["bmp_kp"] = (bmp_test(scar, car, rbar), float(rbar))
                tests["grank"] = (grank_test(est / sd, scar, car), None)
                tests["calendar_time"] = (calendar_time_test(est, ar_win), None)
            for method, (res, rb) in tests.items():
                rows.append(
                    {
                        "event_id": event_id,
                        "window": window,
                        "group": group,
                        "method": method,
                        "n": int(res.n),
                        "mean_car": float(res.mean_car),
                        "t_stat": float(res.stat),
                        "p_value": float(res.p_value),
                        "rbar": rb,
                    }
                )
    return pl.DataFrame(rows, schema=CROSS_SECTION_SCHEMA).sort("event_id", "window", "group", "method")
