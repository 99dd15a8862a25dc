"""Every warehouse table's DDL, with the schema version: read from ``pipelines/schema.yaml``.

The YAML is the one declaration (see its header for how to add a table or a column); this module turns
it into :class:`~pipelines.table_spec.Table` objects once, at import. Migration is declarative and
forward-only (``pipelines.warehouse.migrate``); ``SCHEMA_VERSION`` is recorded in ``schema_meta``.
The curated reference files take their columns, types and keys from here; their extra rules are
``pipelines.reference_schema``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pipelines.table_spec import Column, Table

SCHEMA_FILE = Path(__file__).with_name("schema.yaml")


def _column(name: str, spec: str) -> Column:
    """``TYPE[ NOT NULL][ | doc]`` → a :class:`Column`."""
    declared, _, doc = (part.strip() for part in str(spec).partition("|"))
    not_null = declared.upper().endswith(" NOT NULL")
    sql_type = declared[: -len(" NOT NULL")].strip() if not_null else declared
    return Column(str(name), sql_type, not not_null, doc)


def _tables(doc: dict[str, Any]) -> dict[str, Table]:
    return {
        str(name): Table(
            str(name),
            tuple(_column(c, spec) for c, spec in t["columns"].items()),
            tuple(str(k) for k in t.get("key") or ()),
            str(t.get("doc") or ""),
        )
        for name, t in doc["tables"].items()
    }


# libyaml's safe loader when installed (every CLI start reads this file: fast start, issue 15)
_DOC = yaml.load(
    SCHEMA_FILE.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
)
SCHEMA_VERSION: int = int(_DOC["version"])
TABLES: dict[str, Table] = _tables(_DOC)
