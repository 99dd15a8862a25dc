"""The dashboard's simulator calculators (LLM serving, etch, fab) without a browser: answers, refusals
beside the right control, and the views drawn from a result."""

from __future__ import annotations

import pytest

from app.dashboard.pages import capacity_calculators as cap
from app.dashboard.pages import hardware_calculator as hw
from hardware_sim.api import RequestRefused
from hardware_sim.api.fab import EtchRequest
from hardware_sim.fab.process_flows import channel_hole_etch_chambers, process_flow_ids


def test_llm_calculator_answers_and_rejects_bad_input() -> None:
    res = hw.llm_answer("hgx-h100-8", "llama-3-70b", "decode", "bf16", 16, None, 2048, 512)
    assert not isinstance(res, RequestRefused)
    assert res.tokens_per_s_per_chip > 0 and res.bound in ("compute", "memory", "network")
    more = hw.llm_answer("hgx-h100-8", "llama-3-70b", "decode", "bf16", 32, None, 2048, 512)
    assert more.tokens_per_s_per_chip > res.tokens_per_s_per_chip  # batching amortises weight reads
    tpot = hw.llm_answer("hgx-h100-8", "llama-3-70b", "decode", "bf16", 1, 50, 2048, 512)
    assert tpot.meets_target and tpot.tpot_ms <= 50
    assert "met" in dict(hw.llm_rows(tpot))["TPOT target"]
    view = hw.llm_view(res)
    assert view.figure.data[1].x[0] == 16 and view.frame["batch"].min() == 1


@pytest.mark.parametrize(
    ("batch", "input_len", "field", "reason"),
    [
        (0, 2048, "batch", "must be in 1..65,536, got 0"),
        (None, 2048, "batch", "a value is required"),
        (2.5, 2048, "batch", "must be a whole number, got 2.5"),
        (70_000, 2048, "batch", "must be in 1..65,536, got 70000"),
        (4, "x", "input_len", "must be a whole number, got 'x'"),
    ],
)
def test_llm_refusal_is_shown_beside_its_control_and_the_answer_withheld(
    batch, input_len, field, reason
) -> None:
    view, answer, messages = hw.llm_outputs(
        "hgx-h100-8", "llama-3-70b", "decode", "bf16", batch, None, input_len, 512
    )
    by_field = dict(zip(hw.LLM_CONTROLS, messages, strict=True))
    assert by_field[field] == reason and all(m == "" for f, m in by_field.items() if f != field)
    assert answer.className == "error-text" and reason in answer.children
    assert not view.figure.data  # no sweep drawn for a refused input


def test_llm_unknown_ids_and_prefill_target_are_refused() -> None:
    assert hw.llm_answer("nope", "llama-3-70b", "decode", "bf16", 1, None, 2048, 512).for_field("system")
    refused = hw.llm_answer("hgx-h100-8", "llama-3-70b", "prefill", "bf16", 1, 20, 2048, 512)
    assert refused.for_field("tpot_ms") == "a TPOT target applies to the decode phase only"


def test_etch_calculator() -> None:
    a = cap.etch_answer("layers", 96, None, "conventional", 6)
    b = cap.etch_answer("layers", 232, None, "conventional", 6)
    assert b.etch_time_min > a.etch_time_min and b.decks >= a.decks
    ar = cap.etch_answer("aspect_ratio", None, 60, "conventional", 2)
    assert (
        ar.aspect_ratio == 60 and ar.wafers_per_hour > 0 and ar.etch_rate_nm_min < ar.open_field_rate_nm_min
    )
    assert cap.etch_view(ar).figure.data[1].x[0] == 60
    for bad in (
        cap.etch_answer("layers", 0, None, "conventional", 6),
        cap.etch_answer("aspect_ratio", None, "x", "conventional", 6),
        cap.etch_answer("layers", 64, None, "plasma-magic", 6),
    ):
        assert isinstance(bad, RequestRefused)


def test_etch_defaults_are_the_requests_and_the_fab_models() -> None:
    """One chamber count everywhere: the card opens at the request's default, which is the NAND flow's tool."""
    assert cap.default_of(EtchRequest, "chambers") == channel_hole_etch_chambers() == 6
    assert _find(cap.etch_card(), "etch-chambers").value == 6


def _find(component, ident):
    """The component with id ``ident`` in a Dash layout tree."""
    if getattr(component, "id", None) == ident:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        if hasattr(child, "to_plotly_json") and (hit := _find(child, ident)) is not None:
            return hit
    return None


def test_etch_every_deck_is_a_separate_visit() -> None:
    """232 layers = 2 decks: each deck pays the per-wafer overheads, so throughput is below one long visit."""
    from hardware_sim.fab.tool_throughput import tool_throughput

    res = cap.etch_answer("layers", 232, None, "conventional", 6)
    one_visit = tool_throughput(res.etch_time_min, chambers=6).wafers_per_hour
    per_deck = tool_throughput(res.etch_time_min / 2, chambers=6).wafers_per_hour / 2
    assert (
        res.decks == 2 and res.wafers_per_hour == pytest.approx(per_deck) and res.wafers_per_hour < one_visit
    )
    assert res.wafers_per_hour == pytest.approx(3.6499, abs=1e-4)  # `fabscope sim etch --layers 232`


@pytest.mark.parametrize(
    ("mode", "layers", "ar", "chambers", "field", "reason"),
    [
        ("layers", 13, None, 13, "chambers", "must be in 1..12, got 13"),
        ("layers", 64, None, 0, "chambers", "must be in 1..12, got 0"),
        ("layers", 1001, None, 6, "layers", "must be in 1..1,000, got 1001"),
        ("layers", 2.5, None, 6, "layers", "must be a whole number, got 2.5"),
        ("layers", None, None, 6, "layers", "a value is required"),
        ("aspect_ratio", None, None, 6, "aspect_ratio", "a value is required"),
        ("aspect_ratio", None, 250, 6, "aspect_ratio", "must be in (0, 200], got 250"),
    ],
)
def test_etch_refusals_never_compute_something_else(mode, layers, ar, chambers, field, reason) -> None:
    view, answer, messages = cap.etch_outputs(mode, layers, ar, "conventional", chambers)
    assert dict(zip(cap.ETCH_CONTROLS, messages, strict=True))[field] == reason
    assert answer.className == "error-text" and not view.figure.data


def test_fab_calculator_scales_with_wspm() -> None:
    flows = process_flow_ids()
    small = cap.fab_answer(flows[0], 10_000)
    big = cap.fab_answer(flows[0], 50_000)
    assert big.total_tools > small.total_tools
    assert cap.fab_answer("no-such-flow", 1000).for_field("process").startswith("unknown process id")
    assert cap.fab_answer(flows[0], None).for_field("wspm") == "a value is required"
    assert cap.fab_answer(flows[0], 15_000_001).for_field("wspm").startswith("must be in [0, 15,000,000]")
    view = cap.fab_view(big)
    assert len(view.figure.data[0].x) == len(big.tools)
