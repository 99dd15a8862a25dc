"""Fast start: wall time of fresh ``fabscope`` processes against a bare Python that opens the warehouse.

The baseline (timed in the same run, interleaved with the commands so that machine load hits both alike)
is a fresh interpreter that imports DuckDB, opens the warehouse read-only and counts ``prices_daily``: the
least any command that reads the warehouse can cost. Every command runs in a fresh process, so each
``sim etch`` is a first one (the Clausing table ships precomputed in hardware_sim/data). Prints the median
wall time of each and its ratio to the baseline's median (target: at most 3x).

Run: ``python bench/bench_cli_start.py [--db PATH] [--repeat N]`` (without ``--db``: $FABSCOPE_DB if that
file exists, else a warehouse refreshed from the bundled data into a temp folder, ~30 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("status", "--json"),
    ("sim", "chip", "h20", "--json"),
    ("sim", "system", "gb200-nvl72", "--json"),
    ("sim", "list", "--json"),
    ("sim", "llm", "--system", "hgx-h20-8", "--model", "llama-3-70b", "--phase", "decode", "--json"),
    ("sim", "etch", "--layers", "232", "--json"),
)
TARGET_RATIO = 3.0


def _fabscope() -> list[str]:
    """The console script beside this interpreter (what users run), else ``python -m app.cli``."""
    script = Path(sys.executable).with_name("fabscope")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def _baseline(db: Path) -> list[str]:
    code = (
        "import duckdb\n"
        f"con = duckdb.connect({str(db)!r}, read_only=True)\n"
        "con.execute('SELECT count(*) FROM prices_daily').fetchall()\n"
    )
    return [sys.executable, "-c", code]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wall(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one fresh process; its CPU seconds (user + system) are added to ``_CPU``."""
    t0, c0 = time.perf_counter(), _children_cpu()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _CPU.append(_children_cpu() - c0)
    return time.perf_counter() - t0


_CPU: list[float] = []  # CPU seconds of the last process run by _wall (resource.getrusage of children)


def _warehouse(db: str | None, tmp: Path) -> Path:
    if db:
        return Path(db)
    env_db = os.environ.get("FABSCOPE_DB")
    if env_db and Path(env_db).is_file():
        return Path(env_db)
    path = tmp / "fabscope.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(tmp / "dagster")}
    print(f"refreshing a warehouse from the bundled data into {path} ...", file=sys.stderr)
    subprocess.run(
        [*_fabscope(), "refresh", "--db", str(path)], env=env, check=True, stderr=subprocess.DEVNULL
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fabscope-bench-cli-"))
    try:
        db = _warehouse(args.db, tmp)
        env = {**os.environ, "FABSCOPE_DB": str(db)}
        fabscope = _fabscope()
        runs: dict[str, list[float]] = {"baseline": []} | {" ".join(c): [] for c in COMMANDS}
        cpu: dict[str, list[float]] = {k: [] for k in runs}
        for argv in (_baseline(db), *([*fabscope, *c] for c in COMMANDS)):  # warm the page cache once
            _wall(argv, env)
        for _ in range(args.repeat):
            for command in COMMANDS:  # interleaved: the baseline is re-timed beside every command
                runs["baseline"].append(_wall(_baseline(db), env))
                cpu["baseline"].append(_CPU[-1])
                runs[" ".join(command)].append(_wall([*fabscope, *command], env))
                cpu[" ".join(command)].append(_CPU[-1])
        base = statistics.median(runs["baseline"])
        base_cpu = statistics.median(cpu["baseline"])
        print(
            f"baseline (python: import duckdb, open {db.name} read-only, count prices_daily); load {os.getloadavg()[0]:.1f}"
        )
        print(f"{'command':<86} {'median s':>9} {'ratio':>6} {'cpu s':>7} {'ratio':>6}")
        print(f"{'baseline':<86} {base:9.3f} {1.0:6.2f} {base_cpu:7.3f} {1.0:6.2f}")
        worst = 0.0
        for command in COMMANDS:
            name = " ".join(command)
            t = statistics.median(runs[name])
            worst = max(worst, t / base)
            c = statistics.median(cpu[name])
            print(f"{'fabscope ' + name:<86} {t:9.3f} {t / base:6.2f} {c:7.3f} {c / base_cpu:6.2f}")
        verdict = "meets" if worst <= TARGET_RATIO else "MISSES"
        print(f"worst ratio {worst:.2f}x: {verdict} the {TARGET_RATIO:g}x target ({args.repeat} runs each)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
