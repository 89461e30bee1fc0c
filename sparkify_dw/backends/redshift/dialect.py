"""sqlalchemy-redshift's dialect with what Redshift really supports.

It inherits two things from PostgreSQL's dialect that Redshift can't take:

* RETURNING: Redshift's INSERT, UPDATE and DELETE have none, but SQLAlchemy asks for it
  wherever a primary key is not a plain bound value (Alembic's ``alembic_version``
  insert), and Redshift refuses the statement.
* ``has_multi_table`` (``CREATE TABLE`` with ``checkfirst``, as Alembic creates its version
  table): PostgreSQL's version queries ``relkind = ANY (ARRAY[…])``, and arrays are on
  AWS's list of unsupported features; the dialect's own ``has_table`` asks Redshift's way.

A subclass, registered with SQLAlchemy as ``redshift+sparkify`` (setup.cfg's
``sqlalchemy.dialects`` entry point; here too, for a checkout run without installing), which
the engine's info gives every Redshift URL the library creates an engine for. A
``redshift+redshift_connector`` engine a user makes keeps sqlalchemy-redshift's dialect:
nothing is patched.
"""

from __future__ import annotations

from sqlalchemy.dialects import registry
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy_redshift.dialect import RedshiftDialect_redshift_connector


class RedshiftDialect(RedshiftDialect_redshift_connector):  # type: ignore[misc]
    insert_returning = False
    update_returning = False
    delete_returning = False
    update_returning_multifrom = False
    delete_returning_multifrom = False
    insert_executemany_returning = False
    insert_executemany_returning_sort_by_parameter_order = False

    has_multi_table = DefaultDialect.has_multi_table  # one has_table at a time
    supports_statement_cache = False  # as sqlalchemy-redshift's own dialect says


registry.register("redshift.sparkify", __name__, "RedshiftDialect")
