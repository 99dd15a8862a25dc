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
from datetime import date
from pathlib import Path
from typing import Any, Literal

import polars as pl

from fabscope.errors import DataError
from pipelines.clock import run_date
from pipelines.csv_scan import CsvScanError, cursor, record_at, scan_csv

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


# Unicode White_Space (what the strip of every value removes before it is checked), for SQL's trim
_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_POLARS = {"str": pl.String, "int": pl.Int64, "float": pl.Float64, "date": pl.Date, "bool": pl.Boolean}


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(value: Any) -> str:
    """A SQL literal of a bound, an allowed value or a reason."""
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bool | int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _typed_sql(raw: str, dtype: DType) -> str:
    """The typed value of the stripped, NULL-for-empty text ``raw``; NULL where it does not parse.

    Numbers as DuckDB casts them, less digit-group underscores (``1_000`` is not a number in a CSV) and
    non-finite floats; ``int`` accepts integral floats (``2024.0``); dates are ``YYYY-MM-DD``."""
    if dtype == "float":
        return (
            f"(CASE WHEN strpos({raw}, '_') = 0 AND isfinite(TRY_CAST({raw} AS DOUBLE)) "
            f"THEN TRY_CAST({raw} AS DOUBLE) END)"
        )
    if dtype == "int":
        d = f"(CASE WHEN strpos({raw}, '_') = 0 THEN TRY_CAST({raw} AS DOUBLE) END)"
        return f"(CASE WHEN {d} = round({d}) THEN TRY_CAST({d} AS BIGINT) END)"
    if dtype == "date":
        return f"TRY_CAST(TRY_STRPTIME({raw}, '%Y-%m-%d') AS DATE)"
    if dtype == "bool":
        low = f"lower({raw})"
        return (
            f"(CASE WHEN {low} IN ({', '.join(map(_lit, _TRUE))}) THEN true "
            f"WHEN {low} IN ({', '.join(map(_lit, _FALSE))}) THEN false END)"
        )
    return raw


def _strip(col: str, ws: str) -> str:
    """``col`` without leading/trailing white space; the Unicode-aware trim (slow) only where an end is not
    printable ASCII."""
    plain = f"ascii({col}) BETWEEN 33 AND 126 AND ascii({col}[-1]) BETWEEN 33 AND 126"
    return f"(CASE WHEN {plain} THEN {col} ELSE trim({col}, {ws}) END)"


def _bound(value: Any, today: date) -> Any:
    return today if value == "today" else value


def _column_checks(rule: ColumnRule, index: int, today: date) -> list[tuple[str, str, str, str]]:
    """``(condition, field, value, reason)`` SQL of every check one column rule makes."""
    raw, typed, value = f"__raw{index}", f"__typed{index}", f"{_q(rule.name)}::VARCHAR"
    checks: list[tuple[str, str]] = []
    if rule.required:
        checks.append((f"{raw} IS NULL", "missing required value"))
    if rule.dtype != "str":
        checks.append((f"{raw} IS NOT NULL AND {typed} IS NULL", f"not a valid {rule.dtype}"))
    if rule.min is not None:
        low = _bound(rule.min, today)
        checks.append((f"{typed} < {_lit(low)}", f"below minimum {low}"))
    if rule.max is not None:
        high = _bound(rule.max, today)
        reason = f"after {rule.max} ({high})" if rule.max == "today" else f"above maximum {high}"
        checks.append((f"{typed} > {_lit(high)}", reason))
    if rule.allowed is not None:
        allowed = ", ".join(map(_lit, rule.allowed)) or "NULL"
        checks.append(
            (f"{raw} IS NOT NULL AND {raw} NOT IN ({allowed})", f"not one of {', '.join(rule.allowed)}")
        )
    return [(cond, _lit(rule.name), value, _lit(reason)) for cond, reason in checks]


def _order_check(o: OrderRule, typed: dict[str, str]) -> tuple[str, str, str, str]:
    """The check of one date-order rule, as ``_column_checks``."""
    later, earlier = typed[o.later], typed[o.earlier]
    slack = f" by more than {o.slack_days} days" if o.slack_days else ""
    reason = f"format({_lit('before ' + o.earlier + ' ({})' + slack)}, {earlier}::VARCHAR)"
    return (
        f"{later} < {earlier} - INTERVAL {int(o.slack_days)} DAY",
        _lit(o.later),
        f"{later}::VARCHAR",
        reason,
    )


def _key_sql(key: Sequence[str], typed: dict[str, str]) -> str:
    """The duplicate-key quarantine rows: every row of a key held more than once."""
    cols = ", ".join(typed[k] for k in key)
    joined = " || '|' || ".join(f"coalesce({typed[k]}::VARCHAR, '')" for k in key)
    return (
        f"SELECT row, {_lit(','.join(key))} AS field, value, format('duplicate key (first at row {{}})', first) "
        f"AS reason FROM (SELECT {_ROW} AS row, {joined} AS value, count(*) OVER w AS n, min({_ROW}) OVER w "
        f"AS first FROM _typed WINDOW w AS (PARTITION BY {cols})) WHERE n > 1"
    )


