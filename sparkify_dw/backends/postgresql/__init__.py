"""PostgreSQL, a real server: records streamed by a client-side COPY, parsed by the server.

This module is the engine's entry point (``sparkify_dw.backends`` group): it names the
backend without importing psycopg, and refuses a database not in UTF-8 on every engine
and connection the library uses (:mod:`.encoding`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from sparkify_dw.backends.postgresql import encoding
from sparkify_dw.backends.postgresql.options import PostgreSQLOptions
from sparkify_dw.backends.registry import EngineInfo


@dataclass(frozen=True)
class PostgreSQLInfo(EngineInfo):
    def configure_engine(self, engine: sa.Engine) -> None:
        encoding.listen(engine)

    def check_connection(self, conn: sa.Connection) -> None:
        encoding.require_utf8(conn)


INFO = PostgreSQLInfo(
    scheme="postgresql",
    title="PostgreSQL",
    staging="COPY … FROM STDIN, typed by PostgreSQL's JSON functions",
    backend="sparkify_dw.backends.postgresql.backend:PostgreSQLBackend",
    drivers=("psycopg",),
    example_url="postgresql+psycopg://user@host:5432/dbname",
    extra="postgres",
    modules=("psycopg",),
    options=PostgreSQLOptions,
    setup=("sparkify_dw.backends.postgresql.compiler",),
)
