"""The package layering: fabscope <- hardware_sim <- models <- pipelines <- app.

``fabscope`` (settings, errors) is the bottom layer: every package may import it, it imports none of them
and needs only the standard library and pydantic / pydantic-settings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "fabscope": {"hardware_sim", "models", "pipelines", "app"},
    "hardware_sim": {"models", "pipelines", "app"},
    "models": {"pipelines", "app"},
    "pipelines": {"app"},
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_layering(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(_imported_packages(path) & FORBIDDEN[package])
        for path in (REPO / package).rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"{package} imports packages above it: {offenders}"


def test_hardware_sim_needs_only_numeric_libraries() -> None:
    allowed = {
        "numpy",
        "scipy",
        "yaml",
        "pydantic",
        "annotated_types",
        "fabscope",
        "hardware_sim",
        "__future__",
    }
    import sys

    stdlib = set(sys.stdlib_module_names)
    extra = {
        str(p.relative_to(REPO)): sorted(_imported_packages(p) - allowed - stdlib)
        for p in (REPO / "hardware_sim").rglob("*.py")
    }
    assert not {k: v for k, v in extra.items() if v}


def test_fabscope_needs_only_the_standard_library_and_pydantic() -> None:
    import sys

    allowed = {"pydantic", "pydantic_settings", "fabscope"} | set(sys.stdlib_module_names)
    extra = {
        str(p.relative_to(REPO)): sorted(_imported_packages(p) - allowed)
        for p in (REPO / "fabscope").rglob("*.py")
    }
    assert not {k: v for k, v in extra.items() if v}
