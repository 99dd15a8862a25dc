"""fabscope's LLM serving model side by side with the open peers, on configurations they can express.

Peers (optional; the script skips a peer that is not installed and says so):
  * GenZ-LLM-Analyzer (arXiv 2406.01698), PyPI ``genz-llm`` (import ``GenZ``);
  * llm-analysis (Cheng Li), PyPI ``llm-analysis`` (import ``llm_analysis``).
Install them apart from the project, e.g. ``python -m venv /tmp/peers && /tmp/peers/bin/pip install
genz-llm==0.0.16 llm-analysis==0.2.2``, or ``pip install -e .[peers]``; they pull in plotting stacks the
project does not need. Run with the project on the path and the peers importable:

    PYTHONPATH=$PWD:/tmp/peers/lib/python3.11/site-packages /work/main/.venv/bin/python bench/bench_peers.py

Every tool runs with its own defaults apart from the operating point (model, chip, parallelism, batch,
sequence lengths, precision); GenZ at ``system_eff = 1`` (its default, no derates) and fabscope with its
derates and mechanisms. Output: a Markdown table of tokens/s per chip (prefill: input tokens; decode:
output tokens) and each peer's ratio to fabscope. No timing assertions; the numbers go into
docs/methodology-accelerators.md (*Peers side by side*).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from hardware_sim.accelerators import llm


@dataclass(frozen=True)
class Config:
    """One operating point: fabscope ids and the peers' names for the same model and chip."""

    id: str
    phase: str  # prefill | decode
    fab_system: str
    fab_model: str
    genz_model: str | None
    la_model: str | None
    batch: int
    input_len: int
    output_len: int
    tp: int
    ep: int = 1
    prec: str = "bf16"


LLAMA2 = (
    "llama-2-70b",
    "meta-llama/Llama-2-70B",
    "upstage_Llama-2-70b-instruct-v2",
)  # llm-analysis bundles it
CONFIGS = (
    Config("llama2-70b-h100-tp8-prefill", "prefill", "hgx-h100-8", *LLAMA2, 1, 2048, 1, 8),
    Config("llama2-70b-h100-tp8-decode-b16", "decode", "hgx-h100-8", *LLAMA2, 16, 2048, 512, 8),
    Config("llama2-70b-h100-tp8-decode-b64", "decode", "hgx-h100-8", *LLAMA2, 64, 2048, 512, 8),
    Config("deepseek-v3-h100-ep8-prefill", "prefill", "hgx-h100-8", "deepseek-r1", "deepseek-ai/DeepSeek-V3-Base",
           None, 1, 4096, 1, 1, 8, "fp8"),
)  # fmt: skip


def fabscope_tps(c: Config) -> float:
    """fabscope tokens/s per chip at ``c`` (dense: TP; MoE: DP attention x EP)."""
    lay = {"tp": c.tp, "dp": max(c.ep // c.tp, 1), "pp": 1}
    r = llm.serve(c.fab_system, c.fab_model, c.phase, c.batch, c.input_len, c.output_len, c.prec, lay)
    return float(r["tokens_per_s_per_chip"])


def genz_tps(c: Config) -> float | None:
    """GenZ tokens/s per chip at ``c`` (None when GenZ cannot express it)."""
    if c.genz_model is None:
        return None
    from GenZ import decode_moddeling, prefill_moddeling  # type: ignore[import-not-found]

    n_chips = c.tp * c.ep
    # fabscope's batch counts sequences per chip; GenZ's the sequences of the whole parallel group
    kw = dict(
        model=c.genz_model, batch_size=c.batch * n_chips, input_tokens=c.input_len, system_name="H100_GPU",
        bits="bf16" if c.prec == "bf16" else "fp8", tensor_parallel=c.tp, expert_parallel=c.ep,
        parallelism_heirarchy=f"TP{{{c.tp}}}_EP{{{c.ep}}}_PP{{1}}",
    )  # fmt: skip
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        if c.phase == "prefill":
            out = prefill_moddeling(**kw)
        else:
            out = decode_moddeling(output_tokens=c.output_len // 2, Bb=1, **kw)  # Bb: beams (GenZ default 4)
    # GenZ's Throughput is batch / latency of the whole group: requests/s (prefill), tokens/s (decode)
    tps = float(out["Throughput"] if isinstance(out, dict) else out.Throughput)
    if c.phase == "prefill":
        tps *= c.input_len
    return tps / n_chips


def llm_analysis_tps(c: Config) -> float | None:
    """llm-analysis tokens/s per chip at ``c`` (None when it cannot express it: no MoE/MLA)."""
    if c.la_model is None:
        return None
    from llm_analysis.analysis import infer  # type: ignore[import-not-found]

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        out = infer(
            model_name=c.la_model, gpu_name="h100-sxm-80gb", dtype_name="w16a16e16", tp_size=c.tp,
            batch_size_per_gpu=c.batch * c.tp, seq_len=c.input_len, num_tokens_to_generate=max(c.output_len, 1),
            log_level="ERROR",
        )  # fmt: skip
    # llm-analysis' batch is per model replica (all TP ranks see it); per chip = replica tokens/s / tp
    if c.phase == "prefill":
        return c.batch * c.input_len / float(out["prefill_latency"])
    return c.batch / float(out["decode_latency"])


def _try(name: str, fn: Callable[[Config], float | None], c: Config) -> tuple[float | None, str]:
    try:
        return fn(c), ""
    except ImportError:
        return None, f"{name} not installed (optional: pip install genz-llm llm-analysis, see the docstring)"
    except Exception as exc:  # a peer refusing a configuration is a result, not a crash
        return None, f"{name} failed on {c.id}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


def _cell(v: float | None, fab: float) -> str:
    return "—" if v is None else f"{v:,.0f} ({v / fab:.2f}×)"


def main() -> None:
    rows, notes = [], set()
    for c in CONFIGS:
        fab = fabscope_tps(c)
        g, gn = _try("GenZ", genz_tps, c)
        la, ln = _try("llm-analysis", llm_analysis_tps, c)
        notes.update(n for n in (gn, ln) if n)

        rows.append(f"| {c.id} | {fab:,.0f} | {_cell(g, fab)} | {_cell(la, fab)} |")
    print("| configuration | fabscope tokens/s/chip | GenZ (ratio) | llm-analysis (ratio) |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    for n in sorted(notes):
        print(f"\nnote: {n}")


if __name__ == "__main__":
    main()
