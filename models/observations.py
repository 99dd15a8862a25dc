"""Observed figures and their measurement models: what each published number measures.

An observation is one published figure: ``segment, year, metric, value, published, source,
flag, notes`` (``pipelines/reference/observations.csv``). ``METRICS`` is the one home of the
metric names: for each, the segment it belongs to, the structural-model output it measures
(``models.supply.simulate_supply``) and how far a figure of that kind may sit from that
output (``proxy_sd``), so a unit share is compared with the modelled unit share, a revenue
share with the modelled H100-equivalent share plus a proxy error, a unit count with the
modelled units on a log scale.

Vintages: ``as_of(frame, date)`` keeps only the rows published by that date, so a forecast
"as of" a date sees what an analyst could have seen then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from fabscope.errors import InputError

COLUMNS = ("segment", "year", "metric", "value", "published", "source", "flag", "notes")


@dataclass(frozen=True)
class Measurement:
    """How one metric maps onto the structural model.

    ``output``: key of ``simulate_supply(...)[segment]``; ``kind``: ``share`` (a fraction,
    compared on the share scale) or ``count`` (units/year, compared on the log scale);
    ``proxy_sd``: standard deviation of the figure around that output beyond the curve's own
    noise (share points for shares, log units for counts), 0 where the figure measures the
    output itself. Assumption (flag: estimate): 0.05 for a value-type share against the
    H100e share and for an AI-server chip share against the card-unit share; 0.15 (about
    +-15%) for a count from one vendor tracker.
    """

    segment: str
    output: str
    kind: str
    proxy_sd: float
    doc: str


# One row per metric: name | segment | structural output | scale | proxy sd | what the figure measures
_METRIC_TABLE = """
unit_share         | ai_accelerators | unit_share         | share | 0.0  | domestic accelerator cards / all cards shipped
server_chip_share  | ai_accelerators | unit_share         | share | 0.05 | domestic share of AI-server chips
h100e_share        | ai_accelerators | share              | share | 0.0  | domestic share of delivered H100-equivalents
revenue_share      | ai_accelerators | share              | share | 0.05 | domestic vendors' share of sales value
self_sufficiency   | ai_accelerators | share              | share | 0.05 | analyst AI-GPU self-sufficiency (value-type)
units_shipped      | ai_accelerators | domestic_units     | count | 0.15 | domestic cards shipped per year
vendor_units       | ai_accelerators | hbm_class_domestic | count | 0.15 | Huawei (Ascend) cards per year
localisation_ratio | wfe             | share              | share | 0.05 | domestic share of equipment (definitions vary)
hbm_share          | hbm             | share              | share | 0.0  | domestic share of HBM stacks used
"""
_METRIC_ROWS = [
    (name, segment, output, kind, float(proxy), doc)
    for name, segment, output, kind, proxy, doc in (
        [cell.strip() for cell in line.split("|")] for line in _METRIC_TABLE.strip().splitlines()
    )
]
METRICS: dict[str, Measurement] = {name: Measurement(*rest) for name, *rest in _METRIC_ROWS}

# The AI-accelerator metric a forecast is stated in (``--metric``): name -> structural output.
AI_METRICS = {"units": "unit_share", "h100e": "share"}
DEFAULT_AI_METRIC = "units"  # the published actuals (IDC) count cards, not compute
# The share output each segment's curves are fitted to, per AI metric.
SEGMENT_TARGETS = {"wfe": "share", "hbm": "share"}


class ObservationError(InputError):
    """A bad observation row or vintage date; the message names file, row and field."""


def target_output(segment: str, ai_metric: str = DEFAULT_AI_METRIC) -> str:
    """The structural output a segment's share curves describe (``unit_share`` or ``share``)."""
    if ai_metric not in AI_METRICS:
        raise ObservationError(f"--metric: expected one of {sorted(AI_METRICS)}, got {ai_metric!r}")
    return AI_METRICS[ai_metric] if segment == "ai_accelerators" else SEGMENT_TARGETS.get(segment, "share")


def validate_observations(frame: pl.DataFrame, *, today: date, label: str = "observations") -> pl.DataFrame:
    """Check every row's metric, segment, value range and published date; return the frame.

    Raises ``ObservationError`` for the first bad row: ``<label> row N, field F: ...`` (N counts
    data rows from 1, as a spreadsheet without its header would).
    """
    missing = [c for c in ("segment", "year", "metric", "value", "published") if c not in frame.columns]
    if missing:
        raise ObservationError(f"{label}: missing column(s) {missing}")
    for i, row in enumerate(frame.iter_rows(named=True), start=1):
        where = f"{label} row {i}"
        spec = METRICS.get(row["metric"])
        if spec is None:
            raise ObservationError(
                f"{where}, field metric: unknown metric {row['metric']!r}; expected one of {sorted(METRICS)}"
            )
        if row["segment"] != spec.segment:
            raise ObservationError(
                f"{where}, field segment: metric {row['metric']!r} belongs to {spec.segment!r}, "
                f"got {row['segment']!r}"
            )
        value = row["value"]
        if value is None or not np.isfinite(value) or value < 0 or (spec.kind == "share" and value > 1):
            rng = "a share in [0, 1]" if spec.kind == "share" else "a count >= 0"
            raise ObservationError(f"{where}, field value: expected {rng}, got {value!r}")
        published = row["published"]
        if published is None:
            raise ObservationError(f"{where}, field published: the publication date is required")
        if published > today:
            raise ObservationError(
                f"{where}, field published: {published.isoformat()} is after today ({today.isoformat()})"
            )
    return frame


def parse_as_of(text: str | date | None, frame: pl.DataFrame) -> date | None:
    """The ``--as-of`` date; refuses a date before the first observation was published."""
    if text is None:
        return None
    try:
        day = text if isinstance(text, date) else date.fromisoformat(str(text))
    except ValueError:
        raise ObservationError(f"--as-of: expected a date YYYY-MM-DD, got {text!r}") from None
    if frame.height and day < frame["published"].min():
        raise ObservationError(
            f"--as-of: {day.isoformat()} is before the first observation "
            f"(published {frame['published'].min().isoformat()})"
        )
    return day


def as_of(frame: pl.DataFrame, day: date | None) -> pl.DataFrame:
    """The rows published on or before ``day`` (all rows when ``day`` is None)."""
    if day is None:
        return frame
    return frame.filter(pl.col("published") <= day)


def share_series(frame: pl.DataFrame, segment: str, output: str) -> pl.DataFrame:
    """Share observations of ``segment`` that measure ``output``, with a ``proxy_sd`` column.

    Columns: year, value, flag, notes, metric, proxy_sd (see ``Measurement``).
    """
    names = [
        m for m, s in METRICS.items() if s.segment == segment and s.output == output and s.kind == "share"
    ]
    rows = frame.filter((pl.col("segment") == segment) & pl.col("metric").is_in(names))
    proxy = {m: METRICS[m].proxy_sd for m in names}
    return rows.with_columns(
        pl.col("metric").replace_strict(proxy, return_dtype=pl.Float64).alias("proxy_sd")
    )


DTYPES = dict(
    zip(
        COLUMNS,
        (pl.String, pl.Int64, pl.String, pl.Float64, pl.Date, pl.String, pl.String, pl.String),
        strict=True,
    )
)


def empty_frame() -> pl.DataFrame:
    """An observations frame with no rows and the right types."""
    return pl.DataFrame(schema=DTYPES)