def validate_frame(
    df: pl.DataFrame,
    rules: Sequence[ColumnRule],
    *,
    source_file: str,
    key: Sequence[str] | None = None,
    first_row: int = 2,
    order: Sequence[OrderRule] = (),
    row_numbers: Sequence[int] | str | None = None,
    structural: pl.DataFrame | None = None,
    today: date | None = None,
) -> ValidationResult:
    """Validate an all-string frame against ``rules``, as SQL (DuckDB) on the loaded rows.

    Types, ranges, allowed values, date order (``order``) and duplicate keys are each one SELECT of
    the rows breaking them. Missing required columns raise ``ValidationError``; columns without a
    rule are kept as strings. Rows sharing a key are all quarantined (no way to tell which is right).
    ``row_numbers`` gives each row's line in the file (a sequence, or the name of a column of ``df``
    holding it; default: consecutive from ``first_row``);
    ``structural`` holds problems found while parsing (quarantine schema); ``today`` is the date a
    ``"today"`` bound stands for (default: the run date).
    """
    missing = [r.name for r in rules if r.name not in df.columns and r.required]
    if missing:
        raise ValidationError(f"{source_file}: missing column(s) {missing}; found {df.columns}")
    df = df.with_columns(
        pl.lit(None, dtype=pl.String).alias(r.name) for r in rules if r.name not in df.columns
    )
    if isinstance(row_numbers, str):
        df = df.with_columns(pl.col(row_numbers).cast(pl.Int64).alias(_ROW))
    elif row_numbers is None:
        df = df.with_row_index(_ROW, offset=first_row).with_columns(pl.col(_ROW).cast(pl.Int64))
    else:
        df = df.with_columns(pl.Series(_ROW, list(row_numbers), dtype=pl.Int64))
    names = [c for c in df.columns if c != _ROW]
    df = df.with_columns(pl.col(c).cast(pl.String) for c in names if df.schema[c] != pl.String)
    today = run_date(today)
    ws = _lit(_WHITESPACE)
    typed = {r.name: f"__typed{i}" for i, r in enumerate(rules)}
    prepared = ", ".join(f"NULLIF({_strip(_q(r.name), ws)}, '') AS __raw{i}" for i, r in enumerate(rules))
    typed_cols = ", ".join(f"{_typed_sql(f'__raw{i}', r.dtype)} AS __typed{i}" for i, r in enumerate(rules))
    checks = [c for i, r in enumerate(rules) for c in _column_checks(r, i, today)]
    checks += [_order_check(o, typed) for o in order if o.later in typed and o.earlier in typed]
    flag = " OR ".join(f"({cond})" for cond, *_ in checks) or "false"
    out = ", ".join(f"{typed[c]} AS {_q(c)}" if c in typed else _q(c) for c in names)
    con = cursor()
    try:
        con.register("_in", df.to_arrow())
        con.execute(f"CREATE TEMP VIEW _typed AS SELECT *, {typed_cols} FROM (SELECT *, {prepared} FROM _in)")
        # one pass types every value and flags the rows breaking any rule; only when some do (or a key is
        # held twice) are the rows asked which rule they break (the error path: one more pass)
        checked = con.sql(f"SELECT {_ROW}, {out}, ({flag}) IS TRUE AS __bad FROM _typed").pl()
        selects = []
        if checked["__bad"].any():
            bad = " UNION ALL ".join(
                f"SELECT {_ROW} AS row, {field} AS field, {value} AS value, {reason} AS reason "
                f"FROM _typed WHERE {cond}"
                for cond, field, value, reason in checks
            )
            selects.append(f"SELECT * FROM ({bad})")
        if key and checked.select(pl.struct(list(key)).is_duplicated().any()).item():
            selects.append(_key_sql(key, {k: typed.get(k, _q(k)) for k in key}))
        found = con.sql(" UNION ALL ".join(selects)).pl() if selects else None
        problems = [f for f in (structural, found) if f is not None and f.height]
        quarantine = (
            pl.concat([p.select(list(QUARANTINE_SCHEMA)).cast(QUARANTINE_SCHEMA) for p in problems]).sort(
                "row", maintain_order=True
            )
            if problems
            else pl.DataFrame(schema=QUARANTINE_SCHEMA)
        )
        if quarantine.height:
            checked = checked.filter(~pl.col(_ROW).is_in(quarantine["row"].unique().implode()))
        good = checked.drop(_ROW, "__bad")
    finally:
        con.close()
    good = good.cast({r.name: _POLARS[r.dtype] for r in rules})
    return ValidationResult(source_file, good, quarantine, df.height)


