"""A fresh server's first visit to the Capacity page builds nothing heavy (timings: docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = {"scipy", "sklearn", "dagster", "statsmodels", "pandas"}


def test_create_app_and_the_first_capacity_visit_import_no_heavy_library(refreshed_db: Path) -> None:
    code = f"""
import json, sys
from app.dashboard.app import create_app
from hardware_sim.fab.process_flows import process_flow_ids
db = {str(refreshed_db)!r}
app = create_app(db)
capacity = sys.modules["pages.capacity"]
with app.server.app_context():
    capacity.layout()
    capacity.capacity(db, "company", [], []).card_outputs
    capacity.etch("layers", 232, None, "conventional", 4)  # the Clausing table ships precomputed
    capacity.fab(process_flow_ids()[0], 50000)
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out.strip().splitlines()[-1]))
    assert not loaded & HEAVY, sorted(loaded & HEAVY)
