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

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.engine.default import DefaultDialect

from sparkify_dw import extras
from sparkify_dw.errors import SchemaError

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
    """``sqlalchemy.create_engine`` with :func:`adapt_dialect` applied; on PostgreSQL, a
    database not in UTF-8 is refused as each connection opens (:func:`refuse_unless_utf8`);
    a backend whose pip extra is missing, in one line (:mod:`sparkify_dw.extras`)."""
    extras.require_backend(sa.make_url(url).get_backend_name())
    engine = sa.create_engine(url, **kwargs)
    adapt_dialect(engine.dialect)
    if engine.dialect.name == "postgresql":
        check = _check_encoding(engine.url.database)
        # Before SQLAlchemy's own first queries (first_connect), which SQL_ASCII breaks.
        sa.event.listen(engine, "first_connect", check, insert=True)
        sa.event.listen(engine, "connect", check)
    return engine


def not_utf8(database: str | None, encoding: str) -> SchemaError:
    """The one line that refuses a database whose encoding is not UTF-8."""
    return SchemaError(
        f"database {database} has encoding {encoding}, and the warehouse stores UTF-8 text: "
        "create it with ENCODING 'UTF8' (e.g. CREATE DATABASE … ENCODING 'UTF8' "
        "TEMPLATE template0)"
    )


def server_encoding(found: object) -> str:
    # In a SQL_ASCII database the driver hands text over as bytes.
    return found.decode("ascii", "replace") if isinstance(found, bytes) else str(found)


def _check_encoding(database: str | None) -> Callable[[Any, Any], None]:
    """A pool ``connect`` hook that refuses a PostgreSQL database not in UTF-8.

    The sources are UTF-8 in many scripts. A LATIN1 database would store them converted
    through the wrong encoding (``Zoë`` as ``ZoÃ«``) and report success; in SQL_ASCII the
    driver can't even read the server's version. Rejecting record by record what such a
    database can't hold would drop real records, so the database is refused whole."""

    def refuse_unless_utf8(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT current_setting('server_encoding')")
            encoding = server_encoding(cursor.fetchone()[0])
        finally:
            cursor.close()
            dbapi_connection.rollback()
        if encoding != "UTF8":
            raise not_utf8(database, encoding)

    return refuse_unless_utf8


def dialect_for(url: URL | str, **kwargs: Any) -> sa.Dialect:
    """The adapted dialect of ``url``, without connecting (offline SQL, ``--dry-run``)."""
    return create_engine(url, **kwargs).dialect
