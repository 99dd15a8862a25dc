"""The dashboard calculators (LLM serving, etch, fab) — moving to pages/hardware_calculator.py and
pages/capacity_calculators.py."""

from __future__ import annotations

from app.dashboard import logic


def test_llm_calculator_answers_and_rejects_bad_input() -> None:
    res = logic.llm_serving("hgx-h100-8", "llama-3-70b", "decode", "bf16", 16, None, 2048, 512)
    assert res["tokens_per_s_per_chip"] > 0 and res["bound"] in ("compute", "memory", "network")
    more = logic.llm_serving("hgx-h100-8", "llama-3-70b", "decode", "bf16", 32, None, 2048, 512)
    assert more["tokens_per_s_per_chip"] > res["tokens_per_s_per_chip"]  # batching amortises weight reads
    assert "error" in logic.llm_serving("hgx-h100-8", "llama-3-70b", "decode", "bf16", -3, None, 2048, 512)
    assert "error" in logic.llm_serving("nope", "llama-3-70b", "decode", "bf16", 1, None, 2048, 512)
    assert "error" in logic.llm_serving("hgx-h100-8", "llama-3-70b", "decode", "bf16", 1, None, "x", 512)
    tpot = logic.llm_serving("hgx-h100-8", "llama-3-70b", "decode", "bf16", None, 50, 2048, 512)
    assert tpot["meets_target"] and tpot["tpot_ms"] <= 50
    rows = dict(logic.llm_result_rows(tpot))
    assert "met" in rows["TPOT target"]
    view = logic.llm_view(res)
    assert view.figure.data[1].x[0] == 16 and view.frame["batch"].min() == 1


def test_etch_calculator() -> None:
    a = logic.etch_calculator("layers", 96, None)
    b = logic.etch_calculator("layers", 232, None)
    assert b["etch_time_min"] > a["etch_time_min"] and b["decks"] >= a["decks"]
    ar = logic.etch_calculator("aspect_ratio", None, 60, chambers=2)
    assert (
        ar["aspect_ratio"] == 60
        and ar["wafers_per_hour"] > 0
        and ar["etch_rate_nm_min"] < ar["open_field_rate_nm_min"]
    )
    for bad in (
        logic.etch_calculator("layers", 0, None),
        logic.etch_calculator("aspect_ratio", None, "x"),
        logic.etch_calculator("layers", 64, None, "plasma-magic"),
    ):
        assert "error" in bad
    assert logic.etch_view(ar).figure.data[1].x[0] == 60


def test_fab_calculator_scales_with_wspm() -> None:
    flows = logic.process_flow_ids()
    assert flows
    small = logic.fab_calculator(flows[0], 10_000)
    big = logic.fab_calculator(flows[0], 50_000)
    assert sum(t["count"] for t in big["tools"]) > sum(t["count"] for t in small["tools"])
    assert "error" in logic.fab_calculator("no-such-flow", 1000)
    assert "error" in logic.fab_calculator(flows[0], 0)
    view = logic.fab_view(big)
    assert len(view.figure.data[0].x) == len(big["tools"])
