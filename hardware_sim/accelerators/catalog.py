"""Catalog of accelerators, systems and LLM architectures (bundled YAML under ``hardware_sim/data``).

Every chip/system figure in the YAML is ``{value, flag, source[, note]}``; this module validates the files,
exposes them as frozen dataclasses with units in the field names, and builds the flat records the CLI
and the ``chip_specs`` table use. Unknown ids raise ``fabscope.errors.NotFoundError`` (a ``KeyError``) naming the id and listing valid ones.

User catalogs: :func:`use_catalog` adds a directory whose ``chips.yaml``, ``systems.yaml`` and ``llms.yaml``
(each optional, same schema; their ``sources`` may also cite the bundled source keys) add entries or
override bundled ones with the same id, and whose ``process_flows.yaml`` (optional; ``flows`` and
``tool_types`` in the bundled schema) does the same for process flows
(:func:`hardware_sim.fab.process_flows.use_user_flows`). A bad file raises :class:`CatalogError` (or
``FlowDataError``, both ``DataError``) naming file, entry and field, and the previous catalog stays in use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fabscope.errors import DataError, NotFoundError
from hardware_sim.data_files import DATA_DIR, read_yaml_mapping
from hardware_sim.fab import process_flows

FLAGS = ("reported", "estimate")
CHIP_STATUSES = ("shipping", "announced")

_CHIP_NUMERIC = (
    "bf16_tflops",
    "fp8_tflops",
    "int8_tops",
    "hbm_gb",
    "hbm_tbps",
    "scaleup_gbps",
    "scaleout_gbps",
    "tdp_w",
    "hbm_stacks",
)
_CHIP_OPTIONAL = ("fp8_tflops",)  # may be null (chip has no FP8 tensor path)


class CatalogError(DataError):
    """A bundled catalog file is malformed; the message names file, entry and field."""


@dataclass(frozen=True)
class Figure:
    """One sourced figure: ``value`` in the unit named by its field, a flag and a source key."""

    value: Any
    flag: str
    source: str
    note: str = ""


def _overall_flag(figures: dict[str, Figure]) -> str:
    """``estimate`` if any of ``figures`` is an estimate, else ``reported``."""
    return "estimate" if any(f.flag == "estimate" for f in figures.values()) else "reported"


def _cited(figures: dict[str, Figure], sources: dict[str, str]) -> dict[str, str]:
    """The file's ``sources`` table restricted to the keys ``figures`` cite (source key -> citation)."""
    return {f.source: sources[f.source] for f in figures.values()}


class _Sourced:
    """What every catalog entry with sourced ``figures`` shares: the overall flag."""

    figures: dict[str, Figure]

    @property
    def flag(self) -> str:
        """``estimate`` if any figure is an estimate, else ``reported``."""
        return _overall_flag(self.figures)


def _figure_property(name: str, cast: type = float, doc: str = "") -> property:
    """A read-only property returning figure ``name``'s value as ``cast``."""
    return property(lambda self: cast(self.figures[name].value), doc=doc or f"figure ``{name}``")


@dataclass(frozen=True)
class Chip(_Sourced):
    """One accelerator (units: TFLOP/s, TOP/s, GB, TB/s, GB/s, W)."""

    id: str
    name: str
    vendor: str
    country: str
    memory_type: str
    scaleup_direction: str  # "bidirectional" (vendor sums both directions) or "unidirectional"
    figures: dict[str, Figure]
    sources: dict[str, str]  # source key -> citation, only the keys this chip uses
    conflict: str = ""
    status: str = "shipping"  # shipping | announced (figures from a launch announcement, not a datasheet)

    def value(self, name: str) -> float | None:
        """The numeric value of figure ``name`` (None when the chip has no such capability)."""
        v = self.figures[name].value
        return None if v is None else float(v)

    bf16_tflops = _figure_property("bf16_tflops")
    hbm_gb = _figure_property("hbm_gb")
    hbm_tbps = _figure_property("hbm_tbps")
    tdp_w = _figure_property("tdp_w")
    scaleout_gbps = _figure_property("scaleout_gbps", doc="Scale-out bandwidth one way, GB/s.")

    @property
    def scaleup_gbps_per_direction(self) -> float:
        """Scale-up bandwidth one way, GB/s (vendor bidirectional figures are halved)."""
        v = float(self.figures["scaleup_gbps"].value)
        return v / 2.0 if self.scaleup_direction == "bidirectional" else v

    @property
    def serving_ranks(self) -> int:
        """Ranks one package runs as when serving (2 for a two-die part whose dies are separate devices);
        :func:`serving_ranks_as` can override it temporarily (leave-one-source-out validation)."""
        if self.id in _RANKS_OVERRIDE:
            return _RANKS_OVERRIDE[self.id]
        f = self.figures.get("serving_ranks")
        return 1 if f is None else int(f.value)


