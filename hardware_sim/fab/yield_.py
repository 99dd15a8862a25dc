"""Die yield from defect density, and dies per wafer.

Yield models (A = die area in cm², D = defect density in defects/cm², λ = A·D):

* Poisson:               Y = exp(−λ)                (random, unclustered defects)
* Murphy (1964):         Y = ((1 − exp(−λ)) / λ)²   (triangular distribution of D across wafers)
* negative binomial:     Y = (1 + λ/α)^(−α)         (Stapper; clustering parameter α; α → ∞ gives Poisson)

All three agree to first order (Y ≈ 1 − λ) when λ is small and diverge when λ ≳ 1: clustering leaves more
dies defect-free, so Poisson is always the lowest. Murphy falls as 1/λ² and the negative binomial as (α/λ)^α,
so negative binomial ≥ Murphy for every λ only when α ≤ 2; for the default α = 3 it holds up to λ ≈ 16 (for
α = 4 up to λ ≈ 4.8, α = 5 up to λ ≈ 1.8), beyond which the negative binomial drops below Murphy.

Dies per wafer (gross, whole dies on the usable disk of diameter d = wafer diameter − 2 × edge exclusion,
die pitch S = (w + scribe)(h + scribe)): DPW = π d² / (4 S) − π d / √(2 S) (the standard approximation,
e.g. de Vries, IEEE Trans. Semicond. Manuf. 18, 136 (2005) discusses it and better variants);
:func:`dies_per_wafer_grid` counts die sites on a grid exactly, for checking.

Units: mm for lengths, mm² for die area, defects/cm² for D, fractions for yields.
"""

from __future__ import annotations

import math

import numpy as np

from fabscope.errors import InputError

DEFAULT_SCRIBE_MM = 0.1  # estimate: scribe lanes are typically 60-100 µm wide
DEFAULT_NEGBIN_ALPHA = 3.0  # estimate: clustering parameter in the 1-5 range quoted for logic fabs
MM2_PER_CM2 = 100.0
YIELD_MODELS = ("poisson", "murphy", "negative_binomial")


def _defects_per_die(
    die_area_mm2: np.ndarray | float, defect_density_per_cm2: np.ndarray | float
) -> np.ndarray:
    area = np.asarray(die_area_mm2, dtype=float)
    d0 = np.asarray(defect_density_per_cm2, dtype=float)
    if np.any(area < 0) or np.any(d0 < 0):
        raise InputError("die area and defect density must be >= 0")
    return area / MM2_PER_CM2 * d0


def poisson_yield(die_area_mm2: np.ndarray | float, defect_density_per_cm2: np.ndarray | float) -> np.ndarray:
    """Poisson die yield exp(−A·D) (fraction)."""
    return np.exp(-_defects_per_die(die_area_mm2, defect_density_per_cm2))


def murphy_yield(die_area_mm2: np.ndarray | float, defect_density_per_cm2: np.ndarray | float) -> np.ndarray:
    """Murphy die yield ((1 − exp(−A·D)) / (A·D))² (fraction; 1 at A·D = 0)."""
    lam = _defects_per_die(die_area_mm2, defect_density_per_cm2)
    safe = np.where(lam > 0, lam, 1.0)
    return np.where(lam > 0, (-np.expm1(-safe) / safe) ** 2, 1.0)


def negative_binomial_yield(
    die_area_mm2: np.ndarray | float,
    defect_density_per_cm2: np.ndarray | float,
    alpha: np.ndarray | float = DEFAULT_NEGBIN_ALPHA,
) -> np.ndarray:
    """Negative-binomial (clustered) die yield (1 + A·D/α)^(−α) (fraction)."""
    a = np.asarray(alpha, dtype=float)
    if np.any(a <= 0):
        raise InputError("clustering parameter alpha must be > 0")
    return (1.0 + _defects_per_die(die_area_mm2, defect_density_per_cm2) / a) ** (-a)


def die_yield(
    die_area_mm2: np.ndarray | float,
    defect_density_per_cm2: np.ndarray | float,
    model: str = "murphy",
    alpha: np.ndarray | float = DEFAULT_NEGBIN_ALPHA,
) -> np.ndarray:
    """Die yield with ``model`` in ``poisson``, ``murphy``, ``negative_binomial`` (alias ``negbin``)."""
    name = "negative_binomial" if model == "negbin" else model
    if name == "poisson":
        return poisson_yield(die_area_mm2, defect_density_per_cm2)
    if name == "murphy":
        return murphy_yield(die_area_mm2, defect_density_per_cm2)
    if name == "negative_binomial":
        return negative_binomial_yield(die_area_mm2, defect_density_per_cm2, alpha)
    raise InputError(f"unknown yield model {model!r}; valid: {', '.join(YIELD_MODELS)}")


def dies_per_wafer(
    die_area_mm2: np.ndarray | float,
    wafer_diameter_mm: np.ndarray | float = 300.0,
    edge_exclusion_mm: np.ndarray | float = 3.0,
    scribe_mm: np.ndarray | float = DEFAULT_SCRIBE_MM,
    aspect_ratio: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Gross dies per wafer (whole number, ≥ 0) by the standard approximation (vectorised).

    The die is ``w × h`` with ``w/h = aspect_ratio`` and ``w·h = die_area_mm2``.
    """
    area = np.asarray(die_area_mm2, dtype=float)
    if np.any(area <= 0):
        raise InputError("die area must be > 0 mm²")
    ar = np.asarray(aspect_ratio, dtype=float)
    w = np.sqrt(area * ar)
    h = area / w
    pitch_area = (w + scribe_mm) * (h + scribe_mm)
    d = np.asarray(wafer_diameter_mm, dtype=float) - 2.0 * np.asarray(edge_exclusion_mm, dtype=float)
    if np.any(d <= 0):
        raise InputError("edge exclusion leaves no usable wafer")
    gross = np.pi * d * d / (4.0 * pitch_area) - np.pi * d / np.sqrt(2.0 * pitch_area)
    return np.floor(np.maximum(gross, 0.0))


def dies_per_wafer_grid(
    die_width_mm: float,
    die_height_mm: float,
    wafer_diameter_mm: float = 300.0,
    edge_exclusion_mm: float = 3.0,
    scribe_mm: float = DEFAULT_SCRIBE_MM,
    offsets: int = 8,
) -> int:
    """Exact count of whole die sites inside the usable disk, best over ``offsets``² grid shifts."""
    px, py = die_width_mm + scribe_mm, die_height_mm + scribe_mm
    r = wafer_diameter_mm / 2.0 - edge_exclusion_mm
    nx, ny = math.ceil(2 * r / px) + 2, math.ceil(2 * r / py) + 2
    best = 0
    for fx in np.arange(offsets) / offsets:
        for fy in np.arange(offsets) / offsets:
            x0 = (np.arange(-nx, nx) + fx) * px
            y0 = (np.arange(-ny, ny) + fy) * py
            xs = np.maximum(np.abs(x0), np.abs(x0 + die_width_mm))[:, None]  # farthest corner of each site
            ys = np.maximum(np.abs(y0), np.abs(y0 + die_height_mm))[None, :]
            best = max(best, int(np.count_nonzero(xs * xs + ys * ys <= r * r)))
    return best
