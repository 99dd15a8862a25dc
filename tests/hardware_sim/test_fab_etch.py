"""Etch physics: Clausing transmission, ARDE, channel-hole etch by layer count."""

from __future__ import annotations

import numpy as np
import pytest

from hardware_sim.fab import etch

# Tabulated Clausing factors for a cylinder (Clausing 1932 / Berman 1965 tables).
CLAUSING_TABLE = [(0.0, 1.0), (1.0, 0.672), (2.0, 0.514), (20.0, 0.109)]


@pytest.mark.parametrize(("l_over_r", "expected"), CLAUSING_TABLE)
def test_clausing_exact_matches_table(l_over_r: float, expected: float) -> None:
    assert etch.clausing_transmission_exact(l_over_r) == pytest.approx(expected, abs=6e-4)


@pytest.mark.parametrize(("l_over_r", "expected"), CLAUSING_TABLE)
def test_clausing_interpolated_matches_table(l_over_r: float, expected: float) -> None:
    assert float(etch.clausing_transmission(l_over_r)) == pytest.approx(expected, abs=6e-4)


def test_clausing_aspect_ratio_is_half_l_over_r() -> None:
    # AR = depth / diameter = L / 2R, so AR 10 is L/R 20.
    assert float(etch.clausing_from_aspect_ratio(10.0)) == pytest.approx(0.109, abs=6e-4)


@pytest.mark.parametrize("l_over_r", [0.3, 3.7, 47.0, 180.0])
def test_interpolation_agrees_with_exact_solver_off_grid(l_over_r: float) -> None:
    assert float(etch.clausing_transmission(l_over_r)) == pytest.approx(
        etch.clausing_transmission_exact(l_over_r), rel=1e-4
    )


def test_clausing_tends_to_knudsen_long_tube_limit() -> None:
    lr = np.array([400.0, 2000.0, 20000.0])
    k = etch.clausing_transmission(lr)
    ratio = k / (8.0 / (3.0 * lr))  # long-tube limit 8R/(3L) = 4/(3 AR)
    assert np.all(ratio < 1.0)
    assert np.all(np.diff(ratio) > 0)  # approaches the limit from below
    assert ratio[-1] > 0.999


def test_clausing_rejects_negative_length() -> None:
    with pytest.raises(ValueError):
        etch.clausing_transmission(-1.0)


def test_arde_formula_coburn_winters() -> None:
    k = float(etch.clausing_from_aspect_ratio(5.0))
    s = 0.2
    assert float(etch.arde_neutral_ratio(5.0, s)) == pytest.approx(k / (k + s - k * s))
    # S = 1 (every neutral reacts): bottom rate ratio is just K.
    assert float(etch.arde_neutral_ratio(5.0, 1.0)) == pytest.approx(k)
    assert float(etch.arde_neutral_ratio(0.0, s)) == pytest.approx(1.0)


@pytest.mark.parametrize("chem", ["conventional", "cryo"])
def test_etch_rate_falls_with_aspect_ratio(chem: str) -> None:
    ar = np.linspace(0.0, 120.0, 61)
    rate = etch.etch_rate_nm_min(ar, etch.get_chemistry(chem))
    assert rate[0] == pytest.approx(etch.get_chemistry(chem).open_field_rate_nm_min)
    assert np.all(np.diff(rate) < 0)


def test_lower_reaction_probability_reduces_arde() -> None:
    # Coburn & Winters: a smaller sticking/reaction probability suffers less ARDE.
    assert float(etch.arde_neutral_ratio(40.0, 0.01)) > float(etch.arde_neutral_ratio(40.0, 0.1))


def test_ion_transmission_bounded_by_specular_share() -> None:
    i = etch.ion_transmission(np.array([0.0, 10.0, 1000.0]), 1.5, 0.8)
    assert i[0] == pytest.approx(1.0)
    assert i[-1] == pytest.approx(0.8, abs=1e-3)
    assert np.all(np.diff(i) <= 0)


def test_channel_hole_geometry_matches_published_aspect_ratios() -> None:
    # ~60:1 at 64 layers, ~40:1 at 48 layers (The Information Network, 2018) with the default geometry.
    assert etch.channel_hole_etch(64).aspect_ratio == pytest.approx(60, rel=0.05)
    assert etch.channel_hole_etch(48).aspect_ratio == pytest.approx(42, rel=0.1)


def test_232_layers_take_longer_than_64() -> None:
    t64 = etch.channel_hole_etch(64).etch_time_min
    t232 = etch.channel_hole_etch(232)
    assert t232.decks == 2
    # more depth AND slower (higher-AR) etching: more than proportional to depth
    assert t232.etch_time_min > t64 * (232 / 64)


def test_cryo_chemistry_is_faster_by_rate_ratio() -> None:
    conv = etch.channel_hole_etch(128, "conventional").etch_time_min
    cryo = etch.channel_hole_etch(128, "cryo").etch_time_min
    assert conv / cryo == pytest.approx(640 / 310, rel=1e-6)


def test_etch_time_integral_open_field_limit() -> None:
    # A very shallow hole etches at the open-field rate.
    chem = etch.get_chemistry("conventional")
    assert float(etch.etch_time_min(1.0, 1000.0, chem)) == pytest.approx(1.0 / 310.0, rel=1e-3)


def test_etch_time_is_vectorised_and_monotonic() -> None:
    depths = np.linspace(100, 8000, 20)
    t = etch.etch_time_min(depths, 65.0, etch.get_chemistry("conventional"))
    assert t.shape == depths.shape
    assert np.all(np.diff(t) > 0)
    assert np.all(np.diff(depths / t) < 0)  # mean rate falls with depth


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError):
        etch.channel_hole_etch(0)
    with pytest.raises(KeyError, match="valid"):
        etch.get_chemistry("plasma-magic")
