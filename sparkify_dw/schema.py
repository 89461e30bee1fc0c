"""The warehouse schema's version: Alembic glue shared by ``migrations/env.py``, the
loader (which refuses a warehouse not at head) and the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.ddl.postgresql import PostgresqlImpl
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL, make_url

import sparkify_dw.duckdb_reflection  # noqa: F401  (duckdb:// URLs reflect from DuckDB's catalog)
from sparkify_dw import config, engines

HEAD = "0003"  # the newest revision in migrations/versions; a test keeps them in step
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class DuckDBImpl(PostgresqlImpl):
    """DuckDB speaks PostgreSQL's DDL; Alembic has no DuckDB implementation of its own."""

    __dialect__ = "duckdb"


class SchemaError(RuntimeError):
    """The warehouse's schema is not the one this library writes."""


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                    compare_to: Any) -> bool:
    # Tables Alembic didn't create (a user's own, DuckDB's sequences) are not ours to drop.
    return not (type_ == "table" and reflected and compare_to is None)


COMPARE_OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "include_object": _include_object,
}


def url_for_alembic(x_url: str | None) -> URL:
    """``-x url=…`` when given, else the configuration resolver's URL."""
    if x_url:
        try:
            return make_url(x_url)
        except sa.exc.ArgumentError:
            raise config.ConfigError("-x url: not a database URL") from None
    return config.resolve().url


def create_engine(url: URL | str, **kwargs: Any) -> sa.Engine:
    return engines.create_engine(url, poolclass=sa.pool.NullPool, **kwargs)


def alembic_config() -> Config:
    """An Alembic configuration for this package's migrations."""
    cfg = Config(str(MIGRATIONS.parent / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(bind: URL | str | sa.Connection, revision: str = "head") -> None:
    """``alembic upgrade`` from Python (notebooks, tests), on a URL or an open connection."""
    from alembic import command

    command.upgrade(_bound(bind), revision)


def downgrade(bind: URL | str | sa.Connection, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(_bound(bind), revision)


def _bound(bind: URL | str | sa.Connection) -> Config:
    """A configuration whose ``env.py`` uses ``bind``: Alembic's documented way of sharing
    a connection (``config.attributes["connection"]``), or a URL the same way."""
    cfg = alembic_config()
    if isinstance(bind, sa.Connection):
        cfg.attributes["connection"] = bind
    else:
        cfg.attributes["url"] = make_url(bind) if isinstance(bind, str) else bind
    return cfg


def current_revision(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def require_head(conn: sa.Connection) -> None:
    current = current_revision(conn)
    if current != HEAD:
        state = "has no sparkify_dw schema" if current is None else f"is at revision {current}"
        raise SchemaError(f"the warehouse {state}, this library needs {HEAD}: "
                          "run `alembic upgrade head`")
