"""A PostgreSQL database not in UTF-8 is refused, whole, before anything is written.

The sources are UTF-8 in many scripts. A LATIN1 database would store them converted
through the wrong encoding (``Zoë`` as ``ZoÃ«``) and report success; in SQL_ASCII the
driver can't even read the server's version. Rejecting record by record what such a
database can't hold would drop real records, so the database is refused whole: as each
connection of the library's engines opens (:func:`refuse_unless_utf8`), and on any
connection handed to Alembic or the loader (:func:`require_utf8`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from sparkify_dw.errors import SchemaError


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


def listen(engine: sa.Engine) -> None:
    """Refuse a database not in UTF-8 as each of ``engine``'s connections opens, before
    SQLAlchemy's own first queries (first_connect), which SQL_ASCII breaks."""
    database = engine.url.database

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

    sa.event.listen(engine, "first_connect", refuse_unless_utf8, insert=True)
    sa.event.listen(engine, "connect", refuse_unless_utf8)


def require_utf8(conn: sa.Connection) -> None:
    """Refuse the database behind ``conn`` unless it is in UTF-8, on a connection from any
    engine (one handed to Alembic, say); leaves the connection as it came."""
    began = not conn.in_transaction()
    found = conn.execute(sa.select(sa.func.current_setting("server_encoding"))).scalar()
    if began:  # Alembic begins its own transaction
        conn.rollback()
    encoding = server_encoding(found)
    if encoding != "UTF8":
        raise not_utf8(conn.engine.url.database, encoding)
