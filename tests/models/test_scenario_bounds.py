"""Hostile scenarios (issue 18): bounded work and one-line refusals before anything is allocated."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.scenarios import (
    MAX_SCENARIO_BYTES,
    Horizon,
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_bytes,
    shipped_scenarios,
)
from pipelines.forecast_store import with_overrides


def _base() -> Scenario:
    return load_scenario(shipped_scenarios()[0])


def test_a_scenario_too_big_for_memory_is_refused_in_one_line() -> None:
    data = _base().model_dump()
    data.update(n_paths=1_000_000, horizon={"start_year": 2000, "end_year": 2100})
    assert scenario_bytes(1_000_000, 101) > MAX_SCENARIO_BYTES
    with pytest.raises(ValidationError, match="n_paths: 1000000 paths x 101 years need about"):
        Scenario.model_validate(data)
    with pytest.raises(ScenarioError, match="GiB limit") as err:
        with_overrides(
            _base().model_copy(update={"horizon": Horizon(start_year=2000, end_year=2100)}), n_paths=1_000_000
        )
    assert "\n" not in str(err.value)


def test_a_400_digit_seed_is_refused_in_one_line() -> None:
    with pytest.raises(ScenarioError, match="--seed: Input should be less than or equal to") as err:
        with_overrides(_base(), seed=int("9" * 400))
    assert "\n" not in str(err.value) and len(str(err.value)) < 300


def test_100000_nested_brackets_are_refused_not_a_recursion_error() -> None:
    with pytest.raises(ScenarioError, match="nested too deeply|not valid YAML"):
        load_scenario("name: x\nseed: " + "[" * 100_000 + "\n", label="deep.yaml")


_BASE_TEXT = shipped_scenarios()[0].read_text(encoding="utf-8")
_YAML_BITS = st.sampled_from(
    [
        "[",
        "]",
        "{",
        "}",
        ":",
        "- ",
        "\n",
        "  ",
        "seed: ",
        "n_paths: ",
        "9" * 400,
        "-1",
        "1e308",
        "null",
        "horizon: {start_year: 2000, end_year: 2100}",
        "&a [*a]",
        "!!python/object:os.system",
        "'",
        '"',
        "~",
    ]
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(st.lists(_YAML_BITS, max_size=30), st.integers(min_value=0, max_value=len(_BASE_TEXT)))
def test_any_scenario_text_loads_or_is_one_line(bits: list[str], at: int) -> None:
    text = _BASE_TEXT[:at] + "".join(bits) + _BASE_TEXT[at:]
    try:
        scenario = load_scenario(text, label="fuzz.yaml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.yaml") and "\n" not in str(exc).strip()
    else:
        assert scenario_bytes(scenario.n_paths, len(scenario.horizon.years)) <= MAX_SCENARIO_BYTES
