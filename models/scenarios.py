"""Scenario files: the pydantic schema, loading (with ``extends``), dated regimes, draws.

A scenario is YAML::

    name: baseline
    description: ...
    extends: baseline.yaml        # optional: start from another scenario in the same folder
    seed: 20261129
    n_paths: 10000
    horizon: {start_year: 2025, end_year: 2034}
    parameters:                   # base values; names must be in models.supply.PARAMETERS
      demand_growth: {dist: triangular, low: 0.15, mode: 0.3, high: 0.5, source: "...", flag: estimate}
    regimes:                      # switches by date: from `start`, these values apply
      - name: h20_licence_required
        start: 2025-04-09
        source: Nvidia Form 8-K, 2025-04-15
        parameters:
          foreign_accelerators: {dist: uniform, low: 1.0e5, high: 4.0e5, source: "...", flag: estimate}

Distributions: ``fixed`` (value), ``uniform`` (low, high), ``normal`` (mean, sd, optional
low/high clip), ``triangular`` (low, mode, high). Each carries ``source`` and ``flag``
(``reported``/``estimate``) and an optional ``unit``/``note``.

With ``extends``, the child's parameters replace the parent's by name and its regimes are
merged by name (same name replaces, new names are added), then sorted by start date.

A regime switch persists until a later regime overrides the same parameter. Within a year,
each value counts for the fraction of the year it is in force (a switch on 1 July counts
half), so annual quantities are time-weighted averages.

Every value must lie in its parameter's range (``models.supply.ParamSpec``: fractions in
[0, 1], growth rates > -1, ...); an unclipped ``normal`` on a bounded parameter is refused,
and so are NaN/inf.

Any schema error raises ``ScenarioError`` whose message names the file, the field path and
what was expected; the CLI prints it on one line.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import Field, ValidationError, model_validator

from fabscope.errors import InputError
from models.scenario_distributions import (  # noqa: F401 (Fixed … Triangular are re-exported)
    Calibration,
    Distribution,
    Fixed,
    Normal,
    Triangular,
    Uniform,
    _Strict,
    with_befores,
)
from models.supply import PARAMETERS, SEGMENTS

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


# the memory one run may ask for: per path and year, one float64 per parameter plus about
# ARRAYS_PER_SEGMENT per segment (structural state, statistical models, ensemble); a scenario whose
# estimate exceeds MAX_SCENARIO_BYTES is refused before anything is allocated
ARRAYS_PER_SEGMENT = 12
MAX_SCENARIO_BYTES = 2 * 1024**3
MAX_SEED = 2**63 - 1  # stored as BIGINT


def scenario_bytes(n_paths: int, n_years: int) -> int:
    """Estimated peak bytes of one run: paths × years × (parameters + segments × arrays) × 8."""
    return n_paths * n_years * (len(PARAMETERS) + len(SEGMENTS) * ARRAYS_PER_SEGMENT) * 8


class ScenarioError(InputError):
    """A scenario file that cannot be used; the message names file, field and expectation."""


class Horizon(_Strict):
    """Forecast years, inclusive."""

    start_year: int = Field(ge=2000, le=2100)
    end_year: int = Field(ge=2000, le=2100)

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end_year < self.start_year:
            raise ValueError(f"end_year {self.end_year} is before start_year {self.start_year}")
        return self

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.start_year, self.end_year + 1)


class Regime(_Strict):
    """A dated switch: from ``start`` on, these parameter values apply."""

    name: str = Field(min_length=1)
    start: date
    source: str | None = None
    note: str | None = None
    parameters: dict[str, Distribution] = Field(default_factory=dict)


class Branch(_Strict):
    """A branch of a scenario tree: a path follows it with probability ``weight``; its values and
    regimes replace the scenario's by name (e.g. 40% "H20-class allowed", 60% "embargo from a date")."""

    name: str = Field(min_length=1)
    weight: float = Field(gt=0, le=1)
    source: str | None = None
    note: str | None = None
    parameters: dict[str, Distribution] = Field(default_factory=dict)
    regimes: list[Regime] = Field(default_factory=list)


