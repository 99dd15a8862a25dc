"""Chip-for-chip equivalence: how many accelerators of one system replace N of another for LLM serving.

Answers "how many Ascend 910C replace N H100s for DeepSeek-R1?" and "what does the H20 ban cost a Chinese
lab in tokens/s?". Both sides serve the same model at the same decode TPOT target (ms): each runs the
largest batch per chip meeting it (:func:`hardware_sim.llm.search_batch_for_tpot`, default layout), and

    chips_to = ceil(n_from * tokens_per_s_per_chip_from / tokens_per_s_per_chip_to)

Decode throughput only (prefill capacity is not matched; with PD disaggregation it is a separate pool).
Power is the facility power of :func:`hardware_sim.power.system_record` (kW, incl. PUE) scaled
**pro rata per chip** (``power_kw / chips`` x chips); the power of the whole systems you would have to buy
is given beside it. All figures inherit the roofline's optimism (see docs/methodology-accelerators.md,
"Validation"): read the ratios, not the absolute tokens/s.
"""

from __future__ import annotations

import math
from typing import Any

from fabscope.errors import InputError, NotFoundError
from hardware_sim.accelerators import catalog, llm, power
from hardware_sim.accelerators.roofline import PRECISIONS, precision

# Ratios within this relative tolerance of a whole number are not rounded up (float noise in N x 1.0).
_CEIL_RTOL = 1e-9


def serving_precision(system_id: str, model_id: str) -> tuple[str, str]:
    """Precision ``system_id`` serves ``model_id`` at by default, and the rule that chose it.

    The model's native precision (the one its weights are released in) if the chip has a tensor path for
    it; otherwise the 8-bit-or-wider precision with a tensor path that stores the fewest bytes per weight
    (e.g. DeepSeek-R1, FP8-native, on Ascend 910C, which has no FP8 units -> INT8 W8A8, as
    CloudMatrix-Infer, arXiv 2506.12708, serves it). BF16 is always available.
    """
    native = catalog.get_llm(model_id).native_precision
    chip = catalog.get_chip(catalog.get_system(system_id).chip_id)

    def has_path(p: str) -> bool:
        v = chip.value(precision(p).peak_key)
        return v is not None and v > 0

    if has_path(native):
        return native, f"model's native precision {native} (chip {chip.id} has a {native} tensor path)"
    floor = precision(native).weight_bytes
    options = [p for p in PRECISIONS if has_path(p) and precision(p).weight_bytes >= floor]
    best = min(options, key=lambda p: (precision(p).weight_bytes, PRECISIONS.index(p)))
    return best, (
        f"chip {chip.id} has no {native} tensor path (model's native precision): "
        f"its narrowest supported precision {best} instead"
    )


def _ceil(x: float) -> int:
    r = round(x)
    return int(r) if abs(x - r) <= _CEIL_RTOL * max(1.0, abs(x)) else math.ceil(x)


def _side(
    system_id: str,
    model_id: str,
    tpot_ms: float,
    input_len: int,
    output_len: int,
    prec: str | None,
    options_kw: dict[str, Any],
) -> dict[str, Any]:
    if prec is None:
        used, rule = serving_precision(system_id, model_id)
    else:
        used, rule = prec, f"{prec} requested for both sides"
    res = llm.search_batch_for_tpot(system_id, model_id, tpot_ms, input_len, output_len, used, **options_kw)
    if not (res["meets_target"] and res["fits_memory"]):
        raise InputError(
            f"{system_id} cannot serve {model_id} at {used} within TPOT {tpot_ms:g} ms "
            f"(batch 1: TPOT {res['tpot_ms']:.1f} ms, fits memory: {res['fits_memory']}); "
            "raise --tpot-ms or change --precision"
        )
    rec = power.system_record(system_id)
    return {
        "system": system_id,
        "chip": res["chip"],
        "precision": used,
        "precision_rule": rule,
        "batch": res["batch"],
        "tpot_ms": res["tpot_ms"],
        "bound": res["bound"],
        "layout": res["layout"],
        "chips_in_replica": res["chips_in_replica"],
        "tokens_per_s_per_chip": res["tokens_per_s_per_chip"],
        "chips_per_system": int(rec["chips"]),
        "system_power_kw": float(rec["power_kw"]),
        "power_kw_per_chip": float(rec["power_kw"]) / rec["chips"],
    }


def _scale(side: dict[str, Any], chips: int) -> dict[str, Any]:
    systems = _ceil(chips / side["chips_per_system"])
    power_kw = side["power_kw_per_chip"] * chips
    tps = side["tokens_per_s_per_chip"] * chips
    return {
        **side,
        "chips": chips,
        "systems": systems,
        "tokens_per_s": tps,
        "power_kw": power_kw,
        "power_kw_whole_systems": side["system_power_kw"] * systems,
        "tokens_per_s_per_kw": tps / power_kw,
    }