@dataclass(frozen=True)
class System(_Sourced):
    """Composition of one system: chips, host CPUs, switches, optics, cooling (no derived totals)."""

    id: str
    name: str
    vendor: str
    figures: dict[str, Figure]
    default_layouts: dict[str, Any]
    sources: dict[str, str]

    def value(self, name: str) -> Any:
        return self.figures[name].value

    chip_id = _figure_property("chip", str)
    n_chips = _figure_property("chips", int)
    scaleup_domain = _figure_property("scaleup_domain", int)

    @property
    def ranks_per_chip(self) -> int:
        """Serving ranks per chip package (the chip's ``serving_ranks``; 2 for the Ascend 910C, whose two dies
        are separate devices and CloudMatrix-Infer runs each as one EP rank), else 1."""
        return _chips()[self.chip_id].serving_ranks


@dataclass(frozen=True)
class LLM:
    """Transformer architecture (element counts; see llms.yaml for the meaning of each field)."""

    id: str
    name: str
    attention: str  # "gqa" | "mla"
    n_layers: int
    n_dense_layers: int
    hidden: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn: int
    vocab: int
    n_routed_experts: int = 0
    n_shared_experts: int = 0
    top_k: int = 0
    moe_ffn: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_rope_dim: int = 0
    qk_nope_dim: int = 0
    v_head_dim: int = 0
    tied_embeddings: bool = False
    native_precision: str = "bf16"  # precision the released weights are stored in (default for serving)
    source: str = ""
    flag: str = "reported"
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def is_moe(self) -> bool:
        return self.n_routed_experts > 0

    @property
    def n_moe_layers(self) -> int:
        return self.n_layers - self.n_dense_layers


# --------------------------------------------------------------------------------------------- loading


_EXPECTED = "a mapping with 'sources' and a list of entries"
# chip id -> serving ranks while inside serving_ranks_as (validation's leave-one-source-out runs)
_RANKS_OVERRIDE: dict[str, int] = {}


@contextmanager
def serving_ranks_as(chip_id: str, ranks: int) -> Iterator[None]:
    """Within the block, chip ``chip_id`` serves as ``ranks`` ranks per package."""
    _RANKS_OVERRIDE[chip_id] = int(ranks)
    try:
        yield
    finally:
        del _RANKS_OVERRIDE[chip_id]


# Directory of the user catalog in use (None = bundled only); set through use_catalog.
_USER_DIR: Path | None = None


def _load_yaml(name: str) -> dict[str, Any]:
    return read_yaml_mapping(DATA_DIR / name, CatalogError, _EXPECTED, required=("sources",))


