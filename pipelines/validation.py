"""Validation on every read: schema, types, ranges, allowed values, duplicate keys.

Files are read with every column as a string, then cast column by column with Polars
expressions (no per-row Python). A row with any problem is held back from the good
frame and reported once per problem in a quarantine frame with the file, the 1-based
line number (header = line 1), the field, the raw value and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

DType = Literal["str", "int", "float", "date", "bool"]
QUARANTINE_SCHEMA = {"row": pl.Int64, "field": pl.String, "value": pl.String, "reason": pl.String}
_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")
_ROW = "__row"


class ValidationError(Exception):
    """A file cannot be read at all (missing, unreadable, missing columns)."""


@dataclass(frozen=True)
class ColumnRule:
    """What one column must hold. ``min``/``max`` are inclusive bounds on numbers and dates."""

    name: str
    dtype: DType = "str"
    required: bool = True
    min: Any = None
    max: Any = None
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ValidationResult:
    """Typed good rows and the quarantine rows (row, field, value, reason) of one source."""

    source_file: str
    good: pl.DataFrame
    quarantine: pl.DataFrame
    rows_read: int

    @property
    def bad_rows(self) -> int:
        """Number of distinct source rows held back."""
        return self.quarantine["row"].n_unique() if self.quarantine.height else 0

    def summary(self, limit: int = 5) -> str:
        """A readable one-paragraph account of what was quarantined."""
        if not self.quarantine.height:
            return f"{self.source_file}: {self.rows_read} rows, all valid"
        lines = [
            f"{self.source_file}: {self.bad_rows} of {self.rows_read} rows quarantined",
            *(
                f"  row {r['row']} field {r['field']!r} value {r['value']!r}: {r['reason']}"
                for r in self.quarantine.head(limit).iter_rows(named=True)
            ),
        ]
        if self.quarantine.height > limit:
            lines.append(f"  … and {self.quarantine.height - limit} more problems")
        return "\n".join(lines)


def _cast(col: pl.Expr, dtype: DType) -> pl.Expr:
    if dtype == "int":
        return col.cast(pl.Float64, strict=False).pipe(
            lambda f: pl.when(f == f.round(0)).then(f.cast(pl.Int64, strict=False)).otherwise(None)
        )
    if dtype == "float":
        return col.cast(pl.Float64, strict=False).pipe(lambda f: pl.when(f.is_finite()).then(f).otherwise(None))
    if dtype == "date":
        return col.str.to_date("%Y-%m-%d", strict=False)
    if dtype == "bool":
        low = col.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
    return col


def _problems(df: pl.DataFrame, rule: ColumnRule) -> tuple[pl.Expr, list[pl.DataFrame]]:
    """Typed expression for the column and frames of its problems."""
    raw = pl.col(rule.name).str.strip_chars()
    raw = pl.when(raw == "").then(None).otherwise(raw)
    typed = _cast(raw, rule.dtype)
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    if rule.required:
        checks.append((raw.is_null(), pl.lit("missing required value")))
    checks.append((raw.is_not_null() & typed.is_null(), pl.lit(f"not a valid {rule.dtype}")))
    if rule.min is not None:
        checks.append((typed < rule.min, pl.lit(f"below minimum {rule.min}")))
    if rule.max is not None:
        checks.append((typed > rule.max, pl.lit(f"above maximum {rule.max}")))
    if rule.allowed is not None:
        checks.append((raw.is_not_null() & ~raw.is_in(list(rule.allowed)),
                       pl.lit(f"not one of {', '.join(rule.allowed)}")))
    frames = [
        df.filter(cond.fill_null(False)).select(
            pl.col(_ROW).cast(pl.Int64).alias("row"),
            pl.lit(rule.name).alias("field"),
            pl.col(rule.name).alias("value"),
            reason.alias("reason"),
        )
        for cond, reason in checks
    ]
    return typed.alias(rule.name), frames


def validate_frame(
    df: pl.DataFrame,
    rules: Sequence[ColumnRule],
    *,
    source_file: str,
    key: Sequence[str] | None = None,
    first_row: int = 2,
) -> ValidationResult:
    """Validate an all-string frame against ``rules``; see the module docstring.

    Missing required columns raise ``ValidationError``; columns without a rule are kept
    as strings. Rows sharing a key are all quarantined (no way to tell which is right).
    """
    missing = [r.name for r in rules if r.name not in df.columns and r.required]
    if missing:
        raise ValidationError(
            f"{source_file}: missing column(s) {missing}; found {df.columns}"
        )
    for r in rules:
        if r.name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.String).alias(r.name))
    df = df.with_columns(pl.col(c).cast(pl.String) for c in df.columns).with_row_index(_ROW, offset=first_row)
    typed_exprs: list[pl.Expr] = []
    problem_frames: list[pl.DataFrame] = []
    for rule in rules:
        expr, frames = _problems(df, rule)
        typed_exprs.append(expr)
        problem_frames.extend(frames)
    typed = df.with_columns(typed_exprs)
    if key:
        dup = typed.filter(pl.len().over(list(key)) > 1)
        if dup.height:
            first_rows = dup.group_by(list(key)).agg(pl.col(_ROW).min().alias("__first"))
            dup = dup.join(first_rows, on=list(key), how="left", nulls_equal=True)
            problem_frames.append(dup.select(
                pl.col(_ROW).cast(pl.Int64).alias("row"),
                pl.lit(",".join(key)).alias("field"),
                pl.concat_str([pl.col(k).cast(pl.String).fill_null("") for k in key], separator="|").alias("value"),
                pl.format("duplicate key (first at row {})", pl.col("__first")).alias("reason"),
            ))
    quarantine = (
        pl.concat(problem_frames, how="vertical_relaxed").sort("row")
        if problem_frames
        else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    bad = quarantine["row"].unique()
    good = typed.filter(~pl.col(_ROW).is_in(bad.implode())).drop(_ROW)
    return ValidationResult(source_file, good, quarantine, df.height)


def read_csv_validated(
    path: str | Path, rules: Sequence[ColumnRule], key: Sequence[str] | None = None
) -> ValidationResult:
    """Read a CSV with every column as a string and validate it (see ``validate_frame``)."""
    path = Path(path)
    try:
        df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except FileNotFoundError as exc:
        raise ValidationError(f"{path}: file not found") from exc
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise ValidationError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from exc
    return validate_frame(df, rules, source_file=str(path), key=key)
