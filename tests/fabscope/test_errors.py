"""The exception hierarchy: four kinds under one base, messages shown as written."""

from __future__ import annotations

import pytest

from fabscope.errors import DataError, FabscopeError, InputError, NotFoundError, WarehouseError


@pytest.mark.parametrize("kind", [InputError, DataError, WarehouseError, NotFoundError])
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
