"""A pytest plugin that records every quarantine row and refusal the readers produce during a test run.

Issue 15 replaces the drop and reference-file readers with DuckDB's ``read_csv``; the quarantine rows of
the damaged files in the test suite must stay the same (file, line, field, reason) or get better. Run the
damaged-file tests once before and once after a change, then compare the two snapshots::

    PYTHONPATH=$PWD python -m pytest -q -p no:cacheprovider -n 0 -p bench.capture_quarantine \
        --hypothesis-seed=0 tests/pipelines tests/app/test_refresh.py   # writes $QUARANTINE_SNAPSHOT
    python bench/capture_quarantine.py before.json after.json             # prints the differences

Recorded at the readers' outer entry points (``read_drop``, ``read_price_file``, ``read_csv_validated``,
``ReferenceSpec.load``), outermost call only, per test; temporary paths are normalised so two runs compare.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import threading
from pathlib import Path
from typing import Any

_LOCAL = threading.local()
_EVENTS: dict[str, list[list[Any]]] = {}
_CURRENT = {"test": "(collection)"}
_TMP = (
    (re.compile(r"/tmp/pytest-of-[^/]+/pytest-\d+/"), "<tmp>/"),
    (re.compile(r"/tmp/tmp[A-Za-z0-9_]+"), "<tmpdir>"),
    (re.compile(r"/work/(?:wt/[^/]+|main)/|/tmp/csvread_base/"), "<repo>/"),
)


def _norm(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    for pattern, repl in _TMP:
        value = pattern.sub(repl, value)
    return value


def _record_validation(v: Any) -> None:
    events = _EVENTS.setdefault(_CURRENT["test"], [])
    for r in v.quarantine.iter_rows(named=True):
        events.append(
            ["q", _norm(v.source_file), r["row"], r["field"], _norm(r["value"]), _norm(r["reason"])]
        )


def _record(result: Any) -> None:
    events = _EVENTS.setdefault(_CURRENT["test"], [])
    if hasattr(result, "validations"):
        for v in result.validations:
            _record_validation(v)
        for path, why in sorted(result.refused_files.items()):
            events.append(["refused", _norm(path), _norm(why)])
    elif hasattr(result, "validation"):
        _record_validation(result.validation)
    elif hasattr(result, "quarantine"):
        _record_validation(result)


def _wrap(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_LOCAL, "depth", 0)
        _LOCAL.depth = depth + 1
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            if depth == 0:
                _EVENTS.setdefault(_CURRENT["test"], []).append(
                    ["error", type(exc).__name__, _norm(str(exc))]
                )
            raise
        finally:
            _LOCAL.depth = depth
        if depth == 0:
            _record(result)
        return result

    wrapper.__wrapped_by_capture__ = True  # type: ignore[attr-defined]
    return wrapper


def _install() -> None:
    import pipelines.reference_schema as reference_schema
    import pipelines.sources.prices.csv_drop as csv_drop
    import pipelines.sources.screening_list as screening_list
    import pipelines.validation as validation

    for mod, name in (
        (csv_drop, "read_drop"),
        (csv_drop, "read_price_file"),
        (validation, "read_csv_validated"),
        (reference_schema, "read_csv_validated"),
        (screening_list, "read_csv_validated"),
    ):
        if hasattr(mod, name):
            setattr(mod, name, _wrap(getattr(mod, name)))
    reference_schema.ReferenceSpec.load = _wrap(reference_schema.ReferenceSpec.load)


def pytest_configure(config: Any) -> None:
    _install()


def pytest_runtest_setup(item: Any) -> None:
    _CURRENT["test"] = item.nodeid


def pytest_unconfigure(config: Any) -> None:
    Path(_snapshot_path()).write_text(json.dumps(_EVENTS, indent=1, sort_keys=True, ensure_ascii=False))


def _snapshot_path() -> str:
    import os  # bench/ is not the package: the settings-only rule covers fabscope's own modules

    return os.environ.get("QUARANTINE_SNAPSHOT", "quarantine_snapshot.json")


def compare(before: dict[str, list], after: dict[str, list]) -> list[str]:
    """One line per test whose recorded quarantine rows or refusals differ (missing / added events)."""
    out = []
    for test in sorted(set(before) | set(after)):
        b = [tuple(e) for e in before.get(test, [])]
        a = [tuple(e) for e in after.get(test, [])]
        if sorted(map(repr, b)) == sorted(map(repr, a)):
            continue
        gone = [e for e in b if e not in a]
        new = [e for e in a if e not in b]
        out.append(f"== {test}")
        out.extend(f"  - {e}" for e in gone[:20])
        out.extend(f"  + {e}" for e in new[:20])
        if len(gone) > 20 or len(new) > 20:
            out.append(f"  ... {len(gone)} removed, {len(new)} added in all")
    return out


if __name__ == "__main__":
    before, after = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    diff = compare(before, after)
    print("\n".join(diff) if diff else "identical")
    n_b = sum(len(v) for v in before.values())
    n_a = sum(len(v) for v in after.values())
    print(f"events: before {n_b}, after {n_a}; tests differing: {sum(1 for d in diff if d.startswith('=='))}")
