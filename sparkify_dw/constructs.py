"""SQL constructs whose text differs per dialect: one construct, one visitor per dialect.

Everything else in the package is dialect-neutral SQLAlchemy Core; a new backend
adds its visitors here (or reuses the PostgreSQL ones, as Redshift does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Interval, String, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import Column, CreateColumn, CreateTable, DropTable, Table
from sqlalchemy.sql import ClauseElement, ColumnElement, Executable
from sqlalchemy.sql.compiler import DDLCompiler, SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TIMESTAMP

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


# --- epoch milliseconds to a UTC timestamp ----------------------------------------------------


class epoch_ms_to_timestamp(FunctionElement[Any]):
    """``ts`` (epoch milliseconds, BIGINT) as a TIMESTAMP with millisecond precision.

    Integer arithmetic only: ``ts / 1000`` on BIGINT is integer division on PostgreSQL
    and Redshift, so the milliseconds are added separately and nothing is rounded.
    """

    type = TIMESTAMP()
    inherit_cache = True
    name = "epoch_ms_to_timestamp"


@compiles(epoch_ms_to_timestamp)
def _epoch_ms_default(element: epoch_ms_to_timestamp, compiler: SQLCompiler, **kw: Any) -> str:
    ms = next(iter(element.clauses))
    epoch = literal_column("TIMESTAMP 'epoch'", TIMESTAMP())
    second = literal_column("INTERVAL '1 second'", Interval())
    milli = literal_column("INTERVAL '1 millisecond'", Interval())
    # // on integers is integer division; MOD() rather than %, which some drivers escape.
    expr = epoch + (ms // 1000) * second + func.mod(ms, 1000) * milli
    return f"({compiler.process(expr, **kw)})"


@compiles(epoch_ms_to_timestamp, "duckdb")
def _epoch_ms_duckdb(element: epoch_ms_to_timestamp, compiler: SQLCompiler, **kw: Any) -> str:
    return f"epoch_ms({compiler.process(element.clauses, **kw)})"


# --- a field of a JSON document, as text -----------------------------------------------------


class json_text(FunctionElement[str]):
    """The value at a JSON path as text (NULL for JSON null or a missing key).

    ``path`` is a tuple of keys and array indexes, from a JSONPaths file.
    """

    type = String()
    inherit_cache = False
    name = "json_text"

    def __init__(self, document: ColumnElement[Any], path: Sequence[str | int]) -> None:
        super().__init__(document)
        self.path = tuple(path)


def _literal(compiler: SQLCompiler, value: str) -> str:
    return compiler.render_literal_value(value, String())  # type: ignore[no-any-return]


@compiles(json_text, "duckdb")
def _json_text_duckdb(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    parts = ["$"]
    for step in element.path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append('."' + step.replace('"', '\\"') + '"')
    doc = compiler.process(element.clauses, **kw)
    return f"json_extract_string({doc}, {_literal(compiler, ''.join(parts))})"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    doc = compiler.process(element.clauses, **kw)
    if len(element.path) == 1 and isinstance(element.path[0], str):
        return f"({doc} ->> {_literal(compiler, element.path[0])})"
    items = ",".join('"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'
                     for s in element.path)
    return f"({doc} #>> {_literal(compiler, '{' + items + '}')})"


# --- staging readers ----------------------------------------------------------------------


class json_records(FunctionElement[Any]):
    """DuckDB's JSON reader over files: one row per JSON value, column ``json``.

    ``format = 'auto'`` reads newline-delimited, concatenated and pretty-printed values
    alike, the framing Redshift's COPY accepts.
    """

    inherit_cache = False
    name = "json_records"

    def __init__(self, files: Sequence[str]) -> None:
        super().__init__()
        self.files = list(files)


@compiles(json_records, "duckdb")
def _json_records_duckdb(element: json_records, compiler: SQLCompiler, **kw: Any) -> str:
    files = ", ".join(_literal(compiler, f) for f in element.files)
    return f"read_json_objects([{files}], format = 'auto')"


class copy_from_stdin(Executable, ClauseElement):
    """PostgreSQL's client-side ``COPY table (columns) FROM STDIN``."""

    inherit_cache = False

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = list(columns)


@compiles(copy_from_stdin, "postgresql")
def _copy_from_stdin(element: copy_from_stdin, compiler: SQLCompiler, **kw: Any) -> str:
    preparer = compiler.preparer
    cols = ", ".join(preparer.quote(c) for c in element.columns)
    return f"COPY {preparer.format_table(element.table)} ({cols}) FROM STDIN"
