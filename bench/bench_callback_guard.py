"""What the callback-request check (``app.dashboard.callback_guard``) costs, as a share of the request.

Creates the app on a warehouse, builds the request the renderer sends for every server callback (the
layouts' own values), and times, in the same run: the full ``POST /_dash-update-component`` through Flask's
test client (guard included), and the guard's ``parse_body`` + ``check`` alone on the same bytes. Prints
the ratio of the medians per callback and over all of them; target: the check is <= 5% of a request.
Also the one-off cost of indexing every page layout (paid once per process, page by page on demand).

Run: ``python bench/bench_callback_guard.py --db WAREHOUSE.duckdb [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "app" / "dashboard"))

TARGET_SHARE = 0.05


def _median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)

    from test_callback_fuzz import valid_body

    from app.dashboard import callback_guard
    from app.dashboard.app import create_app

    app = create_app(args.db)
    client = app.server.test_client()
    client.get("/")
    guard = app.server.extensions[callback_guard.EXTENSION_KEY]
    with app.server.test_request_context("/"):
        t0 = time.perf_counter()
        index = guard.index().complete()
        index_ms = (time.perf_counter() - t0) * 1000
        bodies = {
            o: valid_body(index, o, s)
            for o, s in app.callback_map.items()
            if s.get("callback") is not None and not s.get("background")
        }
    total_req = total_check = 0.0
    for output, body in sorted(bodies.items()):
        raw = json.dumps(body).encode()
        req = _median_ms(
            lambda raw=raw: client.post("/_dash-update-component", data=raw, content_type="application/json"),
            args.repeat,
        )
        chk = _median_ms(lambda raw=raw: guard.check(callback_guard.parse_body(raw)), args.repeat)
        total_req, total_check = total_req + req, total_check + chk
        print(f"{output[:60]:60s} request {req:8.2f} ms  check {chk:6.3f} ms  share {chk / req:6.2%}")
    share = total_check / total_req
    print(f"index of every page layout (once per process): {index_ms:.0f} ms")
    print(f"all {len(bodies)} callbacks: check {total_check:.2f} ms of {total_req:.1f} ms = {share:.2%}")
    print("meets the target" if share <= TARGET_SHARE else f"above the {TARGET_SHARE:.0%} target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
