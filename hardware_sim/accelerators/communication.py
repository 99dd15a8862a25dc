"""Communication of one transformer forward step, per chip (what is sent; ``network`` prices it).

Same conventions as ``hardware_sim.accelerators.operators`` (per chip, per step, vectorised).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardware_sim.accelerators.operators import Layout, ModelArrays, PrecisionArrays


@dataclass(frozen=True)
class CommCost:
    """One communication pattern per chip per step: ``calls`` collectives of ``size_bytes`` over ``group``."""

    name: str
    collective: str  # "all_reduce" | "moe_all_to_all" | "p2p"
    size_bytes: np.ndarray  # per call; for moe_all_to_all: one copy of the chip's tokens
    calls: np.ndarray
    group: np.ndarray
    fanout: np.ndarray | float = 1.0  # copies per token (top-k) for moe_all_to_all


def step_communication(m: ModelArrays, batch, q, layout: Layout, prec: PrecisionArrays) -> list[CommCost]:
    """Communication of one forward step on one chip.

    * TP: two all-reduces of the hidden states per layer (after attention and after the FFN/MoE), each
      over one micro-batch of ``batch*q*tp`` tokens; ``2 * n_layers`` calls per step.
    * EP (MoE layers): dispatch (``top_k`` copies of each owned token's hidden state, FP8 when the model
      runs in 8 bits) and combine (BF16) all-to-alls over ``ep`` chips; one of each per MoE layer.
    * PP: one activation send per micro-batch per stage boundary, over scale-up while the replica's
      ``tp*dp*pp`` chips fit in one scale-up domain, else over scale-out.
    """
    b = np.asarray(batch, dtype=float)
    q = np.asarray(q, dtype=float)
    tp = np.asarray(layout.tp, dtype=float)
    pp = np.asarray(layout.pp, dtype=float)
    ep = layout.ep.astype(float)
    h = m.hidden
    t = b * q
    ones = np.ones_like(t * h)
    moe = m.n_routed_experts > 0
    a2a_calls = np.where(moe & layout.expert_parallel, m.n_moe_layers, 0.0) * ones

    def a2a(name: str, bytes_per_element) -> CommCost:
        """One MoE all-to-all per MoE layer over the EP group: ``top_k`` copies of each owned token."""
        return CommCost(
            name, "moe_all_to_all", t * h * bytes_per_element * ones, a2a_calls, ep * ones, m.top_k
        )

    return [
        CommCost(
            "tp_all_reduce",
            "all_reduce",
            t * tp * h * prec.act_bytes * ones,
            np.where(tp > 1, 2.0 * m.n_layers, 0.0) * ones,
            tp * ones,
        ),
        a2a("ep_dispatch", prec.dispatch_bytes),
        a2a("ep_combine", prec.act_bytes),
        # group = chips the pipeline spans (tp*dp*pp): the send crosses the scale-out network only when the
        # replica does not fit in one scale-up domain (hardware_sim.accelerators.llm compares it with the domain size)
        CommCost(
            "pp_send",
            "p2p",
            t * h * prec.act_bytes * ones,
            np.where(pp > 1, pp - 1.0, 0.0) * ones,
            layout.n_chips.astype(float) * ones,
        ),
    ]
