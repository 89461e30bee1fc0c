"""DuckDB, the embedded default: a file, no server, the engine reads the JSON itself.

This module is the engine's entry point (``sparkify_dw.backends`` group): it names the
backend without importing DuckDB's driver, and states DuckDB's URL rules.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import URL

from sparkify_dw.backends.duckdb.options import DuckDBOptions
from sparkify_dw.backends.registry import EngineInfo
from sparkify_dw.errors import ConfigError

DEFAULT_FILE = "sparkify.duckdb"  # the embedded default's file, in the working directory


# The dialect that reflects from DuckDB's own catalog (:mod:`.dialect`): the library's
# engines use it, so Alembic, ``sa.inspect`` and ``pd.read_sql_table`` work on them.
REFLECTING_DRIVER = "duckdb+sparkify"


@dataclass(frozen=True)
class DuckDBInfo(EngineInfo):
    def engine_url(self, url: URL) -> URL:
        if url.drivername in ("duckdb", "duckdb+duckdb_engine"):
            return url.set(drivername=REFLECTING_DRIVER)
        return url

    def migrating(self, conn: sa.Connection) -> AbstractContextManager[sa.Connection]:
        """A connection from another engine (``schema.upgrade(conn)``) reflects through
        the reflecting dialect while Alembic runs."""
        from sparkify_dw.backends.duckdb.migrations import reflecting

        return reflecting(conn)

    def check_url(self, url: URL, origin: str) -> None:
        """A DuckDB URL names the warehouse's file, and nothing a server would need."""
        if url.database in (None, "", ":memory:"):
            raise ConfigError(
                f"{origin}: a DuckDB URL must name the warehouse's file (e.g. "
                f"{self.example_url}); an in-memory database would vanish with the command"
            )
        if url.username or url.password or url.host or url.port:
            raise ConfigError(
                f"{origin}: a DuckDB URL names a file, with no user, password, host or port "
                f"(e.g. {self.example_url})"
            )


INFO = DuckDBInfo(
    scheme="duckdb",
    title="DuckDB",
    staging="DuckDB's JSON reader, INSERT … SELECT",
    backend="sparkify_dw.backends.duckdb.backend:DuckDBBackend",
    # duckdb+sparkify: the reflecting dialect (sparkify_dw.backends.duckdb.dialect)
    drivers=("duckdb_engine", "sparkify"),
    example_url="duckdb:///path/to/warehouse.duckdb",
    default_file=DEFAULT_FILE,
    options=DuckDBOptions,  # bounds DuckDB's buffer pool and its threads
    setup=(
        "sparkify_dw.backends.duckdb.dialect",
        "sparkify_dw.backends.duckdb.migrations",
        "sparkify_dw.backends.duckdb.compiler",
    ),
)
