"""Reading dropped price files as text: any encoding, separator and damage analysts' exports have.

UTF-8 (BOM or not), UTF-16 (BOM) or GBK; ``,`` ``;`` TAB or ``|``; records with too many fields held back
with their line number; empty files refused. ``drop_files`` lists a drop folder's price files.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import io
import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.sources.prices.base import ProviderError

PATTERNS = ("*.csv", "*.CSV", "*.txt")

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_SEPARATORS = (",", ";", "\t", "|")


def _encoding(head: bytes) -> str:
    """``utf-8-sig`` (with or without BOM), ``utf-16`` (BOM: Excel "Unicode text") or ``gb18030`` (Chinese
    brokers' exports are often GBK). ``head`` may end in the middle of a character."""
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _separator(header: str) -> str:
    """The field separator of a header line: the most frequent of ``, ; TAB |`` (comma on a tie)."""
    counts = {sep: header.count(sep) for sep in _SEPARATORS}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > counts[","] else ","


def _ragged_lines(text: str, separator: str) -> list[tuple[int, int, str]]:
    """(line number, fields, raw line) of records with more fields than the header. Only called on the
    error path (a file Polars refused as ragged), so one Python pass over its lines is acceptable."""
    lines = text.splitlines()
    reader = csv.reader(lines, delimiter=separator)
    width, out = None, []
    for record in reader:
        if width is None:
            width = len(record)
        elif len(record) > width:
            out.append((reader.line_num, len(record), lines[reader.line_num - 1][:200]))
    return out


@dataclass(frozen=True)
class RawFile:
    """One dropped file read as strings: the frame, its first data line and the problems found reading it."""

    frame: pl.DataFrame
    first_row: int
    ragged: list[
        tuple[int, int, str]
    ]  # (line, fields found, raw line): held back, the rest of the file is read
    header_width: int


def read_strings(path: Path) -> RawFile:
    """All columns as strings, header cleaned, any encoding/separator analysts use; see ``RawFile``."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise ProviderError(f"{path}: cannot read ({exc.strerror})") from exc
    if not head.strip() and path.stat().st_size <= len(head):
        raise ProviderError(f"{path}: empty file (no header, no rows)")
    enc = _encoding(head)
    text: str | None = None  # the whole decoded file, only when Polars cannot read the bytes as they are
    source: Path | io.BytesIO = path
    if enc != "utf-8-sig":
        text = path.read_bytes().decode(enc, errors="replace").lstrip("\ufeff")
        source = io.BytesIO(text.encode("utf-8"))
    lines = (text[:4096] if text is not None else head.decode("utf-8-sig", errors="replace")).splitlines()
    header = lines[0] if lines else ""
    if "\ufffd" in header or any(ord(c) < 32 and c != "\t" for c in header):
        raise ProviderError(f"{path}: not a readable text CSV (its header is not UTF-8, GBK or UTF-16 text)")
    sep = _separator(header)
    multi = (
        len(lines) >= 3
        and lines[0].split(",")[0].strip() == "Price"
        and lines[1].split(",")[0].strip() == "Ticker"
    )
    opts = {"infer_schema": False, "encoding": "utf8-lossy", "separator": sep}
    ragged: list[tuple[int, int, str]] = []
    try:
        try:
            df = pl.read_csv(source, has_header=not multi, **opts)
        except pl.exceptions.ComputeError:
            # records with more fields than the header (decided by counting them, not by Polars' message
            # text): hold those lines back, read the others; any other refusal is re-raised
            full = text if text is not None else path.read_bytes().decode("utf-8-sig", errors="replace")
            ragged = _ragged_lines(full, sep)
            if not ragged:
                raise
            if isinstance(source, io.BytesIO):
                source.seek(0)
            df = pl.read_csv(source, has_header=not multi, truncate_ragged_lines=True, **opts)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise ProviderError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from exc
    if multi:
        return RawFile(df, 4, ragged, df.width)
    df = df.rename({c: c.strip().lstrip("\ufeff") for c in df.columns})
    return RawFile(df, 2, ragged, df.width)


def drop_files(directory: Path) -> list[Path]:
    """The price files of a drop folder and its subfolders (sorted; hidden files and folders skipped).

    Subfolders let two exports of the same ticker sit side by side (``2024/NVDA.csv`` pre-split,
    ``2025/NVDA.csv`` post-split): yfinance exports carry the ticker only in the file name.
    """
    files: list[Path] = []
    seen: set[str] = set()
    for root, dirs, names in os.walk(directory, followlinks=True):  # linked folders too (loops cut)
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        files += [
            Path(root) / n
            for n in names
            if not n.startswith(".")
            and any(fnmatch.fnmatchcase(n, pat) for pat in PATTERNS)
            and (Path(root) / n).is_file()
        ]
    return sorted(files)
