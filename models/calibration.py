"""Bayesian calibration of the structural model to the observations (emcee).

The scenario file names the uncertain inputs to calibrate (``calibration.inputs``: ``NAME`` for a
base value, ``REGIME/NAME`` for a regime's value) and their priors are the distributions the file
states there. The sampler works in quantile space: input i is ``dist.ppf(u_i)`` with
u_i = logistic(z_i), and the prior on z_i is the logistic density, so the prior is *exactly* the
scenario's distribution whatever its kind (uniform, triangular, clipped normal).

Likelihood: the structural model is run over the observed years (a backcast from
``calibration.start_year``) with the calibrated inputs at u and every other input at its prior
median, and each observation is compared with the output its metric measures
(``models.observations.METRICS``: a unit share with the unit share, an H100e or revenue share with
the H100e share, unit counts with units on the log scale) with a normal error of
sd = sqrt(proxy_sd^2 + noise^2), ``noise`` from ``OBSERVATION_NOISE`` by scale and flag.

Why emcee: few parameters (about ten), a cheap likelihood that is vectorised over walkers (one
``simulate_supply`` call on an (n_walkers, n_years) array per step) and no gradients (the model has
min/max kinks and a simulator call): an affine-invariant ensemble sampler needs no tuning beyond
walkers and steps, where NumPyro/PyMC would need a differentiable rewrite of the model.

Diagnostics: effective sample size (kept draws / the largest integrated autocorrelation time) and
split-R-hat over walker groups (``models.posterior.split_rhat``). A run whose ESS falls below the
scenario's ``ess_floor`` or whose R-hat exceeds ``RHAT_MAX`` raises ``SamplerError`` (one line).

Vintages: ``vintage_scenario`` swaps every prior whose source was published after the as-of date
for the prior it names as known ``before``; observations are cut to the vintage by the caller.
Posterior draws are cached per (scenario, observations, as-of) hash, in memory and, given a
directory, on disk (``.npz``), so a rerun does not sample again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import emcee
import numpy as np
import polars as pl

from models.observations import METRICS
from models.posterior import RHAT_MAX, SamplerError, split_rhat
from models.scenarios import Horizon, Scenario, ScenarioError, draw_parameters
from models.supply import simulate_supply

CALIBRATION_VERSION = 2  # bump when the likelihood or the model changes: invalidates cached draws
# Observation noise beyond the metric's proxy error (assumption, flag: estimate): a reported share
# (IDC tracker) within ~3 points, an analyst estimate ~6; counts ~10% / ~20% on the log scale.
OBSERVATION_NOISE = {
    ("share", "reported"): 0.03,
    ("share", "estimate"): 0.06,
    ("count", "reported"): 0.10,
    ("count", "estimate"): 0.20,
}
KEPT_DRAWS = 4000  # posterior draws kept (thinned evenly from the chain) and cached
_CACHE: dict[str, CalibrationResult] = {}


@dataclass(frozen=True)
class CalibrationResult:
    """Posterior quantiles ``u`` (n_draws, k) of the calibrated ``inputs`` and the run's diagnostics."""

    inputs: tuple[str, ...]
    u: np.ndarray
    ess: float
    rhat: float
    acceptance: float
    tau: float
    ess_floor: float
    n_observations: int
    key: str
    cached: bool = False
    observations: list[dict] = field(default_factory=list)

    def quantiles_for(self, n_paths: int, seed: int) -> dict[str, np.ndarray]:
        """Per-path quantiles for ``draw_parameters``: posterior draws resampled with replacement."""
        rng = np.random.default_rng([int(seed), 0xCA11B])
        pick = rng.integers(0, self.u.shape[0], n_paths)
        return {name: self.u[pick, i] for i, name in enumerate(self.inputs)}


# ---- vintages ------------------------------------------------------------------------------


def _vintage_dist(dist, day: date, where: str, label: str):
    while dist is not None and dist.published is not None and dist.published > day:
        if dist.before is None:
            raise ScenarioError(
                f"{label}: {where}: prior published {dist.published.isoformat()} is after --as-of "
                f"{day.isoformat()} and names no earlier prior (field before)"
            )
        dist, where = dist.before, f"{where}.before"
    return dist


def vintage_scenario(scenario: Scenario, day: date | None, label: str = "scenario") -> Scenario:
    """The scenario as it could be stated on ``day``: later-published priors replaced by ``before``.

    Raises ``ScenarioError`` naming the file and field of a later prior with no earlier one.
    """
    if day is None:
        return scenario
    params = {n: _vintage_dist(d, day, f"parameters.{n}", label) for n, d in scenario.parameters.items()}
    regimes = [
        r.model_copy(
            update={
                "parameters": {
                    n: _vintage_dist(d, day, f"regimes[{i}].parameters.{n}", label)
                    for n, d in r.parameters.items()
                }
            }
        )
        for i, r in enumerate(scenario.regimes)
    ]
    return scenario.model_copy(update={"parameters": params, "regimes": regimes})


