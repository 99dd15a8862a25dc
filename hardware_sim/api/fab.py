"""Typed requests and results of the fab-tooling simulator: channel-hole etch, deposition, fab tool counts.

Every limit and default of ``fabscope sim etch`` / ``sim fab`` and of the dashboard's etch and fab
calculators lives here, once; :meth:`EtchRequest.run` and :meth:`FabRequest.run` call the physics in
:mod:`hardware_sim.fab` and return results whose keys are the contract's (``/work/shared/CONTRACT.md``).
Units are in each field's description.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from hardware_sim.api._base import Count, Number, SimRequest
from hardware_sim.fab import deposition, etch, tool_counts
from hardware_sim.fab.process_flows import (
    MAX_NAND_LAYERS,
    channel_hole_etch_chambers,
    default_uptime,
    default_utilisation,
    get_flow,
    process_flow_ids,
)
from hardware_sim.fab.tool_throughput import multi_pass_throughput

#: Largest aspect ratio (depth / diameter) accepted. The Clausing transmission behind the ARDE model is
#: tabulated to L/R = 500 (aspect ratio 250); 200 leaves a margin and is ~2x today's deepest NAND holes.
MAX_ASPECT_RATIO = 200.0

#: Largest hole diameter, nm: 10 µm, the size of through-silicon vias; beyond it the hole is no longer
#: in the Knudsen (molecular-flow) regime the model assumes.
MAX_HOLE_DIAMETER_NM = 10_000.0

#: Thickest oxide/nitride pair, nm (shipping stacks use ~40-70 nm).
MAX_LAYER_PITCH_NM = 1_000.0

#: Most chambers on one cluster etch tool (platforms carry up to ~6-12 process modules).
MAX_ETCH_CHAMBERS = 12

#: Largest WSPM accepted, 300 mm wafer starts per month: about the whole world's installed capacity
#: (SEMI World Fab Forecast: ~33.7M 200mm-equivalent wafers/month in 2025 ~= 15M 300 mm). Above it is a typo.
MAX_WSPM = 15_000_000

EtchChemistryName = Literal[tuple(sorted(etch.CHEMISTRIES))]  # type: ignore[valid-type]

ETCH_NOTES = (
    "aspect_ratio and etch_rate_nm_min are per deck at full depth; etch_time_min covers all decks; "
    "wafers_per_hour is one tool while up, all decks"
)


class EtchResult(BaseModel):
    """``fabscope sim etch`` keys. Lengths nm, rates nm/min, times min, throughput wafers/hour (tool up)."""

    aspect_ratio: float = Field(description="per deck: deck depth / hole diameter")
    etch_rate_nm_min: float = Field(description="bottom etch rate at full deck depth, nm/min")
    etch_time_min: float = Field(description="etch time of all decks, min")
    wafers_per_hour: float = Field(description="one tool while up, every deck a separate visit, wafers/h")
    mean_etch_rate_nm_min: float = Field(description="deck depth / deck etch time, nm/min")
    open_field_rate_nm_min: float = Field(description="blanket (AR -> 0) etch rate, nm/min")
    clausing_k: float = Field(description="Clausing transmission probability of the hole at full depth")
    neutral_ratio: float = Field(description="neutral flux at the bottom / at the top (ARDE)")
    layers: int | None = Field(description="word-line layers (None for an aspect-ratio request)")
    decks: int
    stack_height_nm: float
    deck_depth_nm: float
    hole_diameter_nm: float
    layer_pitch_nm: float | None = Field(description="oxide/nitride pair, nm (None for an aspect ratio)")
    chemistry: str
    chambers: int
    throughput_limited_by: Literal["chambers", "transfer"]
    notes: str
    source: str
    flag: str


class EtchRequest(SimRequest):
    """A high-aspect-ratio hole etch: a 3D NAND channel hole of ``layers`` layers, or one ``aspect_ratio``."""

    layers: Count | None = Field(
        None, ge=1, le=MAX_NAND_LAYERS, description="3D NAND word-line layers (give this or aspect_ratio)"
    )
    aspect_ratio: Number | None = Field(
        None,
        gt=0,
        le=MAX_ASPECT_RATIO,
        description="depth / diameter of a single-deck hole (give this or layers)",
    )
    chemistry: EtchChemistryName = Field(
        "conventional", description=f"etch chemistry preset: {' | '.join(sorted(etch.CHEMISTRIES))}"
    )
    hole_diameter_nm: Number = Field(
        etch.DEFAULT_HOLE_DIAMETER_NM, gt=0, le=MAX_HOLE_DIAMETER_NM, description="hole diameter, nm"
    )
    layer_pitch_nm: Number = Field(
        etch.DEFAULT_LAYER_PITCH_NM,
        gt=0,
        le=MAX_LAYER_PITCH_NM,
        description="oxide/nitride pair thickness, nm (layers only)",
    )
    decks: Count | None = Field(
        None,
        ge=1,
        le=MAX_NAND_LAYERS,
        description=f"channel-hole decks (layers only; default: one per {etch.DEFAULT_MAX_LAYERS_PER_DECK} "
        "layers, rounded up)",
    )
    chambers: Count = Field(
        default_factory=channel_hole_etch_chambers,
        ge=1,
        le=MAX_ETCH_CHAMBERS,
        description="process chambers on the etch tool (default: the 3D NAND flows' etch tool)",
    )

    @field_validator("layers", "aspect_ratio")
    @classmethod
    def _given_means_a_value(cls, value: Any) -> Any:
        if value is None:  # runs only when the caller passed the field (an empty box), never for the default
            raise ValueError("a value is required")
        return value

    @field_validator("layer_pitch_nm", "decks")
    @classmethod
    def _layers_only(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("aspect_ratio") is not None:
            raise ValueError("applies to a layer count only, not to an aspect ratio")
        layers = info.data.get("layers")
        if info.field_name == "decks" and value is not None and layers is not None and value > layers:
            raise ValueError(f"must be at most the {layers} layers, got {value}")
        return value

    @model_validator(mode="after")
    def _one_geometry(self) -> EtchRequest:
        if (self.layers is None) == (self.aspect_ratio is None):
            raise ValueError("give either a layer count or an aspect ratio")
        return self

    def run(self) -> EtchResult:
        """Etch rate and time (:mod:`hardware_sim.fab.etch`) and one tool's throughput, every deck a visit."""
        chem = etch.get_chemistry(self.chemistry)
        if self.layers is not None:
            res = etch.channel_hole_etch(
                self.layers, chem, self.layer_pitch_nm, self.hole_diameter_nm, self.decks
            )
        else:
            res = etch.hole_etch_for_aspect_ratio(float(self.aspect_ratio or 0), chem, self.hole_diameter_nm)
        tool = multi_pass_throughput(res.etch_time_min, res.decks, self.chambers)
        return EtchResult(
            aspect_ratio=res.aspect_ratio,
            etch_rate_nm_min=res.etch_rate_nm_min,
            etch_time_min=res.etch_time_min,
            wafers_per_hour=tool.wafers_per_hour,
            mean_etch_rate_nm_min=res.mean_etch_rate_nm_min,
            open_field_rate_nm_min=res.open_field_rate_nm_min,
            clausing_k=float(etch.clausing_from_aspect_ratio(res.aspect_ratio)),
            neutral_ratio=float(etch.arde_neutral_ratio(res.aspect_ratio, chem.reaction_probability)),
            layers=res.layers or None,
            decks=res.decks,
            stack_height_nm=res.stack_height_nm,
            deck_depth_nm=res.deck_depth_nm,
            hole_diameter_nm=res.hole_diameter_nm,
            layer_pitch_nm=None if math.isnan(res.layer_pitch_nm) else res.layer_pitch_nm,
            chemistry=chem.name,
            chambers=self.chambers,
            throughput_limited_by=tool.limited_by,  # type: ignore[arg-type]
            notes=ETCH_NOTES,
            source=chem.source,
            flag=chem.flag,
        )


