"""hardware_sim.api: the typed edge — limits, defaults defined once, readable refusals, contract keys."""

from __future__ import annotations

import pytest

from hardware_sim.api import RequestRefused
from hardware_sim.api._base import show_value
from hardware_sim.api.accelerators import LlmServeRequest, ReplaceRequest
from hardware_sim.api.fab import MAX_WSPM, DepositionRequest, EtchRequest, EtchResult, FabRequest, FabResult
from hardware_sim.fab.process_flows import channel_hole_etch_chambers, default_uptime, default_utilisation
from hardware_sim.fab.tool_throughput import multi_pass_throughput, tool_throughput


def _refusal(request_type, **values):
    with pytest.raises(RequestRefused) as info:
        request_type.build(**values)
    return info.value.refusals


def test_results_carry_the_contract_keys() -> None:
    assert {"aspect_ratio", "etch_rate_nm_min", "etch_time_min", "wafers_per_hour"} <= set(
        EtchResult.model_fields
    )
    assert "throughput_limited_by" in EtchResult.model_fields
    assert "tools" in FabResult.model_fields


def test_defaults_come_from_one_place() -> None:
    assert EtchRequest.build(layers=64).chambers == channel_hole_etch_chambers()
    fab = FabRequest.build(process="28nm-planar", wspm=1000)
    assert (fab.uptime, fab.utilisation) == (default_uptime(), default_utilisation())
    assert FabRequest.build(process="28nm-planar", wspm=MAX_WSPM).wspm == MAX_WSPM
    (only,) = _refusal(FabRequest, process="28nm-planar", wspm=MAX_WSPM + 1)
    assert only.field == "wspm" and "15,000,000" in only.reason and "world" in only.reason


def test_text_and_numbers_meet_the_same_rules() -> None:
    assert EtchRequest.build(layers="232") == EtchRequest.build(layers=232) == EtchRequest.build(layers=232.0)
    assert _refusal(EtchRequest, layers="2.5") == _refusal(EtchRequest, layers=2.5)
    assert _refusal(EtchRequest, layers="1001") == _refusal(EtchRequest, layers=1001)
    assert show_value("1e3") == show_value(1000) == "1000" and show_value("x") == "'x'"


def test_refusals_are_listed_per_field_in_field_order() -> None:
    refusals = _refusal(
        LlmServeRequest, system="nope", model="llama-3-8b", phase="decode", batch=0, input_len=-1
    )
    assert [r.field for r in refusals] == ["system", "batch", "input_len"]
    assert refusals[0].reason.startswith("unknown system id 'nope'; valid system ids: ")
    assert (
        ReplaceRequest.flag("from_system") == "--from" and LlmServeRequest.flag("input_len") == "--input-len"
    )


def test_an_empty_value_is_refused_not_defaulted() -> None:
    (only,) = _refusal(LlmServeRequest, system="hgx-h20-8", model="llama-3-8b", phase="decode", batch=None)
    assert (only.field, only.reason) == ("batch", "a value is required")
    assert LlmServeRequest.build(system="hgx-h20-8", model="llama-3-8b", phase="decode").batch == 1  # omitted


def test_native_precision_is_the_models_release_precision() -> None:
    req = LlmServeRequest.build(system="hgx-h20-8", model="deepseek-r1", phase="decode")
    assert req.precision == "native" and req.resolved_precision() == "fp8"
    assert req.run().precision == "fp8"


def test_multi_pass_throughput_pays_the_overheads_per_visit() -> None:
    one = tool_throughput(40.0, chambers=6)
    assert multi_pass_throughput(40.0, 1, 6) == one
    two = multi_pass_throughput(40.0, 2, 6)
    assert two.wafers_per_hour == pytest.approx(tool_throughput(20.0, chambers=6).wafers_per_hour / 2)
    assert two.wafers_per_hour < one.wafers_per_hour  # the same etch in two visits: overheads twice


def test_deposition_request() -> None:
    thin = DepositionRequest.build(process="al2o3_tma_h2o", thickness_nm=2).run()
    thick = DepositionRequest.build(process="al2o3_tma_h2o", thickness_nm=20).run()
    assert thick.time_min > thin.time_min > 0 and thick.wafers_per_hour < thin.wafers_per_hour
    assert (
        DepositionRequest.build(process="pecvd_on_stack", thickness_nm=1000, chambers=4).run().chambers == 4
    )
    (only,) = _refusal(DepositionRequest, process="sputter-magic", thickness_nm=10)
    assert only.field == "process" and "pecvd_nitride" in only.reason