_NOT_UTF8 = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class CsvRows:
    """A CSV parsed into an all-string frame, each row's line number, and row-level parse problems."""

    frame: pl.DataFrame
    lines: list[int]
    problems: pl.DataFrame


def _cells(record: list[str], n: int, line: int, header: list[str]) -> tuple[list[str | None], list[tuple]]:
    """A record cut or padded to the header's ``n`` fields, and its problems: extra non-empty fields,
    bytes that are not UTF-8 (shown with U+FFFD; lone surrogates never reach Polars or the warehouse)."""
    problems: list[tuple[int, str, str, str]] = []
    extra = record[n:]
    if any(cell.strip() for cell in extra):
        reason = f"row has {len(record)} fields, the header has {n}"
        problems.append((line, "(extra fields)", ",".join(extra), reason))
    cells: list[str | None] = [c if c != "" else None for c in record[:n]] + [None] * (n - len(record))
    for i, cell in enumerate(cells):
        if cell is not None and _NOT_UTF8.search(cell):
            cells[i] = cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            problems.append((line, header[i], cells[i], "not valid UTF-8 text (save the file as UTF-8)"))
    return cells, problems


def _find_header(path: Path, data: bytes) -> tuple[list[str], int, int]:
    """``(names, physical fields, lines up to and including the header)``: the first non-blank record."""
    text = data[: 1 << 20].decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    end = 0
    for record in reader:
        start, end = end + 1, reader.line_num
        if any(cell.strip() for cell in record):
            return _header(path, record, start), len(record), end
    raise ValidationError(f"{path}: empty file (no header row)")


def read_csv_rows(path: str | Path) -> CsvRows:
    """Parse ``path`` as UTF-8 CSV with a header row (DuckDB's ``read_csv``, ``pipelines.csv_scan``); see
    the module docstring for what is tolerated."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ValidationError(f"{path}: file not found") from exc
    except OSError as exc:
        raise ValidationError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ValidationError(f"{path}: not a readable CSV (UTF-16 text; save it as UTF-8)")
    header, width, skip = _find_header(path, raw)
    n = len(header)
    try:
        scan = scan_csv(path, raw, width=max(width, n), skip=skip)
    except CsvScanError as exc:
        raise ValidationError(f"{path}: not a readable CSV ({exc})") from None
    broken = scan.rejects.filter(~pl.col("error_type").is_in(["TOO MANY COLUMNS", "INVALID ENCODING"]))
    if broken.height:
        line, message = broken.row(0, named=True)["line"], broken.row(0, named=True)["message"]
        raise ValidationError(
            f"{path}: not a readable CSV: the record starting at line {line} is broken ({message})"
        )
    raw_cols = scan.rows.columns[:-1]
    extra = [f"__extra{i}" for i in range(n, len(raw_cols))]
    rows = scan.rows.select(
        *(pl.col(c).alias(name) for c, name in zip(raw_cols, [*header, *extra], strict=True)), "__line"
    )
    stripped = [pl.col(c).str.strip_chars().fill_null("") == "" for c in [*header, *extra]]
    rows = rows.filter(~pl.all_horizontal(stripped)) if stripped else rows
    problems: list[tuple[int, str, str, str]] = []
    if extra:
        wide = rows.filter(~pl.all_horizontal(pl.col(c).str.strip_chars().fill_null("") == "" for c in extra))
        for r in wide.iter_rows(named=True):
            values = [r[c] or "" for c in extra]
            fields = n + max(i for i, v in enumerate(values) if v.strip()) + 1
            problems.append(
                (
                    r["__line"],
                    "(extra fields)",
                    ",".join(values[: fields - n]),
                    f"row has {fields} fields, the header has {n}",
                )
            )
    admitted = []
    for r in scan.rejects.iter_rows(named=True):  # re-read in Python: the error path only
        cells, found = _cells(record_at(raw, r["byte_position"], ","), n, r["line"], header)
        if any(c is not None and c.strip() for c in cells) or found:
            admitted.append([*cells, r["line"]])
            problems.extend(found)
    frame = rows.select(
        *(pl.when(pl.col(h) == "").then(None).otherwise(pl.col(h)).alias(h) for h in header), "__line"
    )
    if admitted:
        extra_rows = pl.DataFrame(
            admitted, schema={**{h: pl.String for h in header}, "__line": pl.Int64}, orient="row"
        )
        frame = pl.concat([frame, extra_rows]).sort("__line")
    bad = pl.DataFrame(problems, schema=QUARANTINE_SCHEMA, orient="row")
    return CsvRows(frame.drop("__line"), frame["__line"].to_list(), bad)


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
