"""The distributions a scenario file may give a parameter (``dist: fixed | uniform | normal | triangular``).

Each holds its source and flag, draws ``n`` values with ``sample(rng, n)`` and states its ``support()``.
"""

from __future__ import annotations

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


class Fixed(_DistBase):
    """A known value (no uncertainty drawn)."""

    dist: Literal["fixed"]
    value: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

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

    def support(self) -> tuple[float, float]:
        return self.low, self.high


Distribution = Annotated[Fixed | Uniform | Normal | Triangular, Field(discriminator="dist")]
