"""The shipped Clausing table (hardware_sim/data/clausing_table.json) is what the exact solver gives."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hardware_sim.fab import etch


@pytest.mark.slow
def test_shipped_table_matches_the_exact_solver() -> None:
    shipped = json.loads(etch.CLAUSING_TABLE_FILE.read_text(encoding="utf-8"))
    rebuilt = etch.build_clausing_table()
    assert shipped["max_l_over_r"] == rebuilt["max_l_over_r"]
    np.testing.assert_allclose(shipped["x"], rebuilt["x"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(shipped["f"], rebuilt["f"], rtol=1e-10)
    np.testing.assert_allclose(shipped["c"], rebuilt["c"], rtol=1e-8, atol=1e-12)


def test_spline_reproduces_exact_values_between_knots() -> None:
    for l_over_r in (1.0, 2.0, 20.0, 137.0):
        assert float(etch.clausing_transmission(l_over_r)) == pytest.approx(
            etch.clausing_transmission_exact(l_over_r), rel=2e-5
        )


def test_shipped_coefficients_are_scipys_spline_and_evaluate_like_it() -> None:
    from scipy.interpolate import CubicSpline

    shipped = json.loads(etch.CLAUSING_TABLE_FILE.read_text(encoding="utf-8"))
    x, f, c = (np.asarray(shipped[k], dtype=float) for k in ("x", "f", "c"))
    np.testing.assert_allclose(c, etch.spline_coefficients(x, f), rtol=1e-12, atol=1e-15)
    spline = CubicSpline(x, f)
    t = np.concatenate([np.linspace(-0.2, x[-1] + 0.2, 5001), x])  # knots and both extrapolated ends
    np.testing.assert_allclose(etch.evaluate_spline(x, c, t), spline(t), rtol=1e-12, atol=1e-14)


def test_interpolating_needs_no_scipy() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from hardware_sim.fab import etch; etch.clausing_transmission(137.0); "
        "print(any(m == 'scipy' or m.startswith('scipy.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
