"""The ``csv:DIR`` provider: price files dropped in a folder, in the layouts analysts really export.

Recognised layouts (by header; anything else is refused, naming the file and the columns found):

- ``canonical``: ``date,ticker,close[,open,high,low,volume,currency]`` (ISO dates; any column order);
- ``yf_download``: yfinance ``download(...).to_csv`` with one ticker, ``Date,Open,High,Low,Close[,Adj Close],Volume``
  in either column order; the ticker is the file name (``NVDA.csv``; ``SOX.csv`` → ``^SOX`` when the
  universe knows it);
- ``yf_multiheader``: the 3-header-row CSV of a multi-level yfinance frame (``Price,...`` / ``Ticker,...`` /
  ``Date,...``), any number of tickers;
- ``yf_history``: ``Ticker.history(...).to_csv`` with timezone-aware dates and ``Dividends``/``Stock Splits``
  (the local trading date is kept; non-zero ``Stock Splits`` become split events);
- ``cn_export``: A-share exports with ``日期`` (YYYYMMDD), ``开盘价/最高价/最低价/收盘价/成交量`` (shares)/``成交额``;
- ``akshare``: akshare ``stock_zh_a_hist`` frames, ``日期,股票代码,开盘,收盘,最高,最低,成交量`` (lots of 100).

A-share codes get their Yahoo suffix from the code (``6…``/``9…`` → ``.SS``, ``0…``/``2…``/``3…`` → ``.SZ``,
``4…``/``8…`` → ``.BJ``). Every file is validated with ``pipelines.validation`` (dates, numbers,
``close > 0``, duplicate ``(date, ticker)``); bad rows go to quarantine with file/row/field. Files may
be UTF-8 (BOM or not), UTF-16 (BOM) or GBK, separated by ``,`` ``;`` TAB or ``|``, in subfolders of the
drop; blank lines are skipped, records with too many fields quarantined (field ``(record)``), empty and
header-only files refused with the reason. All work is Polars expressions over whole columns: no per-row
Python (except the error path that locates ragged records).

Reading the bytes as text is ``csv_text``, recognising the layout ``csv_layouts``; this module validates
each file (``PRICE_RULES``), adjusts and merges a folder's files into one ``FetchResult``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from pipelines.clock import run_date
from pipelines.price_rules import (
    DECLARATION_FILE,
    OVERRIDE_FOLDER,
    day_jumps,
    decide_conflicts,
    row_problems,
    share_refusal,
)
from pipelines.sources.prices.adjustments import SPLITS_SCHEMA, apply_adjustment, known_splits, merge_splits
from pipelines.sources.prices.base import FetchResult, ProviderError, currency_for, empty_prices, to_canonical
from pipelines.sources.prices.csv_layouts import (
    CURRENCY_ALIASES,
    LAYOUTS,
    Layout,
    UnknownLayout,
    a_share_symbol,
    detect_layout,
    normalise_dates,
    ticker_from_name,
    unpivot_multiheader,
)
from pipelines.sources.prices.csv_text import RawFile, list_drop, read_strings
from pipelines.validation import (
    QUARANTINE_SCHEMA,
    ColumnRule,
    ValidationError,
    ValidationResult,
    validate_frame,
)

PROVIDER = "csv"
PRICE_COLUMNS = (
    "date",
    "ticker",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "currency",
    "div_factor",
    "units_as_of",
    "source",
)
MIN_PRICE = 1e-9  # prices must be strictly positive; ColumnRule bounds are inclusive

PRICE_RULES: tuple[ColumnRule, ...] = (
    ColumnRule("date", "date"),
    ColumnRule("ticker", "str"),
    ColumnRule("close", "float", min=MIN_PRICE),
    ColumnRule("open", "float", required=False, min=0.0),
    ColumnRule("high", "float", required=False, min=0.0),
    ColumnRule("low", "float", required=False, min=0.0),
    ColumnRule("volume", "float", required=False, min=0.0),
    ColumnRule("currency", "str", required=False),
    ColumnRule("adj_close", "float", required=False, min=MIN_PRICE),
    ColumnRule("dividends", "float", required=False, min=0.0),
    ColumnRule("stock_splits", "float", required=False, min=0.0),
)
KEY = ("date", "ticker")


def validate_prices(df: pl.DataFrame, *, source_file: str) -> ValidationResult:
    """``validate_frame`` (SQL on the loaded rows) with ``PRICE_RULES``, key (date, ticker) and each row's
    line from its ``__line`` column."""
    return validate_frame(df, PRICE_RULES, source_file=source_file, key=KEY, row_numbers="__line")


@dataclass
class FileRead:
    """One dropped file: its layout, validation result and the raw (unadjusted) typed rows."""

    path: Path
    layout: Layout
    validation: ValidationResult
    prices: pl.DataFrame  # canonical names + units_as_of + div_factor + source
    splits: pl.DataFrame


def read_price_file(
    path: Path,
    known: Mapping[str, str] | None = None,
    *,
    today: date | None = None,
    universe: bool = False,
    rank: int = 0,
) -> FileRead:
    """Read, recognise and validate one dropped file. ``known`` maps ticker → currency (the universe, plus
    tickers the drop declares); ``universe``: refuse tickers outside ``known``; ``today``: the run date
    (latest date accepted; default ``pipelines.clock``); ``rank``: 1 for files that outrank the others.
    Rows failing a ``pipelines.price_rules`` rule are quarantined with the rule's name.

    Raises ``UnknownLayout`` (file + columns found) or ``ProviderError`` (unreadable).
    """
    known = known or {}
    today = run_date(today)
    raw = read_strings(path)
    df = raw.frame
    if raw.header_rows:
        layout = LAYOUTS["yf_multiheader"]
        df = unpivot_multiheader(df, *raw.header_rows)
    else:
        data_cols = [c for c in df.columns if c != "__line"]
        if df.height == 0 or df.select(pl.all_horizontal(pl.col(data_cols).is_null()).all()).item():
            raise ProviderError(f"{path}: no data rows (a header only: {data_cols})")
        layout = detect_layout(data_cols)
        if layout is None:
            raise UnknownLayout(
                f"{path}: unknown price layout; found columns {data_cols}. Expected the canonical "
                "date,ticker,close[,open,high,low,volume,currency], a yfinance download/history CSV, or an A-share "
                "export (日期,开盘价,最高价,最低价,收盘价,成交量 or akshare 日期,开盘,收盘,最高,最低,成交量)"
            )
        latin = layout.name not in ("cn_export", "akshare")
        rename = {c: layout.rename.get(c.lower() if latin else c) for c in data_cols}
        targets = [n for n in rename.values() if n]
        clash = sorted({n for n in targets if targets.count(n) > 1})
        if clash:  # e.g. both `date` and 日期 in one A-share export: which one is meant cannot be told
            same = [c for c, n in rename.items() if n == clash[0]]
            raise ProviderError(
                f"{path}: columns {same} all mean {clash[0]!r} in the {layout.name} layout; keep one"
            )
        kept = {c: n for c, n in rename.items() if n}
        df = df.select(*(pl.col(c).alias(n) for c, n in kept.items()), "__line")
    if "ticker" not in df.columns:
        df = df.with_columns(pl.lit(ticker_from_name(path, list(known))).alias("ticker"))
    if layout.code_tickers:
        codes = df["ticker"].unique().to_list()
        df = df.with_columns(
            pl.col("ticker").replace_strict(
                {c: a_share_symbol(str(c)) for c in codes if c is not None}, default=pl.col("ticker")
            )
        )
    df = df.with_columns(normalise_dates(pl.col("date")).alias("date"))
    if layout.name == "yf_multiheader":
        # one validation per ticker block: the key (date, ticker) and the lines stay per block
        parts = [
            validate_prices(part, source_file=str(path))
            for part in df.partition_by("ticker", maintain_order=True)
        ]
        result = ValidationResult(
            str(path),
            pl.concat([p.good for p in parts], how="diagonal_relaxed") if parts else df.clear(),
            pl.concat([p.quarantine for p in parts]).sort("row") if parts else parts_quarantine_empty(),
            max((p.rows_read for p in parts), default=0),
        )
        if raw.ragged:
            result = _with_held_back(result, raw)
    else:
        result = _validate_lines(df, raw, source_file=str(path))
    good = result.good
    splits = pl.DataFrame(schema=SPLITS_SCHEMA)
    if good.height and "stock_splits" in df.columns:
        splits = good.filter(pl.col("stock_splits") > 0).select(
            "ticker",
            pl.col("date").alias("ex_date"),
            pl.col("stock_splits").alias("ratio"),
            pl.lit(f"Stock Splits column of {path.name}").alias("source"),
            pl.lit("reported").alias("flag"),
        )
    currencies = {t: currency_for(t, known) for t in good["ticker"].unique().to_list()} if good.height else {}
    given = pl.col("currency").str.strip_chars().str.to_uppercase().replace(CURRENCY_ALIASES)
    stated = good.with_columns(
        given.alias("currency"),
        pl.lit(str(path)).alias("__file"),
        pl.col("__line").cast(pl.Int64),
        *(
            pl.lit(None, dtype=pl.Float64).alias(c)
            for c in ("open", "high", "low", "volume")
            if c not in good.columns
        ),
    )
    problems = row_problems(
        stated, today=today, listing=currencies, universe=set(known) if universe else None
    )
    if problems.height:
        bad_lines = problems["__line"].unique().implode()
        good = good.filter(~pl.col("__line").cast(pl.Int64).is_in(bad_lines))
        result = with_problems(result, problems, good)
    cur = pl.col("ticker").replace_strict(currencies, default=None, return_dtype=pl.String)
    div = (
        (pl.col("adj_close") / pl.col("close"))
        if "adj_close" in df.columns
        else pl.lit(None, dtype=pl.Float64)
    )
    units = pl.col("date").max().over("ticker") if layout.adjusted else pl.lit(None, dtype=pl.Date)
    prices = good.with_columns(
        pl.coalesce(given, cur).alias("currency"),
        (pl.col("volume") * layout.volume_multiplier).alias("volume"),
        div.alias("div_factor"),
        units.alias("units_as_of"),
        pl.lit(f"csv drop: {path.name} ({layout.name} layout)").alias("source"),
        pl.lit(str(path)).alias("__file"),
        pl.col("__line").cast(pl.Int64),
        pl.lit(rank).alias("__rank"),
    )
    return FileRead(path, layout, result, prices, splits)


def _validate_lines(df: pl.DataFrame, raw: RawFile, *, source_file: str) -> ValidationResult:
    """``validate_prices`` for a one-header file, minus rows with every field empty (``,,``: not data,
    never reported) and with the records DuckDB held back (quarantined with their line number)."""
    blank = pl.all_horizontal(pl.col([c for c in df.columns if c != "__line"]).is_null())
    blanks = df.filter(blank).height
    result = validate_prices(df.filter(~blank) if blanks else df, source_file=source_file)
    return _with_held_back(result, raw) if raw.ragged else result


def _with_held_back(result: ValidationResult, raw: RawFile) -> ValidationResult:
    """``result`` plus the records DuckDB held back reading the file (field ``(record)``), counted as read."""
    held = pl.DataFrame(
        {
            "row": [line for line, _, _ in raw.ragged],
            "field": ["(record)"] * len(raw.ragged),
            "value": [v for _, v, _ in raw.ragged],
            "reason": [why for _, _, why in raw.ragged],
        },
        schema=QUARANTINE_SCHEMA,
    )
    quarantine = pl.concat([result.quarantine, held]).sort("row", maintain_order=True)
    return ValidationResult(result.source_file, result.good, quarantine, result.rows_read + len(raw.ragged))


def with_problems(
    result: ValidationResult, problems: pl.DataFrame, good: pl.DataFrame | None = None
) -> ValidationResult:
    """``result`` with plausibility ``problems`` (``price_rules.QUARANTINE_COLS``) added to its quarantine
    (and ``good`` as its good rows, if given)."""
    extra = problems.select(pl.col("__line").alias("row"), "field", "value", "reason").cast(QUARANTINE_SCHEMA)
    quarantine = pl.concat([result.quarantine.cast(QUARANTINE_SCHEMA), extra]).sort(
        "row", maintain_order=True
    )
    return ValidationResult(
        result.source_file, result.good if good is None else good, quarantine, result.rows_read
    )


def parts_quarantine_empty() -> pl.DataFrame:
    """An empty quarantine frame."""
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def declared_tickers(directory: Path) -> dict[str, str]:
    """Tickers a drop declares beyond the universe: ``DECLARATION_FILE`` (``ticker,currency``) at its top."""
    path = directory / DECLARATION_FILE
    if not path.is_file():
        return {}
    try:
        df = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ProviderError(f"{path}: not a readable declaration ({str(exc).splitlines()[0]})") from None
    if {"ticker", "currency"} - set(df.columns):
        raise ProviderError(f"{path}: expected columns ticker,currency; found {df.columns}")
    return {
        str(t).strip(): str(c).strip().upper()
        for t, c in df.select("ticker", "currency").iter_rows()
        if t and c and len(str(t).strip()) <= 32
    }


def read_drop(
    directory: str | Path,
    known: Mapping[str, str] | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
    splits: pl.DataFrame | None = None,
    today: date | None = None,
) -> FetchResult:
    """Read every file of a drop folder into canonical, adjusted prices (``provider='csv'``).

    Bad rows are held back per file (``FetchResult.validations``); unknown layouts are refused
    (``FetchResult.refused_files``) without stopping the other files. Rows are checked against the
    ``pipelines.price_rules`` plausibility rules; where two files hold the same (date, ticker) they are
    compared in split-adjusted units and a disagreement is quarantined in both (``conflict``) unless one
    file outranks the other (``OVERRIDE_FOLDER``). With ``known`` (the ticker universe), symbols outside
    it are refused unless declared (``DECLARATION_FILE``). ``today``: the run date.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ProviderError(f"csv drop folder {directory} does not exist or is not a folder")
    today = run_date(today)
    universe = bool(known)
    accepted = {**(known or {}), **declared_tickers(directory)}
    listing = list_drop(directory)
    refused: dict[str, str] = dict(listing.refused)
    reads: list[FileRead] = []
    for path in listing.files:
        if path == directory / DECLARATION_FILE:
            continue
        rank = int(path.relative_to(directory).parts[0] == OVERRIDE_FOLDER)
        try:
            reads.append(read_price_file(path, accepted, today=today, universe=universe, rank=rank))
        except (ProviderError, ValidationError) as exc:
            refused[str(path)] = str(exc)
    frames = [r.prices for r in reads if r.prices.height]
    all_splits = merge_splits(splits if splits is not None else known_splits(), *(r.splits for r in reads))
    validations = [r.validation for r in reads]
    if not frames:
        return FetchResult(empty_prices(), validations=validations, refused_files=refused, splits=all_splits)
    cols = [*PRICE_COLUMNS, "__file", "__line", "__rank"]
    adjusted = apply_adjustment(
        pl.concat([f.select(cols) for f in frames], how="vertical_relaxed"), all_splits
    )
    kept, conflicts = decide_conflicts(adjusted)
    jumps = day_jumps(kept)
    kept = kept.join(jumps.select("__file", "__line"), on=["__file", "__line"], how="anti")
    problems = pl.concat([conflicts, jumps])
    if problems.height:
        validations = [
            with_problems(v, problems.filter(pl.col("__file") == v.source_file))
            if v.source_file in set(problems["__file"])
            else v
            for v in validations
        ]
    held = sum(v.bad_rows for v in validations)
    refusal = share_refusal(held, sum(v.rows_read for v in validations))
    if refusal:
        refused[str(directory)] = f"csv:{directory}: {refusal}"
        return FetchResult(empty_prices(), validations=validations, refused_files=refused, splits=all_splits)
    if start is not None:
        kept = kept.filter(pl.col("date") >= start)
    if end is not None:
        kept = kept.filter(pl.col("date") <= end)
    frame = to_canonical(kept.sort("ticker", "date"), provider=PROVIDER)
    return FetchResult(frame, validations=validations, refused_files=refused, splits=all_splits)


@dataclass
class CsvDropProvider:
    """``csv:DIR``: everything in the folder is stored (``tickers`` is only used for symbols/currencies)."""

    directory: Path
    known: Mapping[str, str] | None = None
    name: str = PROVIDER
    today: date | None = None  # the run date (None: pipelines.clock)

    def fetch(
        self, tickers: Sequence[str], start: date | None = None, end: date | None = None
    ) -> FetchResult:
        """Read the drop folder; ``start``/``end`` (inclusive) optionally limit the dates stored."""
        return read_drop(self.directory, self.known, start=start, end=end, today=self.today)
