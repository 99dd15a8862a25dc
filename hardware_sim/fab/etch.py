"""Aspect-ratio-dependent etching (ARDE) of holes, and 3D NAND channel-hole etch time.

Physics (equations and sources in docs/methodology-fab.md):

* Neutral transport down a cylindrical hole is Knudsen (free-molecular) flow. The fraction of neutrals
  entering the top that reach the bottom is the Clausing transmission probability ``K(L/R)``. It is
  computed here *exactly* (to ~1e-5) by solving Clausing's integral equation for the wall-collision
  density, so it is right for short holes too, not only in the long-tube limit ``K ≈ 8R/(3L)``.
* Coburn & Winters, Appl. Phys. Lett. 55, 2730 (1989): with reaction probability ``S`` at the bottom,
  bottom rate / open-field rate = ``K / (K + S − K·S)`` for a neutral-limited etch.
* Ions arrive nearly vertically. The fraction reaching the bottom is the line-of-sight fraction for a
  small angular spread plus a specularly reflected share of those that graze the side wall.
* Ion-neutral synergy in series (Gottscho, Jurgensen & Vitkavage, J. Vac. Sci. Technol. B 10, 2133
  (1992)): ``1/rate = φ/(E0·n(AR)) + (1 − φ)/(E0·i(AR))`` with ``φ`` the neutral-limited share of the
  open-field etch time.

Units: lengths in nm unless the name says otherwise, rates in nm/min, times in minutes.
Aspect ratio ``AR = depth / diameter = L / (2R)``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from fabscope.errors import DataError, InputError, NotFoundError
from hardware_sim.data_files import DATA_DIR

# --------------------------------------------------------------------------- Clausing transmission

#: Largest L/R solved exactly for the interpolation table; beyond it ``1 − K·(1 + 3L/8R)`` is
#: extrapolated ∝ ln(L/R)/(L/R), which is how the exact solution approaches the Knudsen limit.
_TABLE_MAX_L_OVER_R = 500.0
_TABLE_POINTS = 41


def _disk_view_factor(z: np.ndarray | float) -> np.ndarray:
    """Fraction of a cosine (diffuse) flux leaving one disk of radius 1 that reaches a coaxial disk of
    radius 1 at distance ``z`` (in radii) without touching the tube wall."""
    z = np.asarray(z, dtype=float)
    return 1.0 + z * z / 2.0 - z / 2.0 * np.sqrt(z * z + 4.0)


def _wall_kernel_potential(s: np.ndarray) -> np.ndarray:
    """Φ with Φ''(s) = wall-to-wall kernel F''(|s|)/2 and Φ' continuous at 0 (Φ = (F(|s|) + |s|)/2)."""
    s = np.abs(s)
    return (_disk_view_factor(s) + s) / 2.0


def _graded_mesh(length: float, h_min: float, growth: float, h_max: float) -> np.ndarray:
    """Cell edges on [0, length], fine near both ends (where the collision density has most curvature)."""
    half = [0.0]
    while half[-1] < length / 2.0:
        half.append(half[-1] + min(h_max, h_min + growth * half[-1]))
    h = np.asarray(half) * (length / 2.0) / half[-1]
    return np.concatenate([h, length - h[::-1][1:]])


def _clausing_galerkin(length: float, edges: np.ndarray) -> float:
    """Transmission of a tube of ``length`` radii with piecewise-constant wall-collision density on ``edges``.

    Cell-averaged (Galerkin) form of Clausing's integral equation; every kernel integral is done in closed
    form through the disk view factor, so particles are conserved exactly by the discretisation.
    """
    a, b = edges[:-1], edges[1:]
    width = b - a
    pot = _wall_kernel_potential
    coupling = (
        pot(b[:, None] - a[None, :])
        - pot(b[:, None] - b[None, :])
        - pot(a[:, None] - a[None, :])
        + pot(a[:, None] - b[None, :])
    )
    first_hits = _disk_view_factor(a) - _disk_view_factor(b)  # entrance -> wall cell, per entering molecule
    hits = np.linalg.solve(np.eye(a.size) - coupling / width[None, :], first_hits)
    to_exit = (_disk_view_factor(length - b) - _disk_view_factor(length - a)) / 2.0
    return float(_disk_view_factor(length) + np.sum(hits / width * to_exit))


