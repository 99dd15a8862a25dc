"""First visit to the Capacity page on a fresh server: ``create_app``, the layout and its five callbacks.

Each run is a fresh interpreter (as a newly started ``fabscope serve``). Printed: the median of
``create_app`` (imports of Dash, Plotly and the pages) and of the first visit (the layout plus the
callbacks it fires: capacity chart, tool demand, tool supply, etch and fab calculators), beside the
baseline of bench/bench_cli_start.py measured in the same run (a fresh Python that imports DuckDB, opens
the warehouse read-only and counts a table). Target: first visit at most 1.5 s.

Run: ``python bench/bench_first_visit.py --db PATH [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

PROBE = """
import json, sys, time
t0 = time.perf_counter()
from app.dashboard.app import create_app
from hardware_sim.fab.process_flows import process_flow_ids
db = sys.argv[1]
app = create_app(db)
t1 = time.perf_counter()
capacity = sys.modules["pages.capacity"]
with app.server.app_context():
    capacity.layout()
    capacity.capacity(db, "company", [], []).card_outputs
    capacity.tool_demand(db, None).card_outputs
    capacity.tool_supply(db, None).card_outputs
    capacity.etch("layers", 232, None, "conventional", 4)
    capacity.fab(process_flow_ids()[0], 50000)
t2 = time.perf_counter()
print(json.dumps({"create_app": t1 - t0, "first_visit": t2 - t1}))
"""
TARGET_S = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    baseline = [
        sys.executable,
        "-c",
        f"import duckdb; duckdb.connect({args.db!r}, read_only=True).execute("
        "'SELECT count(*) FROM prices_daily').fetchall()",
    ]
    runs: dict[str, list[float]] = {"create_app": [], "first_visit": [], "baseline": []}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        subprocess.run(baseline, check=True)
        runs["baseline"].append(time.perf_counter() - t0)
        out = subprocess.run(
            [sys.executable, "-c", PROBE, args.db], check=True, capture_output=True, text=True
        )
        for key, value in json.loads(out.stdout.strip().splitlines()[-1]).items():
            runs[key].append(value)
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"baseline (fresh python, open read-only + count)  {med['baseline']:6.2f} s")
    print(f"create_app (imports Dash, Plotly, pages)          {med['create_app']:6.2f} s")
    print(f"first Capacity visit (layout + 5 callbacks)       {med['first_visit']:6.2f} s")
    verdict = "meets" if med["first_visit"] <= TARGET_S else "MISSES"
    print(f"first visit {verdict} the {TARGET_S:g} s target ({args.repeat} fresh processes, medians)")


if __name__ == "__main__":
    main()
