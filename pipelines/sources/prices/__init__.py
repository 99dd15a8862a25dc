"""Price providers: ``sample`` (offline default), ``yahoo``, ``akshare`` and ``csv:DIR``.

``parse_provider(spec)`` validates a ``--prices``/Dagster-config string into a
``ProviderSpec``; ``build_provider(spec, ...)`` makes the provider object. Optional
libraries (yfinance, akshare) are imported only by the provider that needs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from fabscope.errors import InputError
from pipelines.sources.prices.base import FetchResult, PriceProvider, ProviderError

PROVIDER_NAMES = ("sample", "yahoo", "akshare", "csv")
USAGE = "expected one of: sample, yahoo, akshare, csv:DIR (a folder of price CSV files)"


@dataclass(frozen=True)
class ProviderSpec:
    """A validated provider choice: ``name`` plus, for ``csv``, the drop folder."""

    name: str
    directory: Path | None = None

    def __str__(self) -> str:
        return f"csv:{self.directory}" if self.name == "csv" else self.name


def parse_provider(spec: str, *, check_dir: bool = True) -> ProviderSpec:
    """``"sample"|"yahoo"|"akshare"|"csv:DIR"`` → ``ProviderSpec``; ``InputError`` with a readable message."""
    raw = (spec or "").strip()
    name, _, arg = raw.partition(":")
    name = name.lower()
    if name == "csv":
        if not arg.strip():
            raise InputError(f"--prices {raw!r}: csv needs a folder, e.g. csv:./data/drop; {USAGE}")
        directory = Path(arg.strip()).expanduser().absolute()
        if check_dir and not directory.is_dir():
            raise InputError(f"--prices {raw!r}: folder {directory} does not exist (or is not a folder)")
        return ProviderSpec("csv", directory)
    if name in ("sample", "yahoo", "akshare") and not arg:
        return ProviderSpec(name)
    raise InputError(f"--prices {raw!r}: unknown price provider; {USAGE}")


def build_provider(
    spec: ProviderSpec,
    *,
    universe: pl.DataFrame | None = None,
    events: Sequence[date] = (),
    known: Mapping[str, str] | None = None,
    today: date | None = None,
) -> PriceProvider:
    """The provider object for ``spec``. ``universe``: the tickers table (sample); ``known``: ticker → currency."""
    if spec.name == "sample":
        from pipelines.sources.prices.sample import SampleProvider

        if universe is None:
            raise ProviderError("the sample provider needs the ticker universe")
        return SampleProvider(universe, events=events)
    if spec.name == "yahoo":
        from pipelines.sources.prices.yahoo import YahooProvider

        return YahooProvider(known=known)
    if spec.name == "akshare":
        from pipelines.sources.prices.akshare import AkshareProvider, import_akshare

        import_akshare()  # fail early and readably when the optional extra is missing
        return AkshareProvider(known=known)
    if spec.name == "csv":
        from pipelines.sources.prices.csv_drop import CsvDropProvider

        assert spec.directory is not None
        return CsvDropProvider(spec.directory, known=known, today=today)
    raise ProviderError(f"unknown provider {spec.name!r}; {USAGE}")


__all__ = [
    "PROVIDER_NAMES",
    "FetchResult",
    "PriceProvider",
    "ProviderError",
    "ProviderSpec",
    "build_provider",
    "parse_provider",
]
