"""Benchmark: market refresh of a 2M-row CSV drop vs DuckDB's own read_csv of the same file.

Generates a canonical drop file (date,ticker,close,open,high,low,volume; 400 tickers × 5,000
weekdays = 2,000,000 rows, half A-shares so the FX join runs) in a temp folder, then times in
the same run:
  baseline  duckdb.read_csv(file) materialised to Arrow;
  core      pipelines.sources.prices.csv_drop.read_drop (validate, adjust) + to_usd + store into a
            fresh warehouse (one transaction);
  refresh   dg.materialize of tickers, fx_daily and prices_daily with csv:DIR (Dagster run, staging
            copy, blocking checks not included, atomic publish).
Prints each time and its ratio to the baseline. Run: python bench/bench_csv_drop.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_TICKERS = 400
N_DAYS = 5_000


def make_drop(folder: Path) -> Path:
    days = pl.date_range(date(2000, 1, 3), date(2030, 12, 31), "1d", eager=True)
    days = days.filter(days.dt.weekday() <= 5).head(N_DAYS)
    tickers = [f"{600000 + i}.SS" if i % 2 else f"T{i:04d}" for i in range(N_TICKERS)]
    rng = np.random.default_rng(7)
    n = N_TICKERS * N_DAYS
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (N_TICKERS, N_DAYS)), axis=1)).ravel()
    frame = pl.DataFrame(
        {
            "date": pl.concat([days] * N_TICKERS),
            "ticker": np.repeat(tickers, N_DAYS),
            "close": close.round(4),
            "open": (close * 1.001).round(4),
            "high": (close * 1.01).round(4),
            "low": (close * 0.99).round(4),
            "volume": rng.integers(1_000, 10_000_000, n),
        }
    )
    path = folder / "prices.csv"
    frame.write_csv(path)
    # the tickers are not in the bundled universe: the drop declares them (price_rules.DECLARATION_FILE)
    declared = pl.DataFrame(
        {"ticker": tickers, "currency": ["CNY" if t.endswith(".SS") else "USD" for t in tickers]}
    )
    declared.write_csv(folder / "declared_tickers.csv")
    return path


def timed(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of one call; CPU = this process's user+system time (``time.process_time``:
    DuckDB's and Polars' worker threads included), the fairer figure on a machine shared with other jobs."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fabscope-bench-") as tmp:
        tmp_path = Path(tmp)
        os.environ["DAGSTER_HOME"] = str(tmp_path / "dagster")
        (tmp_path / "dagster").mkdir()
        (tmp_path / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        drop = tmp_path / "drop"
        drop.mkdir()
        path = make_drop(drop)
        size_mb = path.stat().st_size / 1e6

        import dagster as dg

        from pipelines.assets.market import fx_daily, market_run_config, prices_daily, tickers
        from pipelines.market_store import store_prices
        from pipelines.resources import run_resources
        from pipelines.sources.fx import sample_fx, to_usd
        from pipelines.sources.prices.csv_drop import read_drop
        from pipelines.warehouse import Warehouse

        baseline = timed(lambda: duckdb.read_csv(str(path)).to_arrow_table())

        def core() -> None:
            res = read_drop(drop)
            assert res.frame.height == N_TICKERS * N_DAYS, res.summary()
            frame = to_usd(res.frame, sample_fx(date(2000, 1, 1), date(2020, 12, 31)))
            with Warehouse(tmp_path / "core.duckdb").write() as con:
                store_prices(con, frame, "csv", None)

        core_s = timed(core)

        db = tmp_path / "w.duckdb"

        def refresh() -> None:
            result = dg.materialize(
                [tickers, fx_daily, prices_daily],
                resources=run_resources(db),
                run_config=market_run_config(f"csv:{drop}"),
                raise_on_error=False,
            )
            assert result.success

        refresh_s = timed(refresh)
        rows = (
            Warehouse(db).query("SELECT count(*) AS n FROM prices_daily WHERE provider = 'csv'")["n"].item()
        )
        assert rows == N_TICKERS * N_DAYS, rows

    print(
        f"csv drop: {N_TICKERS * N_DAYS:,} rows, {size_mb:.0f} MB, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print(f"  {'':36} {'wall s':>7} {'ratio':>6} {'cpu s':>7} {'ratio':>6}")
    for name, (wall, cpu), target in (
        ("duckdb.read_csv (baseline)", baseline, None),
        ("read_drop + FX + store (core)", core_s, 2.5),
        ("dg.materialize market refresh", refresh_s, 3.0),
    ):
        verdict = (
            ""
            if target is None
            else ("  meets" if wall / baseline[0] <= target else "  MISSES") + f" {target}x"
        )
        print(
            f"  {name:36} {wall:7.2f} {wall / baseline[0]:5.1f}x {cpu:7.2f} {cpu / baseline[1]:5.1f}x{verdict}"
        )


if __name__ == "__main__":
    main()
