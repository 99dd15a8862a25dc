"""Shared pieces of the typed simulator edge: the request base class, number parsing, readable refusals.

A request is a frozen pydantic model whose fields carry the limits (``ge``/``le``/``gt``), the default and
the unit (in the description). Callers (the CLI, the dashboard) pass what the user typed — numbers or their
text — and get either a valid request or a :class:`Refusal` per offending field: one readable line, the
same words whichever caller asked. Nothing is clamped, rounded or replaced: a refused input computes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self

import annotated_types as at
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError


def _number_from_text(value: Any) -> Any:
    """``"232"``/``"2.5"``/``"1e3"``/``"nan"`` -> float (so CLI text and dashboard numbers meet the same rules)."""
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


Count = Annotated[int, BeforeValidator(_number_from_text)]
"""A whole number (``2.5`` is refused, ``232.0`` is 232)."""
Number = Annotated[float, BeforeValidator(_number_from_text)]
"""A finite real number (NaN and infinities are refused by the request config)."""


class SimRequest(BaseModel):
    """Base of every simulator request: unknown fields refused, no NaN/inf, immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    #: Field -> how the CLI spells it when it is not ``--`` + the field name with ``-`` for ``_``.
    cli_flags: ClassVar[dict[str, str]] = {}

    @classmethod
    def build(cls, **values: Any) -> Self:
        """Validate ``values``; raise :class:`RequestRefused` (all refusals, in field order) if any is refused."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise RequestRefused(refusals(cls, exc)) from None

    @classmethod
    def flag(cls, field: str | None) -> str | None:
        """The CLI flag of ``field`` (``--input-len``), or None for a refusal of the request as a whole."""
        if not field:
            return None
        return cls.cli_flags.get(field, "--" + field.replace("_", "-"))


@dataclass(frozen=True)
class Refusal:
    """Why one input was refused: ``field`` (None: the combination) and ``reason`` (one line, no field name)."""

    field: str | None
    reason: str


class RequestRefused(ValueError):
    """A request that did not validate; ``refusals`` in the order of the request's fields."""

    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = refusals
        first = refusals[0]
        super().__init__(f"{first.field}: {first.reason}" if first.field else first.reason)

    def for_field(self, field: str | None) -> str | None:
        """The reason ``field`` (None: the combination) was refused, if it was."""
        return next((r.reason for r in self.refusals if r.field == field), None)


def show_value(value: Any) -> str:
    """A user's input as text, the same for ``"1001"`` (CLI) and ``1001`` (dashboard)."""
    value = _number_from_text(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return repr(value)


def _limits(model: type[BaseModel], field: str) -> dict[str, float]:
    info = model.model_fields.get(field)
    bounds = {"ge": at.Ge, "gt": at.Gt, "le": at.Le, "lt": at.Lt}
    return {
        kind: getattr(meta, kind)
        for meta in (info.metadata if info else ())
        for kind, cls in bounds.items()
        if isinstance(meta, cls)
    }


def _num(x: float) -> str:
    return f"{x:,g}" if abs(x) < 1e6 else f"{x:,.0f}"


def range_text(model: type[BaseModel], field: str) -> str:
    """``in 1..1,000`` for whole numbers, ``in (0, 200]`` for reals, ``> 0`` with one bound."""
    lim = _limits(model, field)
    whole = "int" in str(model.model_fields[field].annotation)
    low = ("ge", lim["ge"]) if "ge" in lim else ("gt", lim["gt"]) if "gt" in lim else None
    high = ("le", lim["le"]) if "le" in lim else ("lt", lim["lt"]) if "lt" in lim else None
    if low and high:
        if whole and low[0] == "ge" and high[0] == "le":
            return f"in {_num(low[1])}..{_num(high[1])}"
        left, right = "[" if low[0] == "ge" else "(", "]" if high[0] == "le" else ")"
        return f"in {left}{_num(low[1])}, {_num(high[1])}{right}"
    if low:
        return f"{'>=' if low[0] == 'ge' else '>'} {_num(low[1])}"
    if high:
        return f"{'<=' if high[0] == 'le' else '<'} {_num(high[1])}"
    return "a valid value"


_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
_WHOLE_ERRORS = {"int_parsing", "int_from_float", "int_type"}
_NUMBER_ERRORS = {"float_parsing", "float_type"}


def _reason(model: type[BaseModel], field: str | None, err: Any) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "missing" or (value is None and kind not in ("value_error", "assertion_error")):
        return "a value is required"
    got = f", got {show_value(value)}"
    if kind in _BOUND_ERRORS and field:
        extra = model.model_fields[field].json_schema_extra
        why = extra.get("limit_note") if isinstance(extra, dict) else None
        return f"must be {range_text(model, field)}{got}" + (f" ({why})" if why else "")
    if kind == "finite_number":
        return f"must be a finite number{got}"
    if kind in _WHOLE_ERRORS:
        return f"must be a whole number{got}"
    if kind in _NUMBER_ERRORS:
        return f"must be a number{got}"
    if kind == "literal_error":
        return f"must be one of {err['ctx']['expected']}{got}"
    if kind == "value_error":
        return str(err["ctx"]["error"])
    if kind == "extra_forbidden":
        return "is not an input of this calculation"
    return f"{err['msg']}{got}"


def refusals(model: type[BaseModel], exc: ValidationError) -> list[Refusal]:
    """One :class:`Refusal` per refused field (the first error of each), in the model's field order."""
    order = list(model.model_fields)
    seen: dict[str | None, Refusal] = {}
    for err in exc.errors():
        loc = err.get("loc") or ()
        field = str(loc[0]) if loc else None
        if field not in seen:
            seen[field] = Refusal(field, _reason(model, field, err))
    return sorted(seen.values(), key=lambda r: order.index(r.field) if r.field in order else len(order))
