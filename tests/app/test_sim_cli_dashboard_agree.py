"""`fabscope sim etch|fab|llm --json` and the dashboard's calculators agree: identical numbers for accepted
inputs, identical refusals (the same words, naming the same input) for refused ones — over the input
space, out-of-range, boundary, fractional, empty and non-finite values included (property test)."""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.cli_common import _clean
from app.dashboard.pages import capacity_calculators as cap
from app.dashboard.pages import hardware_calculator as hw
from hardware_sim.accelerators.catalog import llm_ids, system_ids
from hardware_sim.api import RequestRefused
from hardware_sim.api.accelerators import LlmServeRequest
from hardware_sim.api.fab import EtchRequest, FabRequest
from hardware_sim.fab.process_flows import process_flow_ids

SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _text(value: Any) -> str:
    """What a user would type on the command line for a dashboard value (None: an empty box); passed as
    ``--flag=VALUE`` so negative numbers are never read as options."""
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _numbers(
    valid: tuple[int, int], edges: tuple[Any, ...], span: tuple[float, float]
) -> st.SearchStrategy[Any]:
    """Mostly whole numbers in ``valid`` (so answers are exercised), else the edges, reals over ``span``
    (fractional ones included), empty and non-finite values (so every kind of refusal is)."""
    accepted = st.integers(*valid)
    anything = st.one_of(
        st.sampled_from([*edges, 0, -1, 0.5, 2.5, math.nan, math.inf]),
        st.floats(*span, allow_nan=False, allow_infinity=False),
        st.none(),
    )
    # one draw in five from ``anything`` (st.one_of would not weight repeated branches)
    return st.tuples(st.integers(0, 4), accepted, anything).map(lambda t: t[2] if t[0] == 0 else t[1])


def _as_json(record: dict[str, Any]) -> Any:
    return json.loads(json.dumps(_clean(record)))


def _agree(
    argv: list[str], answer: Any, request_type: Any, messages: dict[str, str], panel: str | None
) -> None:
    """The CLI's exit, JSON or error line against the dashboard's answer and the messages it shows."""
    code, out, err = _cli(argv)
    event("answered" if not isinstance(answer, RequestRefused) else f"refused: {answer.refusals[0].field}")
    if isinstance(answer, RequestRefused):
        first = answer.refusals[0]
        flag = request_type.flag(first.field)
        assert code == 2 and out == ""
        assert err == f"fabscope: {flag + ': ' if flag else ''}{first.reason}\n"
        if first.field in messages:  # shown beside its control, word for word
            assert messages[first.field] == first.reason
        assert panel is not None and first.reason in panel  # and the answer is withheld
    else:
        assert code == 0, err
        record = answer.record() if hasattr(answer, "record") else answer.model_dump()
        assert json.loads(out) == _as_json(record)
        assert all(m == "" for m in messages.values())


@pytest.mark.slow
@SETTINGS
@given(
    mode=st.sampled_from(["layers", "aspect_ratio"]),
    layers=_numbers((1, 1000), (1, 1000, 1001), (-5, 1100)),
    aspect_ratio=_numbers((1, 200), (200, 200.0001, 1e-9), (-10, 300)),
    chemistry=st.sampled_from(["conventional", "cryo"]),
    chambers=_numbers((1, 12), (1, 12, 13), (-2, 15)),
)
def test_etch_cli_and_calculator_agree(mode, layers, aspect_ratio, chemistry, chambers) -> None:
    box = layers if mode == "layers" else aspect_ratio
    argv = ["sim", "etch", "--json", f"--{mode.replace('_', '-')}={_text(box)}"]
    argv += ["--chemistry", chemistry, f"--chambers={_text(chambers)}"]
    answer = cap.etch_answer(mode, layers, aspect_ratio, chemistry, chambers)
    messages, panel = {}, None
    if isinstance(answer, RequestRefused):
        _view, shown, texts = cap.etch_outputs(mode, layers, aspect_ratio, chemistry, chambers)
        messages, panel = dict(zip(cap.ETCH_CONTROLS, texts, strict=True)), shown.children
    _agree(argv, answer, EtchRequest, messages, panel)


@pytest.mark.slow
@SETTINGS
@given(
    process=st.sampled_from([*process_flow_ids(), "3dnand-1000", "3dnand-1001", "3dnand-0", "nope"]),
    wspm=_numbers((0, 200_000), (15_000_000, 15_000_001, 15_000_000.5), (-10, 2e7)),
)
def test_fab_cli_and_calculator_agree(process, wspm) -> None:
    answer = cap.fab_answer(process, wspm)
    messages, panel = {}, None
    if isinstance(answer, RequestRefused):
        _view, shown, texts = cap.fab_outputs(process, wspm)
        messages, panel = dict(zip(cap.FAB_CONTROLS, texts, strict=True)), shown.children
    _agree(
        ["sim", "fab", "--json", "--process", process, f"--wspm={_text(wspm)}"],
        answer,
        FabRequest,
        messages,
        panel,
    )


@pytest.mark.slow
@SETTINGS
@given(
    system=st.sampled_from([*system_ids(), *system_ids(), "nvl576"]),
    model=st.sampled_from(llm_ids()),
    phase=st.sampled_from(["prefill", "decode"]),
    precision=st.sampled_from(["native", "bf16", "fp8", "int8"]),
    batch=_numbers((1, 512), (1, 65_536, 65_537), (-1, 70_000)),
    tpot_ms=st.one_of(
        st.none(), st.none(), st.floats(-1, 200, allow_nan=False), st.sampled_from([0, 10_000, 10_001])
    ),
    input_len=_numbers((1, 8192), (262_144, 262_145), (0, 300_000)),
    output_len=_numbers((0, 2048), (262_144, 262_145), (-1, 300_000)),
)
def test_llm_cli_and_calculator_agree(
    system, model, phase, precision, batch, tpot_ms, input_len, output_len
) -> None:
    argv = ["sim", "llm", "--json", "--system", system, "--model", model, "--phase", phase]
    argv += ["--precision", precision, f"--batch={_text(batch)}"]
    argv += [f"--input-len={_text(input_len)}", f"--output-len={_text(output_len)}"]
    if tpot_ms is not None:
        argv += [f"--tpot-ms={_text(tpot_ms)}"]
    answer = hw.llm_answer(system, model, phase, precision, batch, tpot_ms, input_len, output_len)
    messages, panel = {}, None
    if isinstance(answer, RequestRefused):
        _view, shown, texts = hw.llm_outputs(
            system, model, phase, precision, batch, tpot_ms, input_len, output_len
        )
        messages, panel = dict(zip(hw.LLM_CONTROLS, texts, strict=True)), shown.children
    _agree(argv, answer, LlmServeRequest, messages, panel)
