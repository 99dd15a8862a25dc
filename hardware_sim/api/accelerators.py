"""Typed requests and results of the accelerator simulator: chip, system, LLM serve / train / replace.

Every limit and default of ``fabscope sim chip|system|llm|train|replace`` and of the dashboard's LLM
serving calculator lives here, once. ``run()`` calls :mod:`hardware_sim.accelerators` and returns a result
with the contract's keys (``/work/shared/CONTRACT.md``); results allow extra keys so physics that grows a
field (a new breakdown, a note) reaches every caller without an edit here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
)

from hardware_sim.accelerators import catalog, cost, equivalence, llm, power
from hardware_sim.accelerators.mechanisms import DECODE_MAX_Q
from hardware_sim.api._base import Count, Number, Refusal, RequestRefused, SimRequest

#: Most concurrent sequences per accelerator: the range the TPOT batch search covers (2^16).
MAX_BATCH_PER_CHIP = 65_536
#: Longest prompt or generation, tokens (256 Ki; above every catalogued model's context window).
MAX_SEQUENCE_TOKENS = 262_144
#: Longest decode latency target, ms per output token (10 s: far beyond any interactive service).
MAX_TPOT_MS = 10_000.0
#: Largest parallel degree accepted for tp / dp / pp (larger than any catalogued system's chip count).
MAX_PARALLEL_DEGREE = 16_384
#: Most sequences in one training step.
MAX_GLOBAL_BATCH = 1 << 24
#: Most accelerators on the "from" side of a replacement.
MAX_REPLACED_CHIPS = 100_000_000

Precision = Literal["bf16", "fp8", "int8"]
MAX_MTP_DRAFT_TOKENS = int(DECODE_MAX_Q) - 1
"""Most draft tokens per MTP step (the decode kernels' query-length limit less the verified token)."""
Phase = Literal["prefill", "decode"]


def _check_id(kind: str, valid: Callable[[], list[str]], value: str) -> str:
    ids = valid()
    if value not in ids:
        raise ValueError(f"unknown {kind} id {value!r}; valid {kind} ids: {', '.join(ids)}")
    return value


ChipId = Annotated[str, AfterValidator(lambda v: _check_id("chip", catalog.chip_ids, v))]
SystemId = Annotated[str, AfterValidator(lambda v: _check_id("system", catalog.system_ids, v))]
ModelId = Annotated[str, AfterValidator(lambda v: _check_id("model", catalog.llm_ids, v))]
"""Catalog ids; an unknown id is refused with the list of valid ones."""


def _run(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run the physics; a value it cannot evaluate (an impossible layout, a target missed) is a refusal."""
    try:
        return call()
    except (KeyError, ValueError) as exc:
        raise RequestRefused([Refusal(None, str(exc.args[0] if exc.args else exc))]) from None


class _Record(BaseModel):
    """A result with typed contract keys; further keys of the physics are kept as they come."""

    model_config = ConfigDict(extra="allow")
    _order: list[str] = PrivateAttr(default_factory=list)

    @classmethod
    def from_physics(cls, values: dict[str, Any]) -> Self:
        """Validate the physics' dict, remembering its key order."""
        out = cls.model_validate(values)
        out._order = list(values)
        return out

    def record(self) -> dict[str, Any]:
        """The JSON document: exactly the keys the physics produced, in its order."""
        dumped = self.model_dump(exclude_unset=True)
        return {k: dumped[k] for k in self._order if k in dumped}


# ------------------------------------------------------------------------------------------- chip, system
class ChipResult(_Record):
    """``fabscope sim chip`` keys: dense TFLOP/s, TOP/s, HBM GB and TB/s, scale-up GB/s, TDP W, sources."""

    id: str
    vendor: str
    bf16_tflops: float | None
    int8_tops: float | None
    hbm_gb: float | None
    hbm_tbps: float | None
    scaleup_gbps: float | None
    tdp_w: float | None
    sources: list[str]


class _ByIdRequest(SimRequest):
    """A request naming one catalog entry by ``id``: ``result`` built from ``record(id)``."""

    cli_flags = {"id": "ID"}
    result: ClassVar[type[_Record]]
    record: ClassVar[Callable[[str], dict[str, Any]]]

    def run(self) -> _Record:
        return self.result.from_physics(type(self).record(self.id))  # type: ignore[attr-defined]


class ChipRequest(_ByIdRequest):
    """One accelerator's spec sheet."""

    result = ChipResult
    record = staticmethod(catalog.chip_spec_record)
    id: ChipId = Field(description="chip id (`fabscope sim list`)")


class SystemResult(_Record):
    """``fabscope sim system`` keys: PFLOP/s, HBM TB and TB/s, scale-up TB/s, facility kW and its breakdown."""

    id: str
    chips: int
    bf16_pflops: float
    hbm_tb: float
    hbm_tbps: float
    scaleup_tbps: float
    power_kw: float
    pflops_per_kw: float
    power_breakdown_kw: dict[str, float]


class SystemRequest(_ByIdRequest):
    """One system's totals, power computed from its components."""

    result = SystemResult
    record = staticmethod(power.system_record)
    id: SystemId = Field(description="system id (`fabscope sim list`)")


# ------------------------------------------------------------------------------------------- LLM serving
class LlmServeResult(_Record):
    """``fabscope sim llm`` keys: tokens/s per chip, TTFT (prefill) or TPOT (decode) in ms, bound, batch,
    the layout and why, memory per chip (GB), cost per million tokens (USD, None without a capex figure)."""

    system: str
    model: str
    chip: str
    phase: Phase
    precision: Precision
    batch: int = Field(description="concurrent sequences per accelerator")
    input_len: int
    output_len: int
    tokens_per_s_per_chip: float
    bound: Literal["compute", "memory", "network"]
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    tokens_per_s_per_sequence: float | None = None
    layout: str
    layout_note: str
    tp: int
    dp: int
    pp: int
    ep: int
    chips_in_replica: int
    tokens_per_s_per_replica: float
    weights_gb_per_chip: float
    kv_gb_per_chip: float
    usable_gb_per_chip: float
    fits_memory: bool
    max_batch: int = Field(description="largest batch whose weights + KV cache fit (memory limit)")
    time_breakdown_ms: dict[str, float]
    gflop_per_chip: float
    gb_moved_per_chip: float
    notes: list[str]
    operators: list[dict[str, Any]] | None = None
    tpot_target_ms: float | None = None
    meets_target: bool | None = None
    batch_search: str | None = None
    cost_per_mtok_usd: float | None = None
    cost: dict[str, Any] | None = None


class ServingMechanisms(SimRequest):
    """Serving-mechanism options shared by ``sim llm`` and ``sim replace``
    (:mod:`hardware_sim.accelerators.mechanisms`; None = the mechanism's default)."""

    mtp: Count | None = Field(
        None, ge=0, le=MAX_MTP_DRAFT_TOKENS, description="MTP / speculative draft tokens per step (default 0)"
    )
    acceptance: Number | None = Field(
        None, ge=0, le=1, description="per-draft-token acceptance, fraction (default 0.85)"
    )
    moe_routing: Literal["eplb", "uniform", "balanced"] | None = Field(
        None,
        description="MoE load model: EPLB on real routing, uniform random routing, or perfectly balanced (default eplb)",
    )
    no_ep_overlap: bool = Field(False, description="no two-micro-batch overlap of MoE communication")
    serving: Literal["disaggregated", "colocated"] | None = Field(
        None, description="prefill and decode on separate chips, or sharing them (default disaggregated)"
    )
    kv_precision: Precision | None = Field(None, description="KV-cache precision (default bf16)")

    def mechanism_kwargs(self) -> dict[str, Any]:
        """The options as keyword arguments of :func:`llm.serve` / :func:`equivalence.replacement`."""
        return {
            "mtp": self.mtp,
            "acceptance": self.acceptance,
            "moe_routing": self.moe_routing,
            "ep_overlap": False if self.no_ep_overlap else None,
            "serving": self.serving,
            "kv_precision": self.kv_precision,
        }


class LlmServeRequest(ServingMechanisms):
    """Prefill or decode of one LLM on one system: at ``batch`` sequences per chip, or the largest batch
    meeting a decode ``tpot_ms`` target (then ``batch`` is not used)."""

    system: SystemId = Field(description="system id (`fabscope sim list`)")
    model: ModelId = Field(description="LLM id (`fabscope sim list`)")
    phase: Phase = Field(description="prefill (TTFT) or decode (TPOT)")
    precision: Literal["native", "bf16", "fp8", "int8"] = Field(
        "native",
        description="weights/activations; native = the precision the model's weights are released in",
    )
    batch: Count = Field(1, ge=1, le=MAX_BATCH_PER_CHIP, description="concurrent sequences per accelerator")
    input_len: Count = Field(2048, ge=1, le=MAX_SEQUENCE_TOKENS, description="prompt tokens")
    output_len: Count = Field(512, ge=0, le=MAX_SEQUENCE_TOKENS, description="generated tokens")
    prefix_cached: Count = Field(
        0, ge=0, le=MAX_SEQUENCE_TOKENS, description="prefill: prefix-cache hit tokens"
    )
    tpot_ms: Number | None = Field(
        None,
        gt=0,
        le=MAX_TPOT_MS,
        description="decode target, ms per token: search the largest batch meeting it",
    )
    tp: Count | None = Field(
        None, ge=1, le=MAX_PARALLEL_DEGREE, description="tensor parallelism (default: by system)"
    )
    dp: Count | None = Field(None, ge=1, le=MAX_PARALLEL_DEGREE, description="attention data parallelism")
    pp: Count | None = Field(None, ge=1, le=MAX_PARALLEL_DEGREE, description="pipeline stages")
    with_operators: bool = Field(False, description="include the per-operator table")

    cli_flags = {"with_operators": "--ops", "no_ep_overlap": "--no-ep-overlap"}

    @field_validator("tpot_ms")
    @classmethod
    def _decode_only(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("phase") == "prefill":
            raise ValueError("a TPOT target applies to the decode phase only")
        return value

    @field_validator("prefix_cached")
    @classmethod
    def _prefill_prefix(cls, value: int, info: ValidationInfo) -> int:
        if value and info.data.get("phase") != "prefill":
            raise ValueError("a cached prefix applies to the prefill phase only")
        if value and value >= info.data.get("input_len", MAX_SEQUENCE_TOKENS + 1):
            raise ValueError(f"must be below input_len ({info.data.get('input_len')}), got {value}")
        return value

    @field_validator("tp", "pp")
    @classmethod
    def _fits_the_model(cls, value: int | None, info: ValidationInfo) -> int | None:
        model_id = info.data.get("model")
        if value is None or model_id is None:
            return value
        m = catalog.get_llm(model_id)
        limit, what = (m.n_heads, "attention heads") if info.field_name == "tp" else (m.n_layers, "layers")
        if value > limit:
            raise ValueError(f"must be at most the {limit} {what} of {model_id}, got {value}")
        return value

    def resolved_precision(self) -> str:
        """The precision served: the request's, or the model's native one."""
        return catalog.get_llm(self.model).native_precision if self.precision == "native" else self.precision

    def layout(self) -> dict[str, int] | None:
        """The caller's layout (missing degrees are 1), or None for the system's default layout."""
        if self.tp is None and self.dp is None and self.pp is None:
            return None
        return {"tp": self.tp or 1, "dp": self.dp or 1, "pp": self.pp or 1}

    def run(self) -> LlmServeResult:
        """:func:`llm.serve` (or :func:`llm.search_batch_for_tpot`) plus the cost per million tokens."""
        prec = self.resolved_precision()
        if self.tpot_ms is not None:
            res = _run(
                lambda: llm.search_batch_for_tpot(
                    self.system,
                    self.model,
                    self.tpot_ms,
                    self.input_len,
                    self.output_len,
                    prec,
                    self.layout(),
                    **self.mechanism_kwargs(),
                )
            )
        else:
            res = _run(
                lambda: llm.serve(
                    self.system,
                    self.model,
                    self.phase,
                    self.batch,
                    self.input_len,
                    self.output_len,
                    prec,
                    self.layout(),
                    with_ops=self.with_operators,
                    prefix_cached=self.prefix_cached,
                    **self.mechanism_kwargs(),
                )
            )
        c = cost.serving_cost(res)
        res["cost_per_mtok_usd"] = None if c is None else c["usd_per_mtok"]
        res["cost"] = c
        if not self.with_operators:
            res.pop("operators", None)
        return LlmServeResult.from_physics(res)


# ------------------------------------------------------------------------------------------- training
class TrainResult(_Record):
    """``fabscope sim train`` keys: step time (s), tokens/s, MFU (fraction), layout, memory fit."""

    system: str
    model: str
    precision: Precision
    global_batch: int
    seq_len: int
    layout: str
    step_time_s: float
    tokens_per_s: float
    mfu: float
    bound: Literal["compute", "memory", "network"]
    fits_memory: bool


class TrainRequest(SimRequest):
    """One training step of ``global_batch`` sequences of ``seq_len`` tokens on all chips of a system."""

    system: SystemId = Field(description="system id")
    model: ModelId = Field(description="LLM id")
    global_batch: Count = Field(1024, ge=1, le=MAX_GLOBAL_BATCH, description="sequences per step")
    seq_len: Count = Field(4096, ge=1, le=MAX_SEQUENCE_TOKENS, description="tokens per sequence")
    precision: Precision = Field("bf16", description="training precision")

    def run(self) -> TrainResult:
        return TrainResult.from_physics(
            _run(
                lambda: llm.train_step(
                    self.system, self.model, self.global_batch, self.seq_len, self.precision
                )
            )
        )


# ------------------------------------------------------------------------------------------- replacement
class ReplaceResult(_Record):
    """``fabscope sim replace`` keys: chips and systems of ``to`` matching the decode tokens/s of ``from``."""

    model: str
    tpot_target_ms: float
    input_len: int
    output_len: int
    to_chips_needed: int
    to_systems_needed: int
    chips_per_from_chip: float
    power_ratio_to_over_from: float


class ReplaceRequest(ServingMechanisms):
    """Chips of ``to_system`` needed to match ``chips`` chips of ``from_system`` at one decode TPOT target."""

    model: ModelId = Field(description="LLM id")
    from_system: SystemId = Field(description="system id being replaced")
    to_system: SystemId = Field(description="replacement system id")
    chips: Count = Field(ge=1, le=MAX_REPLACED_CHIPS, description="accelerators of from_system to match")
    tpot_ms: Number = Field(50.0, gt=0, le=MAX_TPOT_MS, description="decode TPOT target on both sides, ms")
    input_len: Count = Field(2048, ge=1, le=MAX_SEQUENCE_TOKENS, description="prompt tokens")
    output_len: Count = Field(512, ge=1, le=MAX_SEQUENCE_TOKENS, description="generated tokens")
    precision: Precision | None = Field(
        None, description="one precision on both sides (default: each side's serving precision)"
    )

    cli_flags = {"from_system": "--from", "to_system": "--to", "no_ep_overlap": "--no-ep-overlap"}

    def run(self) -> ReplaceResult:
        return ReplaceResult.from_physics(
            _run(
                lambda: equivalence.replacement(
                    self.model,
                    self.from_system,
                    self.to_system,
                    self.chips,
                    self.tpot_ms,
                    self.input_len,
                    self.output_len,
                    self.precision,
                    **self.mechanism_kwargs(),
                )
            )
        )
