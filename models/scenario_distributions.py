"""The distributions a scenario file may give a parameter (``dist: fixed | uniform | normal | triangular``).

Each holds its source and flag (and, optionally, ``published``: the date its source was published,
so a vintage run ``--as-of`` an earlier date refuses a prior drawn from a later outlook), draws ``n``
values with ``sample(rng, n)``, maps uniform quantiles to values with ``ppf(u)`` (the Bayesian
calibration samples in quantile space, so the scenario's distribution *is* the prior) and states its
``support()``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _DistBase(_Strict):
    source: str = Field(min_length=1)
    flag: Literal["reported", "estimate"]
    unit: str | None = None
    note: str | None = None
    published: date | None = None
    # the prior as known before ``published``: a vintage run as of an earlier date uses it instead
    before: Distribution | None = None


class Fixed(_DistBase):
    """A known value (no uncertainty drawn)."""

    dist: Literal["fixed"]
    value: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.value)

    def support(self) -> tuple[float, float]:
        return self.value, self.value


class Uniform(_DistBase):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low <= self.high:
            raise ValueError(f"need low <= high, got low={self.low}, high={self.high}")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + np.asarray(u) * (self.high - self.low)

    def support(self) -> tuple[float, float]:
        return self.low, self.high


class Normal(_DistBase):
    """Normal(mean, sd), optionally clipped to [low, high]."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(ge=0)
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Normal:
        if self.low is not None and self.high is not None and not self.low <= self.high:
            raise ValueError(f"need low <= high for the clip, got low={self.low}, high={self.high}")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        x = rng.normal(self.mean, self.sd, n)
        return np.clip(x, *self.support())

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantiles of the clipped normal (the clipped mass sits on the bounds, as in ``sample``)."""
        from scipy.special import ndtri

        return np.clip(self.mean + self.sd * ndtri(np.asarray(u, dtype=float)), *self.support())

    def support(self) -> tuple[float, float]:
        return (-np.inf if self.low is None else self.low), (np.inf if self.high is None else self.high)


class Triangular(_DistBase):
    """Triangular on [low, high] with mode ``mode``."""

    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"need low <= mode <= high, got {self.low}, {self.mode}, {self.high}")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.low == self.high:
            return np.full(n, self.low)
        return rng.triangular(self.low, self.mode, self.high, n)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF: low + sqrt(u w (mode - low)) below the mode's quantile, else from the top."""
        u = np.asarray(u, dtype=float)
        width = self.high - self.low
        if width == 0:
            return np.full(u.shape, self.low)
        c = (self.mode - self.low) / width
        lower = self.low + np.sqrt(np.clip(u, 0, None) * width * (self.mode - self.low))
        upper = self.high - np.sqrt(np.clip(1.0 - u, 0, None) * width * (self.high - self.mode))
        return np.where(u < c, lower, upper)

    def support(self) -> tuple[float, float]:
        return self.low, self.high


Distribution = Annotated[Fixed | Uniform | Normal | Triangular, Field(discriminator="dist")]
for _cls in (Fixed, Uniform, Normal, Triangular):
    _cls.model_rebuild()


class Calibration(_Strict):
    """Which uncertain inputs the Bayesian calibration updates (``models.calibration``).

    ``inputs`` name a base parameter (``NAME``) or a regime's value (``REGIME/NAME``); its prior is
    the distribution the scenario states there. Observations of years ``start_year`` and later
    (published by the run's as-of date) enter the likelihood. A run whose effective sample size is
    below ``ess_floor`` fails instead of publishing.
    """

    inputs: list[str] = Field(min_length=1)
    start_year: int = Field(default=2023, ge=2000, le=2100)
    ess_floor: float = Field(default=200.0, gt=0)
    n_walkers: int = Field(default=32, ge=8, le=512)
    n_steps: int = Field(default=1500, ge=50, le=100_000)
    source: str | None = None
    note: str | None = None


def with_befores(dist, field: str):
    """(distribution, field path) of ``dist`` and of each earlier-vintage prior it carries."""
    while dist is not None:
        yield dist, field
        dist, field = dist.before, f"{field}.before"
