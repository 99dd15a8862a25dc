"""trade.gov Consolidated Screening List (CSL) connector: Entity List rows for China and Hong Kong.

The bulk CSV (no key) is at ``CSL_CSV_URL``, rebuilt daily; it is fetched with a conditional
GET (``If-None-Match``/``If-Modified-Since`` from the cached copy's ETag) into a cache folder.
Rows are keyed on ``_id`` (not ``entity_number``). Only ``source`` = ``ENTITY_LIST_SOURCE``
rows whose address country is CN or HK are kept; ``start_date`` is the listing date and
``federal_register_notice`` the citation used to link a row to an export-control event.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from pipelines.sources.prices.base import RETRY_ATTEMPTS, RETRY_BACKOFF_S, with_retries
from pipelines.validation import ColumnRule, ValidationResult, read_csv_validated

CSL_CSV_URL = "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv"
ENTITY_LIST_SOURCE = "Entity List (EL) - Bureau of Industry and Security"
CSL_RULES = (
    ColumnRule("_id"),
    ColumnRule("source"),
    ColumnRule("name"),
    ColumnRule("addresses", required=False),
    ColumnRule("federal_register_notice", required=False),
    ColumnRule("start_date", "date", required=False),
    ColumnRule("source_list_url", required=False),
)
CHINA_CODES = ("CN", "HK")
TIMEOUT_S = 120
USER_AGENT = "fabscope/0.1 (export-control event study)"
_COUNTRY = re.compile(r",\s*([A-Z]{2})\s*$")


def fetch_csv(cache_dir: Path, *, url: str = CSL_CSV_URL) -> Path:
    """Download the CSL CSV into ``cache_dir`` unless unchanged (conditional GET); returns the file."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target, meta_path = cache_dir / "consolidated.csv", cache_dir / "consolidated.meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() and target.exists() else {}
    headers = {"User-Agent": USER_AGENT}
    if meta.get("etag"):
        headers["If-None-Match"] = meta["etag"]
    if meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]

    def call() -> Path:
        req = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # fixed https host
                tmp = target.with_suffix(".part")
                tmp.write_bytes(resp.read())
                tmp.replace(target)
                meta_path.write_text(
                    json.dumps(
                        {"etag": resp.headers.get("ETag"), "last_modified": resp.headers.get("Last-Modified")}
                    )
                )
        except urllib.error.HTTPError as exc:
            if exc.code != 304:
                raise
        return target

    return with_retries(call, attempts=RETRY_ATTEMPTS, backoff_s=RETRY_BACKOFF_S)


def read_csl(path: str | Path) -> ValidationResult:
    """Validate a CSL CSV (all rows, any source), keyed on ``_id``."""
    return read_csv_validated(path, CSL_RULES, key=("_id",))


def address_countries(addresses: str | None) -> list[str]:
    """Country codes at the end of each ``;``-separated address (``..., Beijing, CN``)."""
    if not addresses:
        return []
    return [m.group(1) for a in addresses.split(";") if (m := _COUNTRY.search(a.strip()))]


def entity_list_rows(csl: pl.DataFrame, countries: Iterable[str] = CHINA_CODES) -> pl.DataFrame:
    """Entity List rows in ``countries``: name, country, added_date, citation, source, flag, csl_id."""
    wanted = set(countries)
    el = csl.filter(pl.col("source") == ENTITY_LIST_SOURCE)
    country = el["addresses"].map_elements(  # one call per listed entity (thousands), not per price row
        lambda a: next((c for c in address_countries(a) if c in wanted), None), return_dtype=pl.String
    )
    el = el.with_columns(country.alias("country")).filter(pl.col("country").is_not_null())
    return el.select(
        pl.col("name").str.strip_chars(),
        "country",
        pl.col("start_date").alias("added_date"),
        pl.col("federal_register_notice").alias("citation"),
        pl.concat_str(
            [
                pl.lit("trade.gov Consolidated Screening List, "),
                pl.col("source"),
                pl.lit(" ("),
                pl.col("source_list_url").fill_null(""),
                pl.lit(")"),
            ]
        ).alias("source"),
        pl.lit("reported").alias("flag"),
        pl.col("_id").alias("csl_id"),
    ).filter(pl.col("added_date").is_not_null())


def normalise_name(name: str) -> str:
    """Lower-case name without punctuation and company suffixes, for matching curated rows."""
    n = re.sub(r"\([^)]*\)", " ", name.lower())
    n = re.sub(r"[^a-z0-9 ]", " ", n)
    n = re.sub(r"\b(co|ltd|limited|inc|corp|corporation|company|group|llc)\b", " ", n)
    return " ".join(n.split())
