"""Reading dropped price files as text: any encoding, separator and damage analysts' exports have.

UTF-8 (BOM or not), UTF-16 (BOM), GBK or Windows-1252, detected (never guessed silently) and decoded
strictly (the pre-step DuckDB cannot do: a file not in UTF-8 is transcoded to a temporary UTF-8 copy);
``,`` ``;`` TAB or ``|``; the records themselves are read by DuckDB's ``read_csv`` (``pipelines.csv_scan``):
records with too many fields held back with their line number; empty files refused. ``drop_files``
lists a drop folder's price files (symbolic links that lead out of the folder refused, never opened).
"""

from __future__ import annotations

import csv
import fnmatch
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.csv_scan import CsvScanError, scan_csv
from pipelines.sources.prices.base import ProviderError

PATTERNS = ("*.csv", "*.CSV", "*.txt")

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_SEPARATORS = (",", ";", "\t", "|")
# the encodings a drop file that is not UTF-8 may be in (Chinese brokers' GBK exports, Western "ANSI"
# exports), and the most "chaos" (share of implausible characters, charset-normalizer) a decoding may show
CANDIDATE_ENCODINGS = ("gb18030", "cp1252", "latin_1")
MAX_ENCODING_CHAOS = 0.10


def decode_text(path: Path, data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of a whole file, decoded strictly (never a U+FFFD replacement).

    A BOM decides (UTF-8 or UTF-16); otherwise strict UTF-8; otherwise the encoding charset-normalizer
    finds among ``CANDIDATE_ENCODINGS`` with at most ``MAX_ENCODING_CHAOS``. A file none of these
    decodes with confidence is refused (``ProviderError`` naming the file and the byte offset or guess).
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc).lstrip("\ufeff"), enc
            except UnicodeDecodeError as exc:
                raise ProviderError(
                    f"{path}: starts with a {enc} byte-order mark but byte {exc.start} is not {enc}; refused"
                ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc.start
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(CANDIDATE_ENCODINGS)).best()
    if best is None or best.chaos > MAX_ENCODING_CHAOS:
        guess = f"best guess {best.encoding} at {best.chaos:.0%} implausible text" if best else "no guess"
        raise ProviderError(
            f"{path}: not a readable text CSV: not UTF-8 (byte {utf8_error}), encoding not recognised "
            f"({guess}); save it as UTF-8"
        )
    try:
        return data.decode(best.encoding), best.encoding
    except UnicodeDecodeError as exc:  # pragma: no cover - charset-normalizer decoded it already
        raise ProviderError(f"{path}: byte {exc.start} is not {best.encoding}; refused") from None


def _separator(header: str) -> str:
    """The field separator of a header line: the most frequent of ``, ; TAB |`` (comma on a tie)."""
    counts = {sep: header.count(sep) for sep in _SEPARATORS}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > counts[","] else ","


@dataclass(frozen=True)
class RawFile:
    """One dropped file read as strings (DuckDB ``read_csv``, ``pipelines.csv_scan``): the frame (the
    header's names, plus ``__line``: the physical line each record starts on), its first data line, and
    the records held back reading it."""

    frame: pl.DataFrame
    first_row: int
    ragged: list[tuple[int, str, str]]  # (line, raw record, reason): held back, the rest of the file is read
    header_width: int
    header_rows: tuple[list[str], ...] = ()  # yfinance multi-row header: the Price and Ticker rows


def _names(fields: list[str]) -> list[str]:
    """Header names as the frame carries them: stripped, BOM-free, a second empty name ``_duplicated_N``."""
    out: list[str] = []
    for f in fields:
        name = f.strip().lstrip("\ufeff")
        if name in out:
            name = f"{name}_duplicated_{sum(1 for o in out if o.startswith(name + '_duplicated_'))}"
        out.append(name)
    return out


def _held_back(path: Path, rejects: pl.DataFrame, width: int) -> list[tuple[int, str, str]]:
    """The rejected records as (line, raw record, reason); a quote never closed refuses the file."""
    out = []
    for r in rejects.iter_rows(named=True):
        csv_line = (r["csv_line"] or "").strip("\r\n")
        if r["error_type"] == "UNQUOTED VALUE" and ("\n" in csv_line or not csv_line):
            raise ProviderError(
                f"{path}: not a readable CSV (line {r['line']}: a quoted value is never closed)"
            )
        if r["error_type"] == "TOO MANY COLUMNS":
            reason = f"{r['fields']} fields; the header has {width}"
        else:
            reason = (r["message"] or r["error_type"]).splitlines()[0]
        out.append((r["line"], csv_line[:200], reason))
    return out


