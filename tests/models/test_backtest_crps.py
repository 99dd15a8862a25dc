"""The backtest's CRPS (``models.backtest.crps_ensemble``) is properscoring's estimator, computed from the
sorted members instead of all pairwise differences."""

from __future__ import annotations

import numpy as np
import properscoring as ps
import pytest

from models.backtest import crps_ensemble


@pytest.mark.parametrize("m", [1, 2, 7, 400])
def test_equals_properscoring_on_random_ensembles(m: int) -> None:
    rng = np.random.default_rng(m)
    members = rng.beta(2.0, 5.0, size=(9, m))
    members[0] = 0.3  # every member tied
    members[1, : m // 2] = members[1, -1]  # half tied
    obs = np.concatenate([[0.3, 0.1], rng.uniform(-0.5, 1.5, 7)])  # on a member, inside, outside the range
    assert crps_ensemble(obs, members) == pytest.approx(ps.crps_ensemble(obs, members), rel=1e-12, abs=1e-15)


def test_single_member_is_the_absolute_error_and_nan_members_are_skipped() -> None:
    assert crps_ensemble(np.array([0.2, 0.9]), np.array([[0.5], [0.4]])) == pytest.approx([0.3, 0.5])
    members = np.array([[0.1, np.nan, 0.4], [0.2, 0.3, 0.6]])
    obs = np.array([0.25, 0.5])
    assert crps_ensemble(obs, members) == pytest.approx(ps.crps_ensemble(obs, members))
    assert crps_ensemble(obs, members)[0] == pytest.approx(ps.crps_ensemble(obs[:1], members[:1, [0, 2]])[0])
