"""Published measurements beside the model's predictions, with the error of each.

Every case states its source, what was measured, the operating point we reconstructed (and which parts of
it are assumptions), and the prediction. Measured serving throughputs come from production systems; errors
are reported, not tuned away: no derate or mechanism parameter in hardware_sim was fitted to these numbers.

Summary statistics (serving cases and system-level cases apart): ratio r = predicted / measured,
geometric-mean error ``exp(mean |ln r|) - 1`` and the worst factor ``max(r, 1/r)``. Leave-one-source-out
(LOSO): each case is predicted again with every mechanism parameter read from that case's own source
replaced by its fallback (``hardware_sim.accelerators.mechanisms.leave_out``); the LOSO error is the
out-of-sample one. When no parameter depends on a validation source the two coincide, and the output
says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hardware_sim.accelerators import llm
from hardware_sim.accelerators.catalog import serving_ranks_as
from hardware_sim.accelerators.mechanisms import SRC_SGLANG_LARGE_EP, leave_out, params_table
from hardware_sim.accelerators.power import system_record

SRC_DEEPSEEK = (
    "DeepSeek, 'Day 6: DeepSeek-V3/R1 Inference System Overview', "
    "github.com/deepseek-ai/open-infra-index (Mar 2025)"
)
SRC_SGLANG_H100 = SRC_SGLANG_LARGE_EP
SRC_SGLANG_H20 = (
    "LMSYS blog 'Together with SGLang: Best Practices for Serving DeepSeek-R1 on H20-96G' (Sep 2025)"
)
SRC_CM384 = "Zuo et al., 'Serving Large Language Models on Huawei CloudMatrix384', arXiv 2506.12708 (2025)"
SRC_SEMI = "SemiAnalysis, 'Huawei AI CloudMatrix 384 - China's Answer to Nvidia GB200 NVL72' (Apr 2025)"
SRC_DGX = "NVIDIA DGX H100 datasheet (system power 10.2 kW max)"
SRC_GB300_RA = (
    "NVIDIA Enterprise Reference Architecture, GB300 NVL72 components ('full rack requiring up to 142 kW'), "
    "docs.nvidia.com/enterprise-reference-architectures/nvl72-ai-factory"
)
SRC_GTC_NVL72 = (
    "NVIDIA GB200 NVL72 at GTC 2024 as reported by ServeTheHome / TechRadar ('consumes 120 kW'); secondary"
)


@dataclass(frozen=True)
class Case:
    """One published measurement and how to reproduce its operating point in the model."""

    id: str
    quantity: str
    unit: str
    measured: float
    source: str
    flag: str  # reported | estimate (estimate = derived by us from the source, or a secondary source)
    conditions: str
    assumptions: str
    predict: Callable[[], float]
    # Prediction without the structural facts taken from the case's own source (None: same as ``predict``
    # apart from the mechanism parameters swapped by ``leave_out``), and what it leaves out.
    loso_predict: Callable[[], float] | None = None
    loso_note: str = ""

    @property
    def kind(self) -> str:
        """``serving`` (tokens/s) or ``system`` (power and other system-level figures)."""
        return "serving" if self.unit == "tokens/s" else "system"


# Multi-token prediction in production decode: DeepSeek-V3/R1 ship one MTP module (1 draft token); the
# per-token acceptance comes from the DeepSeek-V3 report (mechanisms.PARAMS["mtp_acceptance"]), not from
# the validation sources.
MTP_ON = {"mtp": 1}
# DeepSeek's Day-6 overview: 342 B of 608 B input tokens (56.3%) hit the on-disk KV cache -- an input of
# the case (the source states it), applied to the assumed 4096-token prompts.
DEEPSEEK_PREFIX_CACHED = round(0.563 * 4096)
# The same source: "the average kvcache length per output token was 4,989 tokens" -- the decode case's
# mean context (input + output / 2 with 1,024 output tokens).
DEEPSEEK_DECODE_INPUT = 4989 - 1024 // 2


def _serve_tps(*args: Any, **kwargs: Any) -> Callable[[], float]:
    return lambda: float(llm.serve(*args, with_ops=False, **kwargs)["tokens_per_s_per_chip"])


def _tpot_tps(*args: Any, **kwargs: Any) -> Callable[[], float]:
    return lambda: float(llm.search_batch_for_tpot(*args, **kwargs)["tokens_per_s_per_chip"])


def _as_packages(predict: Callable[[], float]) -> Callable[[], float]:
    """``predict`` with the Ascend 910C serving as one rank per package (the per-die ranks come from the
    CloudMatrix paper, a validation source); the caller passes layouts in packages."""

    def run() -> float:
        with serving_ranks_as("ascend-910c", 1):
            return predict()

    return run


def _cm384(make: Callable[..., Callable[[], float]], *args: Any, dies: int, **kwargs: Any):
    """(prediction, LOSO prediction) of a CloudMatrix-Infer case on ``dies`` ranks (one per die), and the
    same served one rank per package (``dies / 2`` ranks) for the LOSO."""
    lay = {"tp": 1, "dp": dies, "pp": 1}
    plain = make("cloudmatrix-384", "deepseek-r1", *args, "int8", lay, **kwargs)
    pack = make("cloudmatrix-384", "deepseek-r1", *args, "int8", {**lay, "dp": dies // 2}, **kwargs)
    return plain, _as_packages(pack)


# The CloudMatrix paper's MTP: one draft token at a measured 70% acceptance (1.7 tokens per step) -- an
# input of its cases (the source states it), not the DeepSeek-V3 report's 85% used elsewhere.
CM384_MTP = {"mtp": 1, "acceptance": 0.70}


CM384_RANKS_NOTE = (
    "910C as one rank per package (EP16 / EP160): the per-die ranks come from the case's source"
)


CASES: tuple[Case, ...] = (
    Case(
        "deepseek-h800-decode",
        "decode output tokens/s per GPU",
        "tokens/s",
        14_800 / 8,
        SRC_DEEPSEEK,
        "estimate",
        "DeepSeek-V3/R1 production, H800, EP144 decode, FP8 GEMMs; 14.8k output tokens/s per 8-GPU node (daily average)",
        "batch 88 per GPU from Little's law (1,850 tokens/s / ~21 tokens/s per user); the source's mean KV-cache "
        "length per output token, 4,989, as 4,477 input + 1,024 output tokens (mean context 4,477 + 512); "
        "MTP with 1 draft token (DeepSeek-V3 report acceptance); the figure is a daily average under varying load",
        _serve_tps(
            "hgx-h800-8",
            "deepseek-r1",
            "decode",
            88,
            DEEPSEEK_DECODE_INPUT,
            1024,
            "fp8",
            {"tp": 1, "dp": 144, "pp": 1},
            **MTP_ON,
        ),
    ),
    Case(
        "deepseek-h800-prefill",
        "prefill computed tokens/s per GPU",
        "tokens/s",
        73_700 * (1 - 0.563) / 8,
        SRC_DEEPSEEK,
        "estimate",
        "73.7k input tokens/s per node including 56.3% on-disk KV-cache hits; EP32 prefill",
        "we remove the cache hits (x 0.437) to compare computed tokens; 4096-token prompts assumed, of which the "
        "source's 56.3% (2,306 tokens) are prefix-cache hits, attended to but not computed; 9 prompts "
        "(~16k computed tokens) per GPU per forward assumed",
        _serve_tps(
            "hgx-h800-8",
            "deepseek-r1",
            "prefill",
            9,
            4096,
            1,
            "fp8",
            {"tp": 1, "dp": 32, "pp": 1},
            prefix_cached=DEEPSEEK_PREFIX_CACHED,
        ),
    ),
    Case(
        "sglang-h100-prefill",
        "prefill input tokens/s per GPU",
        "tokens/s",
        52_300 / 8,
        SRC_SGLANG_H100,
        "reported",
        "SGLang PD disaggregation, 2000-token inputs, prefill on 4 nodes (EP32), FP8",
        "8 sequences (16k tokens) per GPU per forward assumed",
        _serve_tps("hgx-h100-8", "deepseek-r1", "prefill", 8, 2000, 1, "fp8", {"tp": 1, "dp": 32, "pp": 1}),
    ),
    Case(
        "sglang-h100-decode",
        "decode output tokens/s per GPU",
        "tokens/s",
        22_300 / 8,
        SRC_SGLANG_H100,
        "estimate",
        "SGLang decode on 9 nodes (EP72), 2000-token inputs, FP8",
        "batch 279 per GPU from Little's law with the ~100 ms inter-token latency the blog reports; 100 output tokens",
        _serve_tps(
            "hgx-h100-8", "deepseek-r1", "decode", 279, 2000, 100, "fp8", {"tp": 1, "dp": 72, "pp": 1}
        ),
    ),
    Case(
        "sglang-h20-prefill",
        "prefill input tokens/s per GPU",
        "tokens/s",
        16_500 / 8,
        SRC_SGLANG_H20,
        "reported",
        "Ant Group / SGLang on H20-96G, 4096-token inputs, prefill TP8 on one node, FP8",
        "one 4096-token sequence per GPU-share per forward (chunked prefill 16k tokens per TP8 group ~ 0.5 seq/GPU)",
        _serve_tps("hgx-h20-8", "deepseek-r1", "prefill", 1, 4096, 1, "fp8", {"tp": 8, "dp": 1, "pp": 1}),
    ),
    Case(
        "cm384-prefill",
        "prefill tokens/s per NPU",
        "tokens/s",
        6688.0,
        SRC_CM384,
        "reported",
        "CloudMatrix-Infer, DeepSeek-R1, INT8, prefill EP32 on 32 dies of 16 Ascend 910C (one rank per die), "
        "perfect EPLB (the paper's default expert placement gives 5,655)",
        "the paper's table: 16,384 tokens per rank in 4,096-token prompts (8 prompts per NPU); balanced routing "
        "as its 'perfect EPLB' row",
        *_cm384(_serve_tps, "prefill", 8, 4096, 1, dies=32, moe_routing="balanced"),
        CM384_RANKS_NOTE,
    ),
    Case(
        "cm384-decode-50ms",
        "decode tokens/s per NPU at TPOT <= 50 ms",
        "tokens/s",
        1943.0,
        SRC_CM384,
        "reported",
        "CloudMatrix-Infer, DeepSeek-R1, INT8, decode EP320 on 320 dies of 160 Ascend 910C (one rank per die), "
        "TPOT < 50 ms (MTP on; the paper: batch 96, TPOT 49.4 ms)",
        "the paper's table: 4,096-token prompts, 256 output tokens; MTP 1 draft token at the paper's 70% "
        "acceptance; batch searched by the model for TPOT <= 50 ms",
        *_cm384(_tpot_tps, 50.0, 4096, 256, dies=320, **CM384_MTP),
        CM384_RANKS_NOTE,
    ),
    Case(
        "cm384-decode-15ms",
        "decode tokens/s per NPU at TPOT <= 15 ms",
        "tokens/s",
        538.0,
        SRC_CM384,
        "reported",
        "as cm384-decode-50ms with a 15 ms TPOT target (the paper: batch 8, TPOT 14.9 ms)",
        "as cm384-decode-50ms",
        *_cm384(_tpot_tps, 15.0, 4096, 256, dies=320, **CM384_MTP),
        CM384_RANKS_NOTE,
    ),
    Case(
        "cm384-it-power",
        "system IT power",
        "kW",
        559.378,
        SRC_SEMI,
        "estimate",
        "SemiAnalysis all-in CloudMatrix 384 power estimate (secondary)",
        "modelled IT power (before PUE)",
        lambda: float(system_record("cloudmatrix-384")["it_power_kw"]),
    ),
    Case(
        "nvl72-it-power",
        "system IT power",
        "kW",
        145.0,
        SRC_SEMI,
        "estimate",
        "SemiAnalysis GB200 NVL72 all-in power used for the comparison (secondary)",
        "modelled IT power (before PUE)",
        lambda: float(system_record("gb200-nvl72")["it_power_kw"]),
    ),
    Case(
        "gb300-nvl72-rack-power",
        "rack power, maximum",
        "kW",
        142.0,
        SRC_GB300_RA,
        "reported",
        "NVIDIA's provisioning figure for one GB300 NVL72 rack (first-party; no scale-out switches outside the rack)",
        "modelled IT power of gb300-nvl72 (before PUE)",
        lambda: float(system_record("gb300-nvl72")["it_power_kw"]),
    ),
    Case(
        "nvl72-rack-power-gtc",
        "rack power",
        "kW",
        120.0,
        SRC_GTC_NVL72,
        "estimate",
        "GB200 NVL72 rack power as stated at its GTC 2024 showing (press report of NVIDIA's figure)",
        "modelled IT power of gb200-nvl72 (before PUE)",
        lambda: float(system_record("gb200-nvl72")["it_power_kw"]),
    ),
    Case(
        "dgx-h100-power",
        "server max power",
        "kW",
        10.2,
        SRC_DGX,
        "reported",
        "DGX H100 maximum system power",
        "modelled IT power of hgx-h100-8 (a DGX H100 is an HGX H100 server)",
        lambda: float(system_record("hgx-h100-8")["it_power_kw"]),
    ),
)


def error_summary(ratios: list[float]) -> dict[str, float]:
    """Geometric-mean error ``exp(mean |ln r|) - 1`` (%) and worst factor ``max(r, 1/r)`` of ratios r."""
    if not ratios:
        return {"geo_mean_error_pct": float("nan"), "worst_factor": float("nan"), "n": 0}
    logs = [abs(math.log(r)) for r in ratios]
    return {
        "geo_mean_error_pct": (math.exp(sum(logs) / len(logs)) - 1.0) * 100.0,
        "worst_factor": math.exp(max(logs)),
        "n": len(ratios),
    }


def validate() -> dict[str, Any]:
    """Run every case: ``{"cases": [{id, kind, quantity, unit, measured, predicted, error_pct, loso_predicted,
    loso_error_pct, loso_swapped, source, flag, conditions, assumptions}...], "summary", "mean_abs_error_pct",
    "parameters", "notes"}``; error = predicted / measured - 1."""
    rows = []
    for c in CASES:
        pred = c.predict()
        with leave_out(c.source) as swapped:
            if c.loso_predict is not None:
                loso, swapped = c.loso_predict(), [*swapped, c.loso_note]
            else:
                loso = c.predict() if swapped else pred
        rows.append(
            {
                "id": c.id,
                "kind": c.kind,
                "quantity": c.quantity,
                "unit": c.unit,
                "measured": c.measured,
                "predicted": pred,
                "error_pct": (pred / c.measured - 1.0) * 100.0,
                "loso_predicted": loso,
                "loso_error_pct": (loso / c.measured - 1.0) * 100.0,
                "loso_swapped": swapped,
                "source": c.source,
                "flag": c.flag,
                "conditions": c.conditions,
                "assumptions": c.assumptions,
            }
        )
    errs = [abs(r["error_pct"]) for r in rows]
    summary = {}
    for kind in ("serving", "system"):
        sel = [r for r in rows if r["kind"] == kind]
        summary[kind] = {
            "plain": error_summary([r["predicted"] / r["measured"] for r in sel]),
            "loso": error_summary([r["loso_predicted"] / r["measured"] for r in sel]),
        }
    any_swapped = any(r["loso_swapped"] for r in rows)
    return {
        "cases": rows,
        "summary": summary,
        "mean_abs_error_pct": sum(errs) / len(errs),
        "parameters": params_table(),
        "notes": [
            "no derate or mechanism parameter was fitted to these measurements; derates come from kernel "
            "benchmarks (hardware_sim.accelerators.roofline), mechanisms from component-level sources "
            "(hardware_sim.accelerators.mechanisms, listed under parameters)",
            "LOSO = plain: no parameter is read from a validation source"
            if not any_swapped
            else "LOSO re-predicts each case without what is read from its own source (loso_swapped lists it); "
            "the EPLB residual skew comes from the SGLang blog (left out for its cases) and the CloudMatrix "
            "per-die ranks from the CloudMatrix paper (its cases served one rank per package)",
            "positive error = model optimistic; the DeepSeek figures are daily averages under varying load, "
            "which a capacity model does not see",
        ],
    }