def clausing_transmission_exact(
    l_over_r: float, h_min: float = 0.02, growth: float = 0.2, h_max: float = 0.6
) -> float:
    """Clausing transmission probability of a cylinder, length/radius ``l_over_r`` (dimensionless).

    Solves Clausing's integral equation on a graded mesh and its uniform refinement, then Richardson-
    extrapolates (the scheme is second order), giving ~1e-5 relative accuracy. Cost grows as (L/R)^2;
    use :func:`clausing_transmission` for arrays.
    """
    if not math.isfinite(l_over_r) or l_over_r < 0:
        raise InputError(f"l_over_r must be a finite number >= 0, got {l_over_r!r}")
    if l_over_r == 0:
        return 1.0
    coarse = _graded_mesh(l_over_r, h_min, growth, h_max)
    fine = np.sort(np.concatenate([coarse, (coarse[1:] + coarse[:-1]) / 2.0]))
    w_coarse, w_fine = _clausing_galerkin(l_over_r, coarse), _clausing_galerkin(l_over_r, fine)
    return (4.0 * w_fine - w_coarse) / 3.0


def _knudsen_factor(l_over_r: np.ndarray) -> np.ndarray:
    """``1 + 3L/(8R)``: K times this tends to 1 in both the short (K → 1) and long (K → 8R/3L) limits."""
    return 1.0 + 3.0 * l_over_r / 8.0


CLAUSING_TABLE_FILE = DATA_DIR / "clausing_table.json"
"""The exact Clausing solutions at the spline's knots and the spline's coefficients, shipped with the package
(built by :func:`build_clausing_table`; solving them takes ~10 s and importing SciPy's interpolation ~0.4 s,
so no process pays either at start-up: evaluating the spline needs NumPy only)."""


