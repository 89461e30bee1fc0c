"""DDL that differs per dialect: identity columns on DuckDB (a sequence and its default)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import Column, CreateColumn, CreateTable, DropTable
from sqlalchemy.sql.compiler import DDLCompiler

# --- DDL: identity columns on DuckDB ---------------------------------------------------------
# DuckDB has no IDENTITY; the same model column becomes a sequence-backed default there.


def identity_sequence_name(column: Column[Any]) -> str:
    return f"{column.table.name}_{column.name}_seq"


def _identity_columns(table: Any) -> list[Column[Any]]:
    return [c for c in table.columns if c.identity is not None]


@compiles(CreateColumn, "duckdb")
def _duckdb_create_column(element: CreateColumn, compiler: DDLCompiler, **kw: Any) -> str:
    column = element.element
    if column.identity is None:
        return compiler.visit_create_column(element, **kw)  # type: ignore[no-any-return,no-untyped-call]
    preparer = compiler.preparer
    type_ = compiler.dialect.type_compiler_instance.process(column.type)
    seq = preparer.quote(identity_sequence_name(column))
    return f"{preparer.format_column(column)} {type_} DEFAULT nextval('{seq}') NOT NULL"


@compiles(CreateTable, "duckdb")
def _duckdb_create_table(element: CreateTable, compiler: DDLCompiler, **kw: Any) -> str:
    text = compiler.visit_create_table(element, **kw)  # type: ignore[no-untyped-call]
    for column in _identity_columns(element.element):
        seq = compiler.preparer.quote(identity_sequence_name(column))
        text = f"CREATE SEQUENCE IF NOT EXISTS {seq};\n{text}"
    return text  # type: ignore[no-any-return]


@compiles(DropTable, "duckdb")
def _duckdb_drop_table(element: DropTable, compiler: DDLCompiler, **kw: Any) -> str:
    text = compiler.visit_drop_table(element, **kw)  # type: ignore[no-untyped-call]
    for column in _identity_columns(element.element):
        seq = compiler.preparer.quote(identity_sequence_name(column))
        text += f";\nDROP SEQUENCE IF EXISTS {seq}"
    return text  # type: ignore[no-any-return]
