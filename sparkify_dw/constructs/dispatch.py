"""Each construct's default visitor: the engine's own visitor, registered on first use.

An engine's ``@compiles`` visitors live in its package (``backends/<engine>/compiler.py``)
and register when the engine is prepared (:meth:`EngineInfo.prepare
<sparkify_dw.backends.registry.EngineInfo.prepare>`), which every engine the library makes
does first. A statement compiled for a dialect some other way (a test's own dialect, a
user's engine) reaches the default visitor below instead: it prepares that dialect's
engine and compiles again, so the engine's visitor is used. Only a dialect with no visitor
of its own gets the generic SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, CreateTable, DropTable
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import Compiled
from sqlalchemy.sql.functions import FunctionElement

_prepared: set[str] = set()


def engine_first(element: ClauseElement, compiler: Compiled, **kw: Any) -> str | None:
    """``element`` compiled by its dialect's engine visitor when that engine was not
    prepared yet; None when it was, or there is none (the caller's generic SQL)."""
    name = compiler.dialect.name
    if name in _prepared:
        return None
    _prepared.add(name)
    from sparkify_dw.backends import registry  # compile time: the package is loaded by now

    info = registry.for_dialect(name)
    if info is None:
        return None
    info.prepare()
    return str(compiler.process(element, **kw))


def generic_function(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    """A function construct on a dialect without its own visitor: ``name(arguments)``."""
    found = engine_first(element, compiler, **kw)
    return found if found is not None else str(compiler.visit_function(element, **kw))


def function_constructs(*classes: type[FunctionElement[Any]]) -> None:
    """Give each function construct :func:`generic_function` as its default visitor."""
    for cls in classes:
        compiles(cls)(generic_function)


@compiles(CreateColumn)
def _create_column(element: CreateColumn, compiler: Any, **kw: Any) -> str:
    found = engine_first(element, compiler, **kw)
    return found if found is not None else str(compiler.visit_create_column(element, **kw))


@compiles(CreateTable)
def _create_table(element: CreateTable, compiler: Any, **kw: Any) -> str:
    found = engine_first(element, compiler, **kw)
    return found if found is not None else str(compiler.visit_create_table(element, **kw))


@compiles(DropTable)
def _drop_table(element: DropTable, compiler: Any, **kw: Any) -> str:
    found = engine_first(element, compiler, **kw)
    return found if found is not None else str(compiler.visit_drop_table(element, **kw))
