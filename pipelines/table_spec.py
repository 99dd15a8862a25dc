"""The shape of a warehouse table declaration (``Column``, ``Table``): what ``pipelines.schema`` lists."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One column: name, DuckDB type, nullability and a one-line meaning (with units)."""

    name: str
    sql_type: str
    nullable: bool = True
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """A warehouse table: its columns, its natural key and what it holds."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    doc: str = ""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    def ddl(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for this table."""
        cols = [f'"{c.name}" {c.sql_type}{"" if c.nullable else " NOT NULL"}' for c in self.columns]
        return f'CREATE TABLE IF NOT EXISTS "{self.name}" ({", ".join(cols)})'
