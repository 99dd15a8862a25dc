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


def test_spline_reproduces_exact_values_between_knots() -> None:
    for l_over_r in (1.0, 2.0, 20.0, 137.0):
        assert float(etch.clausing_transmission(l_over_r)) == pytest.approx(
            etch.clausing_transmission_exact(l_over_r), rel=2e-5
        )
