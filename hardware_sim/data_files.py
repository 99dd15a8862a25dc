"""The bundled YAML data files under ``hardware_sim/data``: where they live and how they are read.

Every loader (catalog, process flows) reads its file through :func:`read_yaml_mapping`, so an unreadable,
malformed or wrongly shaped file always fails with the loader's own error class and a message naming the
file, never a bare YAML/OS traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it (parses the catalog ~10x faster than the pure-Python one, which
the first Capacity page and every ``fabscope sim`` command would otherwise pay), else the pure-Python one."""


def read_yaml_mapping(
    path: Path, error: type[Exception], expected: str, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The top-level mapping of the YAML file ``path``.

    Raises ``error`` naming the file when it cannot be read or parsed, and ``error(f"{path}: expected
    {expected}")`` when the document is not a mapping or lacks one of the ``required`` top-level keys.
    """
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read YAML ({exc})") from exc
    if not isinstance(doc, dict) or any(key not in doc for key in required):
        raise error(f"{path}: expected {expected}")
    return doc