def read_strings(path: Path) -> RawFile:
    """All columns as strings, header cleaned, any encoding/separator analysts use; see ``RawFile``.

    The bytes are read once here (the encoding is decided on the whole file, ``decode_text``); a file that
    is not UTF-8 is transcoded to a temporary UTF-8 copy for DuckDB, everything else DuckDB reads itself.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:  # unreadable, or deleted between listing and reading
        raise ProviderError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data[:65536].strip() and not data.strip():
        raise ProviderError(f"{path}: empty file (no header, no rows)")
    if data.isascii():
        text, enc = data[:4096].decode("ascii"), "utf-8"
    else:
        text, enc = decode_text(path, data)
    lines = text[:4096].splitlines()
    header = lines[0] if lines else ""
    if any(ord(c) < 32 and c != "\t" for c in header):
        raise ProviderError(f"{path}: not a readable text CSV (its header holds control characters)")
    sep = _separator(header)
    multi = (
        len(lines) >= 3
        and lines[0].split(",")[0].strip() == "Price"
        and lines[1].split(",")[0].strip() == "Ticker"
    )
    head = list(csv.reader(lines[:3], delimiter=sep))
    fields = head[0] if head else []
    names = [c.strip().lower() for c in fields]
    twice = sorted({c for c in names if c and names.count(c) > 1})
    if twice and not multi:
        raise ProviderError(
            f"{path}: header names column(s) {twice} more than once; refused (which one holds the data?)"
        )
    width = max(len(fields), 1)
    skip = 3 if multi else 1
    with tempfile.TemporaryDirectory(prefix="fabscope-drop-") as tmp:
        if enc in ("utf-8", "utf-8-sig"):
            source, body = path, data
        else:
            body = text.encode("utf-8")
            source = Path(tmp) / "utf8.csv"
            source.write_bytes(body)
        try:
            scan = scan_csv(source, body, width=width, delim=sep, skip=skip)
        except CsvScanError as exc:
            raise ProviderError(f"{path}: not a readable CSV ({exc})") from None
    ragged = _held_back(path, scan.rejects, width)
    if multi:
        return RawFile(scan.rows, 4, ragged, width, (head[0], head[1] if len(head) > 1 else []))
    names = _names([*fields, *[""] * (width - len(fields))])  # an empty header line: one unnamed column
    renamed = dict(zip(scan.rows.columns[:width], names, strict=True))
    return RawFile(scan.rows.rename(renamed), 2, ragged, width)


@dataclass(frozen=True)
class DropListing:
    """A drop folder's price files, and the entries refused because they lead out of the folder."""

    files: list[Path]
    refused: dict[str, str]  # path -> one-line reason (never read: their contents are not ours to show)


def _inside(real: str, base: str) -> bool:
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def list_drop(directory: Path) -> DropListing:
    """The price files of a drop folder and its subfolders (sorted; hidden files and folders skipped).

    Subfolders let two exports of the same ticker sit side by side (``2024/NVDA.csv`` pre-split,
    ``2025/NVDA.csv`` post-split): yfinance exports carry the ticker only in the file name. Symbolic
    links are resolved: one that stays inside the folder is followed (loops cut), one that leads out
    of it (``/etc/passwd``, ``/usr``) is refused with one line and never opened.
    """
    base = os.path.realpath(directory)
    files: list[Path] = []
    refused: dict[str, str] = {}
    seen: set[str] = set()
    outside = "a symbolic link that leads out of the drop folder; refused, not read"
    for root, dirs, names in os.walk(directory, followlinks=True):
        real = os.path.realpath(root)
        if real in seen or not _inside(real, base):
            dirs[:] = []
            continue
        seen.add(real)
        kept = []
        for d in dirs:
            if d.startswith("."):
                continue
            if not _inside(os.path.realpath(os.path.join(root, d)), base):
                refused[os.path.join(root, d)] = outside
                continue
            kept.append(d)
        dirs[:] = kept
        for n in names:
            if n.startswith(".") or not any(fnmatch.fnmatchcase(n, pat) for pat in PATTERNS):
                continue
            path = os.path.join(root, n)
            if not _inside(os.path.realpath(path), base):
                refused[path] = outside
            elif os.path.isfile(path):
                files.append(Path(path))
    return DropListing(sorted(files), refused)


def drop_files(directory: Path) -> list[Path]:
    """The readable price files of a drop folder (``list_drop(directory).files``)."""
    return list_drop(directory).files