def _entries(name: str, key: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """``(file label, raw entry, sources table)`` of every entry of list ``key``: the bundled file's, then
    the user catalog's (an entry with a bundled id replaces it in place)."""
    docs = [(name, _load_yaml(name))]
    if _USER_DIR is not None and (_USER_DIR / name).is_file():
        path = _USER_DIR / name
        docs.append((str(path), read_yaml_mapping(path, CatalogError, _EXPECTED, required=("sources",))))
    bundled_sources = docs[0][1]["sources"]
    out: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {}
    for label, doc in docs:
        if not isinstance(doc["sources"], dict):
            raise CatalogError(f"{label}: 'sources' must be a mapping of key -> citation")
        sources = {**bundled_sources, **doc["sources"]}
        entries = doc.get(key, [])
        if not isinstance(entries, list):
            raise CatalogError(f"{label}: '{key}' must be a list of entries")
        for i, raw in enumerate(entries):
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                raise CatalogError(f"{label}: entry {i + 1} of '{key}', field 'id': expected a string id")
            out[raw["id"]] = (label, raw, sources)
    return list(out.values())


def _clear_caches() -> None:
    for f in (_chips, _systems, _llms):
        f.cache_clear()


def use_catalog(directory: str | Path | None) -> None:
    """Use the bundled catalog plus the YAML files in ``directory`` (None: bundled only).

    Loads and validates everything at once; on any error (CatalogError naming file, entry and field) the
    previous catalog stays in use."""
    global _USER_DIR
    previous = _USER_DIR
    new = None if directory is None else Path(directory)
    if new is not None and not new.is_dir():
        raise CatalogError(
            f"{directory}: not a directory (expected chips.yaml / systems.yaml / llms.yaml / process_flows.yaml)"
        )
    _USER_DIR = new
    _clear_caches()
    try:
        _chips(), _systems(), _llms()
        process_flows.use_user_flows(new)  # its own rollback on error
    except (CatalogError, process_flows.FlowDataError):
        _USER_DIR = previous
        _clear_caches()
        raise


def _figure(path: str, entry: str, name: str, raw: Any, sources: dict[str, str], nullable: bool) -> Figure:
    where = f"{path}: entry '{entry}', field '{name}'"
    if not isinstance(raw, dict) or not {"value", "flag", "source"} <= raw.keys():
        raise CatalogError(f"{where}: expected {{value, flag, source}}, got {raw!r}")
    if raw["flag"] not in FLAGS:
        raise CatalogError(f"{where}: flag must be one of {FLAGS}, got {raw['flag']!r}")
    if raw["source"] not in sources:
        raise CatalogError(f"{where}: source key {raw['source']!r} is not in the file's 'sources' table")
    if raw["value"] is None and not nullable:
        raise CatalogError(f"{where}: value is required")
    return Figure(raw["value"], raw["flag"], raw["source"], str(raw.get("note", "")))


@cache
def _chips() -> dict[str, Chip]:
    out: dict[str, Chip] = {}
    for label, raw, sources in _entries("chips.yaml", "chips"):
        cid = raw["id"]
        figs = {}
        for name in _CHIP_NUMERIC:
            fig = _figure(label, cid, name, raw.get(name), sources, name in _CHIP_OPTIONAL)
            if fig.value is not None and (not isinstance(fig.value, int | float) or fig.value < 0):
                raise CatalogError(f"{label}: entry '{cid}', field '{name}': expected a number >= 0")
            figs[name] = fig
        if "serving_ranks" in raw:  # optional: dies that run as separate serving ranks
            fig = _figure(label, cid, "serving_ranks", raw["serving_ranks"], sources, False)
            if not isinstance(fig.value, int) or fig.value < 1:
                raise CatalogError(
                    f"{label}: entry '{cid}', field 'serving_ranks': expected a whole number >= 1"
                )
            figs["serving_ranks"] = fig
        for name in ("name", "vendor"):
            if not isinstance(raw.get(name), str):
                raise CatalogError(f"{label}: entry '{cid}', field '{name}': expected a string")
        status = raw.get("status", "shipping")
        if status not in CHIP_STATUSES:
            raise CatalogError(f"{label}: entry '{cid}', field 'status': expected one of {CHIP_STATUSES}")
        out[cid] = Chip(
            id=cid,
            name=raw["name"],
            vendor=raw["vendor"],
            country=raw.get("country", ""),
            memory_type=raw.get("memory_type", ""),
            scaleup_direction=raw.get("scaleup_direction", "bidirectional"),
            figures=figs,
            sources=_cited(figs, sources),
            conflict=raw.get("conflict", ""),
            status=status,
        )
    return out


@cache
def _systems() -> dict[str, System]:
    out: dict[str, System] = {}
    for label, raw, sources in _entries("systems.yaml", "systems"):
        sid = raw["id"]
        for name in ("name", "vendor"):
            if not isinstance(raw.get(name), str):
                raise CatalogError(f"{label}: entry '{sid}', field '{name}': expected a string")
        figs = {
            k: _figure(label, sid, k, v, sources, False)
            for k, v in raw.items()
            if k not in ("id", "name", "vendor", "default_layouts")
        }
        for req in ("chip", "chips", "scaleup_domain", "host_cpus", "host_cpu_w", "cooling"):
            if req not in figs:
                raise CatalogError(f"{label}: entry '{sid}' lacks required field '{req}'")
        if figs["chip"].value not in _chips():
            raise CatalogError(f"{label}: entry '{sid}', field 'chip': unknown chip {figs['chip'].value!r}")
        out[sid] = System(
            sid, raw["name"], raw["vendor"], figs, raw.get("default_layouts", {}), _cited(figs, sources)
        )
    return out


@cache
def _llms() -> dict[str, LLM]:
    out: dict[str, LLM] = {}
    known = set(LLM.__dataclass_fields__) - {"notes"}
    ints = [f for f, d in LLM.__dataclass_fields__.items() if d.type in ("int", int)]
    for label, raw, sources in _entries("llms.yaml", "llms"):
        mid = raw["id"]
        kwargs = {k: v for k, v in raw.items() if k in known}
        notes = {k: v for k, v in raw.items() if k not in known}
        if raw.get("attention") not in ("gqa", "mla"):
            raise CatalogError(f"{label}: entry '{mid}', field 'attention': expected 'gqa' or 'mla'")
        for name in ints:
            if name in kwargs and (not isinstance(kwargs[name], int) or kwargs[name] < 0):
                raise CatalogError(f"{label}: entry '{mid}', field '{name}': expected a whole number >= 0")
        try:
            model = LLM(notes=notes, **kwargs)
        except TypeError as exc:
            raise CatalogError(f"{label}: entry '{mid}': {exc}") from exc
        if model.source not in sources:
            raise CatalogError(f"{label}: entry '{mid}', field 'source': unknown source key {model.source!r}")
        out[mid] = model
        _LLM_SOURCES[mid] = sources[model.source]
    return out


_LLM_SOURCES: dict[str, str] = {}


def llm_source(model: LLM) -> str:
    """Citation text of a model's source key."""
    _llms()
    return _LLM_SOURCES[model.id]


# ------------------------------------------------------------------------------------------ public API


def chip_ids() -> list[str]:
    """Ids of all catalogued accelerators, in file order."""
    return list(_chips())


def system_ids() -> list[str]:
    """Ids of all catalogued systems, in file order."""
    return list(_systems())


def llm_ids() -> list[str]:
    """Ids of all catalogued LLM architectures, in file order."""
    return list(_llms())


def _lookup(table: dict[str, Any], kind: str, key: str) -> Any:
    try:
        return table[key]
    except KeyError:
        raise NotFoundError(f"unknown {kind} id {key!r}; valid ids: {', '.join(table)}") from None


def get_chip(chip_id: str) -> Chip:
    """The chip ``chip_id``; NotFoundError naming it and the valid ids if unknown."""
    return _lookup(_chips(), "chip", chip_id)


def get_system(system_id: str) -> System:
    """The system ``system_id``; NotFoundError naming it and the valid ids if unknown."""
    return _lookup(_systems(), "system", system_id)


def get_llm(model_id: str) -> LLM:
    """The LLM ``model_id``; NotFoundError naming it and the valid ids if unknown."""
    return _lookup(_llms(), "model", model_id)


def chip_spec_record(chip_id: str) -> dict[str, Any]:
    """Flat record with the CONTRACT ``sim chip`` keys plus extras.

    Keys: ``id, vendor, bf16_tflops (TFLOP/s), int8_tops (TOP/s), hbm_gb (GB), hbm_tbps (TB/s),
    scaleup_gbps (GB/s, both directions summed -- NVIDIA's NVLink convention -- for every chip, so the column
    compares like with like), tdp_w (W), sources`` (list of citation strings), ``flag``, and
    ``fp8_tflops, scaleout_gbps, scaleup_gbps_per_direction, scaleup_gbps_quoted`` (the vendor figure as quoted),
    ``scaleup_direction`` (of the quoted figure), ``name, country, memory_type, estimated_fields, notes``.
    """
    chip = get_chip(chip_id)
    rec: dict[str, Any] = {"id": chip.id, "vendor": chip.vendor}
    for name in ("bf16_tflops", "int8_tops", "hbm_gb", "hbm_tbps", "scaleup_gbps", "tdp_w"):
        rec[name] = chip.value(name)
    # Vendors quote scale-up bandwidth either summed over both directions (NVLink 900 GB/s) or one way (UB 392 GB/s):
    # normalise to both directions so one column never mixes conventions.
    rec["scaleup_gbps"] = chip.scaleup_gbps_per_direction * 2.0
    rec["sources"] = sorted(set(chip.sources.values()))
    rec["flag"] = chip.flag
    rec["fp8_tflops"] = chip.value("fp8_tflops")
    rec["scaleout_gbps"] = chip.value("scaleout_gbps")
    rec["scaleup_gbps_per_direction"] = chip.scaleup_gbps_per_direction
    rec["scaleup_gbps_quoted"] = chip.value("scaleup_gbps")
    rec["scaleup_direction"] = chip.scaleup_direction
    rec["name"] = chip.name
    rec["country"] = chip.country
    rec["memory_type"] = chip.memory_type
    rec["estimated_fields"] = sorted(k for k, f in chip.figures.items() if f.flag == "estimate")
    rec["notes"] = {k: f.note for k, f in chip.figures.items() if f.note}
    if chip.scaleup_direction != "bidirectional":
        rec["notes"]["scaleup_gbps"] = (
            f"quoted {rec['scaleup_gbps_quoted']:g} GB/s {chip.scaleup_direction}; shown summed over both directions"
            + (f" ({rec['notes']['scaleup_gbps']})" if rec["notes"].get("scaleup_gbps") else "")
        )
    if chip.conflict:
        rec["notes"]["conflict"] = chip.conflict
    rec["status"] = chip.status
    return rec