def spline_coefficients(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Piecewise-cubic coefficients, shape (4, len(x) − 1), of SciPy's not-a-knot ``CubicSpline(x, f)``:
    on ``[x[i], x[i+1]]`` the value is ``sum(c[m, i] * (t − x[i]) ** (3 − m))``."""
    from scipy.interpolate import CubicSpline  # only when (re)building the table

    return np.asarray(CubicSpline(np.asarray(x, dtype=float), np.asarray(f, dtype=float)).c)


def evaluate_spline(x: np.ndarray, coefficients: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The piecewise cubic of :func:`spline_coefficients` at ``t`` (the end pieces extend beyond the knots,
    as ``CubicSpline`` extrapolates)."""
    i = np.clip(np.searchsorted(x, t, side="right") - 1, 0, x.size - 2)
    dt = t - x[i]
    c = coefficients[:, i]
    return ((c[0] * dt + c[1]) * dt + c[2]) * dt + c[3]


def build_clausing_table() -> dict[str, object]:
    """The spline knots: x = ln(1 + L/R) on a uniform grid and f = K·(1 + 3L/8R) from exact solutions,
    with the spline's coefficients ``c`` (:func:`spline_coefficients`)."""
    x = np.linspace(0.0, math.log1p(_TABLE_MAX_L_OVER_R), _TABLE_POINTS)
    l_over_r = np.expm1(x)
    f = np.array([clausing_transmission_exact(float(v)) for v in l_over_r]) * _knudsen_factor(l_over_r)
    return {
        "max_l_over_r": _TABLE_MAX_L_OVER_R,
        "points": _TABLE_POINTS,
        "note": "f = K*(1 + 3L/8R) at x = ln(1 + L/R); K from clausing_transmission_exact; c: not-a-knot "
        "cubic spline coefficients of f(x) (regenerate with: python -m hardware_sim.fab.etch)",
        "x": x.tolist(),
        "f": f.tolist(),
        "c": spline_coefficients(x, f).tolist(),
    }


@lru_cache(maxsize=1)
def _clausing_spline() -> tuple[np.ndarray, np.ndarray, float]:
    """Knots, coefficients and last value of the cubic spline of K·(1 + 3L/8R) in x = ln(1 + L/R)."""
    table = json.loads(CLAUSING_TABLE_FILE.read_text(encoding="utf-8"))
    if table["max_l_over_r"] != _TABLE_MAX_L_OVER_R or table["points"] != _TABLE_POINTS or "c" not in table:
        raise DataError(f"{CLAUSING_TABLE_FILE}: stale table; run python -m hardware_sim.fab.etch")
    f = np.asarray(table["f"], dtype=float)
    return np.asarray(table["x"], dtype=float), np.asarray(table["c"], dtype=float), float(f[-1])


def clausing_transmission(l_over_r: np.ndarray | float) -> np.ndarray:
    """Clausing transmission probability K for cylinders of length/radius ``l_over_r`` (vectorised).

    Interpolates exact solutions (relative error < 1e-5 for L/R <= 500); beyond L/R = 500 it follows
    the asymptotic approach to the Knudsen long-tube limit 8R/(3L).
    """
    lr = np.asarray(l_over_r, dtype=float)
    if np.any(~np.isfinite(lr)) or np.any(lr < 0):
        raise InputError("l_over_r must be finite and >= 0")
    knots, coefficients, f_max = _clausing_spline()
    inside = np.minimum(lr, _TABLE_MAX_L_OVER_R)
    f = evaluate_spline(knots, coefficients, np.log1p(inside))
    long = lr > _TABLE_MAX_L_OVER_R
    if np.any(long):
        lm = _TABLE_MAX_L_OVER_R
        safe = np.where(long, lr, lm)
        tail = 1.0 - (1.0 - f_max) * (np.log(safe) / safe) / (math.log(lm) / lm)
        f = np.where(long, tail, f)
    return f / _knudsen_factor(lr)


def clausing_from_aspect_ratio(aspect_ratio: np.ndarray | float) -> np.ndarray:
    """Clausing K for a cylindrical hole of aspect ratio depth/diameter (L/R = 2·AR)."""
    return clausing_transmission(2.0 * np.asarray(aspect_ratio, dtype=float))


# --------------------------------------------------------------------------- ARDE


def arde_neutral_ratio(aspect_ratio: np.ndarray | float, reaction_probability: float) -> np.ndarray:
    """Bottom / open-field neutral-limited etch rate, K/(K + S − K·S) (Coburn & Winters 1989)."""
    if not 0.0 < reaction_probability <= 1.0:
        raise InputError(f"reaction_probability must be in (0, 1], got {reaction_probability}")
    k = clausing_from_aspect_ratio(aspect_ratio)
    s = reaction_probability
    return k / (k + s - k * s)


@lru_cache(maxsize=32)
def _ion_los_table(sigma_rad: float) -> tuple[np.ndarray, np.ndarray]:
    """Line-of-sight ion fraction on an AR grid, for a Rayleigh polar-angle distribution of width sigma."""
    ar = np.concatenate([[0.0], np.geomspace(1e-3, 1e4, 600)])
    theta = np.linspace(0.0, 6.0 * sigma_rad, 241)
    weight = theta * np.exp(-(theta**2) / (2.0 * sigma_rad**2))
    weight /= np.trapezoid(weight, theta)
    # Offset of the landing disk relative to the opening, in diameters: u = AR·tanθ; the fraction of the
    # opening whose straight path lands on the bottom is the overlap of two unit circles 2u apart.
    u = np.clip(ar[:, None] * np.tan(theta)[None, :], 0.0, 1.0)
    overlap = (2.0 / np.pi) * (np.arccos(u) - u * np.sqrt(1.0 - u * u))
    return ar, np.trapezoid(overlap * weight[None, :], theta, axis=1)


def ion_transmission(
    aspect_ratio: np.ndarray | float, angular_spread_deg: float, specular_fraction: float
) -> np.ndarray:
    """Fraction of the open-field ion flux reaching the hole bottom (dimensionless, vectorised).

    ``specular_fraction`` of the ions that graze the side wall are assumed to be reflected on down to the
    bottom; the rest are lost. ``angular_spread_deg`` is the Rayleigh width of the ion polar angle.
    """
    if angular_spread_deg <= 0 or not 0.0 <= specular_fraction <= 1.0:
        raise InputError("angular_spread_deg must be > 0 and specular_fraction in [0, 1]")
    grid, los = _ion_los_table(math.radians(angular_spread_deg))
    direct = np.interp(np.asarray(aspect_ratio, dtype=float), grid, los)
    return specular_fraction + (1.0 - specular_fraction) * direct


@dataclass(frozen=True)
class EtchChemistry:
    """An etch process preset.

    open_field_rate_nm_min: blanket (AR → 0) etch rate, nm/min.
    reaction_probability: S, probability a neutral reacts on striking the bottom (dimensionless).
    neutral_limited_fraction: φ, share of the open-field etch time limited by neutral supply.
    ion_angular_spread_deg: Rayleigh width of the ion polar angle, degrees.
    ion_specular_fraction: share of side-wall-grazing ions reflected on to the bottom.
    """

    name: str
    open_field_rate_nm_min: float
    reaction_probability: float
    neutral_limited_fraction: float
    ion_angular_spread_deg: float
    ion_specular_fraction: float
    source: str
    flag: str


# Open-field rates: oxide/nitride stack etch rate 310 nm/min (conventional) → 640 nm/min with a cryogenic
# HF-based plasma (Lam Research / CU Boulder / PPPL, J. Vac. Sci. Technol. A; via the fabscope hardware
# reference). We treat them as blanket rates: `reported` figures, but that interpretation is an estimate.
# The ARDE parameters below are NOT from that paper: they are order-of-magnitude estimates chosen so that
# the bottom rate at AR ≈ 60 is roughly half the open-field rate, and are shared by both presets so the
# presets differ only in the reported rate.
_ARDE_S = 0.05  # estimate: fluorocarbon/HF radical reaction probability on SiO2/SiN, 0.01-0.1 range
_ARDE_PHI = 0.5  # estimate: half the open-field etch time neutral-limited (ion-neutral synergy regime)
_ION_SPREAD_DEG = 1.5  # estimate: ~sqrt(Te/eV_bias) for Te ≈ 3 eV, bias ≈ 3-5 kV
_ION_SPECULAR = 0.8  # estimate: grazing-incidence ions mostly reflected down the hole

CHEMISTRIES: dict[str, EtchChemistry] = {
    "conventional": EtchChemistry(
        "conventional",
        310.0,
        _ARDE_S,
        _ARDE_PHI,
        _ION_SPREAD_DEG,
        _ION_SPECULAR,
        "open-field rate: Lam/CU Boulder/PPPL, J. Vac. Sci. Technol. A (310 nm/min, ON stack); "
        "ARDE parameters: fabscope estimates",
        "estimate",
    ),
    "cryo": EtchChemistry(
        "cryo",
        640.0,
        _ARDE_S,
        _ARDE_PHI,
        _ION_SPREAD_DEG,
        _ION_SPECULAR,
        "open-field rate: Lam/CU Boulder/PPPL, J. Vac. Sci. Technol. A (640 nm/min, cryogenic HF plasma); "
        "ARDE parameters: fabscope estimates",
        "estimate",
    ),
}


def get_chemistry(name: str) -> EtchChemistry:
    """Look up a chemistry preset by name (``conventional`` or ``cryo``)."""
    try:
        return CHEMISTRIES[name]
    except KeyError:
        raise NotFoundError(
            f"unknown etch chemistry {name!r}; valid: {', '.join(sorted(CHEMISTRIES))}"
        ) from None


def etch_rate_ratio(aspect_ratio: np.ndarray | float, chemistry: EtchChemistry) -> np.ndarray:
    """Local etch rate at the hole bottom / open-field rate (dimensionless), vectorised over AR."""
    n = arde_neutral_ratio(aspect_ratio, chemistry.reaction_probability)
    i = ion_transmission(aspect_ratio, chemistry.ion_angular_spread_deg, chemistry.ion_specular_fraction)
    phi = chemistry.neutral_limited_fraction
    return 1.0 / (phi / n + (1.0 - phi) / i)


def etch_rate_nm_min(aspect_ratio: np.ndarray | float, chemistry: EtchChemistry) -> np.ndarray:
    """Etch rate at the bottom of a hole of the given aspect ratio, nm/min."""
    return chemistry.open_field_rate_nm_min * etch_rate_ratio(aspect_ratio, chemistry)


def etch_time_min(
    depth_nm: np.ndarray | float,
    hole_diameter_nm: np.ndarray | float,
    chemistry: EtchChemistry,
    steps: int = 400,
) -> np.ndarray:
    """Minutes to etch a hole of constant diameter to ``depth_nm``: ∫ dz / rate(z/d) (vectorised).

    Integrated with the trapezoid rule on ``steps`` intervals per depth (the integrand is smooth).
    """
    depth = np.asarray(depth_nm, dtype=float)
    diameter = np.asarray(hole_diameter_nm, dtype=float)
    if np.any(depth < 0) or np.any(diameter <= 0):
        raise InputError("depth must be >= 0 and hole diameter > 0 (nm)")
    frac = np.linspace(0.0, 1.0, steps + 1)
    ar = (depth / diameter)[..., None] * frac
    inv_rate = 1.0 / etch_rate_nm_min(ar, chemistry)
    return np.trapezoid(inv_rate, dx=1.0 / steps, axis=-1) * depth


# --------------------------------------------------------------------------- 3D NAND channel holes

# Defaults chosen to reproduce the published aspect ratios: ≈ 40:1 at 32/48 layers and ≈ 60:1 at 64 layers
# (The Information Network, 2018): 64 × 60 nm / 65 nm ≈ 59. Estimates, not measured dimensions.
DEFAULT_LAYER_PITCH_NM = 60.0  # estimate: one oxide/nitride pair
DEFAULT_HOLE_DIAMETER_NM = 65.0  # estimate: mean channel-hole diameter
# Beyond this many layers the channel hole is etched in several decks (string stacking). Estimate:
# single-deck stacks reached ~128 layers (e.g. Samsung V6); 200+ layer parts use two decks.
DEFAULT_MAX_LAYERS_PER_DECK = 128


@dataclass(frozen=True)
class ChannelHoleEtch:
    """Result of a channel-hole etch estimate. Lengths in nm, rates in nm/min, times in minutes."""

    layers: int
    decks: int
    layer_pitch_nm: float
    hole_diameter_nm: float
    stack_height_nm: float
    deck_depth_nm: float
    aspect_ratio: float  # per deck: deck depth / hole diameter
    open_field_rate_nm_min: float
    etch_rate_nm_min: float  # at the bottom, at full deck depth
    mean_etch_rate_nm_min: float  # deck depth / deck etch time
    etch_time_min: float  # all decks
    chemistry: str


def nand_decks(layers: int, max_layers_per_deck: int = DEFAULT_MAX_LAYERS_PER_DECK) -> int:
    """Number of channel-hole decks for a stack of ``layers`` word-line layers."""
    if layers <= 0 or max_layers_per_deck <= 0:
        raise InputError("layers and max_layers_per_deck must be positive")
    return math.ceil(layers / max_layers_per_deck)


def channel_hole_etch(
    layers: int,
    chemistry: EtchChemistry | str = "conventional",
    layer_pitch_nm: float = DEFAULT_LAYER_PITCH_NM,
    hole_diameter_nm: float = DEFAULT_HOLE_DIAMETER_NM,
    decks: int | None = None,
) -> ChannelHoleEtch:
    """Channel-hole etch for a 3D NAND stack of ``layers`` layers (each deck etched separately)."""
    chem = get_chemistry(chemistry) if isinstance(chemistry, str) else chemistry
    if layers <= 0:
        raise InputError(f"layers must be a positive integer, got {layers}")
    if layer_pitch_nm <= 0 or hole_diameter_nm <= 0:
        raise InputError("layer pitch and hole diameter must be > 0 nm")
    n_decks = nand_decks(layers) if decks is None else int(decks)
    if n_decks <= 0:
        raise InputError("decks must be positive")
    stack = layers * layer_pitch_nm
    deck_depth = stack / n_decks
    return _hole_etch(
        layers, n_decks, layer_pitch_nm, hole_diameter_nm, stack, deck_depth / hole_diameter_nm, chem
    )


def _hole_etch(
    layers: int, decks: int, layer_pitch_nm: float, hole_diameter_nm: float, stack_nm: float, ar: float, chem
) -> ChannelHoleEtch:
    """The :class:`ChannelHoleEtch` of a ``stack_nm`` stack etched in ``decks`` equal decks of aspect ratio
    ``ar`` (nm, nm/min, min)."""
    deck_depth_nm = stack_nm / decks
    deck_time = float(etch_time_min(deck_depth_nm, hole_diameter_nm, chem))
    return ChannelHoleEtch(
        layers=layers,
        decks=decks,
        layer_pitch_nm=layer_pitch_nm,
        hole_diameter_nm=hole_diameter_nm,
        stack_height_nm=stack_nm,
        deck_depth_nm=deck_depth_nm,
        aspect_ratio=ar,
        open_field_rate_nm_min=chem.open_field_rate_nm_min,
        etch_rate_nm_min=float(etch_rate_nm_min(ar, chem)),
        mean_etch_rate_nm_min=deck_depth_nm / deck_time,
        etch_time_min=deck_time * decks,
        chemistry=chem.name,
    )


def hole_etch_for_aspect_ratio(
    aspect_ratio: float,
    chemistry: EtchChemistry | str = "conventional",
    hole_diameter_nm: float = DEFAULT_HOLE_DIAMETER_NM,
) -> ChannelHoleEtch:
    """A single-deck hole of given aspect ratio (depth = AR × diameter), reported like a channel hole."""
    chem = get_chemistry(chemistry) if isinstance(chemistry, str) else chemistry
    if not aspect_ratio > 0:
        raise InputError(f"aspect ratio must be > 0, got {aspect_ratio}")
    depth = aspect_ratio * hole_diameter_nm
    return _hole_etch(0, 1, float("nan"), hole_diameter_nm, depth, aspect_ratio, chem)


def with_overrides(chemistry: EtchChemistry, **changes: float) -> EtchChemistry:
    """A copy of a preset with some parameters changed (e.g. ``reaction_probability=0.02``)."""
    return replace(chemistry, **changes)


if __name__ == "__main__":  # regenerate the shipped Clausing table
    CLAUSING_TABLE_FILE.write_text(json.dumps(build_clausing_table(), indent=1) + "\n", encoding="utf-8")
