"""Engines and dialects as the warehouse needs them, for every entry point (loader,
Alembic online and offline, notebooks).

sqlalchemy-redshift's dialect inherits two things from PostgreSQL's that Redshift can't
take, and :func:`adapt_dialect` sets them right on the dialect instance only (other
engines in the process are untouched):

* RETURNING: Redshift's INSERT, UPDATE and DELETE have none, but SQLAlchemy asks for it
  wherever a primary key is not a plain bound value (Alembic's ``alembic_version``
  insert), and Redshift refuses the statement.
* ``has_multi_table`` (``CREATE TABLE`` with ``checkfirst``, as Alembic creates its version
  table): PostgreSQL's version queries ``relkind = ANY (ARRAY[…])``, and arrays are on
  AWS's list of unsupported features; the dialect's own ``has_table`` asks Redshift's way.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.engine.default import DefaultDialect

_NO_RETURNING = (
    "insert_returning",
    "update_returning",
    "delete_returning",
    "update_returning_multifrom",
    "delete_returning_multifrom",
    "insert_executemany_returning",
    "insert_executemany_returning_sort_by_parameter_order",
)


def adapt_dialect(dialect: sa.Dialect) -> sa.Dialect:
    """``dialect`` with what its database really supports (Redshift: no RETURNING)."""
    if dialect.name == "redshift":
        for flag in _NO_RETURNING:
            if hasattr(dialect, flag):
                setattr(dialect, flag, False)
        one_by_one = DefaultDialect.has_multi_table.__get__(dialect)
        dialect.has_multi_table = one_by_one  # type: ignore[method-assign]
    return dialect


def create_engine(url: URL | str, **kwargs: Any) -> sa.Engine:
    """``sqlalchemy.create_engine`` with :func:`adapt_dialect` applied."""
    engine = sa.create_engine(url, **kwargs)
    adapt_dialect(engine.dialect)
    return engine


def dialect_for(url: URL | str, **kwargs: Any) -> sa.Dialect:
    """The adapted dialect of ``url``, without connecting (offline SQL, ``--dry-run``)."""
    return create_engine(url, **kwargs).dialect
