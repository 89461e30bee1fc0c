"""Engines and dialects as the warehouse needs them, for every entry point (loader,
Alembic online and offline, notebooks).

Redshift's INSERT, UPDATE and DELETE have no RETURNING, but sqlalchemy-redshift's dialect
inherits PostgreSQL's claim that they do; SQLAlchemy then asks for RETURNING wherever a
primary key is not a plain bound value (Alembic's ``alembic_version`` insert), and
Redshift refuses the statement. :func:`adapt_dialect` sets the claims right on the dialect
instance only: other engines in the process are untouched.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

_NO_RETURNING = ("insert_returning", "update_returning", "delete_returning",
                 "update_returning_multifrom", "delete_returning_multifrom",
                 "insert_executemany_returning",
                 "insert_executemany_returning_sort_by_parameter_order")


def adapt_dialect(dialect: sa.Dialect) -> sa.Dialect:
    """``dialect`` with what its database really supports (Redshift: no RETURNING)."""
    if dialect.name == "redshift":
        for flag in _NO_RETURNING:
            if hasattr(dialect, flag):
                setattr(dialect, flag, False)
    return dialect


def create_engine(url: URL | str, **kwargs: Any) -> sa.Engine:
    """``sqlalchemy.create_engine`` with :func:`adapt_dialect` applied."""
    engine = sa.create_engine(url, **kwargs)
    adapt_dialect(engine.dialect)
    return engine


def dialect_for(url: URL | str, **kwargs: Any) -> sa.Dialect:
    """The adapted dialect of ``url``, without connecting (offline SQL, ``--dry-run``)."""
    return create_engine(url, **kwargs).dialect