class Scenario(_Strict):
    """A validated scenario (after ``extends`` is resolved)."""

    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    n_paths: int = Field(default=10_000, ge=10, le=1_000_000)
    horizon: Horizon
    parameters: dict[str, Distribution]
    regimes: list[Regime] = Field(default_factory=list)
    branches: list[Branch] = Field(default_factory=list)
    calibration: Calibration | None = None

    @model_validator(mode="after")
    def _known_parameters(self) -> Scenario:
        # Each message starts with the field path (pydantic gives model-level errors no location).
        known = set(PARAMETERS)
        problems: list[str] = []
        unknown = sorted(set(self.parameters) - known)
        if unknown:
            problems.append(
                f"parameters: unknown parameter(s) {unknown}; expected names from {sorted(known)}"
            )
        missing = sorted(known - set(self.parameters))
        if missing:
            problems.append(
                f"parameters: missing parameter(s) {missing}: every model parameter needs a base value"
            )
        groups = [("parameters", self.parameters)]
        regimes = [(f"regimes[{i}]", r) for i, r in enumerate(self.regimes)]
        for i, branch in enumerate(self.branches):
            groups.append((f"branches[{i}].parameters", branch.parameters))
            regimes += [(f"branches[{i}].regimes[{j}]", r) for j, r in enumerate(branch.regimes)]
        if self.branches:
            total = sum(b.weight for b in self.branches)
            if abs(total - 1.0) > 1e-6:
                problems.append(f"branches: weights must sum to 1, got {total:g}")
            branch_names = [b.name for b in self.branches]
            if len(set(branch_names)) != len(branch_names):
                problems.append(f"branches: branch names must be unique, got {branch_names}")
        bad_params = [
            (f"branches[{i}].parameters", sorted(set(b.parameters) - known))
            for i, b in enumerate(self.branches)
        ]
        problems += [f"{where}: unknown parameter(s) {bad}" for where, bad in bad_params if bad]
        for where_regime, regime in regimes:
            bad = sorted(set(regime.parameters) - known)
            if bad:
                problems.append(
                    f"{where_regime}.parameters: regime {regime.name!r}: unknown parameter(s) {bad}; "
                    f"expected names from {sorted(known)}"
                )
            groups.append((f"{where_regime}.parameters", regime.parameters))
        for where, params in groups:
            for name, top in params.items():
                spec = PARAMETERS.get(name)
                if spec is None:
                    continue
                for dist, field in with_befores(top, f"{where}.{name}"):
                    lo, hi = dist.support()
                    if not spec.contains(lo, hi):
                        hint = " (clip a normal with low/high)" if isinstance(dist, Normal) else ""
                        problems.append(
                            f"{field}: values must be {spec.domain_text()} ({spec.unit}){hint}; "
                            f"the {dist.dist} distribution spans [{lo:g}, {hi:g}]"
                        )
        n_years = self.horizon.end_year - self.horizon.start_year + 1
        need = scenario_bytes(self.n_paths, n_years)
        if need > MAX_SCENARIO_BYTES:
            problems.append(
                f"n_paths: {self.n_paths} paths x {n_years} years need about {need / 1024**3:.1f} GiB, above "
                f"the {MAX_SCENARIO_BYTES / 1024**3:.0f} GiB limit; lower n_paths or shorten the horizon"
            )
        names = [r.name for r in self.regimes]
        if len(set(names)) != len(names):
            problems.append(f"regimes: regime names must be unique, got {names}")
        problems += self._calibration_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def prior(self, key: str) -> Distribution | None:
        """The distribution a calibration input names (``NAME`` or ``REGIME/NAME``), or None."""
        regime_name, _, name = key.rpartition("/")
        if not regime_name:
            return self.parameters.get(name)
        regime = next((r for r in self.regimes if r.name == regime_name), None)
        return None if regime is None else regime.parameters.get(name)

    def _calibration_problems(self) -> list[str]:
        if self.calibration is None:
            return []
        problems = []
        inputs = self.calibration.inputs
        if len(set(inputs)) != len(inputs):
            problems.append(f"calibration.inputs: names must be unique, got {inputs}")
        for i, key in enumerate(inputs):
            dist = self.prior(key)
            if dist is None:
                problems.append(
                    f"calibration.inputs[{i}]: {key!r} names no base parameter (NAME) or regime value "
                    f"(REGIME/NAME) of this scenario"
                )
            elif isinstance(dist, Fixed):
                problems.append(
                    f"calibration.inputs[{i}]: {key!r} is fixed; a calibrated input needs a prior"
                )
        return problems

    def canonical_json(self) -> str:
        """Canonical JSON of the resolved scenario (sorted keys): what the scenario id hashes."""
        # A scenario without branches hashes as before branches existed (stable scenario ids).
        exclude = {k for k in ("branches", "calibration") if not getattr(self, k)} or None
        data = self.model_dump(mode="json", exclude=exclude)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))


# ---- loading -------------------------------------------------------------------------------


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("fixed", "uniform", "normal", "triangular"):
            continue  # discriminator tag pydantic adds to the path
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a 400-digit seed is named, not printed)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


