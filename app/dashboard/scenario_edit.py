"""Scenario editor logic: levers on a shipped scenario, validated uploads, the stored rerun.

The editor starts from a shipped scenario (``models/scenarios/*.yaml``), resolved with its
``extends`` chain, and applies *levers*: a multiplier on one parameter's distribution
(every location/scale number of it, in the base values **and** in every dated regime,
so a lever still acts after a regime switch). Fraction-valued parameters are clipped to
[0, 1] after scaling. The result is plain YAML text — what is shown in the editor, stored
with the run (``scenario_runs.yaml``) and validated by ``models.scenarios.load_scenario``.

Uploads are size-limited (:data:`MAX_UPLOAD_BYTES`, checked on the decoded bytes, not only
by the browser), must be UTF-8 YAML named ``*.yaml``/``*.yml``, may only ``extends`` a
shipped scenario by file name, and must pass the scenario schema.

Reruns go through the warehouse's single writer: ``Warehouse(db).write()`` (file lock +
staging copy + atomic publish) and ``pipelines.forecast_store.run_and_store_scenario``.
From the dashboard they run in a fresh Python process (:func:`rerun_in_subprocess`):
Dash's background jobs are *forked* from the threaded web server, and Polars/DuckDB
thread pools are not fork-safe (a forked child can deadlock on a lock held by a thread
that no longer exists). ``python -m app.dashboard.scenario_edit`` is that process; it
prints one JSON line per progress step and a final ``{"result": ...}`` or ``{"error": ...}``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.dashboard.errors import error_text
from fabscope.errors import InputError

MAX_UPLOAD_BYTES = 64 * 1024
"""Largest scenario file accepted from the browser (64 KiB; shipped scenarios are ~5 KiB)."""
BROWSER_UPLOAD_BYTES = 16 * MAX_UPLOAD_BYTES
"""Largest file the browser sends at all (1 MiB). Files between the two limits reach the server and
get a readable "N bytes; the limit is 65,536" message; only absurd files are dropped unsent."""
DEFAULT_PATHS = 2000
"""Monte Carlo paths for a dashboard rerun (shipped runs use 10,000; 2,000 keeps a rerun interactive)."""
MAX_PATHS = 20000
"""Upper bound on paths for a dashboard rerun (keeps the single writer lock short)."""
LEVER_MIN, LEVER_MAX, LEVER_STEP = 0.0, 3.0, 0.05
"""Lever multiplier range (×0 … ×3)."""

EDITOR_LEVERS: tuple[str, ...] = (
    "demand_growth",
    "efficiency_gain",
    "smic_advanced_growth",
    "smic_advanced_wspm_cap",
    "foreign_accelerators",
    "foreign_preference",
    "domestic_hbm_growth",
    "foreign_hbm_decline",
    "domestic_wfe_growth",
    "foreign_wfe_access",
)
"""Parameters exposed as sliders (the policy- and capacity-sensitive ones); others via the YAML."""

_SCALED_FIELDS = ("value", "low", "mode", "high", "mean", "sd")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ScenarioInputError(InputError):
    """A scenario from the editor or an upload that cannot be run (message says why and where)."""


def shipped() -> dict[str, Path]:
    """Shipped scenario files by file name (``baseline.yaml`` → path)."""
    from models.scenarios import shipped_scenarios

    return {p.name: p for p in shipped_scenarios()}


def parameter_specs() -> dict[str, tuple[str, str]]:
    """``name -> (unit, meaning)`` of every structural-model parameter."""
    from models.supply import PARAMETERS

    return {k: (v.unit, v.doc) for k, v in PARAMETERS.items()}


OPEN_BOUND_MARGIN = 1e-6  # a value clipped to an open bound (e.g. growth > -1/yr) stops this far inside it


def parameter_bounds(name: str) -> tuple[float | None, float | None]:
    """The closed interval a lever may scale parameter ``name`` into (open bounds moved inside by a margin)."""
    from models.supply import PARAMETERS

    spec = PARAMETERS.get(name)
    if spec is None:
        return None, None
    low = None if spec.low is None else spec.low + (OPEN_BOUND_MARGIN if spec.low_open else 0.0)
    high = None if spec.high is None else spec.high - (OPEN_BOUND_MARGIN if spec.high_open else 0.0)
    return low, high


def scale_distribution(
    dist: Mapping[str, Any], factor: float, *, bounds: tuple[float | None, float | None] = (None, None)
) -> dict[str, Any]:
    """``dist`` with every location/scale number multiplied by ``factor``, locations clipped to ``bounds``.

    ``bounds`` is the parameter's allowed range (:func:`parameter_bounds`), so a ×3 lever on a
    fraction such as 0.6 gives 1.0, not 1.8, and the scaled scenario still validates.
    """
    low, high = bounds
    out = dict(dist)
    for key in _SCALED_FIELDS:
        value = out.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            scaled = float(value) * factor
            if key != "sd":
                scaled = scaled if low is None else max(scaled, low)
                scaled = scaled if high is None else min(scaled, high)
            out[key] = scaled
    if factor != 1.0:
        note = f"scaled ×{factor:g} in the dashboard editor"
        out["note"] = f"{out['note']}; {note}" if out.get("note") else note
        out["flag"] = "estimate"
    return out


def resolved_scenario(base: str) -> dict[str, Any]:
    """The shipped scenario ``base`` (file name) with ``extends`` resolved, as plain data."""
    from models.scenarios import ScenarioError, load_scenario

    files = shipped()
    if base not in files:
        raise ScenarioInputError(f"unknown base scenario {base!r}; shipped: {', '.join(sorted(files))}")
    try:
        return load_scenario(files[base]).model_dump(mode="json", exclude_none=True)
    except ScenarioError as exc:
        raise ScenarioInputError(str(exc)) from None


def build_scenario_yaml(base: str, name: str, levers: Mapping[str, float] | None = None) -> str:
    """YAML text of ``base`` with ``levers`` (parameter → multiplier) applied, renamed ``name``."""
    name = (name or "").strip()
    if not _NAME_RE.match(name):
        raise ScenarioInputError(
            f"run name {name!r}: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    data = resolved_scenario(base)
    applied = {k: float(v) for k, v in (levers or {}).items() if v is not None and float(v) != 1.0}
    for param, factor in applied.items():
        if not LEVER_MIN <= factor <= LEVER_MAX:
            raise ScenarioInputError(f"lever {param}: multiplier {factor} outside [{LEVER_MIN}, {LEVER_MAX}]")
        if param not in data["parameters"]:
            raise ScenarioInputError(f"lever {param}: not a parameter of {base}")
        bounds = parameter_bounds(param)
        data["parameters"][param] = scale_distribution(data["parameters"][param], factor, bounds=bounds)
        for regime in data.get("regimes", []):
            if param in regime.get("parameters", {}):
                regime["parameters"][param] = scale_distribution(
                    regime["parameters"][param], factor, bounds=bounds
                )
    data["name"] = name
    lever_text = ", ".join(f"{k} ×{v:g}" for k, v in sorted(applied.items())) or "none"
    data["description"] = f"{data.get('description', '')} [edited from {base}; levers: {lever_text}]".strip()
    header = f"# Edited in the fabscope dashboard from {base} (extends resolved). Levers: {lever_text}.\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def validate_scenario_text(text: str, *, label: str = "<scenario text>") -> Any:
    """Validate YAML text as a scenario; returns the ``Scenario``. Raises :class:`ScenarioInputError`."""
    from models.scenarios import ScenarioError, load_scenario

    if not text or not text.strip():
        raise ScenarioInputError(f"{label}: empty scenario")
    if len(text.encode("utf-8")) > MAX_UPLOAD_BYTES:
        raise ScenarioInputError(
            f"{label}: {len(text.encode('utf-8')):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}"
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None  # load_scenario below reports the line and column
    if isinstance(data, dict) and "extends" in data:
        parent = data["extends"]
        if not isinstance(parent, str) or parent not in shipped():
            raise ScenarioInputError(
                f"{label}: extends: may only name a shipped scenario ({', '.join(sorted(shipped()))}), got {parent!r}"
            )
    try:
        return load_scenario(text if "\n" in text else text + "\n", label=label)
    except ScenarioError as exc:
        raise ScenarioInputError(str(exc)) from None


def decode_upload(contents: str | None, filename: str | None) -> str:
    """Text of an uploaded scenario (``dcc.Upload`` data URL), size-limited and validated."""
    label = filename or "<upload>"
    if not contents:
        raise ScenarioInputError(f"{label}: nothing uploaded")
    if not re.search(r"\.ya?ml$", label, re.IGNORECASE):
        raise ScenarioInputError(f"{label}: expected a .yaml or .yml scenario file")
    _, sep, payload = contents.partition(";base64,")
    if not sep:
        raise ScenarioInputError(f"{label}: unreadable upload (expected base64 data)")
    if len(payload) > (MAX_UPLOAD_BYTES * 4) // 3 + 8:
        raise ScenarioInputError(f"{label}: larger than the {MAX_UPLOAD_BYTES // 1024} KiB limit")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ScenarioInputError(f"{label}: unreadable upload (bad base64)") from None
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ScenarioInputError(f"{label}: {len(raw):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioInputError(f"{label}: not UTF-8 text (byte {exc.start})") from None
    validate_scenario_text(text, label=label)
    return text


def clamp_paths(n_paths: Any) -> int:
    """Monte Carlo paths for a rerun, within [100, MAX_PATHS] (default DEFAULT_PATHS)."""
    try:
        n = int(n_paths)
    except (TypeError, ValueError):
        return DEFAULT_PATHS
    return max(100, min(MAX_PATHS, n))


ProgressFn = Callable[[int, int, str], None]
RERUN_STEPS = 4


@dataclass(frozen=True)
class Rerun:
    """One scenario rerun as the editor asks for it: the YAML ``text``, ``seed`` (None: the scenario's),
    Monte Carlo ``n_paths`` (clamped to ``100..MAX_PATHS``) and the AI-accelerator ``metric``
    (``units`` | ``h100e``, as ``fabscope forecast run --metric``)."""

    text: str
    seed: int | None = None
    n_paths: int | None = None
    metric: str = "units"

    @property
    def paths(self) -> int:
        """The path count that runs (:func:`clamp_paths`)."""
        return clamp_paths(self.n_paths)

    def argv(self, db: str, scenario_file: Path) -> list[str]:
        """The rerun process's command line (``python -m app.dashboard.scenario_edit …``)."""
        cmd = [
            sys.executable,
            "-m",
            "app.dashboard.scenario_edit",
            "--db",
            str(db),
            "--file",
            str(scenario_file),
        ]
        cmd += ["--paths", str(self.paths), "--metric", self.metric]
        return cmd + (["--seed", str(int(self.seed))] if self.seed is not None else [])


def rerun(db: str, job: Rerun, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Validate ``job.text``, run it through the single writer and store it; returns the run document.

    ``progress(step, total, message)`` is called at each stage (validate, wait for the writer
    lock, run + store, published). Raises :class:`ScenarioInputError` for a bad scenario and
    ``pipelines.warehouse.WarehouseError`` when the writer cannot start.
    """
    from pipelines.forecast_store import run_and_store_scenario
    from pipelines.warehouse import Warehouse

    def say(step: int, message: str) -> None:
        if progress is not None:
            progress(step, RERUN_STEPS, message)

    say(0, "validating the scenario…")
    validate_scenario_text(job.text)
    wh = Warehouse(db)
    say(1, "waiting for the warehouse writer lock…")
    text = job.text if "\n" in job.text else job.text + "\n"
    with wh.write() as con:
        say(2, f"running {job.paths:,} Monte Carlo paths and storing the run…")
        doc = run_and_store_scenario(con, text, seed=job.seed, n_paths=job.paths, metric=job.metric)
        say(3, "publishing the warehouse…")
    say(4, f"stored run {doc['scenario_id']}")
    return doc


RERUN_TIMEOUT_S = 900.0
"""Longest a dashboard rerun may take (writer-lock wait included) before it is abandoned."""


def rerun_in_subprocess(
    db: str, job: Rerun, progress: ProgressFn | None = None, timeout: float = RERUN_TIMEOUT_S
) -> dict[str, Any]:
    """:func:`rerun` in a fresh ``python -m app.dashboard.scenario_edit`` process (fork-safe).

    Returns ``{"scenario_id", "name", "seed", "n_paths", "warehouse_version"}``. Raises
    :class:`ScenarioInputError` with the child's message when the run fails, and
    ``rerun_slots.RerunsBusy`` at once when ``$FABSCOPE_MAX_RERUNS`` reruns are already running.
    """
    if not job.text or not job.text.strip():
        raise ScenarioInputError("<scenario text>: empty scenario")
    if len(job.text.encode("utf-8")) > MAX_UPLOAD_BYTES:
        raise ScenarioInputError(f"<scenario text>: larger than the {MAX_UPLOAD_BYTES // 1024} KiB limit")
    from app.dashboard.rerun_slots import rerun_slot

    with rerun_slot(db), tempfile.TemporaryDirectory(prefix="fabscope-rerun-") as tmp:
        scenario = Path(tmp) / "scenario.yaml"
        scenario.write_text(job.text, encoding="utf-8")
        proc = subprocess.Popen(
            job.argv(db, scenario),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        outcome: dict[str, Any] = {}
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if "step" in msg and progress is not None:
                    progress(int(msg["step"]), int(msg["total"]), str(msg["message"]))
                elif "result" in msg or "error" in msg:
                    outcome = msg
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise ScenarioInputError(f"rerun took longer than {timeout:.0f} s and was stopped") from None
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr = proc.stderr.read() if proc.stderr else ""
    if "result" in outcome:
        return outcome["result"]
    if "error" in outcome:
        raise ScenarioInputError(outcome["error"])
    tail = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {proc.returncode}"
    raise ScenarioInputError(f"rerun process failed: {tail}")


def main(argv: list[str] | None = None) -> int:
    """The rerun process: ``python -m app.dashboard.scenario_edit --db DB --file F [--seed N] [--paths N]
    [--metric units|h100e]``."""
    parser = argparse.ArgumentParser(prog="python -m app.dashboard.scenario_edit")
    parser.add_argument("--db", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--paths", type=int, default=DEFAULT_PATHS)
    parser.add_argument("--metric", default="units")
    args = parser.parse_args(argv)

    def emit(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj, default=str) + "\n")
        sys.stdout.flush()

    try:
        text = Path(args.file).read_text(encoding="utf-8")
        job = Rerun(text, seed=args.seed, n_paths=args.paths, metric=args.metric)
        doc = rerun(args.db, job, progress=lambda s, t, m: emit({"step": s, "total": t, "message": m}))
    except Exception as exc:
        emit({"error": error_text(exc)})
        return 1
    emit({"result": {k: doc[k] for k in ("scenario_id", "name", "seed", "n_paths", "warehouse_version")}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
