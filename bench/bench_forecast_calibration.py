"""Structural calibration report: 2025 shares under the prior, the posterior and an as-of-2024 vintage.

For the baseline scenario, prints the 2025 AI-accelerator domestic share (units and H100e), domestic
units, Huawei units, HBM and WFE shares: p10/p50/p90 under the prior (no calibration), under the
posterior given every observation (in-sample), and under the posterior calibrated as of 2024-12-31
and as of 2025-12-31 (only observations and priors published by then: the 2025 figures, all
published in 2026, are out of sample), next to
the published 2025 figures. Also the sampler's ESS, R-hat and wall/CPU time.

    python bench/bench_forecast_calibration.py [--n-paths N]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from models.calibration import calibrate, vintage_scenario
from models.montecarlo import structural_outputs
from models.observations import as_of
from models.scenarios import SCENARIO_DIR, load_scenario
from pipelines.sources.reference import REFERENCE_FILES

ROWS = (  # label, segment, output
    ("AI unit share", "ai_accelerators", "unit_share"),
    ("AI H100e share", "ai_accelerators", "share"),
    ("domestic units (M)", "ai_accelerators", "domestic_units"),
    ("Huawei-class units (M)", "ai_accelerators", "hbm_class_domestic"),
    ("foreign units (M)", "ai_accelerators", "foreign_units"),
    ("HBM share", "hbm", "share"),
    ("WFE share", "wfe", "share"),
)
PUBLISHED = {  # 2025 figures: observations.csv (IDC via Reuters 2026-04-01; Jiemian 2026-01-09) and outlooks
    "AI unit share": "0.41 (IDC)",
    "AI H100e share": "0.37-0.43 (outlooks)",
    "domestic units (M)": "1.65 (IDC)",
    "Huawei-class units (M)": "0.81 (IDC)",
    "foreign units (M)": "2.36 (IDC: Nvidia 2.2 + AMD 0.16)",
    "HBM share": "~0 (Counterpoint)",
    "WFE share": "0.35 (Jiemian)",
}


def band(paths: np.ndarray, scale: float) -> str:
    q = np.quantile(paths, (0.1, 0.5, 0.9)) / scale
    return f"{q[1]:.3f} ({q[0]:.3f}-{q[2]:.3f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-paths", type=int, default=20_000)
    n = ap.parse_args().n_paths
    obs = REFERENCE_FILES["observations"].load().good
    base = load_scenario(SCENARIO_DIR / "baseline.yaml")
    runs = {"prior": (base, None)}
    vintages = [("posterior", base, obs, None)]
    for cut in (date(2024, 12, 31), date(2025, 12, 31)):  # the 2025 figures were published in 2026
        vintages.append((f"as of {cut}", vintage_scenario(base, cut, "baseline.yaml"), as_of(obs, cut), cut))
    for label, scen, frame, day in vintages:
        t0, c0 = time.perf_counter(), time.process_time()
        res = calibrate(scen, frame, as_of=day, seed=base.seed)
        print(
            f"{label}: {res.n_observations} observations, ESS {res.ess:.0f} (floor {res.ess_floor:.0f}), "
            f"R-hat {res.rhat:.3f}, wall {time.perf_counter() - t0:.1f} s, CPU {time.process_time() - c0:.1f} s"
        )
        runs[label] = (scen, res)
    outs = {k: structural_outputs(s, n_paths=n, calibration=r) for k, (s, r) in runs.items()}
    j = int(np.searchsorted(base.horizon.years, 2025))
    print(f"\n2025, p50 (p10-p90), {n} paths")
    print(f"{'':24s}" + "".join(f"{k:>24s}" for k in outs) + "   published")
    for label, seg, key in ROWS:
        scale = 1e6 if "(M)" in label else 1.0
        cells = "".join(f"{band(o[seg][key][:, j], scale):>24s}" for o in outs.values())
        print(f"{label:24s}{cells}   {PUBLISHED[label]}")


if __name__ == "__main__":
    main()
