"""The warehouse URL: the one parser of ``--warehouse`` / ``$FABSCOPE_WAREHOUSE`` and the rule that picks it.

Two kinds of warehouse (docs/deploy.md):

- ``duckdb:PATH`` — one DuckDB file, published by atomic rename (:mod:`pipelines.warehouse`); the default.
  ``--db PATH`` is its shorthand and behaves exactly as before the URL existed.
- ``ducklake:postgresql://USER[:PASSWORD]@HOST:PORT/DB?data=PATH`` — a DuckLake lakehouse
  (:mod:`pipelines.warehouse_lake`): the catalog in PostgreSQL database ``DB``, the data as Parquet files
  under the folder ``PATH`` (shared by every writer and reader). Without a password in the URL, libpq's own
  ``PGPASSWORD`` / ``~/.pgpass`` apply. ``connect_timeout=S`` (default 5 s) and ``sslmode=MODE`` may follow
  ``data``.

Which warehouse (:func:`locate`): ``--warehouse`` if given, else ``--db``, else ``$FABSCOPE_WAREHOUSE``, else
``$FABSCOPE_DB``, else ``./data/fabscope.duckdb``. Inside fabscope a warehouse travels as one string,
``str(WarehouseURL)`` (:func:`target` reads it back): a file warehouse as its absolute path (what every
caller handled before), a lakehouse as its canonical ``ducklake:`` URL.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from fabscope.errors import InputError
from fabscope.settings import env_var, get_settings, redacted_url, resolve_db_path

DEFAULT_CONNECT_TIMEOUT_S = 5
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_LAKE_OPTIONS = ("data", "connect_timeout", "sslmode")
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class WarehouseURL:
    """A parsed warehouse location. ``kind`` is ``"duckdb"`` (``path``) or ``"ducklake"`` (the rest)."""

    kind: str
    path: Path | None = None
    user: str = ""
    password: str | None = None
    host: str = ""
    port: int = 5432
    dbname: str = ""
    data_path: Path | None = None
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S
    sslmode: str | None = None

    @property
    def is_lake(self) -> bool:
        return self.kind == "ducklake"

    def __str__(self) -> str:
        if not self.is_lake:
            return str(self.path)
        auth = quote(self.user, safe="")
        if self.password is not None:
            auth += ":" + quote(self.password, safe="")
        extra = f"&connect_timeout={self.connect_timeout_s}" if self.connect_timeout_s != 5 else ""
        extra += f"&sslmode={self.sslmode}" if self.sslmode else ""
        return f"ducklake:postgresql://{auth}@{self.host}:{self.port}/{quote(self.dbname, safe='')}?data={self.data_path}{extra}"

    def shown(self) -> str:
        """For messages: the path, or the URL with its password as ``***``."""
        return redacted_url(str(self))

    def libpq(self) -> str:
        """The libpq connection string of the catalog (``dbname=... host=... port=... user=...``)."""

        def q(value: str) -> str:
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

        parts = [
            f"dbname={q(self.dbname)}",
            f"host={q(self.host)}",
            f"port={self.port}",
            f"user={q(self.user)}",
        ]
        if self.password is not None:
            parts.append(f"password={q(self.password)}")
        parts.append(f"connect_timeout={self.connect_timeout_s}")
        if self.sslmode:
            parts.append(f"sslmode={self.sslmode}")
        return " ".join(parts)


def _refuse(origin: str, text: str, why: str) -> InputError:
    return InputError(f"{origin} {redacted_url(text)!r}: {why}")


def parse(text: str, *, origin: str = "--warehouse") -> WarehouseURL:
    """Parse a warehouse URL (``duckdb:PATH`` or ``ducklake:postgresql://...``); ``origin`` names where it
    came from in the one-line ``InputError`` a malformed URL raises."""
    raw = text.strip()
    scheme = _SCHEME.match(raw)
    if scheme is None:
        raise _refuse(
            origin, raw, "expected duckdb:PATH or ducklake:postgresql://USER@HOST:PORT/DB?data=PATH"
        )
    name, rest = scheme.group(1).lower(), raw[scheme.end() :]
    if name == "duckdb":
        if not rest.strip():
            raise _refuse(origin, raw, "duckdb: needs a file path (duckdb:data/fabscope.duckdb)")
        return WarehouseURL("duckdb", path=resolve_db_path(rest))
    if name != "ducklake":
        raise _refuse(
            origin, raw, f"unknown warehouse kind {name!r}: use duckdb:PATH or ducklake:postgresql://..."
        )
    return _parse_lake(raw, rest, origin)


def _parse_lake(raw: str, rest: str, origin: str) -> WarehouseURL:
    parts = urlsplit(rest)
    if parts.scheme not in ("postgresql", "postgres"):
        raise _refuse(
            origin, raw, "the DuckLake catalog must be ducklake:postgresql://USER@HOST:PORT/DB?data=PATH"
        )
    try:
        port = parts.port or 5432
    except ValueError:
        raise _refuse(origin, raw, "the port is not a number in 1..65535") from None
    dbname = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not parts.username or not dbname or "/" in dbname:
        raise _refuse(
            origin,
            raw,
            "needs USER@HOST[:PORT]/DB (e.g. ducklake:postgresql://fabscope@db:5432/lake?data=/srv/lake)",
        )
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise _refuse(origin, raw, "the part after '?' is not NAME=VALUE&...") from None
    unknown = sorted(set(query) - set(_LAKE_OPTIONS))
    if unknown:
        raise _refuse(origin, raw, f"unknown option {unknown[0]!r} (known: {', '.join(_LAKE_OPTIONS)})")
    data = (query.get("data") or [""])[-1].strip()
    if not data:
        raise _refuse(origin, raw, "needs ?data=PATH, the folder of the lakehouse's Parquet files")
    if _SCHEME.match(data) and not data.startswith("file:"):
        raise _refuse(
            origin,
            raw,
            f"data={data}: only a local or mounted folder for now (S3-compatible storage is the documented next step, docs/deploy.md)",
        )
    timeout = (query.get("connect_timeout") or [str(DEFAULT_CONNECT_TIMEOUT_S)])[-1]
    if not timeout.isdigit() or not 1 <= int(timeout) <= 300:
        raise _refuse(origin, raw, f"connect_timeout={timeout}: expected whole seconds in 1..300")
    sslmode = (query.get("sslmode") or [None])[-1]
    if sslmode is not None and sslmode not in _SSLMODES:
        raise _refuse(origin, raw, f"sslmode={sslmode}: expected one of {', '.join(_SSLMODES)}")
    return WarehouseURL(
        "ducklake",
        user=unquote(parts.username),
        password=unquote(parts.password) if parts.password is not None else None,
        host=parts.hostname,
        port=port,
        dbname=dbname,
        data_path=Path(data.removeprefix("file:")).expanduser().absolute(),
        connect_timeout_s=int(timeout),
        sslmode=sslmode,
    )


def locate(db: str | os.PathLike[str] | None = None, warehouse: str | None = None) -> WarehouseURL:
    """The warehouse a command uses: ``--warehouse``, else ``--db``, else ``$FABSCOPE_WAREHOUSE``, else
    ``$FABSCOPE_DB``, else ``./data/fabscope.duckdb``. Both flags at once is an ``InputError``."""
    if warehouse is not None and db is not None:
        raise InputError("give --db PATH or --warehouse URL, not both (--db PATH is duckdb:PATH)")
    if warehouse is not None:
        return parse(warehouse)
    if db is not None:
        return WarehouseURL("duckdb", path=resolve_db_path(db))
    configured = get_settings().warehouse
    if configured:
        return parse(configured, origin=f"${env_var('warehouse')}")
    return WarehouseURL("duckdb", path=resolve_db_path(None))


def target(value: str | os.PathLike[str] | WarehouseURL | None) -> WarehouseURL:
    """The warehouse named by a string handed around inside fabscope (``str(WarehouseURL)``): a path is a
    DuckDB file (relative to the working directory), ``duckdb:``/``ducklake:`` a URL; None: :func:`locate`."""
    if isinstance(value, WarehouseURL):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return locate()
    text = os.fspath(value)
    if isinstance(value, str) and text.lower().startswith(("duckdb:", "ducklake:")):
        return parse(text)
    return WarehouseURL("duckdb", path=resolve_db_path(text))


def export(url: WarehouseURL) -> None:
    """Make ``url`` the warehouse of the processes this one starts (Dagster steps, gunicorn workers,
    reruns): a lakehouse in ``$FABSCOPE_WAREHOUSE``; a file in ``$FABSCOPE_DB`` exactly as before the URL
    existed (and ``$FABSCOPE_WAREHOUSE`` unset, since it would win)."""
    if url.is_lake:
        os.environ[env_var("warehouse")] = str(url)
    else:
        os.environ.pop(env_var("warehouse"), None)
        os.environ[env_var("db")] = str(url.path)


__all__ = ["WarehouseURL", "export", "locate", "parse", "target"]
