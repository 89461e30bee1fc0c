"""The warehouse schema's version: Alembic glue shared by ``migrations/env.py``, the
loader (which refuses a warehouse not at head) and the tests."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from sparkify_dw import config, engines
from sparkify_dw.backends import registry
from sparkify_dw.errors import SchemaError
from sparkify_dw.secrets import parse_database_url


def migrations_dir() -> Path:
    """Where the migrations are: packaged as ``sparkify_dw.migrations`` in a wheel (setup.cfg
    maps the checkout's ``migrations/`` there, and an editable install maps it too), else the
    checkout's own ``migrations/``."""
    try:
        spec = importlib.util.find_spec("sparkify_dw.migrations")
    except ModuleNotFoundError:
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "env.py").is_file():
            return Path(location)
    return Path(__file__).resolve().parent.parent / "migrations"


@functools.lru_cache(maxsize=1)
def head() -> str:
    """The newest revision, read from the migrations themselves."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if found is None:
        raise SchemaError(f"no migrations found in {migrations_dir()}")
    return found


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # Tables Alembic didn't create (a user's own, DuckDB's sequences) are not ours to drop.
    if type_ == "table" and reflected and compare_to is None:
        return False
    # A key the models declare for one dialect's DDL only (``ddl_if``: songplays' references,
    # created where they are informational) is not missing where that DDL leaves it out.
    return not (
        type_ == "foreign_key_constraint"
        and not reflected
        and compare_to is None
        and getattr(obj, "_ddl_if", None) is not None
    )


COMPARE_OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "include_object": _include_object,
}


def url_for_alembic(x_url: str | None) -> URL:
    """``-x url=…`` when given, else the configuration resolver's URL."""
    if x_url:
        return config.parse_url(x_url, "-x url")
    return config.resolve().url


def alembic_url(url: URL | str) -> URL:
    """``url`` as Alembic uses it offline: as its engine's package names it (the dialect
    it registers), so offline SQL is the SQL an engine would send."""
    parsed = make_url(url)
    return registry.prepare(parsed).engine_url(parsed)


def create_engine(url: URL | str, **kwargs: Any) -> sa.Engine:
    """An engine for Alembic and the schema's checks, no pool."""
    return engines.create_engine(url, poolclass=sa.pool.NullPool, **kwargs)


def alembic_config() -> Config:
    """An Alembic configuration for this package's migrations; no ``alembic.ini`` needed, so
    an installed wheel manages its schema from anywhere. Logging is the caller's."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("path_separator", "os")
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
        cfg.attributes["url"] = parse_database_url(bind) if isinstance(bind, str) else bind
    return cfg


def current_revision(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def check_connection(conn: sa.Connection) -> None:
    """Refuse, before anything is written, a database its engine can't keep the warehouse
    in (PostgreSQL: not in UTF-8), on a connection from any engine."""
    info = registry.for_dialect(conn.dialect.name)
    if info is not None:
        info.check_connection(conn)


def require_head(conn: sa.Connection) -> None:
    current = current_revision(conn)
    if current != head():
        state = "has no sparkify_dw schema" if current is None else f"is at revision {current}"
        raise SchemaError(
            f"the warehouse {state}, this library needs {head()}: run `sparkify-dw upgrade`"
        )
