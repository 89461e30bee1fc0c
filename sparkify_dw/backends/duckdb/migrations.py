"""Alembic's implementation for DuckDB, registered by being imported (``__dialect__``)."""

from __future__ import annotations

from alembic.ddl.postgresql import PostgresqlImpl


class DuckDBImpl(PostgresqlImpl):
    """DuckDB speaks PostgreSQL's DDL; Alembic has no DuckDB implementation of its own."""

    __dialect__ = "duckdb"