def arde_curve(chemistry: str, max_aspect_ratio: float, points: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """(aspect ratios 1..``max_aspect_ratio``, bottom etch rate nm/min) of ``chemistry``: the ARDE curve."""
    ars = np.linspace(1.0, max_aspect_ratio, points)
    return ars, np.asarray(etch.etch_rate_nm_min(ars, etch.get_chemistry(chemistry)), dtype=float)


class FabToolRow(BaseModel):
    """Tools of one type: installed count, fractional need, passes per wafer, wafers/hour, capex USD M."""

    type: str
    count: int
    count_exact: float
    passes_per_wafer: float
    wafers_per_hour: float
    capex_usd_m: float
    source: str
    flag: str


class FabResult(BaseModel):
    """``fabscope sim fab`` keys: tools per type, totals, capex (USD bn) and provenance."""

    process: str
    name: str
    wspm: float = Field(description="wafer starts per month, 300 mm")
    tools: list[FabToolRow]
    total_tools: int
    litho_passes: float
    capex_usd_b: float
    capex_usd_b_per_10k_wspm: float | None = Field(description="None at 0 WSPM")
    uptime: float
    utilisation: float
    hours_per_month: float
    params: dict[str, Any]
    source: str
    flag: str


class FabRequest(SimRequest):
    """Tools (and their capex) a fab needs for ``wspm`` wafer starts per month of one process flow."""

    process: str = Field(description="process flow id (`fabscope sim list`), or 3dnand-<layers>")
    wspm: Number = Field(
        ge=0,
        le=MAX_WSPM,
        description="wafer starts per month, 300 mm",
        json_schema_extra={"limit_note": "the upper limit is about the whole world's 300 mm capacity"},
    )
    uptime: Number = Field(
        default_factory=default_uptime, gt=0, le=1, description="tool availability, fraction"
    )
    utilisation: Number = Field(
        default_factory=default_utilisation, gt=0, le=1, description="loaded share of up-time, fraction"
    )

    @field_validator("process")
    @classmethod
    def _known_flow(cls, value: str) -> str:
        try:
            get_flow(value)
        except ValueError as exc:  # a 3dnand-<layers> id outside the modelled layer counts
            raise ValueError(str(exc)) from None
        except KeyError:
            raise ValueError(
                f"unknown process id {value!r}; valid process ids: {', '.join(process_flow_ids())} "
                f"(or 3dnand-<layers>, 1..{MAX_NAND_LAYERS} layers)"
            ) from None
        return value

    def run(self) -> FabResult:
        """Tool counts from :func:`hardware_sim.fab.tool_counts.fab_summary`."""
        return FabResult.model_validate(
            tool_counts.fab_summary(self.process, self.wspm, self.uptime, self.utilisation)
        )


# ------------------------------------------------------------------------------------------- deposition
class DepositionResult(BaseModel):
    """Minutes per wafer in one chamber (incl. per-wafer overhead) and wafers/hour of the tool while up."""

    process: str
    thickness_nm: float
    time_min: float
    chambers: int
    wafers_per_hour: float
    throughput_limited_by: Literal["chambers", "transfer"]


class DepositionRequest(SimRequest):
    """A CVD or ALD film of ``thickness_nm`` with a preset of :mod:`hardware_sim.fab.deposition`."""

    process: str = Field(description="CVD or ALD preset of hardware_sim.fab.deposition")
    thickness_nm: Number = Field(gt=0, le=100_000, description="film thickness, nm")
    chambers: Count = Field(1, ge=1, le=MAX_ETCH_CHAMBERS, description="process chambers on the tool")

    @field_validator("process")
    @classmethod
    def _known_process(cls, value: str) -> str:
        known = sorted({*deposition.CVD_PROCESSES, *deposition.ALD_PROCESSES})
        if value not in known:
            raise ValueError(f"unknown deposition process {value!r}; valid: {', '.join(known)}")
        return value

    def run(self) -> DepositionResult:
        """Film time from :func:`deposition.cvd_time_min` / :func:`deposition.ald_time_min`."""
        if self.process in deposition.ALD_PROCESSES:
            minutes = float(deposition.ald_time_min(self.thickness_nm, self.process))
        else:
            minutes = float(deposition.cvd_time_min(self.thickness_nm, self.process))
        tool = multi_pass_throughput(minutes, 1, self.chambers)
        return DepositionResult(
            process=self.process,
            thickness_nm=self.thickness_nm,
            time_min=minutes,
            chambers=self.chambers,
            wafers_per_hour=tool.wafers_per_hour,
            throughput_limited_by=tool.limited_by,  # type: ignore[arg-type]
        )
