"""One CSV reader for every file fabscope reads: DuckDB's ``read_csv`` with explicit columns and rejects.

``scan_csv`` reads a UTF-8 file's records with explicit VARCHAR columns (``c0``…), ``null_padding`` (a
short record is padded with NULLs, as spreadsheets write them) and ``store_rejects``: a record DuckDB
cannot take (too many fields, an unclosed quote, bytes that are not UTF-8, a line over the size limit)
lands in its per-connection ``reject_errors`` table instead of failing the file. What it returns names
each record by the physical line it starts on (header = line 1, blank lines and multi-line quoted fields
counted), for the good rows and the rejected ones alike; the rules (types, ranges, allowed values, keys,
date order) then run as SQL on the loaded rows (``pipelines.validation.validate_frame``).

DuckDB numbers a rejected record by the newlines outside quotes before it and gives good rows no number
at all, so the lines are derived: when every physical line is a record (the usual file, checked by
counting newlines) the good rows fill the lines the rejects leave; otherwise (blank lines, quoted
newlines) one pass of the ``csv`` module over the text maps each record to its first line. Decoding
other encodings, finding the header and unpivoting multi-row headers are the callers' small pre-steps.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

# one in-memory database per process; every scan takes its own cursor (rejects tables are per connection)
_DB: list[duckdb.DuckDBPyConnection] = []
_LOCK = threading.Lock()
PARALLEL_FROM_BYTES = 8 << 20  # smaller files are read single-threaded (no gain, and no null_padding caveat)
REJECT_SCHEMA = {
    "line": pl.Int64,
    "byte_position": pl.Int64,
    "column": pl.String,
    "error_type": pl.String,
    "csv_line": pl.String,
    "message": pl.String,
    "fields": pl.Int64,
}


class CsvScanError(Exception):
    """DuckDB refused the file as a whole (its message, first line)."""


def cursor() -> duckdb.DuckDBPyConnection:
    """A fresh cursor on the process's in-memory DuckDB (for reading files; never the warehouse)."""
    with _LOCK:
        if not _DB:
            _DB.append(duckdb.connect(":memory:"))
        return _DB[0].cursor()


@dataclass(frozen=True)
class CsvScan:
    """A file's records: ``rows`` (``c0``… as strings, ``__line`` Int64) and ``rejects`` (``REJECT_SCHEMA``,
    one row per rejected record, ``line`` its first physical line, ``fields`` the fields found)."""

    rows: pl.DataFrame
    rejects: pl.DataFrame


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read(
    con: duckdb.DuckDBPyConnection, path: Path, width: int, delim: str, skip: int, parallel: bool
) -> pl.DataFrame:
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    query = (
        f"SELECT * FROM read_csv({_sql_string(str(path))}, columns = {{{cols}}}, header = false, "
        f"skip = {skip}, delim = {_sql_string(delim)}, quote = '\"', escape = '\"', auto_detect = false, "
        f"null_padding = true, store_rejects = true, parallel = {str(parallel).lower()}, "
        "max_line_size = 2097152)"
    )
    return con.sql(query).pl()


