"""Process flows as data: passes per wafer per tool type, tool throughput and capex.

The figures live in ``hardware_sim/data/process_flows.yaml`` (each with ``source`` and ``flag``). A flow
is a list of :class:`FlowStep` (tool type, passes per wafer, hours per pass on one tool while it is up).
3D NAND flows are generated for any layer count (``3dnand-<layers>``): their channel-hole etch time comes
from :mod:`hardware_sim.fab.etch` and their oxide/nitride stack deposition time from
:mod:`hardware_sim.fab.deposition`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from fabscope.errors import DataError, InputError, NotFoundError
from hardware_sim.data_files import DATA_DIR, read_yaml_mapping
from hardware_sim.fab.deposition import cvd_time_min
from hardware_sim.fab.etch import channel_hole_etch, nand_decks
from hardware_sim.fab.tool_throughput import wafers_per_hour

FLOWS_PATH = DATA_DIR / "process_flows.yaml"
TOOL_TYPES = (
    "litho_duv",
    "litho_euv",
    "dry_etch",
    "cvd",
    "ald",
    "epi",
    "pvd",
    "cmp",
    "implant",
    "clean",
    "metrology",
)
_NAND_ID = re.compile(r"^3dnand-(\d+)$")
_THROUGHPUT_KEYS = ("transfer_s", "pump_down_min", "clean_min", "wafers_per_clean")


class FlowDataError(DataError):
    """The process-flow data file is malformed (message names the file and the entry)."""


# User catalog: a ``process_flows.yaml`` with the bundled schema whose ``flows`` and ``tool_types`` entries
# add to (or replace, by id) the bundled ones; set through :func:`use_user_flows`.
_USER_PATH: Path | None = None
# "flows.<id>" / "tool_types.<name>" -> the file the entry came from (bundled unless listed)
_ORIGIN: dict[str, str] = {}
_USER_KEYS = ("flows", "tool_types")


def _file(where: str) -> str:
    """The file an entry ``where`` (``flows.<id>...``, ``tool_types.<name>...``) was read from."""
    return _ORIGIN.get(".".join(where.split(".")[:2]), FLOWS_PATH.name)


@dataclass(frozen=True)
class ToolType:
    """A tool type: wafers/hour while up, list price (USD million), source and flag."""

    name: str
    wafers_per_hour: float
    capex_usd_m: float
    source: str
    flag: str


@dataclass(frozen=True)
class FlowStep:
    """``passes`` per wafer on ``tool_type``, each taking ``hours_per_pass`` of one tool's up-time."""

    tool_type: str
    passes: float
    hours_per_pass: float
    note: str = ""


@dataclass(frozen=True)
class ProcessFlow:
    """A process flow: its steps plus provenance."""

    id: str
    name: str
    product: str
    node_class: str
    steps: tuple[FlowStep, ...]
    source: str
    flag: str
    notes: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def tool_types(self) -> list[str]:
        """Tool types used by the flow, in canonical order (extra types after the standard ones)."""
        used = {s.tool_type for s in self.steps if s.passes > 0}
        return [t for t in TOOL_TYPES if t in used] + sorted(used - set(TOOL_TYPES))

    def passes(self, tool_type: str) -> float:
        """Passes per wafer on ``tool_type``."""
        return sum(s.passes for s in self.steps if s.tool_type == tool_type)

    def tool_hours_per_wafer(self, tool_type: str) -> float:
        """Hours of one tool's up-time that one wafer needs on ``tool_type`` (Σ passes × hours per pass)."""
        return sum(s.passes * s.hours_per_pass for s in self.steps if s.tool_type == tool_type)

    def wafers_per_hour(self, tool_type: str) -> float:
        """Pass-weighted mean wafers (passes) per hour on ``tool_type`` while up."""
        hours = self.tool_hours_per_wafer(tool_type)
        return self.passes(tool_type) / hours if hours > 0 else float("nan")

    def litho_passes(self) -> float:
        """All lithography exposures per wafer (DUV + EUV)."""
        return self.passes("litho_duv") + self.passes("litho_euv")


