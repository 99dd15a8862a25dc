"""Cost of the atomic publish: a staged write (copy → write → checkpoint → rename) vs the same write in place.

Both write the same 100,000 price rows into a warehouse that already holds N rows; the in-place
write (one read-write connection on the file, which would lock out readers) is the baseline.
Prints the ratio for a few warehouse sizes. Run: ``python bench/bench_publish.py``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.warehouse import Warehouse, migrate, replace_rows

KEY = ("date", "ticker")


def _prices(n: int, ticker_prefix: str) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    days = n // 100
    return pl.DataFrame(
        {
            "date": pl.Series([date(2000, 1, 3) + timedelta(days=i) for i in range(days)])
            .repeat_by(100)
            .explode(),
            "ticker": [f"{ticker_prefix}{i}" for i in range(100)] * days,
            "close": rng.uniform(1, 500, days * 100),
            "currency": ["USD"] * (days * 100),
            "provider": ["bench"] * (days * 100),
            "source": ["bench"] * (days * 100),
        }
    )


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    batch = _prices(100_000, "NEW")
    print(f"{'stored rows':>12} {'file MB':>8} {'in place s':>11} {'staged+publish s':>17} {'ratio':>6}")
    for stored in (100_000, 1_000_000, 3_000_000):
        with tempfile.TemporaryDirectory() as tmp:
            wh = Warehouse(Path(tmp) / "w.duckdb")
            with wh.write() as con:
                replace_rows(con, "prices_daily", _prices(stored, "OLD"))
            inplace = Path(tmp) / "inplace.duckdb"
            shutil.copyfile(wh.path, inplace)

            def in_place(inplace: Path = inplace) -> None:
                con = duckdb.connect(str(inplace))
                try:
                    migrate(con)
                    replace_rows(con, "prices_daily", batch, key=KEY)
                    con.execute("CHECKPOINT")
                finally:
                    con.close()

            def staged(wh: Warehouse = wh) -> None:
                with wh.write() as con:
                    replace_rows(con, "prices_daily", batch, key=KEY)

            t_in, t_st = _best(in_place), _best(staged)
            mb = wh.path.stat().st_size / 1e6
            print(f"{stored:>12,} {mb:>8.1f} {t_in:>11.3f} {t_st:>17.3f} {t_st / t_in:>5.2f}x")


if __name__ == "__main__":
    main()
