"""LLM serving and training on a catalogued system (facade).

The model lives in three modules, re-exported here so callers keep one import:

* ``hardware_sim.accelerators.step`` -- one forward step on one chip (:func:`evaluate_step`), hardware
  arrays, default layouts;
* ``hardware_sim.accelerators.serving`` -- prefill / decode (:func:`serve`, MTP, co-location), memory per
  chip, the TPOT search (:func:`search_batch_for_tpot`);
* ``hardware_sim.accelerators.training`` -- :func:`train_step`.

Serving mechanisms and their sources: ``hardware_sim.accelerators.mechanisms``.
"""

from __future__ import annotations

from hardware_sim.accelerators.mechanisms import ServingOptions
from hardware_sim.accelerators.serving import (
    decode_step,
    max_batch,
    memory_per_chip,
    options,
    resolve,
    search_batch_for_tpot,
    serve,
)
from hardware_sim.accelerators.step import (
    BOUNDS,
    DENSE_WEIGHT_SHARE_MAX,
    KERNEL_GAP_S,
    HardwareArrays,
    check_layout,
    default_layout,
    evaluate_step,
    hardware_arrays,
    layout_arg,
)
from hardware_sim.accelerators.training import default_train_layout, train_step

__all__ = [
    "BOUNDS",
    "DENSE_WEIGHT_SHARE_MAX",
    "KERNEL_GAP_S",
    "HardwareArrays",
    "ServingOptions",
    "check_layout",
    "decode_step",
    "default_layout",
    "default_train_layout",
    "evaluate_step",
    "hardware_arrays",
    "layout_arg",
    "max_batch",
    "memory_per_chip",
    "options",
    "resolve",
    "search_batch_for_tpot",
    "serve",
    "train_step",
]
