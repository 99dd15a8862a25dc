"""Validation on every read: schema, types, ranges, allowed values, duplicate keys.

Files are read with every column as a string, then cast column by column with Polars
expressions (no per-row Python). A row with any problem is held back from the good
frame and reported once per problem in a quarantine frame with the file, the 1-based
line number where the record starts (header = line 1; blank lines and multi-line quoted
fields counted), the field, the raw value and the reason.

CSV files are parsed with the standard ``csv`` module so that damage stays row-local: a
UTF-8 byte-order mark, CRLF line ends, blank lines and empty trailing fields (spreadsheet
exports) are accepted; a row with extra non-empty fields, or with bytes that are not
UTF-8, is quarantined with its line number instead of failing the whole file. Only a file
that cannot be read at all (missing, empty, no usable header, an unterminated quote)
raises ``ValidationError``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from fabscope.errors import DataError
from pipelines.clock import run_date

DType = Literal["str", "int", "float", "date", "bool"]
QUARANTINE_SCHEMA = {"row": pl.Int64, "field": pl.String, "value": pl.String, "reason": pl.String}
_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")
_ROW = "__row"


class ValidationError(DataError):
    """A file cannot be read at all (missing, unreadable, missing columns)."""


@dataclass(frozen=True)
class ColumnRule:
    """What one column must hold. ``min``/``max`` are inclusive bounds on numbers and dates."""

    name: str
    dtype: DType = "str"
    required: bool = True
    min: Any = None
    max: Any = None  # for dates, ``"today"`` means the run date (``validate_frame(today=...)``)
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OrderRule:
    """Row-level date order: ``later`` must not fall more than ``slack_days`` before ``earlier``.

    E.g. an export control's ``effective_date`` may precede its ``announced_date`` by a few
    days (an order signed before it was announced), never by months (two dates swapped).
    The row is quarantined under the ``later`` field.
    """

    later: str
    earlier: str
    slack_days: int = 0


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
        return col.cast(pl.Float64, strict=False).pipe(
            lambda f: pl.when(f.is_finite()).then(f).otherwise(None)
        )
    if dtype == "date":
        return col.str.to_date("%Y-%m-%d", strict=False)
    if dtype == "bool":
        low = col.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
    return col


def _bound(value: Any, today: date) -> Any:
    return today if value == "today" else value


def _problems(df: pl.DataFrame, rule: ColumnRule, today: date) -> tuple[pl.Expr, list[pl.DataFrame]]:
    """Typed expression for the column and frames of its problems."""
    raw = pl.col(rule.name).str.strip_chars()
    raw = pl.when(raw == "").then(None).otherwise(raw)
    typed = _cast(raw, rule.dtype)
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    if rule.required:
        checks.append((raw.is_null(), pl.lit("missing required value")))
    checks.append((raw.is_not_null() & typed.is_null(), pl.lit(f"not a valid {rule.dtype}")))
    if rule.min is not None:
        low = _bound(rule.min, today)
        checks.append((typed < low, pl.lit(f"below minimum {low}")))
    if rule.max is not None:
        high = _bound(rule.max, today)
        checks.append(
            (
                typed > high,
                pl.lit(f"after {rule.max} ({high})" if rule.max == "today" else f"above maximum {high}"),
            )
        )
    if rule.allowed is not None:
        checks.append(
            (
                raw.is_not_null() & ~raw.is_in(list(rule.allowed)),
                pl.lit(f"not one of {', '.join(rule.allowed)}"),
            )
        )
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
    order: Sequence[OrderRule] = (),
    row_numbers: Sequence[int] | None = None,
    structural: pl.DataFrame | None = None,
    today: date | None = None,
) -> ValidationResult:
    """Validate an all-string frame against ``rules``; see the module docstring.

    Missing required columns raise ``ValidationError``; columns without a rule are kept
    as strings. Rows sharing a key are all quarantined (no way to tell which is right).
    ``row_numbers`` gives each row's line in the file (default: consecutive from
    ``first_row``); ``structural`` holds problems found while parsing (quarantine schema);
    ``today`` is the date a ``"today"`` bound stands for (default: the UTC date).
    """
    missing = [r.name for r in rules if r.name not in df.columns and r.required]
    if missing:
        raise ValidationError(f"{source_file}: missing column(s) {missing}; found {df.columns}")
    for r in rules:
        if r.name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.String).alias(r.name))
    df = df.with_columns(pl.col(c).cast(pl.String) for c in df.columns)
    if row_numbers is None:
        df = df.with_row_index(_ROW, offset=first_row)
    else:
        df = df.with_columns(pl.Series(_ROW, list(row_numbers), dtype=pl.Int64))
    typed_exprs: list[pl.Expr] = []
    problem_frames: list[pl.DataFrame] = []
    if structural is not None and structural.height:
        problem_frames.append(
            structural.select(
                pl.col("row").cast(pl.Int64),
                pl.col("field").cast(pl.String),
                pl.col("value").cast(pl.String),
                pl.col("reason").cast(pl.String),
            )
        )
    today = run_date(today)
    for rule in rules:
        expr, frames = _problems(df, rule, today)
        typed_exprs.append(expr)
        problem_frames.extend(frames)
    typed = df.with_columns(typed_exprs)
    for o in order:
        if o.later not in typed.columns or o.earlier not in typed.columns:
            continue
        limit = pl.col(o.earlier) - timedelta(days=o.slack_days)
        slack = f" by more than {o.slack_days} days" if o.slack_days else ""
        problem_frames.append(
            typed.filter((pl.col(o.later) < limit).fill_null(False)).select(
                pl.col(_ROW).cast(pl.Int64).alias("row"),
                pl.lit(o.later).alias("field"),
                pl.col(o.later).cast(pl.String).alias("value"),
                pl.format(f"before {o.earlier} ({{}}){slack}", pl.col(o.earlier).cast(pl.String)).alias(
                    "reason"
                ),
            )
        )
    if key:
        dup = typed.filter(pl.len().over(list(key)) > 1)
        if dup.height:
            first_rows = dup.group_by(list(key)).agg(pl.col(_ROW).min().alias("__first"))
            dup = dup.join(first_rows, on=list(key), how="left", nulls_equal=True)
            problem_frames.append(
                dup.select(
                    pl.col(_ROW).cast(pl.Int64).alias("row"),
                    pl.lit(",".join(key)).alias("field"),
                    pl.concat_str(
                        [pl.col(k).cast(pl.String).fill_null("") for k in key], separator="|"
                    ).alias("value"),
                    pl.format("duplicate key (first at row {})", pl.col("__first")).alias("reason"),
                )
            )
    quarantine = (
        pl.concat(problem_frames, how="vertical_relaxed").sort("row")
        if problem_frames
        else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    )
    bad = quarantine["row"].unique()
    good = typed.filter(~pl.col(_ROW).is_in(bad.implode())).drop(_ROW)
    return ValidationResult(source_file, good, quarantine, df.height)


_NOT_UTF8 = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class CsvRows:
    """A CSV parsed into an all-string frame, each row's line number, and row-level parse problems."""

    frame: pl.DataFrame
    lines: list[int]
    problems: pl.DataFrame


