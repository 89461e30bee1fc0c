"""Text ordered by its bytes, whatever the database's collation.

Every ordering that picks a row (the transform's tie-breaks) or numbers one (rejected
records) must give the same answer on every backend and every database. A PostgreSQL
database created with a linguistic collation (ICU ``en-US``) sorts ``apple`` before
``Banana``; DuckDB and Redshift compare UTF-8 bytes. So such orderings name the byte-wise
collation explicitly: ``COLLATE "C"`` on PostgreSQL; DuckDB's ``binary`` (its default,
unless ``default_collation`` is set); on Redshift ``COLLATE(…, 'case_sensitive')``, binary
UTF-8 ordering even in a database created ``CASE_INSENSITIVE``. UTF-8 byte order is also
code-point order, so Python's ``sorted`` of ``str`` agrees.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from sparkify_dw.constructs.dispatch import engine_first


class bytewise(FunctionElement[Any]):
    """``text`` compared by its UTF-8 bytes, in ORDER BY, MIN or MAX."""

    inherit_cache = True
    name = "bytewise"

    def __init__(self, text: ColumnElement[Any]) -> None:
        super().__init__(text)
        self.type = text.type


def _text(element: bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(next(iter(element.clauses)), **kw))


@compiles(bytewise)
def _bytewise_default(element: bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    found = engine_first(element, compiler, **kw)
    return found if found is not None else _text(element, compiler, **kw)


def by_bytes(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """``value`` as an ordering key: text byte-wise (:class:`bytewise`), the rest as is."""
    return bytewise(value) if isinstance(value.type, sa.String) else value
