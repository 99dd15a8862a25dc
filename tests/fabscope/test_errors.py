"""The exception hierarchy: five kinds under one base, messages shown as written."""

from __future__ import annotations

import importlib

import pytest

from fabscope.errors import DataError, FabscopeError, InputError, NotFoundError, ServiceError, WarehouseError


@pytest.mark.parametrize("kind", [InputError, DataError, WarehouseError, NotFoundError, ServiceError])
def test_every_kind_is_a_fabscope_error_with_its_message_as_written(kind: type[FabscopeError]) -> None:
    exc = kind("unknown chip id 'x'; valid ids: a, b")
    assert isinstance(exc, FabscopeError)
    assert str(exc) == "unknown chip id 'x'; valid ids: a, b"  # no quotes added, even for a KeyError
    assert exc.message == str(exc)


def test_message_is_the_first_line() -> None:
    assert DataError("prices.csv: row 3 field 'close': not a number\ndetails").message == (
        "prices.csv: row 3 field 'close': not a number"
    )
    assert DataError().message == "DataError"


def test_kinds_stay_compatible_with_the_builtin_errors_they_replace() -> None:
    assert issubclass(NotFoundError, KeyError)
    assert issubclass(InputError, ValueError) and issubclass(DataError, ValueError)
    assert not issubclass(WarehouseError, ValueError)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (InputError("x"), "input"),
        (DataError("x"), "data"),
        (WarehouseError("x"), "warehouse"),
        (NotFoundError("x"), "not_found"),
        (ServiceError("x"), "service"),
        (FabscopeError("x"), "error"),
    ],
)
def test_dagster_renders_each_kind_as_a_failure_without_retries(exc: FabscopeError, kind: str) -> None:
    import dagster as dg

    from pipelines.failures import fabscope_failures

    with pytest.raises(dg.Failure) as caught, fabscope_failures():
        raise type(exc)("prices.csv: row 3 field 'close': not a number\nsummary of the file")
    failure = caught.value
    assert failure.description == "prices.csv: row 3 field 'close': not a number\nsummary of the file"
    assert failure.metadata["error_kind"].value == kind and failure.allow_retries is False


def test_dagster_helper_leaves_bugs_alone() -> None:
    from pipelines.failures import fabscope_failures

    with pytest.raises(ZeroDivisionError), fabscope_failures():
        1 / 0  # noqa: B018


def test_dashboard_shows_one_line_per_failure() -> None:
    from app.dashboard.errors import error_result, error_text

    assert (
        error_text(NotFoundError("unknown chip id 'x'; valid ids: a")) == "unknown chip id 'x'; valid ids: a"
    )
    assert error_text(DataError("first line\nsecond")) == "first line"
    assert error_text(ValueError("batch: 0 is outside 1..4096")) == "batch: 0 is outside 1..4096"
    assert error_text(RuntimeError("boom")) == "RuntimeError: boom"
    assert error_result(InputError("pick a process flow")) == {"error": "pick a process flow"}


@pytest.mark.parametrize(
    ("module", "function", "argument", "kind"),
    [
        ("hardware_sim.accelerators.catalog", "get_chip", "h900", NotFoundError),
        ("hardware_sim.fab.process_flows", "get_flow", "nope", NotFoundError),
        ("hardware_sim.fab.process_flows", "get_flow", "3dnand-5000", InputError),
        ("hardware_sim.fab.etch", "get_chemistry", "wet", NotFoundError),
        ("pipelines.sources.prices", "parse_provider", "bloomberg", InputError),
    ],
)
def test_problems_are_raised_as_their_kind_where_found(
    module: str, function: str, argument: str, kind: type[FabscopeError]
) -> None:
    with pytest.raises(kind) as caught:
        getattr(importlib.import_module(module), function)(argument)
    assert argument.split("-")[-1] in str(caught.value) and not str(caught.value).startswith("'")  # no quotes


@pytest.mark.parametrize("kind", [InputError, DataError, WarehouseError, NotFoundError, ServiceError])
def test_the_cli_renders_every_kind_once_in_one_line_with_exit_2(
    kind: type[FabscopeError], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import app.cli_config
    from app.cli import main

    def refuse(**_: object) -> dict:
        raise kind("tickers.csv: row 7 field 'currency': 'XYZ' is not allowed\n(the whole file's summary)")

    monkeypatch.setattr(app.cli_config, "describe", refuse)
    assert main(["config", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "fabscope: tickers.csv: row 7 field 'currency': 'XYZ' is not allowed\n"