def read_csv_rows(path: str | Path) -> CsvRows:
    """Parse ``path`` as UTF-8 CSV with a header row; see the module docstring for what is tolerated."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ValidationError(f"{path}: file not found") from exc
    except OSError as exc:
        raise ValidationError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ValidationError(f"{path}: not a readable CSV (UTF-16 text; save it as UTF-8)")
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    text = raw.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str | None]] = []
    lines: list[int] = []
    problems: list[tuple[int, str, str, str]] = []
    end = 0  # last physical line consumed
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank line, or only separators
            if header is None:
                header = _header(path, record, start)
                continue
            n = len(header)
            if len(record) > n:
                extra = record[n:]
                if any(cell.strip() for cell in extra):
                    problems.append(
                        (
                            start,
                            "(extra fields)",
                            ",".join(extra),
                            f"row has {len(record)} fields, the header has {n}",
                        )
                    )
                record = record[:n]
            cells: list[str | None] = [c if c != "" else None for c in record] + [None] * (n - len(record))
            for i, cell in enumerate(cells):
                if cell is not None and _NOT_UTF8.search(cell):
                    # shown with U+FFFD; lone surrogates must never reach Polars or the warehouse
                    cells[i] = cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                    problems.append(
                        (start, header[i], cells[i], "not valid UTF-8 text (save the file as UTF-8)")
                    )
            rows.append(cells)
            lines.append(start)
    except csv.Error as exc:
        raise ValidationError(
            f"{path}: not a readable CSV: the record starting at line {end + 1} is broken ({exc})"
        ) from None
    if header is None:
        raise ValidationError(f"{path}: empty file (no header row)")
    frame = pl.DataFrame(
        {name: [r[i] for r in rows] for i, name in enumerate(header)},
        schema={name: pl.String for name in header},
    )
    bad = pl.DataFrame(problems, schema=QUARANTINE_SCHEMA, orient="row")
    return CsvRows(frame, lines, bad)


def _header(path: Path, record: list[str], line: int) -> list[str]:
    names = [c.strip() for c in record]
    while names and names[-1] == "":
        names.pop()  # trailing separators in the header row
    if "" in names:
        raise ValidationError(f"{path}: line {line}: column {names.index('') + 1} of the header has no name")
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValidationError(f"{path}: line {line}: duplicate column name(s) {dups} in the header")
    if any(_NOT_UTF8.search(n) for n in names):
        raise ValidationError(f"{path}: line {line}: the header is not valid UTF-8 (save the file as UTF-8)")
    return names


def read_csv_validated(
    path: str | Path,
    rules: Sequence[ColumnRule],
    key: Sequence[str] | None = None,
    order: Sequence[OrderRule] = (),
    today: date | None = None,
) -> ValidationResult:
    """Read a CSV with every column as a string and validate it (see ``validate_frame``)."""
    parsed = read_csv_rows(path)
    return validate_frame(
        parsed.frame,
        rules,
        source_file=str(path),
        key=key,
        order=order,
        row_numbers=parsed.lines,
        structural=parsed.problems,
        today=today,
    )