def replacement(
    model_id: str,
    from_system: str,
    to_system: str,
    n_from_chips: int,
    tpot_ms: float = 50.0,
    input_len: int = 2048,
    output_len: int = 512,
    prec: str | None = None,
    **options_kw: Any,
) -> dict[str, Any]:
    """Chips (and whole systems) of ``to_system`` needed to match the decode tokens/s of ``n_from_chips``.

    ``options_kw`` are serving-mechanism options applied to both sides (``mtp``, ``acceptance``,
    ``moe_routing``, ``ep_overlap``, ``serving``, ``kv_precision``; see ``llm.serve``).

    ``tpot_ms`` is the decode latency target (ms/token) on both sides; ``input_len``/``output_len`` are tokens
    per request. ``prec`` (bf16 | fp8 | int8) forces one precision on both sides; ``None`` lets each side use
    :func:`serving_precision` (stated per side in ``precision_rule``).

    Returns ``model``, ``tpot_target_ms``, ``from`` and ``to`` (per side: ``precision``, ``precision_rule``,
    ``batch``, ``tokens_per_s_per_chip``, ``chips``, ``systems`` (whole systems, rounded up), ``tokens_per_s``,
    ``power_kw`` (pro-rata per chip, facility incl. PUE), ``power_kw_whole_systems``, ``tokens_per_s_per_kw``),
    ``chips_per_from_chip`` (exact ratio), ``to_chips_needed`` (rounded up), ``to_systems_needed``,
    ``power_ratio_to_over_from`` (pro-rata kW), ``power_basis`` and ``notes``.
    Raises NotFoundError for unknown ids, InputError for impossible values or a target a side cannot meet.
    """
    if isinstance(n_from_chips, bool) or int(n_from_chips) != n_from_chips or n_from_chips < 1:
        raise InputError(f"n_from_chips must be a whole number >= 1, got {n_from_chips}")
    if not tpot_ms > 0:
        raise InputError(f"tpot_ms must be > 0, got {tpot_ms}")
    if input_len < 1 or output_len < 1:
        raise InputError(f"input_len and output_len must be >= 1, got {input_len}, {output_len}")
    if prec is not None and prec not in PRECISIONS:
        raise NotFoundError(f"unknown precision {prec!r}; valid: {', '.join(PRECISIONS)}")
    catalog.get_llm(model_id)  # NotFoundError naming the valid ids
    src = _side(from_system, model_id, tpot_ms, input_len, output_len, prec, options_kw)
    dst = _side(to_system, model_id, tpot_ms, input_len, output_len, prec, options_kw)
    ratio = src["tokens_per_s_per_chip"] / dst["tokens_per_s_per_chip"]
    n = int(n_from_chips)
    need = _ceil(n * ratio)
    a, b = _scale(src, n), _scale(dst, need)
    return {
        "model": model_id,
        "tpot_target_ms": float(tpot_ms),
        "input_len": int(input_len),
        "output_len": int(output_len),
        "from": a,
        "to": b,
        "n_from_chips": n,
        "chips_per_from_chip": ratio,
        "to_chips_needed": need,
        "to_systems_needed": b["systems"],
        "power_ratio_to_over_from": b["power_kw"] / a["power_kw"],
        "power_basis": "pro-rata per chip: system_record(id).power_kw / chips x chips (facility kW incl. PUE); "
        "power_kw_whole_systems counts every chip of the rounded-up systems",
        "notes": [
            "decode tokens/s only, largest batch per chip meeting the TPOT target, default layout per system",
            "the model over-predicts published large-scale DeepSeek serving (geometric mean ~1.5x, up to "
            "~2.7x for prefill; fabscope sim validate): trust the ratio more than the absolute tokens/s",
            "serving replicas are chips_in_replica chips; a real deployment rounds to whole replicas too",
        ],
    }


def h20_ban_cost(
    n_h20_chips: int,
    model_id: str = "deepseek-r1",
    to_system: str = "cloudmatrix-384",
    tpot_ms: float = 50.0,
    input_len: int = 2048,
    output_len: int = 512,
) -> dict[str, Any]:
    """The H20 ban as a worked use of :func:`replacement`: tokens/s a lab forgoes without ``n_h20_chips`` H20s.

    ``replacement(model_id, "hgx-h20-8", to_system, n_h20_chips, ...)`` plus ``tokens_per_s_forgone``
    (decode tokens/s the H20s would have served) and ``tokens_per_s_per_replacement_chip_ratio``
    (tokens/s of one ``to_system`` chip over one H20 at the same target).
    """
    res = replacement(model_id, "hgx-h20-8", to_system, n_h20_chips, tpot_ms, input_len, output_len)
    res["tokens_per_s_forgone"] = res["from"]["tokens_per_s"]
    res["tokens_per_s_per_replacement_chip_ratio"] = 1.0 / res["chips_per_from_chip"]
    return res
