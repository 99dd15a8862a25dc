"""Bundled curated reference files (``pipelines/reference/*.csv``): where they live and how they load.

Their rules (columns, types, ranges, allowed values, keys) are ``pipelines.reference_schema``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fabscope.settings import BUNDLED_REFERENCE_DIR, get_settings
from pipelines.reference_schema import REFERENCE_SPECS, ReferenceSpec
from pipelines.validation import ValidationResult

REFERENCE_DIR = BUNDLED_REFERENCE_DIR


def reference_dir() -> Path:
    """The curated files: ``$FABSCOPE_REFERENCE_DIR`` if set (an analyst's edited copy), else the bundled ones."""
    return get_settings().reference_dir


@dataclass(frozen=True)
class ReferenceFile:
    """A curated CSV: its spec, and where the file being used lives."""

    spec: ReferenceSpec

    @property
    def name(self) -> str:
        """File stem."""
        return self.spec.name

    @property
    def table(self) -> str:
        """Target warehouse table."""
        return self.spec.table

    @property
    def key(self) -> tuple[str, ...]:
        """Natural key."""
        return self.spec.key

    @property
    def path(self) -> Path:
        """Where the file in use lives (see ``reference_dir``)."""
        return reference_dir() / self.spec.file_name

    def load(self, path: Path | None = None, *, today: date | None = None) -> ValidationResult:
        """Read and validate the file (or ``path`` instead of the one in use); ``today``: the run date."""
        return self.spec.load(path or self.path, today=today)


REFERENCE_FILES: dict[str, ReferenceFile] = {
    name: ReferenceFile(spec) for name, spec in REFERENCE_SPECS.items()
}


def files_without_spec(directory: Path) -> list[str]:
    """CSV files in ``directory`` that no spec describes (they would never be loaded or checked)."""
    return sorted(p.name for p in directory.glob("*.csv") if p.stem not in REFERENCE_SPECS)
