"""From wafer starts to good accelerators: dies per wafer, die yield, packaging yield and HBM supply.

    good dies / month      = logic WSPM × gross dies per wafer × die yield
    logic-limited / month  = good dies / dies per accelerator × packaging yield
    HBM-limited / month    = HBM stacks / stacks per accelerator × packaging yield
    accelerators / month   = min(logic-limited, HBM-limited); HBM binds where HBM-limited < logic-limited

Everything broadcasts (NumPy), so a capacity scenario can be a grid of WSPM × defect density × HBM supply.
Units: wafers per month (300 mm unless ``wafer_diameter_mm`` says otherwise), mm², defects/cm², stacks/month.
"""

from __future__ import annotations

import numpy as np

from fabscope.errors import InputError
from hardware_sim.fab.yield_ import die_yield, dies_per_wafer


def good_accelerators_per_month(
    logic_wspm,
    die_area_mm2,
    defect_density_per_cm2,
    hbm_stacks_per_month,
    stacks_per_accelerator=8,
    dies_per_accelerator=1,
    packaging_yield=0.9,
    wafer_diameter_mm=300.0,
    edge_exclusion_mm=3.0,
    yield_model="murphy",
) -> dict[str, np.ndarray]:
    """Good accelerators per month from logic wafer starts and HBM stack supply (broadcast arrays).

    ``hbm_stacks_per_month`` may be ``np.inf`` for "HBM not constrained". ``packaging_yield`` is the share
    of assembled packages (logic dies + HBM stacks) that pass final test. Returns arrays for
    ``good_dies_per_month``, ``logic_limited_per_month``, ``hbm_limited_per_month``,
    ``accelerators_per_month`` and ``hbm_binds`` (bool: HBM is the binding constraint).
    """
    wspm = np.asarray(logic_wspm, dtype=float)
    stacks = np.asarray(hbm_stacks_per_month, dtype=float)
    per_acc_stacks = np.asarray(stacks_per_accelerator, dtype=float)
    per_acc_dies = np.asarray(dies_per_accelerator, dtype=float)
    pkg = np.asarray(packaging_yield, dtype=float)
    if np.any(wspm < 0) or np.any(stacks < 0):
        raise InputError("wafer starts and HBM stacks must be >= 0")
    if np.any(per_acc_stacks <= 0) or np.any(per_acc_dies <= 0):
        raise InputError("stacks and dies per accelerator must be > 0")
    if np.any((pkg < 0) | (pkg > 1)):
        raise InputError("packaging yield must be in [0, 1]")
    gross = dies_per_wafer(die_area_mm2, wafer_diameter_mm, edge_exclusion_mm)
    good_dies = wspm * gross * die_yield(die_area_mm2, defect_density_per_cm2, yield_model)
    logic_limited = good_dies / per_acc_dies * pkg
    hbm_limited = stacks / per_acc_stacks * pkg
    logic_limited, hbm_limited = np.broadcast_arrays(logic_limited, hbm_limited)
    return {
        "good_dies_per_month": np.broadcast_to(good_dies, logic_limited.shape).astype(float),
        "logic_limited_per_month": logic_limited.astype(float),
        "hbm_limited_per_month": hbm_limited.astype(float),
        "accelerators_per_month": np.minimum(logic_limited, hbm_limited),
        "hbm_binds": hbm_limited < logic_limited,
    }
