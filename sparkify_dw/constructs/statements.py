"""Statements of their own: LOCK, ANALYZE/VACUUM, SET, and any statement sent as literal
text with no bind parameters (Redshift's COPY)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import Table
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler


class LockTables(Executable, ClauseElement):
    """``LOCK t1, t2``: on Redshift, the load's lock, held until the transaction ends."""

    inherit_cache = False

    def __init__(self, *tables: Table) -> None:
        self.tables = tables


@compiles(LockTables)
def _lock_tables(element: LockTables, compiler: SQLCompiler, **kw: Any) -> str:
    return "LOCK " + ", ".join(compiler.preparer.format_table(t) for t in element.tables)


class TableMaintenance(Executable, ClauseElement):
    """``ANALYZE t`` / ``VACUUM t``: run outside a transaction block after a load."""

    inherit_cache = False

    def __init__(self, verb: str, table: Table) -> None:
        if verb not in ("ANALYZE", "VACUUM"):
            raise ValueError(f"unknown maintenance command {verb!r}")
        self.verb, self.table = verb, table


@compiles(TableMaintenance)
def _table_maintenance(element: TableMaintenance, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{element.verb} {compiler.preparer.format_table(element.table)}"


# --- statements that take no bind parameters ------------------------------------------------


class Unparameterized(Executable, ClauseElement):
    """``statement`` sent as literal text, with no bind parameters.

    Why: Redshift takes no parameters in COPY (nor in UNLOAD, LOCK, SET, ANALYZE, VACUUM
    or DDL); a driver would send ``$1`` and Redshift refuse it. Every value inside must be
    validated before the statement is built, as :class:`CopyCommand`'s inputs are.
    """

    inherit_cache = False

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement


@compiles(Unparameterized)
def _unparameterized(element: Unparameterized, compiler: SQLCompiler, **kw: Any) -> str:
    kw["literal_binds"] = True
    return compiler.process(element.statement, **kw)


class SetParameter(Executable, ClauseElement):
    """``SET name TO value`` for a session parameter, with a whole-number value."""

    inherit_cache = False
    _NAMES = frozenset({"statement_timeout", "analyze_threshold_percent"})

    def __init__(self, name: str, value: int) -> None:
        if name not in self._NAMES or not isinstance(value, int) or value < 0:
            raise ValueError(f"unsupported session setting {name!r} = {value!r}")
        self.name, self.value = name, value


@compiles(SetParameter)
def _set_parameter(element: SetParameter, compiler: SQLCompiler, **kw: Any) -> str:
    return f"SET {element.name} TO {element.value}"


class SetLocal(Executable, ClauseElement):
    """``SET LOCAL name TO on|off|DEFAULT``: a planner switch for the rest of the
    transaction (PostgreSQL), ``None`` putting back the session's value."""

    inherit_cache = False
    _NAMES = frozenset({"enable_nestloop"})

    def __init__(self, name: str, value: bool | None) -> None:
        if name not in self._NAMES or not (value is None or isinstance(value, bool)):
            raise ValueError(f"unsupported transaction setting {name!r} = {value!r}")
        self.name, self.value = name, value


@compiles(SetLocal)
def _set_local(element: SetLocal, compiler: SQLCompiler, **kw: Any) -> str:
    value = "DEFAULT" if element.value is None else ("on" if element.value else "off")
    return f"SET LOCAL {element.name} TO {value}"
