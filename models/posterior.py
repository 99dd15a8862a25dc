"""Posterior sampling for the substitution curves: emcee's affine-invariant ensemble sampler.

Why emcee: the curves have three parameters (rate, timing, noise) and a cheap, vectorised
log posterior; an ensemble sampler needs no gradients and no tuning beyond the number of
walkers and steps, which is what a 2-4 parameter problem wants (NumPyro/PyMC would add a
JAX/PyTensor stack for no gain here).

Every run reports its diagnostics: effective sample size (``ess``: kept draws divided by
the largest integrated autocorrelation time, ``emcee.autocorr.integrated_time``) and the
split-R-hat over walkers (``rhat``, the largest over parameters). A run whose ESS is below
``ESS_FLOOR`` or whose R-hat is above ``RHAT_MAX`` raises ``SamplerError`` with a one-line
message rather than publishing a band from a handful of effective draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import emcee
import numpy as np

from fabscope.errors import DataError

# Diagnostics floors (stated in docs/methodology-forecasts.md): at least 200 effective draws
# (the Monte Carlo error of a p10 is then sqrt(0.1 * 0.9 / 200) ~ 0.02 in quantile level)
# and R-hat <= 1.1 over RHAT_GROUPS walker groups (Gelman & Rubin's original threshold).
ESS_FLOOR = 200.0
RHAT_MAX = 1.1
RHAT_GROUPS = 4
N_WALKERS = 24
N_STEPS = 1200  # per walker; the first third is discarded as burn-in


class SamplerError(DataError):
    """The sampler did not mix well enough to publish (ESS below the floor or R-hat too high)."""


@dataclass(frozen=True)
class Posterior:
    """Kept draws (n_draws, n_params) in internal coordinates and the run's diagnostics."""

    draws: np.ndarray
    ess: float
    rhat: float
    acceptance: float
    tau: float


def split_rhat(chain: np.ndarray, n_groups: int = RHAT_GROUPS) -> float:
    """Largest split-R-hat over parameters of ``chain`` (n_steps, n_walkers, n_params).

    Ensemble walkers are not independent chains, so the walkers are pooled into ``n_groups``
    groups; each group's draws are split into a first and a second half, giving 2 x n_groups
    chains (Gelman et al., Bayesian Data Analysis 3rd ed., 11.4):
    R-hat = sqrt(((n-1)/n * W + B/n) / W), W the mean within-chain variance, B/n the variance
    of the chain means. Values near 1 say the groups and halves agree.
    """
    n_half = chain.shape[0] // 2
    groups = np.array_split(np.arange(chain.shape[1]), n_groups)
    chains = [
        chain[rows][:, g].reshape(-1, chain.shape[2])
        for g in groups
        for rows in (slice(0, n_half), slice(n_half, 2 * n_half))
    ]
    stacked = np.stack(chains)  # (2 n_groups, n, k)
    n = stacked.shape[1]
    within = stacked.var(axis=1, ddof=1).mean(axis=0)
    between_over_n = stacked.mean(axis=1).var(axis=0, ddof=1)
    var_hat = (n - 1) / n * within + between_over_n
    with np.errstate(divide="ignore", invalid="ignore"):
        rhat = np.sqrt(np.where(within > 0, var_hat / within, 1.0))
    return float(np.max(rhat))


def sample_posterior(
    log_prob,
    start: np.ndarray,
    start_cov: np.ndarray | None,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    seed: int = 0,
    n_walkers: int = N_WALKERS,
    n_steps: int = N_STEPS,
    ess_floor: float = ESS_FLOOR,
    label: str = "posterior",
) -> Posterior:
    """Run emcee from walkers spread around ``start`` inside [lo, hi]; check ESS and R-hat.

    Walkers start from N(start, start_cov) (e.g. the inverse Hessian at the mode), or a small
    ball when ``start_cov`` is None, so they begin dispersed as R-hat assumes.

    ``log_prob`` maps (m, k) parameter arrays to (m,) log densities (-inf outside the support).
    Raises ``SamplerError`` (one line, naming ``label``) when ESS < ``ess_floor`` or
    R-hat > ``RHAT_MAX``.
    """
    rng = np.random.default_rng(seed)
    k = start.size
    if start_cov is None:
        scale = 1e-3 * np.maximum(hi - lo, 1e-6)
        scale = np.where(np.isfinite(scale), scale, 1e-3)
        p0 = start[None, :] + scale[None, :] * rng.standard_normal((n_walkers, k))
    else:
        p0 = rng.multivariate_normal(start, start_cov, size=n_walkers, method="eigh")
    p0 = np.clip(p0, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))
    sampler = emcee.EnsembleSampler(n_walkers, k, log_prob, vectorize=True)
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    sampler.run_mcmc(p0, n_steps, progress=False)
    chain = sampler.get_chain(discard=n_steps // 3)  # (n_kept, n_walkers, k)
    tau = float(np.max(emcee.autocorr.integrated_time(chain, tol=0)))
    n_kept = chain.shape[0] * chain.shape[1]
    ess = n_kept / max(tau, 1.0)
    rhat = split_rhat(chain)
    if not np.isfinite(ess) or ess < ess_floor or not rhat <= RHAT_MAX:
        raise SamplerError(
            f"{label}: sampler did not mix: effective sample size {ess:.0f} (floor {ess_floor:.0f}), "
            f"R-hat {rhat:.3f} (max {RHAT_MAX}); not published"
        )
    return Posterior(
        draws=chain.reshape(-1, k),
        ess=ess,
        rhat=rhat,
        acceptance=float(np.mean(sampler.acceptance_fraction)),
        tau=tau,
    )


def laplace_cov(log_prob, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """Inverse of the negative Hessian of ``log_prob`` at ``x`` (central differences, one
    vectorised call); None when it is not positive definite (then the sampler starts from a ball)."""
    k = x.size
    h = 1e-4 * np.maximum(1.0, np.abs(x))
    eye = np.eye(k) * h
    pts = [x]
    for i in range(k):
        for j in range(k):
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                pts.append(x + si * eye[i] + sj * eye[j])
    vals = log_prob(np.clip(np.array(pts), lo, hi))
    if not np.all(np.isfinite(vals)):
        return None
    f = vals[1:].reshape(k, k, 4)
    hess = (f[..., 0] - f[..., 1] - f[..., 2] + f[..., 3]) / (4.0 * h[:, None] * h[None, :])
    try:
        cov = np.linalg.inv(-0.5 * (hess + hess.T))
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return None
    return cov