def _require(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry:
        raise FlowDataError(f"{_file(where)}: {where} lacks '{key}'")
    return entry[key]


def _num(raw: Any, where: str) -> float:
    """``raw`` as a float, or FlowDataError naming the file and the field ``where``."""
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise FlowDataError(f"{_file(where)}: {where}: expected a number, got {raw!r}") from None


def _rate_from_entry(entry: dict[str, Any], where: str) -> float:
    """Wafers/hour while up, from ``wafers_per_hour`` or from ``process_min`` + ``chambers`` (+ overheads)."""
    if "wafers_per_hour" in entry:
        rate = _num(entry["wafers_per_hour"], f"{where}.wafers_per_hour")
    elif "process_min" in entry:
        extra = {k: _num(entry[k], f"{where}.{k}") for k in _THROUGHPUT_KEYS if k in entry}
        minutes = _num(entry["process_min"], f"{where}.process_min")
        rate = float(wafers_per_hour(minutes, _num(entry.get("chambers", 1), f"{where}.chambers"), **extra))
    else:
        raise FlowDataError(f"{_file(where)}: {where} needs 'wafers_per_hour' or 'process_min'")
    if not rate > 0:
        raise FlowDataError(f"{_file(where)}: {where} gives a non-positive wafers/hour ({rate})")
    return rate


@lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    """The bundled process-flow data with the user file's ``flows`` and ``tool_types`` merged in."""
    data = read_yaml_mapping(FLOWS_PATH, FlowDataError, "a mapping with defaults, tool_types, flows and nand")
    for key in ("defaults", "tool_types", "flows", "nand"):
        _require(data, key, "the top level")
    _ORIGIN.clear()
    if _USER_PATH is None:
        return data
    user = read_yaml_mapping(_USER_PATH, FlowDataError, "a mapping with flows and/or tool_types")
    merged = dict(data)
    for key in _USER_KEYS:
        entries = user.get(key, {})
        if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
            raise FlowDataError(f"{_USER_PATH}: '{key}' must map each id to a mapping of fields")
        merged[key] = {**data[key], **entries}
        _ORIGIN.update({f"{key}.{k}": str(_USER_PATH) for k in entries})
    return merged


def _clear_caches() -> None:
    for f in (_raw, tool_types, get_flow):
        f.cache_clear()


def use_user_flows(directory: Path | None) -> None:
    """Add ``directory/process_flows.yaml`` (if present; None: bundled only) to the process flows.

    Every flow is built at once so a bad entry fails here with one line naming file, entry and field
    (FlowDataError); on any error the previous flows stay in use."""
    global _USER_PATH
    previous = _USER_PATH
    path = None if directory is None else Path(directory) / FLOWS_PATH.name
    _USER_PATH = path if path is not None and path.is_file() else None
    _clear_caches()
    try:
        tool_types()
        for flow_id in _raw()["flows"]:
            where = f"flows.{flow_id}"
            if not isinstance(_require(_raw()["flows"][flow_id], "passes", where), dict):
                raise FlowDataError(
                    f"{_file(where)}: {where}.passes: expected a mapping of tool type -> passes"
                )
            get_flow(flow_id)
    except FlowDataError:
        _USER_PATH = previous
        _clear_caches()
        raise


def _default(name: str) -> float:
    return float(_require(_raw()["defaults"], name, "defaults")["value"])


def hours_per_month() -> float:
    """Hours in the tool-count month (720)."""
    return _default("hours_per_month")


def default_uptime() -> float:
    """Default tool availability (fraction)."""
    return _default("uptime")


def default_utilisation() -> float:
    """Default share of up-time a tool is loaded (fraction)."""
    return _default("utilisation")


def channel_hole_etch_chambers() -> int:
    """Chambers on the high-aspect-ratio etch tool of the 3D NAND flows (``nand.channel_hole_etch.chambers``):
    the one default for every channel-hole etch estimate (``fabscope sim etch``, the dashboard, the fab model)."""
    return int(_require(_raw()["nand"]["channel_hole_etch"], "chambers", "nand.channel_hole_etch"))


@lru_cache(maxsize=1)
def tool_types() -> dict[str, ToolType]:
    """All tool types with throughput (wafers/hour while up) and capex (USD million per tool)."""
    out = {}
    for name, entry in _raw()["tool_types"].items():
        where = f"tool_types.{name}"
        out[name] = ToolType(
            name,
            _rate_from_entry(entry, where),
            _num(_require(entry, "capex_usd_m", where), f"{where}.capex_usd_m"),
            str(_require(entry, "source", where)),
            str(_require(entry, "flag", where)),
        )
    return out


def _steps_from_passes(
    passes: dict[str, float], where: str, overrides: dict[str, Any] | None = None
) -> list[FlowStep]:
    types = tool_types()
    steps = []
    for tool_type, n in passes.items():
        if tool_type not in types:
            raise FlowDataError(f"{_file(where)}: {where} uses unknown tool type '{tool_type}'")
        n = _num(n, f"{where}.{tool_type}")
        if n < 0:
            raise FlowDataError(f"{_file(where)}: {where}.{tool_type} has negative passes")
        override = (overrides or {}).get(tool_type)
        if override:
            rate, note = (
                _rate_from_entry(override, f"{where}.overrides.{tool_type}"),
                str(override.get("note", "")),
            )
        else:
            rate, note = types[tool_type].wafers_per_hour, ""
        steps.append(FlowStep(tool_type, float(n), 1.0 / rate, note))
    return steps


#: Largest 3D NAND stack modelled, word-line layers. Shipping parts reach ~300-400 layers (2025) and
#: vendor roadmaps talk of ~1,000 by 2030; beyond that the flow's per-layer pass counts mean nothing.
MAX_NAND_LAYERS = 1000


def nand_flow(layers: int) -> ProcessFlow:
    """The 3D NAND flow for a stack of ``layers`` word-line layers (id ``3dnand-<layers>``)."""
    if not 0 < layers <= MAX_NAND_LAYERS:
        raise InputError(f"3D NAND layer count must be in 1..{MAX_NAND_LAYERS}, got {layers}")
    cfg = _raw()["nand"]
    where = "nand"
    pitch, diameter = float(cfg["layer_pitch_nm"]), float(cfg["hole_diameter_nm"])
    decks = nand_decks(layers)
    steps = _steps_from_passes(cfg["base_passes"], f"{where}.base_passes")
    steps += _steps_from_passes(
        {k: v * decks for k, v in cfg["per_deck_passes"].items()}, f"{where}.per_deck_passes"
    )
    steps += _steps_from_passes(
        {k: v * layers for k, v in cfg["per_layer_passes"].items()}, f"{where}.per_layer_passes"
    )
    hole_cfg = cfg["channel_hole_etch"]
    hole = channel_hole_etch(layers, str(hole_cfg["chemistry"]), pitch, diameter, decks)
    hole_rate = float(wafers_per_hour(hole.etch_time_min / decks, float(hole_cfg["chambers"])))
    steps.append(
        FlowStep(
            str(hole_cfg["tool_type"]),
            float(decks),
            1.0 / hole_rate,
            f"channel-hole etch, AR {hole.aspect_ratio:.0f} per deck, {hole.etch_time_min / decks:.1f} min",
        )
    )
    dep_cfg = cfg["stack_deposition"]
    dep_min = float(cvd_time_min(layers / decks * pitch, str(dep_cfg["process"])))
    dep_rate = float(wafers_per_hour(dep_min, float(dep_cfg["chambers"])))
    steps.append(
        FlowStep(
            str(dep_cfg["tool_type"]),
            float(decks),
            1.0 / dep_rate,
            f"oxide/nitride stack deposition, {dep_min:.1f} min per deck",
        )
    )
    return ProcessFlow(
        id=f"3dnand-{layers}",
        name=f"3D NAND, {layers} layers in {decks} deck(s)",
        product="nand",
        node_class="nand-2xx-layer" if layers >= 200 else "nand-1xx-layer",
        steps=tuple(steps),
        source=str(cfg["source"]),
        flag=str(cfg["flag"]),
        params={
            "layers": layers,
            "decks": decks,
            "layer_pitch_nm": pitch,
            "hole_diameter_nm": diameter,
            "channel_hole_etch_min": hole.etch_time_min,
            "channel_hole_aspect_ratio": hole.aspect_ratio,
        },
    )


def process_flow_ids() -> list[str]:
    """Ids of the bundled process flows (3D NAND at its standard layer counts; any ``3dnand-N`` works)."""
    data = _raw()
    return list(data["flows"]) + [f"3dnand-{n}" for n in data["nand"]["standard_layers"]]


@lru_cache(maxsize=64)
def get_flow(flow_id: str) -> ProcessFlow:
    """The process flow ``flow_id``; ``NotFoundError`` naming the valid ids if unknown, ``InputError`` for a
    3D NAND stack outside 1..MAX_NAND_LAYERS layers."""
    match = _NAND_ID.match(flow_id)
    if match and int(match.group(1)) > 0:
        return nand_flow(int(match.group(1)))
    flows = _raw()["flows"]
    if flow_id not in flows:
        raise NotFoundError(
            f"unknown process id {flow_id!r}; valid process ids: {', '.join(process_flow_ids())} "
            f"(or 3dnand-<layers>, 1..{MAX_NAND_LAYERS} layers)"
        )
    entry = flows[flow_id]
    where = f"flows.{flow_id}"
    steps = _steps_from_passes(_require(entry, "passes", where), f"{where}.passes", entry.get("overrides"))
    return ProcessFlow(
        id=flow_id,
        name=str(entry.get("name", flow_id)),
        product=str(_require(entry, "product", where)),
        node_class=str(_require(entry, "node_class", where)),
        steps=tuple(steps),
        source=str(_require(entry, "source", where)),
        flag=str(_require(entry, "flag", where)),
        notes=str(entry.get("notes", "")),
    )
