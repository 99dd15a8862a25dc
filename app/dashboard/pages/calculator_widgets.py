"""Widgets shared by the dashboard's simulator calculators (LLM, etch, fab): number boxes that send what is
typed, a refusal message beside each control, the withheld-answer panel. Pure functions returning Dash
components; what is valid is decided by the requests of :mod:`hardware_sim.api`, never here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from app.dashboard import components as ui
from app.dashboard.views_common import View, empty_view
from hardware_sim.api import RequestRefused


def default_of(request_type: Any, field: str) -> Any:
    """The request's default for ``field`` (what a control shows before the user types)."""
    return request_type.model_fields[field].get_default(call_default_factory=True)


def message_id(control_id: str) -> str:
    """Id of the refusal message slot beside a control."""
    return f"{control_id}-msg"


def control_with_message(label: str, widget: Any, control_id: str) -> html.Div:
    """A labelled control with its (initially empty) refusal message underneath."""
    return ui.control(
        label,
        html.Div([widget, html.Div(id=message_id(control_id), className="error-text field-error")]),
    )


def number_box(control_id: str, value: Any, width: str = "120px") -> dcc.Input:
    """A number box that sends whatever is typed (no min/max/step: the browser would blank a value it
    considers invalid, and the request must see it to say why it is refused)."""
    return dcc.Input(
        id=control_id, type="number", value=value, step="any", debounce=True, style={"width": width}
    )


def field_messages(controls: dict[str, tuple[str, str]], refused: RequestRefused | None) -> list[str]:
    """The message beside each control, in ``controls`` order ("" when that input is accepted)."""
    return [(refused.for_field(field) or "") if refused else "" for field in controls]


def refusal_panel(controls: dict[str, tuple[str, str]], refused: RequestRefused, ident: str) -> html.Div:
    """The withheld answer: which input was refused and why (one line)."""
    first = refused.refusals[0]
    label = controls[first.field][1] if first.field in controls else None
    return ui.error_panel(
        f"no answer — {label}: {first.reason}" if label else f"no answer — {first.reason}", ident
    )


def answer_of(build: Callable[[], Any]) -> Any:
    """``build().run()``, the simulator's typed result, or the :class:`RequestRefused` of the inputs."""
    try:
        return build().run()
    except RequestRefused as refused:
        return refused


def calculator_outputs(
    res: Any,
    controls: dict[str, tuple[str, str]],
    ident: str,
    view: Callable[[Any], View],
    rows: Callable[[Any], list[tuple[str, str]]],
    height: int,
) -> tuple[View, Any, list[str]]:
    """(view, answer panel, message beside each control) for a result — or, for a refusal, an empty
    chart saying why, the withheld-answer panel and the refusal beside the control it concerns."""
    if isinstance(res, RequestRefused):
        return (
            empty_view(str(res), height=height),
            refusal_panel(controls, res, ident),
            field_messages(controls, res),
        )
    return view(res), ui.answer_panel(rows(res), ident), field_messages(controls, None)


@dataclass(frozen=True)
class Calculator:
    """One simulator calculator card: its controls (request field → (control id, label)), the request the
    control values build (``request(*values)``, raising ``RequestRefused``), and how a result is drawn
    (``view``) and listed (``rows``) in the answer panel ``ident``."""

    controls: dict[str, tuple[str, str]]
    ident: str
    request: Callable[..., Any]
    view: Callable[[Any], View]
    rows: Callable[[Any], list[tuple[str, str]]]
    height: int

    def answer(self, *values: Any) -> Any:
        """The simulator's typed result for the control values, or the :class:`RequestRefused`."""
        return answer_of(lambda: self.request(*values))

    def outputs(self, *values: Any) -> tuple[View, Any, list[str]]:
        """(view, answer panel, message beside each control) for the control values."""
        return calculator_outputs(
            self.answer(*values), self.controls, self.ident, self.view, self.rows, self.height
        )

    def message_outputs(self) -> list[Output]:
        """The callback outputs of the refusal messages beside the controls, in :attr:`controls` order."""
        return [Output(message_id(control_id), "children") for control_id, _ in self.controls.values()]

    def inputs(self) -> list[Input]:
        """The callback inputs of the controls' values, in :attr:`controls` order."""
        return [Input(control_id, "value") for control_id, _ in self.controls.values()]


def answer_marker(x: float, y: float, name: str, colour: str, hovertemplate: str | None = None) -> go.Scatter:
    """The ★ that marks the calculator's answer on its curve."""
    return go.Scatter(
        x=[x],
        y=[y],
        mode="markers",
        name=name,
        marker={"size": 14, "symbol": "star", "color": colour},
        hovertemplate=hovertemplate,
    )
