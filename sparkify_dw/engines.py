"""Engines and dialects as the warehouse needs them, for every entry point (loader,
Alembic online and offline, notebooks).

The engine a URL names (:mod:`sparkify_dw.backends.registry`) is prepared first: its pip
extra is checked (one line naming it when missing), its dialect subclass, Alembic
implementation and ``@compiles`` visitors are registered, and it may adjust the URL (DuckDB:
the dialect that reflects from DuckDB's own catalog) and the engine (PostgreSQL: a database
not in UTF-8 is refused as each connection opens). Nothing here names an engine.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from sparkify_dw.backends import registry


def create_engine(url: URL | str, **kwargs: Any) -> sa.Engine:
    """``sqlalchemy.create_engine`` for ``url``'s engine, prepared by its package."""
    parsed = sa.make_url(url)
    info = registry.prepare(parsed)
    engine = sa.create_engine(info.engine_url(parsed), **kwargs)
    info.configure_engine(engine)
    return engine


def dialect_for(url: URL | str, **kwargs: Any) -> sa.Dialect:
    """The dialect of ``url``'s engine, without connecting (offline SQL, ``--dry-run``)."""
    return create_engine(url, **kwargs).dialect
