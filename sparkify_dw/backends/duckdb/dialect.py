"""Reflection for DuckDB from DuckDB's own catalog, so Alembic autogenerate can compare.

duckdb_engine inherits PostgreSQL's reflection, whose pg_catalog queries (pg_collation,
REGCLASS casts, pg_inherits) DuckDB 2.0 doesn't answer with SQLAlchemy 2.1. This module reads
``duckdb_tables()``, ``duckdb_columns()``, ``duckdb_constraints()``, ``duckdb_indexes()``
and ``duckdb_sequences()`` instead, one table at a time (SQLAlchemy's default
``get_multi_*`` loop), and leaves execution, DDL and types to duckdb_engine.

A subclass of ``duckdb_engine.Dialect``, registered under a name of its own,
``duckdb+sparkify``: every engine the library creates for a DuckDB URL uses it
(:meth:`DuckDBInfo.engine_url <sparkify_dw.backends.duckdb.DuckDBInfo.engine_url>`), so
Alembic, ``sa.inspect`` and ``pd.read_sql_table`` work on them; a ``duckdb://`` engine a
user makes keeps duckdb_engine's own, and a connection of such an engine handed to Alembic
gets the subclass for the migration's duration only (:func:`reflecting`). Subclassing
rather than patching duckdb_engine's class keeps duckdb_engine's own fixes inherited, and
an upgrade that renames a patched method cannot silently leave half a patch in place.

DuckDB keeps no constraint names (``CONSTRAINT pk_x PRIMARY KEY`` becomes
``x_id_pkey``), so primary keys, unique constraints and foreign keys are reflected under
the names :data:`sparkify_dw.models.NAMING` gives them: the names the migrations asked
for, which autogenerate then matches instead of reporting a drop and an add.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, cast

import sqlalchemy as sa
from duckdb_engine import Dialect as _EngineDialect
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import registry
from sqlalchemy.engine import reflection
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.engine.interfaces import (
    ReflectedCheckConstraint,
    ReflectedColumn,
    ReflectedForeignKeyConstraint,
    ReflectedIdentity,
    ReflectedIndex,
    ReflectedPrimaryKeyConstraint,
    ReflectedTableComment,
    ReflectedUniqueConstraint,
)

from sparkify_dw.constructs import identity_sequence_name
from sparkify_dw.models import NAMING

__all__ = ["DRIVERNAME", "DuckDBDialect"]

DRIVERNAME = "duckdb+sparkify"  # a DuckDB URL with this scheme uses DuckDBDialect

# DuckDB's type names (duckdb_columns().data_type) that need no arguments.
_SIMPLE_TYPES: dict[str, Callable[[], sqltypes.TypeEngine[Any]]] = {
    "BOOLEAN": sqltypes.BOOLEAN,
    "SMALLINT": sqltypes.SMALLINT,
    "INTEGER": sqltypes.INTEGER,
    "BIGINT": sqltypes.BIGINT,
    "FLOAT": sqltypes.REAL,  # DuckDB's FLOAT is 4 bytes
    "DOUBLE": sqltypes.DOUBLE,
    "DATE": sqltypes.DATE,
    "TIME": sqltypes.TIME,
    "TIME WITH TIME ZONE": partial(sqltypes.TIME, timezone=True),
    "TIMESTAMP": sqltypes.TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": partial(sqltypes.TIMESTAMP, timezone=True),
    "VARCHAR": sqltypes.VARCHAR,  # DuckDB keeps no length: VARCHAR(18) reads back as VARCHAR
    "BLOB": sqltypes.BLOB,
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_ARRAY = re.compile(r"(.+)\[(\d*)\]")
_ENUM = re.compile(r"ENUM\((.*)\)", re.S)
_ENUM_LABEL = re.compile(r"'((?:[^']|'')*)'")
_NEXTVAL = re.compile(r"""nextval\('"?(.+?)"?'\)""")


def _split_index_expressions(text: str) -> list[str]:
    """duckdb_indexes().expressions, e.g. ``[b, '(lower(c))', '"x,y"']``, as a list.

    Items are comma-separated at the top level; DuckDB wraps those with special
    characters in single quotes and escapes quotes inside them with a backslash.
    """
    body = text.strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    items: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    chars = iter(body)
    for ch in chars:
        if quote == "'":
            if ch == "\\":
                current.append(next(chars, ""))
            elif ch == "'":
                quote = None
            else:
                current.append(ch)
            continue
        if quote == '"':
            current.append(ch)
            if ch == '"':
                quote = None
            continue
        if ch == "'":
            quote = "'"
        elif ch == '"':
            quote = '"'
            current.append(ch)
        elif ch in "([":
            depth += 1
            current.append(ch)
        elif ch in ")]":
            depth -= 1
            current.append(ch)
        elif ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if current or items:
        items.append("".join(current).strip())
    return items


def _as_identifier(item: str) -> str | None:
    """The name an index item refers to, if it is a plain (possibly quoted) identifier."""
    if len(item) >= 2 and item[0] == item[-1] == '"':
        return item[1:-1].replace('""', '"')
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", item):
        return item
    return None


class DuckDBDialect(_EngineDialect):
    """duckdb_engine's dialect with reflection read from DuckDB's catalog functions."""

    supports_statement_cache = False  # as duckdb_engine; SQLAlchemy wants it on each class

    #: Names for reflected constraints, which DuckDB does not keep.
    naming_convention: Mapping[str, str] = NAMING

    # Per-table reflection below; SQLAlchemy's default get_multi_* loop over it.
    get_multi_columns = DefaultDialect.get_multi_columns  # type: ignore[assignment]
    get_multi_pk_constraint = DefaultDialect.get_multi_pk_constraint  # type: ignore[assignment]
    get_multi_foreign_keys = DefaultDialect.get_multi_foreign_keys  # type: ignore[assignment]
    get_multi_indexes = DefaultDialect.get_multi_indexes  # type: ignore[assignment]
    get_multi_unique_constraints = DefaultDialect.get_multi_unique_constraints  # type: ignore[assignment]
    get_multi_check_constraints = DefaultDialect.get_multi_check_constraints  # type: ignore[assignment]
    get_multi_table_comment = DefaultDialect.get_multi_table_comment  # type: ignore[assignment]
    get_multi_table_options = DefaultDialect.get_multi_table_options  # type: ignore[assignment]

    # --- which relation -----------------------------------------------------------------

    def _scope(self, schema: str | None) -> tuple[str, dict[str, str]]:
        """SQL condition on database_name/schema_name for ``schema`` (None: the default)."""
        if schema is None:
            return "database_name = current_database() AND schema_name = current_schema()", {}
        database, schema_name = self.identifier_preparer._separate(schema)
        params = {"schema_name": str(schema_name)}
        condition = "schema_name = :schema_name"
        if database is not None:
            condition += " AND database_name = :database_name"
            params["database_name"] = database
        return condition, params

    @reflection.cache
    def get_table_names(
        self, connection: sa.Connection, schema: str | None = None, **kw: Any
    ) -> list[str]:
        """With ``schema`` None, the default schema's tables only: duckdb_engine also lists
        other attached databases' and temporary ones, which schema=None doesn't mean."""
        if schema is not None:
            return super().get_table_names(connection, schema, **kw)  # type: ignore[no-any-return]
        scope, params = self._scope(None)
        rows = connection.execute(
            sa.text(
                "SELECT table_name FROM duckdb_tables() "
                f"WHERE {scope} AND NOT temporary AND NOT internal ORDER BY table_name"
            ),
            params,
        )
        return [name for (name,) in rows]

    @reflection.cache
    def get_temp_table_names(
        self, connection: sa.Connection, schema: str | None = None, **kw: Any
    ) -> list[str]:
        rows = connection.execute(
            sa.text("SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY table_name")
        )
        return [name for (name,) in rows]

    @reflection.cache
    def _relation(
        self, connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> tuple[int, str, str]:
        """(oid, database, schema) of a table or view, resolved as DuckDB resolves names:
        temporary objects shadow the default schema's."""
        scope, params = self._scope(schema)
        if schema is None:
            scope = f"(temporary OR ({scope}))"
        row = connection.execute(
            sa.text(f"""
            SELECT oid, database_name, schema_name FROM (
                SELECT table_oid AS oid, database_name, schema_name, temporary
                FROM duckdb_tables() WHERE table_name = :name
                UNION ALL
                SELECT view_oid, database_name, schema_name, temporary
                FROM duckdb_views() WHERE view_name = :name AND NOT internal
            )
            WHERE {scope}
            ORDER BY temporary DESC, database_name = current_database() DESC
            LIMIT 1"""),
            {"name": table_name, **params},
        ).first()
        if row is None:
            raise sa.exc.NoSuchTableError(f"{schema}.{table_name}" if schema else table_name)
        return int(row[0]), str(row[1]), str(row[2])

    def _constraints(
        self,
        connection: sa.Connection,
        table_name: str,
        schema: str | None,
        kind: str,
        **kw: Any,
    ) -> list[tuple[Any, ...]]:
        """(name, columns, referred table, referred columns, expression) per constraint."""
        oid = self._relation(connection, table_name, schema=schema, **kw)[0]
        return [
            tuple(row)
            for row in connection.execute(
                sa.text("""
            SELECT constraint_name, constraint_column_names, referenced_table,
                   referenced_column_names, expression
            FROM duckdb_constraints()
            WHERE table_oid = :oid AND constraint_type = :kind
            ORDER BY constraint_index"""),
                {"oid": oid, "kind": kind},
            )
        ]

    def _conventional_name(
        self,
        kind: str,
        table_name: str,
        schema: str | None,
        columns: Sequence[str],
        referred_table: str | None = None,
        referred_columns: Sequence[str] = (),
    ) -> str | None:
        """The name :attr:`naming_convention` gives this constraint, or None if it has none
        (e.g. a convention that needs the constraint's own name)."""
        try:
            metadata = sa.MetaData(naming_convention=dict(self.naming_convention))
            table = sa.Table(table_name, metadata, *(sa.Column(c) for c in columns), schema=schema)
            const: sa.Constraint
            if kind == "pk":
                const = sa.PrimaryKeyConstraint(*columns)
            elif kind == "uq":
                const = sa.UniqueConstraint(*columns)
            else:
                assert referred_table is not None
                if referred_table == table_name:
                    referred = table
                    for c in referred_columns:
                        if c not in referred.c:
                            referred.append_column(sa.Column(c))
                else:
                    referred = sa.Table(
                        referred_table,
                        metadata,
                        *(sa.Column(c) for c in referred_columns),
                        schema=schema,
                    )
                const = sa.ForeignKeyConstraint(
                    list(columns), [referred.c[c] for c in referred_columns]
                )
            table.append_constraint(const)
            if const.name is None:
                return None
            return self.identifier_preparer.format_constraint(const, _alembic_quote=False)
        except (KeyError, sa.exc.SQLAlchemyError):
            return None

    # --- columns -------------------------------------------------------------------------

    def _column_type(self, data_type: str, column: str) -> sqltypes.TypeEngine[Any]:
        """A DuckDB type name as an SQLAlchemy type, the way compare_type expects it."""
        name = data_type.strip()
        if name in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[name]()
        if m := _DECIMAL.fullmatch(name):
            return sqltypes.NUMERIC(int(m[1]), int(m[2]))
        if m := _ARRAY.fullmatch(name):
            item = self._column_type(m[1], column)
            return sqltypes.ARRAY(item) if m[2] == "" else sqltypes.ARRAY(item, dimensions=1)
        if m := _ENUM.fullmatch(name):
            labels = [label.replace("''", "'") for label in _ENUM_LABEL.findall(m[1])]
            return sqltypes.Enum(*labels)
        known = self.ischema_names.get(name.lower())
        if known is not None:
            return sqltypes.to_instance(known)
        warnings.warn(
            f"Did not recognize type {name!r} of column {column!r}", sa.exc.SAWarning, stacklevel=2
        )
        return sqltypes.NULLTYPE

    def _identity(
        self,
        connection: sa.Connection,
        database: str,
        schema: str,
        table_name: str,
        column: str,
        default: str | None,
    ) -> ReflectedIdentity | None:
        """The inverse of constructs' DuckDB IDENTITY emulation: ``DEFAULT
        nextval('<table>_<column>_seq')`` on that sequence reads back as an Identity."""
        m = _NEXTVAL.fullmatch(default or "")
        if m is None:
            return None
        expected = identity_sequence_name(
            sa.Table(table_name, sa.MetaData(), sa.Column(column)).c[column]
        )
        if m[1] != expected:
            return None
        seq = connection.execute(
            sa.text("""
            SELECT start_value, increment_by, min_value, max_value, "cycle"
            FROM duckdb_sequences()
            WHERE database_name = :db AND schema_name = :schema AND sequence_name = :seq"""),
            {"db": database, "schema": schema, "seq": expected},
        ).first()
        if seq is None:
            return None
        # Only what an Identity() for DuckDB can mean (Oracle's on_null/order are deprecated).
        return cast(
            ReflectedIdentity,
            {
                "always": False,
                "start": seq[0],
                "increment": seq[1],
                "minvalue": seq[2],
                "maxvalue": seq[3],
                "cycle": bool(seq[4]),
            },
        )

    @reflection.cache
    def get_columns(
        self, connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedColumn]:
        oid, database, schema_name = self._relation(connection, table_name, schema=schema, **kw)
        rows = connection.execute(
            sa.text("""
            SELECT column_name, data_type, is_nullable, column_default, comment
            FROM duckdb_columns() WHERE table_oid = :oid ORDER BY column_index"""),
            {"oid": oid},
        ).all()
        columns: list[ReflectedColumn] = []
        for name, data_type, nullable, default, comment in rows:
            col = ReflectedColumn(
                name=name,
                type=self._column_type(data_type, name),
                nullable=bool(nullable),
                default=default,
                comment=comment,
                autoincrement=bool(default and default.startswith("nextval(")),
            )
            identity = self._identity(connection, database, schema_name, table_name, name, default)
            if identity is not None:
                col["identity"] = identity
                col["default"] = None
            columns.append(col)
        return columns

    # --- constraints, indexes, comment ----------------------------------------------------

    @reflection.cache
    def get_pk_constraint(
        self, connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> ReflectedPrimaryKeyConstraint:
        for name, cols, *_ in self._constraints(
            connection, table_name, schema, "PRIMARY KEY", **kw
        ):
            return ReflectedPrimaryKeyConstraint(
                name=self._conventional_name("pk", table_name, schema, cols) or name,
                constrained_columns=list(cols),
            )
        return ReflectedPrimaryKeyConstraint(name=None, constrained_columns=[])

    @reflection.cache
    def get_foreign_keys(
        self, connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedForeignKeyConstraint]:
        # DuckDB refuses foreign keys across schemas: the referred table is in ``schema``.
        return [
            ReflectedForeignKeyConstraint(
                name=self._conventional_name("fk", table_name, schema, cols, ref, ref_cols) or name,
                constrained_columns=list(cols),
                referred_schema=schema,
                referred_table=ref,
                referred_columns=list(ref_cols),
            )
            for name, cols, ref, ref_cols, _ in self._constraints(
                connection, table_name, schema, "FOREIGN KEY", **kw
            )
        ]

    @reflection.cache
    def get_unique_constraints(
        self, connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedUniqueConstraint]:
        return [
            ReflectedUniqueConstraint(
                name=self._conventional_name("uq", table_name, schema, cols) or name,
                column_names=list(cols),
            )
            for name, cols, *_ in self._constraints(connection, table_name, schema, "UNIQUE", **kw)
        ]

    @reflection.cache
    def get_check_constraints(
        self, connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedCheckConstraint]:
        # Check names are DuckDB's own: conventions for them need the original name.
        return [
            ReflectedCheckConstraint(name=name, sqltext=expression)
            for name, _, _, _, expression in self._constraints(
                connection, table_name, schema, "CHECK", **kw
            )
        ]

    @reflection.cache
    def get_indexes(
        self, connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedIndex]:
        """Indexes from CREATE INDEX (DuckDB lists no index behind PK/UNIQUE constraints)."""
        columns = {
            c["name"].lower(): c["name"]
            for c in self.get_columns(connection, table_name, schema=schema, **kw)
        }
        oid = self._relation(connection, table_name, schema=schema, **kw)[0]
        rows = connection.execute(
            sa.text("""
            SELECT index_name, is_unique, expressions FROM duckdb_indexes()
            WHERE table_oid = :oid ORDER BY index_name"""),
            {"oid": oid},
        )
        return list(self._index_dicts([tuple(r) for r in rows], columns))

    @staticmethod
    def _index_dicts(
        rows: Sequence[tuple[Any, ...]], columns: Mapping[str, str]
    ) -> Iterator[ReflectedIndex]:
        for name, unique, expressions in rows:
            items = _split_index_expressions(expressions or "")
            names: list[str | None] = []
            for item in items:
                ident = _as_identifier(item)
                names.append(columns.get(ident.lower()) if ident is not None else None)
            index = ReflectedIndex(name=name, unique=bool(unique), column_names=names)
            if None in names:
                index["expressions"] = [
                    n if n is not None else item for n, item in zip(names, items, strict=True)
                ]
            yield index

    @reflection.cache
    def get_table_comment(
        self, connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> ReflectedTableComment:
        oid = self._relation(connection, table_name, schema=schema, **kw)[0]
        text = connection.execute(
            sa.text("""
            SELECT comment FROM duckdb_tables() WHERE table_oid = :oid
            UNION ALL
            SELECT comment FROM duckdb_views() WHERE view_oid = :oid"""),
            {"oid": oid},
        ).scalar()
        return ReflectedTableComment(text=text)

    @reflection.cache
    def get_table_options(
        self, connection: sa.Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        """DuckDB has none of PostgreSQL's (INHERITS, WITH, TABLESPACE); just check it exists."""
        self._relation(connection, table_name, schema=schema, **kw)
        return {}


# A name of its own: ``duckdb://`` stays duckdb_engine's.
registry.register(DRIVERNAME.replace("+", "."), __name__, "DuckDBDialect")
