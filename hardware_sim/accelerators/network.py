"""Collective cost models over a two-level network: scale-up domain + scale-out fabric.

Alpha-beta models (time = latency terms + bytes / effective bandwidth), vectorised over NumPy arrays.
A group of ``p`` chips fills scale-up domains of ``domain`` chips first; groups larger than a domain are
handled hierarchically (inside the domain over scale-up, across domains over scale-out).
Bandwidths are per chip, ONE direction, in bytes/s; sizes in bytes; results in seconds.
"""

from __future__ import annotations

import numpy as np

# Achieved fraction of scale-up link bandwidth: nccl-tests all-reduce bus bandwidth on 8x H100 NVLink is
# ~360-370 GB/s of the 450 GB/s per direction (~0.8); DeepEP reports ~153-158 GB/s intranode on H800
# (of 200 GB/s per direction, ~0.78). Applied to NVLink and UB alike.
SCALEUP_BW_EFF = 0.80
# Achieved fraction of a 400 Gb/s InfiniBand / RoCE port: nccl-tests and DeepEP internode runs reach
# ~40-46 GB/s of 50 GB/s (~0.85-0.9).
SCALEOUT_BW_EFF = 0.85
# Per-step latency of a collective hop inside a scale-up domain, s: NVLink/NVSwitch p2p latency is a few
# microseconds including kernel sync (nccl-tests small-message all-reduce on 8 GPUs ~ 10-20 us over
# ~14 ring steps); CloudMatrix reports sub-microsecond UB hop latency, so this is conservative for UB.
SCALEUP_STEP_LATENCY_S = 1.5e-6
# Per-step latency across the scale-out fabric (IB/RoCE + NIC + PCIe), s: ~ 3-5 us typical RDMA.
SCALEOUT_STEP_LATENCY_S = 4.0e-6
# Fixed launch + synchronisation cost of one all-to-all (dispatch or combine), s: DeepEP's low-latency
# kernels bottom out at tens of microseconds for small EP8 batches; we take the launch share as 10 us.
ALLTOALL_LAUNCH_S = 10e-6

Array = np.ndarray | float | int


def _split(p: Array, domain: Array) -> tuple[np.ndarray, np.ndarray]:
    """Chips per domain used (``d``) and number of domains spanned (``n``) by a group of ``p``."""
    p = np.maximum(np.asarray(p, dtype=float), 1.0)
    d = np.minimum(p, np.asarray(domain, dtype=float))
    n = np.ceil(p / d)
    return d, n


def all_reduce_s(size_bytes: Array, p: Array, bw_up: Array, bw_out: Array, domain: Array) -> np.ndarray:
    """Time of an all-reduce of ``size_bytes`` over ``p`` chips, s.

    Inside one domain: ring, ``2(d-1)/d * S / bw_up``. Across domains: reduce-scatter inside, all-reduce of
    ``S/d`` across the ``n`` domains over scale-out, all-gather inside.
    """
    s = np.asarray(size_bytes, dtype=float)
    d, n = _split(p, domain)
    up = 2.0 * (d - 1.0) / d * s / (np.asarray(bw_up, dtype=float) * SCALEUP_BW_EFF)
    out = 2.0 * (n - 1.0) / n * (s / d) / (np.asarray(bw_out, dtype=float) * SCALEOUT_BW_EFF)
    lat = 2.0 * (d - 1.0) * SCALEUP_STEP_LATENCY_S + 2.0 * (n - 1.0) * SCALEOUT_STEP_LATENCY_S
    return np.where(d * n > 1.0, up + out + lat, 0.0)


def p2p_s(size_bytes: Array, cross_domain: Array, bw_up: Array, bw_out: Array) -> np.ndarray:
    """Point-to-point send of ``size_bytes`` (pipeline stage boundary), s."""
    s = np.asarray(size_bytes, dtype=float)
    cross = np.asarray(cross_domain, dtype=bool)
    up = s / (np.asarray(bw_up, dtype=float) * SCALEUP_BW_EFF) + SCALEUP_STEP_LATENCY_S
    out = s / (np.asarray(bw_out, dtype=float) * SCALEOUT_BW_EFF) + SCALEOUT_STEP_LATENCY_S
    return np.where(cross, out, up)


