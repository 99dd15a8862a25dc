"""The last published versions of the warehouse, kept beside it, and ``restore`` to bring one back.

Every publish keeps a copy of the file it publishes in ``.<name>.versions/`` (an independent copy,
not a hard link: damage done to the published file in place, such as a truncation, must not reach
its copy). The newest ``FABSCOPE_KEEP_VERSIONS`` (default 3; 0 keeps none) are kept, older ones
removed. A version is named by the UTC time it was published (``20261206T221503123456Z``); ``restore``
takes that name or its 1-based position in ``list_versions`` (1 = newest), verifies the copy with a
full read, and publishes it atomically under the writer lock (the current file is kept as a version
only if it still reads in full, so a damaged file never pushes a good version out).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fabscope.errors import NotFoundError, WarehouseError
from fabscope.settings import get_settings
from pipelines.warehouse import Warehouse, verify_file

SUFFIX = ".duckdb"


@dataclass(frozen=True)
class Version:
    """One kept version: its name, file, size (bytes) and publication time (UTC)."""

    name: str
    path: Path
    size_bytes: int
    published_at: datetime


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def list_versions(wh: Warehouse) -> list[Version]:
    """The kept versions of ``wh``, newest first."""
    if not wh.versions_dir.is_dir():
        return []
    out = []
    for p in wh.versions_dir.glob(f"*{SUFFIX}"):
        name = p.name.removesuffix(SUFFIX)
        try:
            when = datetime.strptime(name[:23], "%Y%m%dT%H%M%S%fZ")
            size = p.stat().st_size
        except (ValueError, OSError):
            continue
        out.append(Version(name, p, size, when))
    return sorted(out, key=lambda v: v.name, reverse=True)


def _copy_failed(what: str, exc: OSError, remedy: str) -> WarehouseError:
    """One line for a failed copy of a warehouse file: what, the OS's reason, and that nothing changed."""
    return WarehouseError(
        f"{what}: {exc.strerror or exc} ({type(exc).__name__}); nothing was published ({remedy})"
    )


def keep_version(wh: Warehouse, staging: Path, keep: int | None = None) -> Version | None:
    """Copy the (verified) ``staging`` file among the kept versions, then drop all but the newest
    ``keep`` (default: the ``keep_versions`` setting). Returns the new version (None if keep is 0)."""
    keep = get_settings().keep_versions if keep is None else keep
    if keep <= 0:
        return None
    name = _stamp()
    target = wh.versions_dir / f"{name}{SUFFIX}"
    n = 1
    while target.exists():  # two publishes in one microsecond
        name, n = f"{_stamp()}-{n}", n + 1
        target = wh.versions_dir / f"{name}{SUFFIX}"
    part = target.with_name(target.name + ".part")
    try:
        wh.versions_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staging, part)
        part.replace(target)  # never a half-copied version under a version's name
    except OSError as exc:  # disk full: refuse to publish rather than publish without a way back
        part.unlink(missing_ok=True)
        raise _copy_failed(
            f"cannot keep a version of {wh.path} in {wh.versions_dir}",
            exc,
            "free space, or set FABSCOPE_KEEP_VERSIONS=0",
        ) from None
    for old in list_versions(wh)[keep:]:
        old.path.unlink(missing_ok=True)
    return next(v for v in list_versions(wh) if v.name == name)


def find_version(wh: Warehouse, version: str | None) -> Version:
    """The kept version named ``version`` (its name or 1-based position, newest = 1; None: the newest)."""
    kept = list_versions(wh)
    if not kept:
        raise NotFoundError(f"no kept versions of {wh.path} in {wh.versions_dir}")
    if version is None:
        return kept[0]
    text = version.strip()
    if text.isdigit() and len(text) <= 4:
        i = int(text)
        if 1 <= i <= len(kept):
            return kept[i - 1]
    for v in kept:
        if v.name == text:
            return v
    names = ", ".join(f"{i}={v.name}" for i, v in enumerate(kept, 1))
    raise NotFoundError(f"no kept version {text!r} of {wh.path}; kept: {names}")


def restore(wh: Warehouse, version: str | None = None) -> Version:
    """Publish the kept ``version`` (see ``find_version``) atomically in place of the current file."""
    chosen = find_version(wh, version)
    with wh.lock():
        staging = wh.staging_dir / f"restore-{chosen.name}{SUFFIX}"
        try:
            try:
                wh.staging_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(chosen.path, staging)
            except OSError as exc:  # disk full, read-only folder
                raise _copy_failed(
                    f"cannot copy version {chosen.name} to {staging.parent}", exc, "free space"
                ) from None
            try:
                verify_file(staging, shown=chosen.path)
            except WarehouseError as exc:
                raise WarehouseError(
                    f"{exc.message}; choose another version (`fabscope restore --list`)"
                ) from None
            current_ok = False
            if wh.exists():
                try:
                    verify_file(wh.path)
                    current_ok = True
                except WarehouseError:
                    pass
            if current_ok:  # the file being replaced stays restorable
                keep_version(wh, wh.path)
            wh.publish(staging, keep_version=False)
        finally:
            wh.discard(staging)
    return chosen