def _rejects(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    rel = con.sql(
        "SELECT line::BIGINT AS line, min(line_byte_position)::BIGINT AS byte_position, "
        "first(column_name ORDER BY column_idx) AS column, first(error_type ORDER BY column_idx) AS error_type, "
        "first(csv_line) AS csv_line, first(error_message ORDER BY column_idx) AS message, "
        "max(TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1) AS BIGINT)) AS fields "
        "FROM reject_errors GROUP BY line ORDER BY line"
    )
    return pl.DataFrame(rel.pl(), schema=REJECT_SCHEMA)


def _content_lines(data: bytes) -> int:
    """Physical lines up to the last one holding anything but whitespace."""
    end = len(data.rstrip())
    return data.count(b"\n", 0, end) + 1 if end else 0


def _record_starts(data: bytes, delim: str) -> list[tuple[int, bool]]:
    """``(first line, blank)`` of every record, in file order (the ``csv`` module's reading, one pass)."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False)
    out, end = [], 0
    for record in reader:
        out.append((end + 1, not record))
        end = reader.line_num
    return out


def scan_csv(path: Path, data: bytes, *, width: int, delim: str = ",", skip: int = 1) -> CsvScan:
    """The records of the UTF-8 file ``path`` (its bytes: ``data``) after its first ``skip`` lines, as
    ``width`` string columns; see the module docstring. Raises ``CsvScanError`` when DuckDB refuses the
    whole file."""
    con = cursor()
    try:
        parallel = len(data) >= PARALLEL_FROM_BYTES
        try:
            rows = _read(con, path, width, delim, skip, parallel)
        except duckdb.Error as exc:
            if not parallel or "parallel" not in str(exc):
                raise CsvScanError(str(exc).splitlines()[0]) from None
            rows = _read(con, path, width, delim, skip, False)  # quoted newlines + null_padding
        rejects = _rejects(con)
    except duckdb.Error as exc:
        raise CsvScanError(str(exc).splitlines()[0]) from None
    finally:
        con.close()
    scan = _numbered(data, rows, rejects, delim, skip)
    if data.count(b'"') % 2 and not scan.rejects["error_type"].is_in(["UNQUOTED VALUE"]).any():
        # a quote opened and never closed: with null_padding DuckDB pads that last record silently
        line = _unclosed_quote_at(data, delim)
        if line is not None:
            unclosed = pl.DataFrame(
                {
                    "line": [line],
                    "error_type": ["UNQUOTED VALUE"],
                    "message": ["Value with unterminated quote found."],
                },
                schema={k: REJECT_SCHEMA[k] for k in ("line", "error_type", "message")},
            )
            rejects = pl.concat([scan.rejects, unclosed], how="diagonal").sort("line")
            return CsvScan(scan.rows.filter(pl.col("__line") != line), rejects)
    return scan


def _unclosed_quote_at(data: bytes, delim: str) -> int | None:
    """The first line of the record where the ``csv`` module (strict) finds a broken quote, if any."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    end = 0
    try:
        for _ in reader:
            end = reader.line_num
    except csv.Error:
        return end + 1
    return None


def _numbered(data: bytes, rows: pl.DataFrame, rejects: pl.DataFrame, delim: str, skip: int) -> CsvScan:
    """``rows`` and ``rejects`` with the physical line each record starts on (see the module docstring)."""
    first = skip + 1
    total = _content_lines(data)
    if first - 1 + rows.height + rejects.height == total:  # every line a record: fill the gaps
        lines = pl.int_range(first, total + 1, dtype=pl.Int64, eager=True)
        lines = lines.filter(~lines.is_in(rejects["line"].implode()))
        return CsvScan(rows.with_columns(lines.alias("__line")), rejects)
    starts = _record_starts(data, delim)
    rejected = set(rejects["line"].to_list())
    good = [
        start
        for i, (start, blank) in enumerate(starts[skip:], start=first)
        if not blank and i not in rejected
    ]
    if len(good) != rows.height:  # the two readings disagree on records: DuckDB's numbering, gaps filled
        good = [first + i for i in range(rows.height)]
    mapped = rejects.with_columns(
        pl.col("line").map_elements(
            lambda n: starts[n - 1][0] if 0 < n <= len(starts) else n, return_dtype=pl.Int64
        )
    )
    return CsvScan(rows.with_columns(pl.Series("__line", good, dtype=pl.Int64)), mapped)


def record_at(data: bytes, byte_position: int, delim: str) -> list[str]:
    """The fields of the record on the line holding ``byte_position`` (bytes not UTF-8 decoded with
    surrogates); the error path only."""
    # DuckDB's line_byte_position may point one byte into the line: the record starts after the newline
    start = data.rfind(b"\n", 0, byte_position) + 1
    text = data[start : start + (1 << 21)].decode("utf-8", errors="surrogateescape")
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False), [])