def moe_all_to_all_s(
    token_bytes: Array,
    fanout: Array,
    p: Array,
    bw_up: Array,
    bw_out: Array,
    domain: Array,
    rdma_eff: float | None = None,
) -> np.ndarray:
    """MoE dispatch (or combine) over ``p`` chips: each chip owns tokens totalling ``token_bytes`` (one copy
    each) and sends every token to ``fanout`` (= top-k) experts placed uniformly over the ``p`` chips.

    Scale-up carries ``fanout * (d-1)/p`` copies per token. Across domains a token crosses the scale-out
    network once per distinct remote domain and is forwarded inside it over scale-up (DeepEP's
    NVLink-forwarding internode kernels): expected distinct domains hit by ``fanout`` uniform picks over
    ``n`` domains is ``n * (1 - (1 - 1/n)**fanout)``, of which ``(n-1)/n`` are remote.

    ``rdma_eff`` (None = ``SCALEOUT_BW_EFF`` on the remote copies) prices the scale-out side as DeepEP's
    README measures its normal kernels: ALL distinct domains of a token (the local one included, as its
    test counts bytes) over ``rdma_eff`` x the line rate.
    """
    s = np.asarray(token_bytes, dtype=float)
    k = np.asarray(fanout, dtype=float)
    pf = np.maximum(np.asarray(p, dtype=float), 1.0)
    d, n = _split(pf, domain)
    up_copies = k * (d - 1.0) / pf
    distinct = n * (1.0 - np.power(1.0 - 1.0 / n, k))
    out_copies = distinct * (n - 1.0) / n
    # tokens received over scale-out are re-forwarded to their experts inside the domain over scale-up
    up_copies = up_copies + np.where(n > 1.0, out_copies, 0.0)
    t_up = s * up_copies / (np.asarray(bw_up, dtype=float) * SCALEUP_BW_EFF)
    if rdma_eff is None:
        t_out = s * out_copies / (np.asarray(bw_out, dtype=float) * SCALEOUT_BW_EFF)
    else:
        t_out = s * distinct / (np.asarray(bw_out, dtype=float) * rdma_eff)
    lat = ALLTOALL_LAUNCH_S + SCALEUP_STEP_LATENCY_S + np.where(n > 1.0, SCALEOUT_STEP_LATENCY_S, 0.0)
    return np.where(pf > 1.0, np.maximum(t_up, t_out) + lat, 0.0)


def moe_all_to_all_ll_s(
    token_bytes: Array, fanout: Array, p: Array, bw_up: Array, bw_out: Array, domain: Array, rdma_eff: float,
    up_eff: Array | None = None,
) -> np.ndarray:  # fmt: skip
    """Low-latency (decode) MoE dispatch or combine over ``p`` chips, s: every one of the ``fanout`` copies
    of a token bound for another rank is sent individually (``fanout * (p-1)/p`` copies per token, no
    forwarding or deduplication, DeepEP's pure-RDMA low-latency kernels). Over scale-up when the group fits
    in one domain (at ``up_eff`` of the link rate; None = ``SCALEUP_BW_EFF``), else over scale-out at
    ``rdma_eff`` of the line rate.
    """
    s = np.asarray(token_bytes, dtype=float)
    pf = np.maximum(np.asarray(p, dtype=float), 1.0)
    copies = np.asarray(fanout, dtype=float) * (pf - 1.0) / pf
    inside = pf <= np.asarray(domain, dtype=float)
    eff = SCALEUP_BW_EFF if up_eff is None else np.asarray(up_eff, dtype=float)
    t_up = s * copies / (np.asarray(bw_up, dtype=float) * eff)
    t_out = s * copies / (np.asarray(bw_out, dtype=float) * rdma_eff)
    lat = ALLTOALL_LAUNCH_S + np.where(inside, SCALEUP_STEP_LATENCY_S, SCALEOUT_STEP_LATENCY_S)
    return np.where(pf > 1.0, np.where(inside, t_up, t_out) + lat, 0.0)
