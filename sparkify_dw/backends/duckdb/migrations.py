"""Alembic on DuckDB: its implementation (registered by being imported, ``__dialect__``),
a column comment as DuckDB takes it, and reflection through the reflecting dialect for a
connection handed to Alembic from another engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic.ddl.base import ColumnComment
from alembic.ddl.postgresql import PostgresqlImpl, visit_column_comment
from duckdb_engine import Dialect as _EngineDialect
from sqlalchemy.ext.compiler import compiles

from sparkify_dw.backends.duckdb.dialect import DuckDBDialect


class DuckDBImpl(PostgresqlImpl):
    """DuckDB speaks PostgreSQL's DDL; Alembic has no DuckDB implementation of its own."""

    __dialect__ = "duckdb"


@contextmanager
def reflecting(conn: sa.Connection) -> Iterator[sa.Connection]:
    """``conn`` reflecting through :class:`DuckDBDialect` while the block runs, then as it was.

    Why: Alembic reflects (and writes comments) through the connection it is given, which
    may come from the caller's own ``duckdb://`` engine. Its dialect object is switched to
    the subclass (same state, more methods) and back, so the caller's engine is changed
    for the migration's duration only. Connections of any other dialect are left alone.
    """
    dialect = conn.dialect
    if type(dialect) is not _EngineDialect:
        yield conn
        return
    dialect.__class__ = DuckDBDialect
    try:
        yield conn
    finally:
        dialect.__class__ = _EngineDialect


@compiles(ColumnComment, "duckdb")
def _column_comment(element: ColumnComment, compiler: Any, **kw: Any) -> str:
    """Alembic writes a column's comment (``op.alter_column(..., comment=...)``) with its own
    construct, which it compiles for PostgreSQL only. DuckDB takes the same statement,
    ``COMMENT ON COLUMN t.c IS '...'``, and reflects it back from duckdb_columns().comment.
    Only for :class:`DuckDBDialect`: duckdb_engine's own dialect refuses it as before."""
    if not isinstance(compiler.dialect, DuckDBDialect):
        raise sa.exc.UnsupportedCompilationError(compiler, type(element))
    return visit_column_comment(element, compiler, **kw)  # type: ignore[no-any-return]