def _format_errors(label: str, exc: ValidationError) -> str:
    msgs = []
    for err in exc.errors():
        if not err["loc"] and err["type"] == "value_error":  # model-level check: message names its fields
            msgs.append(err["msg"].removeprefix("Value error, "))
            continue
        where = _field_path(tuple(err["loc"]))
        kind = err["type"]
        if kind == "extra_forbidden":
            what = "unknown field (not in the scenario schema)"
        elif kind == "missing":
            what = "required field is missing"
        else:
            what = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], dict | list):
                what += f" (got {_short(err['input'])})"
        msgs.append(f"{where}: {what}")
    return f"{label}: invalid scenario: " + "; ".join(msgs)


def _read_yaml(text: str, label: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise ScenarioError(f"{label}: not valid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{label}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{label}: expected a YAML mapping at the top level, got {type(data).__name__}")
    return data


def _regime_list(data: dict[str, Any], label: str) -> list[Any]:
    regimes = data.get("regimes")
    if regimes is None:
        return []
    if not isinstance(regimes, list):
        raise ScenarioError(
            f"{label}: invalid scenario: regimes: expected a list of regimes "
            f"(- name: ..., start: YYYY-MM-DD, parameters: ...), got {regimes!r}"
        )
    return regimes


def _merge(parent: dict[str, Any], child: dict[str, Any], parent_label: str, label: str) -> dict[str, Any]:
    merged = {k: v for k, v in parent.items() if k != "regimes"}
    for key, value in child.items():
        if key in ("extends", "regimes"):
            continue
        if key == "parameters" and isinstance(value, dict) and isinstance(parent.get("parameters"), dict):
            merged["parameters"] = {**parent["parameters"], **value}
        else:
            merged[key] = value
    # Same name replaces, new names are added; entries that are not mappings are kept so the
    # schema reports them (regimes[i]: expected a mapping) instead of dropping them silently.
    regimes: dict[Any, Any] = {}
    for regime in [*_regime_list(parent, parent_label), *_regime_list(child, label)]:
        key = regime.get("name") if isinstance(regime, dict) else ("not a mapping", len(regimes))
        regimes[key] = regime
    merged["regimes"] = sorted(
        regimes.values(), key=lambda r: str(r.get("start")) if isinstance(r, dict) else ""
    )
    return merged


def _read_text(path: Path, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{label}: not a UTF-8 text file (byte {exc.start}): expected YAML text"
        ) from None
    except OSError as exc:
        raise ScenarioError(f"{label}: cannot read the scenario file: {exc.strerror or exc}") from None


def _resolve(data: dict[str, Any], label: str, base_dir: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    parent_name = data.get("extends")
    if parent_name is None:
        _regime_list(data, label)
        return data
    if not isinstance(parent_name, str):
        raise ScenarioError(f"{label}: extends: expected a scenario file name, got {parent_name!r}")
    parent_path = (base_dir / parent_name).resolve()
    if parent_path in seen:
        raise ScenarioError(f"{label}: extends: circular reference via {parent_path.name}")
    if not parent_path.is_file():
        raise ScenarioError(f"{label}: extends: no scenario file {parent_path}")
    parent = _read_yaml(_read_text(parent_path, str(parent_path)), str(parent_path))
    parent = _resolve(parent, str(parent_path), parent_path.parent, (*seen, parent_path))
    return _merge(parent, data, str(parent_path), label)


def load_scenario(source: str | Path, *, label: str | None = None) -> Scenario:
    """Load and validate a scenario from a file path or from YAML text.

    A ``str`` containing a newline is treated as YAML text (``extends`` then resolves
    against the shipped ``models/scenarios`` folder); otherwise as a path. Raises
    ``ScenarioError`` naming the file, the field and what was expected.
    """
    if isinstance(source, str) and "\n" in source:
        text, base_dir, label = source, SCENARIO_DIR, label or "<scenario text>"
        seen: tuple[Path, ...] = ()
    else:
        path = Path(source)
        if not path.is_file():
            raise ScenarioError(f"{path}: no such scenario file")
        label = label or str(path)
        text, base_dir = _read_text(path, label), path.resolve().parent
        seen = (path.resolve(),)
    data = _resolve(_read_yaml(text, label), label, base_dir, seen)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_errors(label, exc)) from None


def shipped_scenarios() -> list[Path]:
    """The scenario files bundled in ``models/scenarios`` (sorted by name)."""
    return sorted(SCENARIO_DIR.glob("*.yaml"))


def scenario_id(scenario: Scenario, seed: int, warehouse_version: str) -> tuple[str, str]:
    """(id, full sha256) of (resolved scenario content, seed, warehouse version).

    The id is ``<name>-<first 12 hex digits>``: the same inputs give the same id, any
    changed input gives a new one.
    """
    payload = json.dumps(
        {
            "scenario": json.loads(scenario.canonical_json()),
            "seed": int(seed),
            "warehouse_version": warehouse_version,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    return f"{scenario.name}-{digest[:12]}", digest


# ---- sampling ------------------------------------------------------------------------------


def _rng(seed: int, *labels: str) -> np.random.Generator:
    """A generator keyed by (seed, labels): adding a parameter does not shift the others'
    draws, and scenarios that share a parameter share its draws (common random numbers)."""
    keys = [zlib.crc32(label.encode("utf-8")) for label in labels]
    return np.random.default_rng([int(seed), *keys])


def year_fractions(starts: list[date], years: np.ndarray) -> np.ndarray:
    """Share of each calendar year spent in each segment [base, regime 1, ...]: (len(starts)+1, n_years).

    Segment 0 runs until ``starts[0]``; segment k until ``starts[k]`` (sorted ascending).
    """
    edges = [date(int(y), 1, 1) for y in years] + [date(int(years[-1]) + 1, 1, 1)]
    ords = np.array([d.toordinal() for d in edges], dtype=float)
    year_start, year_end = ords[:-1], ords[1:]
    bounds = [-np.inf] + [float(d.toordinal()) for d in starts] + [np.inf]
    frac = np.empty((len(bounds) - 1, len(years)))
    for k in range(len(bounds) - 1):
        lo = np.maximum(year_start, bounds[k])
        hi = np.minimum(year_end, bounds[k + 1])
        frac[k] = np.clip(hi - lo, 0.0, None) / (year_end - year_start)
    return frac


def draw_parameters(
    scenario: Scenario,
    seed: int | None = None,
    n_paths: int | None = None,
    quantiles: dict[str, np.ndarray] | None = None,
    *,
    compact: bool = False,
    dtype=np.float64,
) -> dict[str, np.ndarray]:
    """Per-path, per-year parameter values: name -> array (n_paths, n_years).

    ``compact``: a value in force over the whole horizon is returned as (n_paths, 1), which
    broadcasts (the fast path of ``models.supply``); ``dtype`` e.g. ``np.float32`` for the bench.

    ``quantiles`` maps inputs (``NAME`` for a base value, ``REGIME/NAME`` for a regime's value) to
    per-path uniform quantiles (n_paths,): those values are ``dist.ppf(u)`` instead of a fresh draw
    (posterior draws of the calibration, or the prior median 0.5).

    Each distribution is drawn once per path (a path is one coherent world); regime
    switches blend by the fraction of each year they are in force. In a scenario tree each path
    follows one branch, drawn with the branches' weights from its own stream; every branch is
    drawn on the same streams (common random numbers), so branches differ only where they differ.
    """
    seed = scenario.seed if seed is None else seed
    n = scenario.n_paths if n_paths is None else n_paths
    if scenario.branches:
        choice = _rng(seed, "branches").choice(
            len(scenario.branches), size=n, p=[b.weight for b in scenario.branches]
        )
        mixed: dict[str, np.ndarray] = {}
        for k, branch in enumerate(scenario.branches):
            regimes = {r.name: r for r in [*scenario.regimes, *branch.regimes]}
            leaf = scenario.model_copy(
                update={
                    "parameters": {**scenario.parameters, **branch.parameters},
                    "regimes": sorted(regimes.values(), key=lambda r: r.start),
                    "branches": [],
                }
            )
            leaf_values = draw_parameters(leaf, seed=seed, n_paths=n, quantiles=quantiles, dtype=dtype)
            for name, values in leaf_values.items():
                mixed[name] = np.where((choice == k)[:, None], values, mixed.get(name, values))
        return mixed
    years = scenario.horizon.years
    regimes = sorted(scenario.regimes, key=lambda r: r.start)
    frac = year_fractions([r.start for r in regimes], years)
    q = quantiles or {}
    values: dict[str, np.ndarray] = {}
    for name, dist in scenario.parameters.items():
        current = dist.ppf(q[name]) if name in q else dist.sample(_rng(seed, name), n)
        terms = [[current, frac[0].copy()]]  # (value per path, fraction of each year it is in force)
        for k, regime in enumerate(regimes, start=1):
            if name in regime.parameters:
                rdist, key = regime.parameters[name], f"{regime.name}/{name}"
                current = rdist.ppf(q[key]) if key in q else rdist.sample(_rng(seed, regime.name, name), n)
                terms.append([current, frac[k].copy()])
            else:
                terms[-1][1] += frac[k]
        terms = [(np.asarray(c, dtype=dtype), w.astype(dtype)) for c, w in terms if np.any(w > 0)]
        if compact and len(terms) == 1 and np.all(terms[0][1] == 1.0):
            values[name] = terms[0][0][:, None]  # in force all horizon long: (n_paths, 1)
            continue
        out = terms[0][0][:, None] * terms[0][1][None, :]
        for c, w in terms[1:]:
            out += c[:, None] * w[None, :]
        values[name] = out
    return values