# ---- likelihood ----------------------------------------------------------------------------


def likelihood_rows(observations: pl.DataFrame, start_year: int) -> list[dict]:
    """The observations that enter the likelihood (year >= ``start_year``), with their measurement model."""
    rows = []
    for r in observations.filter(pl.col("year") >= start_year).iter_rows(named=True):
        spec = METRICS[r["metric"]]
        flag = r.get("flag") if r.get("flag") in ("reported", "estimate") else "estimate"
        noise = OBSERVATION_NOISE[(spec.kind, flag)]
        rows.append(
            {
                "segment": spec.segment,
                "year": int(r["year"]),
                "metric": r["metric"],
                "output": spec.output,
                "kind": spec.kind,
                "value": float(r["value"]),
                "sd": float(np.hypot(spec.proxy_sd, noise)),
                "published": str(r["published"]),
            }
        )
    return rows


class _Model:
    """The vectorised log posterior over z (n_walkers, k)."""

    def __init__(self, scenario: Scenario, inputs: tuple[str, ...], rows: list[dict]):
        years = sorted({r["year"] for r in rows})
        self.scenario = scenario.model_copy(
            update={"horizon": Horizon(start_year=min(years), end_year=max(years))}
        )
        self.years = self.scenario.horizon.years
        self.inputs = inputs
        self.rows = rows
        self.col = [int(np.searchsorted(self.years, r["year"])) for r in rows]
        # inputs not calibrated sit at their prior median: drawn once, broadcast over walkers
        median = {key: np.full(1, 0.5) for key in _all_inputs(self.scenario)}
        self.fixed = draw_parameters(self.scenario, n_paths=1, quantiles=median)
        touched = {key.rpartition("/")[2] for key in inputs}
        self.sub = self.scenario.model_copy(
            update={"parameters": {n: d for n, d in self.scenario.parameters.items() if n in touched}}
        )
        self.sub_keys = [k for k in _all_inputs(self.sub) if k.rpartition("/")[2] in touched]

    def outputs(self, u: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        m = u.shape[0]
        q = {key: np.full(m, 0.5) for key in self.sub_keys}
        q.update({name: u[:, i] for i, name in enumerate(self.inputs)})
        params = dict(self.fixed)
        params.update(draw_parameters(self.sub, n_paths=m, quantiles=q))
        return simulate_supply(params, self.years)

    def log_likelihood(self, u: np.ndarray) -> np.ndarray:
        out = self.outputs(u)
        ll = np.zeros(u.shape[0])
        for r, j in zip(self.rows, self.col, strict=True):
            pred = out[r["segment"]][r["output"]][:, j]
            if r["kind"] == "count":
                resid = np.log(r["value"]) - np.log(np.maximum(pred, 1.0))
            else:
                resid = r["value"] - pred
            ll += -0.5 * (resid / r["sd"]) ** 2
        return ll

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        z = np.clip(z, -30.0, 30.0)
        u = 1.0 / (1.0 + np.exp(-z))
        log_prior = np.sum(-np.logaddexp(0.0, -z) - np.logaddexp(0.0, z), axis=1)  # logistic density
        return log_prior + self.log_likelihood(u)


def _all_inputs(scenario: Scenario) -> list[str]:
    return [*scenario.parameters, *(f"{r.name}/{n}" for r in scenario.regimes for n in r.parameters)]


def cache_key(scenario: Scenario, rows: list[dict], as_of: date | None, seed: int) -> str:
    """sha256 of what the posterior depends on: the priors and regimes in force over the observed
    years, the calibration block, the observations used, the as-of date and the seed.

    Regimes that start after the last observed year cannot change the likelihood, so scenarios
    that differ only there (``full-embargo``, ``h20-allowed``) share the baseline's posterior; the
    number of paths, the horizon and the name do not enter either.
    """
    last = date(max(r["year"] for r in rows), 12, 31)
    data = json.loads(scenario.canonical_json())
    data["regimes"] = [r for r in data.get("regimes", []) if r["start"] <= last.isoformat()]
    payload = json.dumps(
        {
            "version": CALIBRATION_VERSION,
            "scenario": {
                k: data[k] for k in ("parameters", "regimes", "branches", "calibration") if k in data
            },
            "rows": rows,
            "as_of": None if as_of is None else as_of.isoformat(),
            "seed": int(seed),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _load(path: Path, key: str) -> CalibrationResult | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            u = np.asarray(data["u"])
    except (OSError, ValueError, KeyError):
        return None  # a missing or damaged cache file is sampled again
    if meta.get("key") != key:
        return None
    return CalibrationResult(
        u=u, cached=True, **{k: v for k, v in meta.items() if k != "inputs"}, inputs=tuple(meta["inputs"])
    )


def _store(path: Path, res: CalibrationResult) -> None:
    meta = {
        "inputs": list(res.inputs),
        "ess": res.ess,
        "rhat": res.rhat,
        "acceptance": res.acceptance,
        "tau": res.tau,
        "ess_floor": res.ess_floor,
        "n_observations": res.n_observations,
        "key": res.key,
        "observations": res.observations,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, u=res.u, meta=np.array(json.dumps(meta)))
    tmp.replace(path)  # atomic: a reader never sees half a file


def calibrate(
    scenario: Scenario,
    observations: pl.DataFrame | None,
    *,
    as_of: date | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    n_walkers: int | None = None,
    n_steps: int | None = None,
) -> CalibrationResult | None:
    """Posterior of the scenario's calibrated inputs given ``observations`` (already cut to ``as_of``).

    None when the scenario has no ``calibration`` block or no observation falls in its years.
    Raises ``SamplerError`` (one line) when ESS < ``ess_floor`` or R-hat > ``RHAT_MAX``.
    """
    spec = scenario.calibration
    if spec is None or observations is None or observations.height == 0:
        return None
    rows = likelihood_rows(observations, spec.start_year)
    if not rows:
        return None
    walkers, steps = n_walkers or spec.n_walkers, n_steps or spec.n_steps
    key = cache_key(scenario, rows, as_of, seed) + f"-{walkers}x{steps}"
    if key in _CACHE:
        return _CACHE[key]
    path = None if cache_dir is None else Path(cache_dir) / "calibration" / f"{key[:40]}.npz"
    if path is not None and (hit := _load(path, key)) is not None:
        _CACHE[key] = hit
        return hit
    inputs = tuple(spec.inputs)
    model = _Model(scenario, inputs, rows)
    rng = np.random.default_rng([int(seed), 0xE3CEE])
    u0 = rng.uniform(0.02, 0.98, (walkers, len(inputs)))  # dispersed start: draws from the prior's bulk
    sampler = emcee.EnsembleSampler(walkers, len(inputs), model.log_prob, vectorize=True)
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    sampler.run_mcmc(np.log(u0 / (1 - u0)), steps, progress=False)
    chain = sampler.get_chain(discard=steps // 2)  # (n_kept, walkers, k), z space
    tau = float(np.max(emcee.autocorr.integrated_time(chain, tol=0)))
    ess = chain.shape[0] * chain.shape[1] / max(tau, 1.0)
    rhat = split_rhat(chain)
    if not np.isfinite(ess) or ess < spec.ess_floor or not rhat <= RHAT_MAX:
        raise SamplerError(
            f"{scenario.name}: calibration sampler did not mix: effective sample size {ess:.0f} "
            f"(floor {spec.ess_floor:.0f}), R-hat {rhat:.3f} (max {RHAT_MAX}); not published"
        )
    flat = chain.reshape(-1, len(inputs))
    keep = np.linspace(0, flat.shape[0] - 1, min(KEPT_DRAWS, flat.shape[0])).astype(int)
    u = 1.0 / (1.0 + np.exp(-flat[keep]))
    res = CalibrationResult(
        inputs=inputs,
        u=u,
        ess=float(ess),
        rhat=float(rhat),
        acceptance=float(np.mean(sampler.acceptance_fraction)),
        tau=tau,
        ess_floor=float(spec.ess_floor),
        n_observations=len(rows),
        key=key,
        observations=rows,
    )
    if path is not None:
        _store(path, res)
    _CACHE[key] = res
    return res


def _band(values: np.ndarray) -> dict[str, float]:
    q = np.quantile(values, (0.1, 0.5, 0.9))
    return {"p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}


def summary(scenario: Scenario, res: CalibrationResult) -> dict:
    """The JSON block of a run: diagnostics and, per input, prior and posterior p10/p50/p90 (its unit)."""
    grid = np.linspace(0.0005, 0.9995, 2000)
    inputs = {}
    for i, name in enumerate(res.inputs):
        dist = scenario.prior(name)
        inputs[name] = {"prior": _band(dist.ppf(grid)), "posterior": _band(dist.ppf(res.u[:, i]))}
    return {
        "method": "emcee affine-invariant ensemble sampler in prior-quantile space (models.calibration)",
        "ess": res.ess,
        "rhat": res.rhat,
        "ess_floor": res.ess_floor,
        "rhat_max": RHAT_MAX,
        "acceptance": res.acceptance,
        "autocorr_time": res.tau,
        "n_draws": int(res.u.shape[0]),
        "n_observations": res.n_observations,
        "cache_key": res.key[:16],
        "cached": res.cached,
        "inputs": inputs,
        "observations": res.observations,
    }
