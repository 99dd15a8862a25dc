"""Every environment variable and default path of fabscope, in one pydantic-settings object.

Read with :func:`get_settings`, which builds a fresh :class:`Settings` from the environment on every
call (well under a millisecond), so a changed variable (``monkeypatch.setenv`` in a test, ``export`` before a
run) is seen by the next reader; nothing is cached. An empty variable counts as unset. A value that
does not parse (``FABSCOPE_LIVE=maybe``) is an :class:`~fabscope.errors.InputError` naming the variable.
Relative paths are taken relative to the working directory at the time they are read and returned
absolute (``~`` expanded).

Command-line flags win over the environment: the warehouse is ``--db`` if given, else ``$FABSCOPE_DB``,
else ``./data/fabscope.duckdb`` (:func:`resolve_db_path`). ``fabscope config --json`` prints the
effective values, with secrets (``$FABSCOPE_SECRET_KEY``, a password inside a URL) shown as ``***``.

The team settings (``$FABSCOPE_REDIS_URL``, ``$FABSCOPE_AUTH_*``, ``$FABSCOPE_SECRET_KEY``) are read by
``fabscope serve`` / ``fabscope worker`` (:mod:`app.dashboard.service`); docs/deploy.md says when to set them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from fabscope.errors import InputError

# the curated reference CSVs bundled with the pipelines package (a sibling of this one)
BUNDLED_REFERENCE_DIR = Path(__file__).resolve().parents[1] / "pipelines" / "reference"


def _env(name: str, default: Any, description: str) -> Any:
    return Field(default=default, validation_alias=name, description=description)


class Settings(BaseSettings):
    """The effective settings: each field is read from the environment variable named by its alias."""

    model_config = SettingsConfigDict(
        env_ignore_empty=True, populate_by_name=True, extra="ignore", case_sensitive=True
    )

    db: Path = _env(
        "FABSCOPE_DB", Path("data") / "fabscope.duckdb", "the DuckDB warehouse file (`--db` overrides it)"
    )
    warehouse: str | None = _env(
        "FABSCOPE_WAREHOUSE",
        None,
        "warehouse URL, wins over $FABSCOPE_DB (`--warehouse`/`--db` override it): duckdb:PATH or "
        "ducklake:postgresql://USER@HOST:PORT/DB?data=PATH (pipelines/warehouse_url.py, docs/deploy.md)",
    )
    reference_dir: Path = _env(
        "FABSCOPE_REFERENCE_DIR", BUNDLED_REFERENCE_DIR, "folder of the curated reference CSVs to load"
    )
    prices: str = _env(
        "FABSCOPE_PRICES", "sample", "scheduled refresh's prices: sample | yahoo | akshare | csv:DIR"
    )
    drop_dir: Path = _env(
        "FABSCOPE_DROP_DIR", Path("data") / "drop", "folder the Dagster sensor watches for price CSV drops"
    )
    keep_versions: int = Field(
        default=3,
        ge=0,
        le=1000,
        validation_alias="FABSCOPE_KEEP_VERSIONS",
        description="published warehouse versions kept for `fabscope restore` (0: none)",
    )
    live: bool = _env(
        "FABSCOPE_LIVE", False, "merge the live Federal Register and Consolidated Screening List connectors"
    )
    cache_dir: Path = _env(
        "FABSCOPE_CACHE_DIR",
        Path("data") / "cache",
        "cache folder: downloads of the live connectors (CSL CSV) and the forecasts' posterior draws "
        "(calibration/)",
    )
    dagster_home: Path = _env(
        "DAGSTER_HOME", Path("data") / "dagster", "the Dagster instance folder (runs, logs, schedules)"
    )
    require_browser: bool = _env(
        "FABSCOPE_REQUIRE_BROWSER", False, "tests: fail, not skip, browser tests without Chromium"
    )
    require_services: bool = _env(
        "FABSCOPE_REQUIRE_SERVICES",
        False,
        "tests: fail, not skip, team-mode tests without redis-server or PostgreSQL",
    )
    # ---- the dashboard as a service (`fabscope serve`, `fabscope worker`; docs/deploy.md) ----------
    redis_url: str | None = _env(
        "FABSCOPE_REDIS_URL",
        None,
        "Redis for the dashboard's background reruns (Celery broker + results; `fabscope worker` runs "
        "them); unset: a local diskcache beside the warehouse",
    )
    max_reruns: int = Field(
        default=2,
        ge=1,
        le=64,
        validation_alias="FABSCOPE_MAX_RERUNS",
        description="dashboard scenario reruns allowed at once (each holds a Monte Carlo process); "
        "one more is refused with 'busy, try again'",
    )
    auth_users_file: Path | None = _env(
        "FABSCOPE_AUTH_USERS_FILE",
        None,
        "dashboard basic auth: file of `user:password-hash` lines (`fabscope passwd USER` writes one)",
    )
    auth_proxy_header: str | None = _env(
        "FABSCOPE_AUTH_PROXY_HEADER",
        None,
        "dashboard behind a trusted reverse proxy: the header naming the signed-in user (e.g. "
        "X-Forwarded-User); requests without it get HTTP 401",
    )
    secret_key: SecretStr | None = _env(
        "FABSCOPE_SECRET_KEY",
        None,
        "signs the dashboard's background-callback handles; set the same value on every web host "
        "(unset: `fabscope serve` draws one per start, shared by its gunicorn workers)",
    )
    real_prices: Path | None = _env(
        "FABSCOPE_REAL_PRICES", None, "tests: folder of real price exports (csv-drop tests skip without)"
    )

    @field_validator(
        "db", "reference_dir", "drop_dir", "cache_dir", "dagster_home", "real_prices", "auth_users_file"
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return None if value is None else Path(value).expanduser().absolute()

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a redis://HOST:PORT/DB (or rediss://, unix://) URL")
        return value.strip()

    @field_validator("prices")
    @classmethod
    def _provider(cls, value: str) -> str:
        return value.strip() or "sample"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # explicit values, then the environment; no .env or secrets files are read behind the user's back
        return (init_settings, env_settings)


def env_var(name: str) -> str:
    """The environment variable of setting ``name`` (e.g. ``"db"`` -> ``"FABSCOPE_DB"``)."""
    return str(Settings.model_fields[name].validation_alias)


ENV_VARS: tuple[str, ...] = tuple(env_var(name) for name in Settings.model_fields)


def get_settings(**overrides: Any) -> Settings:
    """The settings as the environment says now (``overrides``: field values that win over it)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        name = env_var(field) if field in Settings.model_fields else field
        shown = os.environ.get(name, err.get("input"))
        raise InputError(f"${name}={shown!r}: {err['msg']}") from None


def resolve_db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Warehouse path: ``--db`` value, else ``$FABSCOPE_DB``, else ``./data/fabscope.duckdb`` (absolute)."""
    if explicit:
        return Path(explicit).expanduser().absolute()
    return get_settings().db


def redacted_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and ``fabscope config``)."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def _shown(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "***"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str) and "://" in value:
        return redacted_url(value)
    return value


def describe(settings: Settings | None = None, db: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``{name: {"value", "env", "default", "source", "description"}}`` for ``fabscope config --json``.

    ``source`` is ``"flag"`` (``--db``), ``"env"`` or ``"default"``."""
    settings = settings or get_settings()
    out: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        env = env_var(name)
        value = getattr(settings, name)
        source = "env" if os.environ.get(env) else "default"
        if name == "db" and db:
            value, source = resolve_db_path(db), "flag"
        default = field.default
        out[name] = {
            "value": _shown(value),
            "env": env,
            "default": str(default) if isinstance(default, Path) else default,
            "source": source,
            "description": field.description,
        }
    return out


__all__ = [
    "ENV_VARS",
    "Settings",
    "describe",
    "env_var",
    "get_settings",
    "redacted_url",
    "resolve_db_path",
]
